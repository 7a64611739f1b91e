"""One build: the context, the template, the Markdown, every format, the files, the event.

Every format is rendered before any file is written, and each file replaces the old
one atomically; the build is recorded in the instance's history as a `build` event
with the files' paths, SHA-256 and sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.errors import BadInput
from rcmflow.default_plugins.documents.context import document_context
from rcmflow.default_plugins.documents.files import FORMATS, OUT_FOLDER, BuiltFile, check_formats, output_path, write_file
from rcmflow.default_plugins.documents.html import to_html
from rcmflow.default_plugins.documents.markdown import document_title, parse_markdown
from rcmflow.default_plugins.documents.template import render_template
from rcmflow.default_plugins.documents.word import to_docx

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import InstanceView

RENDERERS = {"docx": to_docx, "html": to_html}


@dataclass(frozen=True)
class Build:
    instance: str
    template: str
    files: list[BuiltFile]
    event_seq: int

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "template": self.template, "event_seq": self.event_seq,
                "files": [f.as_json() for f in self.files]}


def build(engine: "Engine", instance: "str | InstanceView", template: str, formats: tuple[str, ...] = FORMATS,
          *, actor: str | None = None, cause: dict[str, Any] | None = None) -> Build:
    """Render `template` for the instance into each format, write the files under
    out/ and record a `build` event. Nothing is written unless every format rendered."""
    view = engine.get(instance) if isinstance(instance, str) else instance
    formats = tuple(dict.fromkeys(formats))  # each format once, in the order asked
    problem = check_formats(list(formats))
    if problem:
        raise BadInput(f"build {template}: {problem}")
    targets = {fmt: output_path(engine.home, view.id, template, fmt) for fmt in formats}
    definition = engine.definition_of(view)
    source = render_template(engine.home, template, document_context(engine, view, definition))
    tokens = parse_markdown(source)
    title = document_title(tokens) or f"{definition.title_in('en')} {view.id}"
    now = engine.now()
    contents = {fmt: RENDERERS[fmt](tokens, title, now) for fmt in formats}
    files = [write_file(targets[fmt], f"{OUT_FOLDER}/{view.id}/{template}.{fmt}", contents[fmt]) for fmt in formats]
    names = ", ".join(Path(f.path).name for f in files)
    event = engine.record(view.id, "build", note=f"built {names} in {OUT_FOLDER}/{view.id}/",
                          data={"template": template, "files": [f.as_json() for f in files], **(cause or {})},
                          actor=actor)
    return Build(view.id, template, files, event.seq)
