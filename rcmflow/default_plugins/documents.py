"""Documents built from an instance: the `build_document` action and `rcmflow build`.

The secretariat's consolidated documents (a consultation's regional input, the
declaration draft with its amendments, the Troika report, a deliverable's review)
are Jinja2 templates over Markdown in the home's ``workflows/templates/NAME.md.j2``.
A build runs in five steps, each with one job:

1. **Context.** The instance is turned into plain dicts, lists and strings
   (``instance``, ``definition``, ``members``, ``tracks``, ``amendments``,
   ``attachments``, ``now``): a template never holds an engine, a session or a
   model object, so there is nothing behind a value to reach for. The text of
   attached .docx, .md and .txt files is extracted as Markdown; other files
   (.pdf) are listed without text.
2. **Template.** Rendered in Jinja2's immutable sandbox with ``StrictUndefined``
   (a misspelt name is an error, not a blank). Every ``{{ value }}`` is
   Markdown-escaped on output (``finalize``), the way HTML templates autoescape:
   what a country wrote always stays text and cannot open a heading, a list or a
   table, nor smuggle HTML. Text meant as Markdown (an attached .md or .docx, the
   declaration's text) says so with ``| markdown(level)``, which also moves its
   headings below the section it sits in. The template's own lines are Markdown.
3. **Markdown.** Parsed once with markdown-it-py, restricted to what documents
   need: headings, paragraphs, bullet and numbered lists, pipe tables, bold and
   italic, backslash escapes and line breaks (kept, since amendments point at
   "item 1, line 3"). Raw HTML, links, images and code are not recognised at all,
   so they come out as the characters that were written.
4. **Outputs** from that one token stream: .docx through python-docx with Word's
   own styles (Heading 1-6, List Bullet, List Number with numbering restarted per
   list, Table Grid), and one standalone .html page (inline CSS, UTF-8) through
   markdown-it's renderer, which escapes all text.
5. **Files and history.** Files go to ``<home>/out/<instance>/<template>.<ext>``:
   the name is made only of the instance id and the template name, both checked
   against strict patterns, and the resolved path must lie inside ``out/`` (a
   symlinked folder cannot lead elsewhere). Every format is rendered before any
   file is written, and each file replaces the old one atomically. Each build is
   recorded in the instance's history as a ``build`` event with the files' paths,
   SHA-256 and sizes.

The action (``{build_document: {template: regional-input, formats: [docx, html]}}``)
runs after the commit like every effect; a failing template leaves it in the outbox
with a one-line error and writes nothing. ``rcmflow build`` does the same by hand.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rcmflow import hookimpl
from rcmflow.context import INSTANCE_ID, SYSTEM_ACTOR
from rcmflow.errors import BadInput
from rcmflow.output import emit_json

if TYPE_CHECKING:  # the heavy libraries are imported on first build, not at start-up
    from markdown_it.token import Token

    from rcmflow.context import ActionContext, InstanceView
    from rcmflow.model.definition import Definition
    from rcmflow import Engine

FORMATS = ("docx", "html")
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TEMPLATE_SUFFIX = ".md.j2"
TEMPLATE_FOLDER = Path("workflows") / "templates"
OUT_FOLDER = "out"
#: what an attached .docx may unpack to before its text is left out (a zip bomb guard)
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: track data that is bookkeeping of other plugins, not a country's input


@dataclass(frozen=True)
class BuiltFile:
    #: relative to the home, with forward slashes: out/theme-1/regional-input.docx
    path: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Build:
    instance: str
    template: str
    files: list[BuiltFile]
    event_seq: int

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "template": self.template, "event_seq": self.event_seq,
                "files": [f.as_json() for f in self.files]}


# --- the build ------------------------------------------------------------------------


def build(engine: "Engine", instance: "str | InstanceView", template: str, formats: tuple[str, ...] = FORMATS,
          *, actor: str | None = None, cause: dict[str, Any] | None = None) -> Build:
    """Render `template` for the instance into each format, write the files under
    out/ and record a `build` event. Nothing is written unless every format rendered."""
    view = engine.get(instance) if isinstance(instance, str) else instance
    formats = tuple(dict.fromkeys(formats))  # each format once, in the order asked
    problem = _check_formats(list(formats))
    if problem:
        raise BadInput(f"build {template}: {problem}")
    targets = {fmt: output_path(engine.home, view.id, template, fmt) for fmt in formats}
    definition = engine.definition(view.workflow)
    source = render_template(engine.home, template, document_context(engine, view, definition))
    tokens = parse_markdown(source)
    title = document_title(tokens) or f"{definition.title_in('en')} {view.id}"
    now = engine.now()
    contents = {fmt: RENDERERS[fmt](tokens, title, now) for fmt in formats}
    files = [_write(targets[fmt], f"{OUT_FOLDER}/{view.id}/{template}.{fmt}", contents[fmt]) for fmt in formats]
    names = ", ".join(Path(f.path).name for f in files)
    event = engine.record(view.id, "build", note=f"built {names} in {OUT_FOLDER}/{view.id}/",
                          data={"template": template, "files": [f.as_json() for f in files], **(cause or {})},
                          actor=actor)
    return Build(view.id, template, files, event.seq)


def output_path(home: Path, instance_id: str, template: str, fmt: str) -> Path:
    """Where a build writes: out/<instance>/<template>.<fmt>, and never outside out/."""

    check_template_name(template)
    if not INSTANCE_ID.match(instance_id):
        raise BadInput(f"instance id {instance_id!r} cannot name an output folder")
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    out = (home / OUT_FOLDER).resolve()
    target = (out / instance_id / f"{template}.{fmt}").resolve()
    # The names above cannot climb, but out/<instance> may be a symlink: judge the real path.
    if not target.is_relative_to(out):
        raise BadInput(f"refusing to write {target}: it is outside {out}")
    return target


def check_template_name(name: Any) -> None:
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise BadInput(f"template name {name!r} must be lower case letters, digits, '-' or '_', "
                       f"e.g. regional-input (the file workflows/templates/regional-input{TEMPLATE_SUFFIX})")


def _write(target: Path, relative: str, content: bytes) -> BuiltFile:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a reader (or a crash) never sees half a file.
    # os.open rather than mkstemp, so that the file gets the umask's usual mode, not 0600.
    temporary = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return BuiltFile(relative, hashlib.sha256(content).hexdigest(), len(content))


# --- step 1: what a template sees ---------------------------------------------------------


def document_context(engine: "Engine", view: "InstanceView", definition: "Definition") -> dict[str, Any]:
    """The template's variables: plain values only."""
    countries = engine.members.countries

    def name(code: str) -> str:
        return countries[code].name("en") if code in countries else code

    files = instance_attachments(engine, view.id)
    attachments = {code: files.get(code, []) for code in view.tracks}
    tracks: dict[str, dict[str, Any]] = {}
    for code, track in view.tracks.items():
        tracks[code] = {
            "code": code, "name": name(code), "state": track.state, "due": track.due, "overdue": track.overdue,
            "data": dict(track.data), "attachments": attachments[code],
            "has_input": bool(attachments[code]) or any(v not in (None, "", [], {}) for v in track.data.values()),
        }
    labels = {}
    for param, value in view.params.items():
        spec = definition.params.get(param)
        if spec is not None and spec.labels and spec.label(value):
            labels[param] = spec.label(value)
    now = engine.local(engine.now())
    context = {
        "instance": {
            "id": view.id, "workflow": view.workflow, "state": view.state, "params": dict(view.params),
            "data": dict(view.data), "labels": labels, "attachments": files.get(None, []),
        },
        "definition": {"name": definition.name, "title": definition.title_in("en"),
                       "titles": dict(definition.title), "description": definition.description},
        "members": {code: {"code": code, "name": c.name("en"), "names": dict(c.names), "language": c.language,
                           "member": c.member} for code, c in countries.items()},
        "tracks": tracks,
        "attachments": attachments,
        "now": now,
        "today": now.date(),
    }
    engine.plugins.pm.hook.document_context(context=context, instance=view, definition=definition)
    return context


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
            "filename": filename, "sha256": row.sha256, "size": row.size, "at": row.at,
            "kind": Path(filename).suffix.lower().lstrip(".") or "file", "text": text, "error": error,
        })
    return files


