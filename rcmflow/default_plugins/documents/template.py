"""A document's template: Jinja2 over Markdown, in the immutable sandbox.

``StrictUndefined``: a misspelt name is an error, not a blank. Every ``{{ value }}``
is Markdown-escaped on output (``finalize``), the way HTML templates autoescape: what
a country wrote always stays text and cannot open a heading, a list or a table, nor
smuggle HTML. Text meant as Markdown (an attached .md or .docx, the declaration's
text) says so with ``| markdown(level)``, which also moves its headings below the
section it sits in. The template's own lines are Markdown.

A template is rendered once per edition, in that edition's language: its fixed
words through Jinja's i18n extension and rcmflow's catalogs (``{% trans %}…{% endtrans %}``,
``_("…")``, ``pgettext("state", track.state)``), its dates through Babel with the year
(``| day``, ``| moment``); what a country wrote is marked with ``| in_language(code)``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rcmflow.errors import BadInput
from rcmflow.language import DEFAULT, _, translations
from rcmflow.default_plugins.documents.files import (
    TEMPLATE_FOLDER, TEMPLATE_SUFFIX, available_templates, check_template_name,
)
from rcmflow.default_plugins.documents.markdown import (
    Markdown, escape_markdown, in_language, oneline,
)

_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)", re.MULTILINE)
#: characters XML 1.0 forbids; python-docx would refuse them, so they are dropped everywhere
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def render_template(home: Path, name: str, context: dict[str, Any], language: str = DEFAULT) -> str:
    """The template's Markdown in `language`; any failure (missing file, syntax, undefined
    name, the sandbox's refusal) is one line naming the template file and line."""
    check_template_name(name)
    filename = f"{name}{TEMPLATE_SUFFIX}"
    env = template_environment(home, language)
    try:
        text = env.get_template(filename).render(context)
    except TemplateNotFound as exc:
        known = ", ".join(available_templates(home)) or _("none yet")
        missing = "" if exc.name == filename else " " + _("(it includes {name})").format(name=exc.name)
        raise BadInput(_("no template {file}{missing}; templates: {known}").format(
            file=(TEMPLATE_FOLDER / filename).as_posix(), missing=missing, known=known)) from None
    except TemplateSyntaxError as exc:
        where = f"{TEMPLATE_FOLDER.as_posix()}/{exc.name or filename}:{exc.lineno}"
        raise BadInput(f"{where}: {_one_line(exc.message)}") from None
    except TemplateError as exc:  # undefined names, and the sandbox's refusals
        raise BadInput(f"{_template_line(exc, filename)}: {_one_line(str(exc))}") from None
    except Exception as exc:  # a template is code the home wrote: its failures are its own line
        raise BadInput(f"{_template_line(exc, filename)}: {type(exc).__name__}: {_one_line(str(exc))}") from None
    return _NOT_XML.sub("", text)


def template_environment(home: Path, language: str = DEFAULT) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(home / TEMPLATE_FOLDER), undefined=StrictUndefined, autoescape=False,
        finalize=_finalize, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)
    env.filters.update(markdown=markdown_filter, oneline=oneline, items=items_filter,
                       in_language=lambda value, code: in_language(value, code, language),
                       day=lambda value: long_day(value, language),
                       moment=lambda value: long_moment(value, language))
    env.globals["language"] = language
    return env


def long_day(value: Any, language: str) -> str:
    """`{{ track.due | day }}`: "21 April 2017", "21 de abril de 2017" (Babel's long date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # a date param a template got as text
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, "long", locale=language)


def long_moment(value: Any, language: str) -> str:
    """`{{ now | moment }}`: the long date and the time of day ("21 April 2017, 14:30")."""
    if value is None:
        return ""
    return f"{long_day(value, language)}, {format_time(value, 'HH:mm', locale=language)}"


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
