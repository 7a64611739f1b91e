"""The languages rcmflow speaks, Spanish and English: message catalogs and dates.

Every fixed text (the command line's tables and messages, the status pages, the
calendar) is marked with `_()` (or `ngettext` for counts) and translated in the Babel
catalogs `rcmflow/locale/<language>/LC_MESSAGES/rcmflow.po` (`pybabel extract -F
babel.cfg`, then `update`). A built package ships them compiled (setup.py compiles at
build time); a source checkout compiles a missing or stale catalog on first use into
the user's cache. What people typed and what the workflows name (states, triggers)
stay as they are.

The language of a command comes from `--lang`, `RCMFLOW_LANG` or `language` in
rcmflow.toml (default en); a page's from `?lang=` or the browser's Accept-Language.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import hashlib
import os
from contextvars import ContextVar
from pathlib import Path

LANGUAGES = ("en", "es")
DEFAULT = "en"
DOMAIN = "rcmflow"
LOCALE = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("rcmflow_language", default=DEFAULT)


def use(language: str | None) -> None:
    """Speak `language` (one of LANGUAGES; None: the default) from now on in this context."""
    _current.set(language if language in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`; for English, the texts as written if none."""
    mo = _compiled(language)
    if mo is None:
        return gettext.NullTranslations()
    with mo.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def _(message: str) -> str:
    """`message` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message for `n`, in the current language."""
    return translations(current()).ngettext(singular, plural, n)


def _compiled(language: str) -> Path | None:
    """The .mo file of `language`: the one the package build made, else one compiled
    from the .po into the user's cache (a source checkout, an editable install)."""
    folder = LOCALE / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        return mo
    if not po.exists():
        return None
    source = po.read_bytes()
    cached = _cache() / f"{language}-{hashlib.sha256(source).hexdigest()[:16]}.mo"
    if not cached.exists():
        compile_catalog(po, cached)
    return cached


def compile_catalog(po: Path, mo: Path) -> None:
    """Compile one catalog (what `pybabel compile` does), written atomically."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    mo.parent.mkdir(parents=True, exist_ok=True)
    partial = mo.with_name(f"{mo.name}.{os.getpid()}.tmp")
    with partial.open("wb") as handle:
        write_mo(handle, catalog)
    partial.replace(mo)


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rcmflow" / "locale"


def negotiate(accept_language: str | None, given: str | None = None) -> str:
    """The page's language: `given` (?lang=) when rcmflow speaks it, else the first of
    the browser's Accept-Language it speaks, else the default."""
    if given in LANGUAGES:
        return given
    weighted = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag.strip().lower().split("-")[0]))
    return next((tag for q, _p, tag in sorted(weighted) if q < 0 and tag in LANGUAGES), DEFAULT)


# --- dates: one format per language, always with the year -------------------------------


def format_day(day: dt.date | None, language: str | None = None) -> str:
    """A day as its language writes it, with the year: "Apr 21, 2017", "21 abr 2017"."""
    if day is None:
        return ""
    from babel.dates import format_date  # Babel's locale data loads when a date is shown

    return format_date(day, "medium", locale=language or current())


def format_moment(moment: dt.datetime | None, language: str | None = None) -> str:
    """A (local) moment: the day as `format_day` writes it, and the time of day."""
    if moment is None:
        return ""
    from babel.dates import format_time

    language = language or current()
    return f"{format_day(moment.date(), language)} {format_time(moment, 'short', locale=language)}"


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, as meant in `context` (e.g. "state")."""
    return translations(current()).pgettext(context, message)


def state_name(state: str) -> str:
    """A state of the roadmap's workflows as the secretariat says it; the name itself
    (what commands take) in English, and where the catalog has no word for it."""
    return pgettext("state", state)


def extract_states(fileobj, keywords, comment_tags, options):
    """Babel's extractor for workflow files (babel.cfg): every state of the instance
    and of its tracks, as a message in the context "state"."""
    import yaml

    root = yaml.compose(fileobj)
    for level in (root, _child(root, "track")):
        for item in getattr(_child(level, "states"), "value", None) or []:
            node = _child(item, "name") if isinstance(item, yaml.MappingNode) else item
            if isinstance(node, yaml.ScalarNode):
                yield node.start_mark.line + 1, "pgettext", ("state", node.value), []


def extract_code(fileobj, keywords, comment_tags, options):
    """Babel's extractor for Python (babel.cfg): the messages marked with `_()` and the
    like, as Babel's own extractor finds them, and the help of the commands, as click
    shows it: each command's docstring and each `help=` text (rcmflow.cli.group says
    them in the command's language)."""
    import ast
    import inspect

    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    for node in ast.walk(ast.parse(fileobj.read())):
        if isinstance(node, ast.keyword) and node.arg == "help" and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            yield node.value.lineno, "_", inspect.cleandoc(node.value.value), []
        elif isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)) \
                and ast.get_docstring(node):
            yield node.lineno, "_", ast.get_docstring(node), []


def _is_command(decorator) -> bool:
    """`@cli.command(...)`, `@workflows.group()`, `@click.group(...)`: a click command."""
    import ast

    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(func, ast.Attribute) and func.attr in ("command", "group")


def _child(node, key: str):
    import yaml

    if isinstance(node, yaml.MappingNode):
        return next((value for name, value in node.value if name.value == key), None)
    return None


def language_name(code: str, language: str | None = None) -> str:
    """A language named in the current language (or `language`): "Spanish", "inglés"."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code).get_language_name(language or current()) or code
    except (ValueError, UnknownLocaleError):
        return code
