"""Where the pages link to: on the server, or inside the e-mailed report."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import quote, urlencode


class Links:
    """Where the pages link to on the server. What the reader chose in the query string
    goes along, so that following a link keeps it: the token (access), the language,
    and whether the page refreshes itself."""

    def __init__(self, token: str | None = None, lang: str | None = None, refresh: bool = False, path: str = "/"):
        self.token, self.lang, self.refresh, self.path = token, lang, refresh, path
        self.home: str | None = self._at("/")

    def _at(self, path: str, **changes) -> str:
        chosen = {"token": self.token, "lang": self.lang, "refresh": "1" if self.refresh else None}
        chosen.update(changes)
        query = urlencode({k: v for k, v in chosen.items() if v})
        return path + (f"?{query}" if query else "")

    def instance(self, instance_id: str) -> str | None:
        return self._at(f"/instances/{quote(instance_id)}")

    def document(self, relative: str) -> str | None:
        return self._at(f"/out/{quote(relative)}")

    def here(self, lang: str | None = None, refresh: bool | None = None) -> str | None:
        """This page in another language, or with its refresh turned on or off."""
        return self._at(quote(self.path), **({"lang": lang} if lang else {}),
                        **({} if refresh is None else {"refresh": "1" if refresh else None}))

    def sent_file(self, instance_id: str, event_seq: int, filename: str) -> str | None:
        """A file a participant sent, as it was sent."""
        return self._at(f"/files/{quote(instance_id)}/{event_seq}/{quote(filename)}")


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

    def here(self, lang: str | None = None, refresh: bool | None = None) -> str | None:
        return None

    def sent_file(self, instance_id: str, event_seq: int, filename: str) -> str | None:
        return None