def attachment_text(filename: str, content: bytes) -> tuple[str | None, str | None]:
    """(Markdown text, None) for .md, .txt and .docx; (None, None) for other files;
    (None, why) for a file that cannot be read, so one damaged file does not stop
    the whole document: the template says the text is missing and why."""
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".md":
            return _decode(content), None
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
    """The text of a .docx as Markdown: its headings, lists and tables kept, every
    piece of text escaped."""
    import zipfile

    import docx
    from docx.table import Table

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise BadInput(f"it unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB")
    document = docx.Document(io.BytesIO(content))
    blocks: list[tuple[str, bool]] = []  # (Markdown, is a list item)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [[escape_markdown(oneline(cell.text)) for cell in row.cells] for row in block.rows]
            if rows:
                width = max(len(r) for r in rows)
                lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
                lines.insert(1, "|" + " --- |" * width)
                blocks.append(("\n".join(lines), False))
            continue
        text = block.text.strip()
        if not text:
            continue
        style = block.style.name if block.style is not None else ""
        heading = re.fullmatch(r"Heading ([1-6])", style)
        if heading or style == "Title":
            blocks.append(("#" * (int(heading.group(1)) if heading else 1) + " " + escape_markdown(oneline(text)), False))
        elif style.startswith("List Number"):
            blocks.append(("1. " + escape_markdown(text), True))
        elif style.startswith("List"):
            blocks.append(("- " + escape_markdown(text), True))
        else:
            blocks.append((escape_markdown(text), False))
    out = []
    for index, (markdown, item) in enumerate(blocks):
        if index:  # list items stay together (a tight list); everything else is its own block
            out.append("\n" if item and blocks[index - 1][1] else "\n\n")
        out.append(markdown)
    return "".join(out)


