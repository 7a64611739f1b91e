"""One build: for each edition, the context, the template, the Markdown, every format;
then the files and the event.

Every edition (one per language its readers use, see `editions`) and every format is
rendered before any file is written, and each file replaces the old one atomically;
the build is recorded in the instance's history as a `build` event with the files'
paths, languages, SHA-256 and sizes. The single-language files that builds wrote
before there were editions (out/<instance>/<template>.docx) are removed by the next
build of that template, so no mail, page or link hands out a stale English-only copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.errors import BadInput
from rcmflow.default_plugins.documents.context import document_context
from rcmflow.default_plugins.documents.editions import edition_languages
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
    #: the editions' languages, the home's first
    languages: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "template": self.template, "event_seq": self.event_seq,
                "languages": list(self.languages), "files": [f.as_json() for f in self.files]}


def build(engine: "Engine", instance: "str | InstanceView", template: str, formats: tuple[str, ...] = FORMATS,
          *, actor: str | None = None, cause: dict[str, Any] | None = None) -> Build:
    """Render `template` for the instance in each edition's language and each format,
    write the files under out/ and record a `build` event. Nothing is written unless
    every edition rendered in every format."""
    view = engine.get(instance) if isinstance(instance, str) else instance
    formats = tuple(dict.fromkeys(formats))  # each format once, in the order asked
    problem = check_formats(list(formats))
    if problem:
        raise BadInput(f"build {template}: {problem}")
    languages = edition_languages(engine, view)
    definition = engine.definition_of(view)
    now = engine.now()
    rendered: list[tuple[str, str, Path, bytes]] = []  # (language, format, where, content)
    for language in languages:
        source = render_template(engine.home, template, document_context(engine, view, definition, language),
                                 language)
        tokens = parse_markdown(source)
        title = document_title(tokens) or f"{definition.title_in(language)} {view.id}"
        rendered += [(language, fmt, output_path(engine.home, view.id, template, fmt, language),
                      RENDERERS[fmt](tokens, title, now, language)) for fmt in formats]
    files = [write_file(target, f"{OUT_FOLDER}/{view.id}/{target.name}", content, language)
             for language, fmt, target, content in rendered]
    for fmt in formats:  # the file of a build before editions: replaced by them
        output_path(engine.home, view.id, template, fmt).unlink(missing_ok=True)
    names = ", ".join(Path(f.path).name for f in files)
    event = engine.record(view.id, "build", note=f"built {names} in {OUT_FOLDER}/{view.id}/",
                          data={"template": template, "languages": list(languages),
                                "files": [f.as_json() for f in files], **(cause or {})},
                          actor=actor)
    return Build(view.id, template, files, event.seq, languages)
