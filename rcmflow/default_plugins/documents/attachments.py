"""The files countries attach to their transitions, as text a template can use.

The text of attached .docx, .md and .txt files is extracted as Markdown (a .docx
keeps its headings, lists and tables; every piece of its text is escaped); other
files (.pdf) are listed without text. A file that cannot be read is listed with the
reason, so one damaged file does not stop the whole document.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.errors import BadInput
from rcmflow.default_plugins.documents.markdown import escape_markdown, neutralise_markers
from rcmflow.default_plugins.documents.reader import docx_to_markdown

if TYPE_CHECKING:
    from rcmflow import Engine

#: what an attached .docx may unpack to before its text is left out (a zip bomb guard)
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


def instance_attachments(engine: "Engine", instance_id: str) -> dict[str | None, list[dict[str, Any]]]:
    """The files sent with the instance's transitions, by participant (None: the
    instance's own), oldest first. A file sent again under the same name replaces
    the earlier one: a country's revised input is the one that counts."""
    rows = engine.attachments(instance_id)
    latest: dict[tuple[str | None, str], Any] = {}
    for row in rows:
        latest.pop((row.participant, row.filename), None)
        latest[(row.participant, row.filename)] = row
    files: dict[str | None, list[dict[str, Any]]] = {}
    for (participant, filename), row in latest.items():
        text, error = attachment_text(filename, row.content)
        files.setdefault(participant, []).append({
            "filename": filename, "sha256": row.sha256, "size": row.size, "at": row.at, "event_seq": row.event_seq,
            "kind": Path(filename).suffix.lower().lstrip(".") or "file", "text": text, "error": error,
        })
    return files


def attachment_text(filename: str, content: bytes) -> tuple[str | None, str | None]:
    """(Markdown text, None) for .md, .txt and .docx; (None, None) for other files;
    (None, why) for a file that cannot be read, so one damaged file does not stop
    the whole document: the template says the text is missing and why."""
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".md":  # Markdown on purpose, but only the template says what is in which language
            return neutralise_markers(_decode(content)), None
        if suffix == ".txt":
            return escape_markdown(_decode(content)), None
        if suffix == ".docx":
            return docx_markdown(content), None
    except Exception as exc:  # python-docx, zipfile and lxml each raise their own kinds
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return None, None


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:  # Spanish text saved by older Windows editors
        return content.decode("cp1252", errors="replace")


def docx_markdown(content: bytes) -> str:
    """The text of a .docx as Markdown (mammoth reads it: headings, lists with Word's
    own numbering, tables, bold and italic), every piece of text escaped."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise BadInput(f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB")
    return docx_to_markdown(content)