# --- step 2: the template -------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)", re.MULTILINE)
#: characters XML 1.0 forbids; python-docx would refuse them, so they are dropped everywhere
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class Markdown(str):
    """Text that is Markdown on purpose; a template's output keeps it as it is."""


def escape_markdown(text: str) -> str:
    """Backslash-escape every character that could make Markdown of `text`."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def oneline(value: Any) -> str:
    """The value on one line (for a table cell or a list item)."""
    return " ".join(str(value if value is not None else "").split())


def markdown_filter(value: Any, level: int | None = None) -> Markdown:
    """`{{ text | markdown(3) }}`: insert `text` as Markdown, its headings moved
    down so that none is above `level` (it sits inside a section of level-1)."""
    text = str(value if value is not None else "")
    headings = [len(m.group(2)) for m in _ATX_HEADING.finditer(text)]
    if level and headings and min(headings) < level:
        shift = level - min(headings)
        text = _ATX_HEADING.sub(lambda m: m.group(1) + "#" * min(6, len(m.group(2)) + shift), text)
    return Markdown(text)


def items_filter(value: Any) -> list[str]:
    """`{{ data.agenda | items }}`: a list given as lines or as "1. …; 2. …", as items."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    text = str(value)
    parts = text.splitlines() if "\n" in text.strip() else text.split(";")
    marker = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
    return [item for item in (marker.sub("", part).strip() for part in parts) if item]


def _finalize(value: Any) -> str:
    # The Markdown counterpart of HTML autoescaping: values are text unless marked.
    if value is None:
        return ""
    if isinstance(value, Markdown):
        return value
    return escape_markdown(str(value))


