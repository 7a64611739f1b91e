"""Where the pages link to: on the server, or inside the e-mailed report."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import quote


class Links:
    """Where the pages link to on the server; the token of the request, if it came in
    the query string, goes along so that following a link keeps access."""

    def __init__(self, token_query: str = ""):
        self.suffix = token_query
        self.home: str | None = "/" + token_query

    def instance(self, instance_id: str) -> str | None:
        return f"/instances/{quote(instance_id)}{self.suffix}"

    def document(self, relative: str) -> str | None:
        return f"/out/{quote(relative)}{self.suffix}"

    def sent_file(self, instance_id: str, event_seq: int, filename: str) -> str | None:
        """A file a participant sent, as it was sent."""
        return f"/files/{quote(instance_id)}/{event_seq}/{quote(filename)}{self.suffix}"


class ReportLinks(Links):
    """Links inside the e-mailed report: to the details it holds, and nowhere else."""

    def __init__(self, included: Iterable[str]):
        super().__init__()
        self.home = None
        self.included = set(included)

    def instance(self, instance_id: str) -> str | None:
        return f"#instance-{instance_id}" if instance_id in self.included else None

    def document(self, relative: str) -> str | None:
        return None

    def sent_file(self, instance_id: str, event_seq: int, filename: str) -> str | None:
        return None