def template_environment(home: Path):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(home / TEMPLATE_FOLDER), undefined=StrictUndefined, autoescape=False,
        finalize=_finalize, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(markdown=markdown_filter, oneline=oneline, items=items_filter)
    return env


def available_templates(home: Path) -> list[str]:
    folder = home / TEMPLATE_FOLDER
    names = [p.name[:-len(TEMPLATE_SUFFIX)] for p in folder.glob(f"*{TEMPLATE_SUFFIX}")] if folder.is_dir() else []
    return sorted(n for n in names if TEMPLATE_NAME.match(n))


def render_template(home: Path, name: str, context: dict[str, Any]) -> str:
    """The template's Markdown; any failure (missing file, syntax, undefined name,
    the sandbox's refusal) is one line naming the template file and line."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError

    check_template_name(name)
    filename = f"{name}{TEMPLATE_SUFFIX}"
    env = template_environment(home)
    try:
        text = env.get_template(filename).render(context)
    except TemplateNotFound as exc:
        known = ", ".join(available_templates(home)) or "none yet"
        missing = "" if exc.name == filename else f" (it includes {exc.name})"
        raise BadInput(f"no template {(TEMPLATE_FOLDER / filename).as_posix()}{missing}; templates: {known}") from None
    except TemplateSyntaxError as exc:
        where = f"{TEMPLATE_FOLDER.as_posix()}/{exc.name or filename}:{exc.lineno}"
        raise BadInput(f"{where}: {_one_line(exc.message)}") from None
    except TemplateError as exc:  # undefined names, and the sandbox's refusals
        raise BadInput(f"{_template_line(exc, filename)}: {_one_line(str(exc))}") from None
    except Exception as exc:  # a template is code the home wrote: its failures are its own line
        raise BadInput(f"{_template_line(exc, filename)}: {type(exc).__name__}: {_one_line(str(exc))}") from None
    return _NOT_XML.sub("", text)


def _one_line(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return lines[0] if lines else "template error"


def _template_line(exc: BaseException, filename: str) -> str:
    """file:line of the template frame where a runtime error was raised; Jinja
    rewrites tracebacks so that the template's own lines appear in them."""
    where = f"{TEMPLATE_FOLDER.as_posix()}/{filename}"
    tb = exc.__traceback__
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        if path.endswith(TEMPLATE_SUFFIX):
            where = f"{TEMPLATE_FOLDER.as_posix()}/{Path(path).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


# --- step 3: Markdown ---------------------------------------------------------------------


@functools.cache
def _parser():
    from markdown_it import MarkdownIt

    # "zero" recognises nothing but paragraphs; enable exactly the subset documents use.
    return (MarkdownIt("zero", {"breaks": True, "html": False})
            .enable(["heading", "list", "table", "newline", "escape", "emphasis"]))


def parse_markdown(source: str) -> list["Token"]:
    return _parser().parse(source)


def inline_text(token: "Token") -> str:
    return "".join(c.content if c.type in ("text", "text_special") else " " for c in token.children or []
                   if c.type in ("text", "text_special", "softbreak", "hardbreak")).strip()


def document_title(tokens: list["Token"]) -> str | None:
    """The text of the first top-level heading."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1":
            return inline_text(tokens[index + 1])
    return None


# --- step 4: the outputs ------------------------------------------------------------------


def to_html(tokens: list["Token"], title: str, now) -> bytes:
    """One standalone page: markdown-it escapes every piece of text it writes."""
    from html import escape

    parser = _parser()
    body = parser.renderer.render(tokens, parser.options, {})
    page = HTML_PAGE.format(title=escape(title), generated=escape(now.isoformat(timespec="seconds")), body=body)
    return page.encode("utf-8")


HTML_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rcmflow">
<meta name="date" content="{generated}">
<title>{title}</title>
<style>
body {{ font-family: "Segoe UI", Calibri, Arial, sans-serif; line-height: 1.5; color: #1d1d1d;
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.8rem; border-bottom: 2px solid #1f4e79; padding-bottom: .3rem; color: #1f4e79; }}
h2 {{ font-size: 1.4rem; margin-top: 2rem; color: #1f4e79; }}
h3 {{ font-size: 1.15rem; margin-top: 1.5rem; }}
h4, h5, h6 {{ font-size: 1rem; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border: 1px solid #b4b4b4; padding: .35rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #e8eef5; }}
@media print {{ body {{ margin: 0; max-width: none; }} }}
</style>
</head>
<body>
{body}</body>
</html>
"""


def to_docx(tokens: list["Token"], title: str, now) -> bytes:
    return _DocxWriter(title, now).write(tokens)


class _DocxWriter:
    """Walks markdown-it's tokens into a python-docx Document with Word's own styles,
    so that the navigation pane, the table of contents and list numbering work."""

    def __init__(self, title: str, now):
        import datetime as dt

        import docx

        self.document = docx.Document()
        properties = self.document.core_properties
        properties.title = title
        properties.author = properties.last_modified_by = "rcmflow"
        properties.created = properties.modified = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        properties.revision = 1
        #: the open lists, innermost last: (paragraph style, numbering id or None)
        self.lists: list[tuple[str, str | None]] = []
        self.item_starts = False

    def write(self, tokens: list["Token"]) -> bytes:
        index = 0
        while index < len(tokens):
            token = tokens[index]
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                depth = min(len(self.lists) + 1, 3)
                ordered = kind == "ordered_list_open"
                style = ("List Number" if ordered else "List Bullet") + ("" if depth == 1 else f" {depth}")
                number = self._numbering(style, int(token.attrGet("start") or 1)) if ordered else None
                self.lists.append((style, number))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                self.item_starts = True
            elif kind in ("heading_open", "paragraph_open"):
                self._paragraph(token, tokens[index + 1])
                index += 2  # the inline content and the closing token
            elif kind == "table_open":
                end = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
                self._table(tokens[index:end])
                index = end
            index += 1
        buffer = io.BytesIO()
        self.document.save(buffer)
        return buffer.getvalue()

    def _paragraph(self, opening: "Token", inline: "Token") -> None:
        if self.lists:
            style, number = self.lists[-1]
            if self.item_starts:
                paragraph = self.document.add_paragraph(style=style)
                if number is not None:
                    self._number(paragraph, number)
                self.item_starts = False
            else:  # a second paragraph of the same item: indented, without a new number
                depth = len(self.lists)
                paragraph = self.document.add_paragraph(style="List Continue" + ("" if depth == 1 else f" {min(depth, 3)}"))
        elif opening.type == "heading_open":
            paragraph = self.document.add_paragraph(style=f"Heading {int(opening.tag[1:])}")
        else:
            paragraph = self.document.add_paragraph()
        self._runs(paragraph, inline.children or [])

    @staticmethod
    def _runs(paragraph, children: list["Token"], bold: bool = False) -> None:
        strong = emphasis = 0
        for child in children:
            # text_special: an escaped character, in markdown-it-py versions without text_join
            if child.type in ("text", "text_special") and child.content:
                run = paragraph.add_run(child.content)
                if bold or strong:
                    run.bold = True
                if emphasis:
                    run.italic = True
            elif child.type in ("softbreak", "hardbreak"):
                paragraph.add_run().add_break()
            elif child.type in ("strong_open", "strong_close"):
                strong += 1 if child.type == "strong_open" else -1
            elif child.type in ("em_open", "em_close"):
                emphasis += 1 if child.type == "em_open" else -1

    def _table(self, tokens: list["Token"]) -> None:
        from docx.oxml import OxmlElement

        rows: list[list["Token"]] = []
        header_rows = 0
        for token in tokens:
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "inline":
                rows[-1].append(token)
            elif token.type == "thead_close":
                header_rows = len(rows)
        if not rows:
            return
        table = self.document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        table.style = self.document.styles["Table Grid"]
        for r, (row, cells) in enumerate(zip(table.rows, rows)):
            if r < header_rows:  # repeated at the top of every page the table runs over
                row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
            for cell, inline in zip(row.cells, cells):
                self._runs(cell.paragraphs[0], inline.children or [], bold=r < header_rows)
        self.document.add_paragraph()  # Word joins two tables that touch

    def _numbering(self, style: str, start: int) -> str:
        """A new numbering instance for one list: python-docx's list styles share one,
        so without this every numbered list would continue the previous one."""
        numbering = self.document.part.numbering_part.element
        shared = self.document.styles[style].element.pPr.numPr.numId.val
        abstract = numbering.num_having_numId(shared).abstractNumId.val
        num = numbering.add_num(abstract)
        num.add_lvlOverride(ilvl=0).add_startOverride(start)
        return num.numId

    @staticmethod
    def _number(paragraph, number: str) -> None:
        numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        numbering.get_or_add_ilvl().val = 0
        numbering.get_or_add_numId().val = number


RENDERERS = {"docx": to_docx, "html": to_html}


# --- the action and the command ---------------------------------------------------------------


def _check_formats(formats: Any) -> str | None:
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        return f"formats must be a list of {' and '.join(FORMATS)}, e.g. [docx, html]; got {formats!r}"
    return None


def _check_build_document(args: Any) -> str | None:
    if not isinstance(args, dict) or "template" not in args:
        return "write {template: NAME, formats: [docx, html]} (NAME of workflows/templates/NAME.md.j2)"
    unknown = sorted(set(args) - {"template", "formats"})
    if unknown:
        return f"unknown argument {unknown[0]!r}; build_document takes template and formats"
    try:
        check_template_name(args["template"])
    except BadInput as exc:
        return str(exc)
    return _check_formats(args["formats"]) if "formats" in args else None


def build_document(ctx: "ActionContext", args: dict[str, Any]) -> None:
    """Build a document from a template into out/<instance>/ (docx, html) and record it."""

    build(ctx.engine, ctx.instance, args["template"], tuple(args.get("formats") or FORMATS),
          actor=SYSTEM_ACTOR, cause={"event_seq": ctx.event.seq, "action": ctx.idempotency_key})


def default_template(definition: "Definition") -> str | None:
    """The template the workflow's own build_document actions name, if just one."""
    calls = []
    for machine in filter(None, (definition.instance, definition.track)):
        for state in machine.states.values():
            calls += [*state.on_enter, *state.on_exit]
        for transition in machine.transitions:
            calls += transition.actions
    names = {c.args["template"] for c in calls if c.name == "build_document" and isinstance(c.args, dict)}
    return names.pop() if len(names) == 1 else None


@hookimpl
def register_actions(register):
    register("build_document", build_document, check=_check_build_document)


@hookimpl
def register_commands(cli, pass_engine):
    @cli.command("build")
    @click.argument("instance")
    @click.option("--template", "-t", metavar="NAME",
                  help="A template of workflows/templates/ (default: the one the workflow's build_document names).")
    @click.option("--format", "formats", type=click.Choice(FORMATS), multiple=True,
                  help="docx or html; repeat for both (default: both).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @pass_engine
    def build_command(engine, instance, template, formats, as_json):
        """Build INSTANCE's document into out/INSTANCE/ and record it in the history.

        \b
        rcmflow build theme-1 --template regional-input
        rcmflow build declaration-2017 --template declaration-draft --format docx
        """
        view = engine.get(instance)
        if template is None:
            template = default_template(engine.definition(view.workflow))
        if template is None:
            known = ", ".join(available_templates(engine.home)) or "none in workflows/templates/"
            raise BadInput(f"{view.workflow} names no build_document template: give --template, one of {known}")
        result = build(engine, view, template, formats or FORMATS)
        if as_json:
            return emit_json(result.as_json())
        for built in result.files:
            click.echo(f"{built.path}  {built.size:,} bytes  sha256 {built.sha256}")
