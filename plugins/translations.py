"""A text in two languages: the declaration's base text and every revision, in Spanish
and English, kept in step.

The secretariat gives each language version with the trigger that shares or revises
the text:

    rcmflow fire declaration-2017 share_base_text \
        --set-file text.es=base.es.md --set-file text.en=base.en.md

The `record_text` action (in the transition's transaction) keeps the versions in the
instance's `texts`, each with the revision it is of. A revision that gives one language
only leaves the other "translation pending": `rcmflow status` says so, and the
`translated` guard holds adoption until the other version is given too; given alone,
the pending versions are the translation of the latest revision, not a new one. A
declaration given as one `text` (no language named) stays a single-language text.

    actions: [record_text]          # on share_base_text and revise_text
    guards: [text_given]            # there is a text to share: one language or more
    guards: [translated]            # on adopt: every language at the latest revision
"""

from __future__ import annotations

import re

import rcmflow
from rcmflow.errors import BadInput
from rcmflow.language import LANGUAGES, _, language_name

TEXTS = "texts"
PREFIX = "text."


def _check(args):
    if args in (None, {}):
        return None
    if not isinstance(args, dict) or set(args) - {"languages"} or not isinstance(args.get("languages"), list):
        return "write {languages: [es, en]} or nothing (the languages rcmflow speaks)"
    return None


def languages_of(args) -> list[str]:
    return list((args or {}).get("languages") or LANGUAGES)


def texts_of(data) -> dict[str, dict]:
    """The language versions kept in an instance's data: {"es": {"text", "revision"}, …}."""
    found = data.get(TEXTS) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return {}
    return {code: v for code, v in found.items() if isinstance(v, dict) and isinstance(v.get("text"), str)}


def revision_of(texts: dict[str, dict]) -> int:
    return max((int(v.get("revision") or 0) for v in texts.values()), default=0)


def pending(data, languages) -> dict[str, int]:
    """Each language whose version is behind the latest revision, with the revision
    since which its translation is pending."""
    texts = texts_of(data)
    latest = revision_of(texts)
    if not latest:
        return {}
    behind = {code: int((texts.get(code) or {}).get("revision") or 0) for code in languages}
    return {code: given + 1 for code, given in behind.items() if given < latest}


def given_versions(values: dict, languages) -> dict[str, str]:
    """The language versions given with a trigger (`text.es`, `text.en`)."""
    return {code: str(values[PREFIX + code]) for code in languages if values.get(PREFIX + code) not in (None, "")}


def record_text(ctx, args):
    """Keep the language versions given with the trigger, as one new revision."""
    languages = languages_of(args)
    values = ctx.event.data.get("values", {})
    given = given_versions(values, languages)
    texts = texts_of(ctx.data)
    options = " ".join(f"--set-file text.{c}=FILE" for c in languages)
    if values.get("text") not in (None, "") and (given or texts):
        raise BadInput(_("{instance} has its text in {languages}: give each language with {options}, "
                         "not one text").format(instance=ctx.instance.id, options=options,
                                                languages=", ".join(sorted({*texts, *given}))))
    if not given:
        if values.get("text") in (None, ""):
            raise BadInput(_("{trigger} needs the text: add {options}").format(trigger=ctx.event.trigger,
                                                                            options=options))
        return  # a single-language text, kept as `text`, as it always was
    for code in languages:  # the record is `texts`; the given values need not linger
        ctx.data.pop(PREFIX + code, None)
    if all((texts.get(code) or {}).get("text") == text for code, text in given.items()):
        return  # the same text again is no new revision
    latest = revision_of(texts)
    # only languages behind the latest revision: their translation, which brings them up to it
    behind = latest and all(int((texts.get(code) or {}).get("revision") or 0) < latest for code in given)
    revision = latest if behind else latest + 1
    for code, text in given.items():
        texts[code] = {"text": text, "revision": revision, "at": ctx.event.at.isoformat(), "by": ctx.event.actor}
    ctx.data[TEXTS] = texts
    ctx.data.pop("text", None)  # a single text turned into language versions: they are the text now


def text_given(ctx, args):
    """There is a text: given with the trigger or kept, in one language or more."""
    languages = languages_of(args)
    if texts_of(ctx.instance.data) or given_versions(ctx.given, languages):
        return None
    if ctx.given.get("text") not in (None, "") or ctx.instance.data.get("text") not in (None, ""):
        return None
    return _("there is no text yet: give it with {options}").format(
        options=" ".join(f"--set-file text.{c}=FILE" for c in languages))


def translated(ctx, args):
    """Every language version is at the latest revision of the text."""
    behind = pending(ctx.instance.data, languages_of(args))
    if not behind:
        return None
    return "; ".join(
        _("translation pending: the {language} text ({code}) since revision {revision}: "
          "give it with --set-file text.{code}=FILE").format(language=language_name(code), code=code,
                                                                revision=revision)
        for code, revision in sorted(behind.items(), key=lambda item: item[1]))


@rcmflow.hookimpl
def register_actions(register):
    # `texts` is this action's: `--set texts=…` is refused before it could break it
    register("record_text", record_text, check=_check, in_transaction=True, owns=[TEXTS])


@rcmflow.hookimpl
def register_guards(register):
    register("text_given", text_given, check=_check)
    register("translated", translated, check=_check)


@rcmflow.hookimpl
def status_notes(engine, instances):
    """"declaration-2017: translation pending: the English text (en) since revision 2"."""
    lines = []
    for view in instances:
        behind = pending(view.data, LANGUAGES)
        for code, revision in sorted(behind.items(), key=lambda item: item[1]):
            lines.append(_("{instance}: translation pending: the {language} text ({code}) since revision "
                           "{revision}").format(instance=view.id, language=language_name(code), code=code,
                                                revision=revision))
    return lines


#: where a new block of a text starts inside a paragraph: a heading or a list item
BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s)")


def blocks(text: str) -> list[dict]:
    """The text's blocks (headings, paragraphs, list items), each on one line:
    {"text", "heading"}; what a two-column table sets side by side, row by row."""
    found: list[list[str]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        for line in paragraph.splitlines():
            if not line.strip():
                continue
            if BLOCK_START.match(line) or not found or found[-1] == []:
                found.append([])
            found[-1].append(line.strip())
        found.append([])  # the next paragraph starts a block of its own
    result = []
    for lines in filter(None, found):
        heading = re.match(r"#{1,6}\s+", lines[0])
        result.append({"text": " ".join(" ".join(lines)[heading.end() if heading else 0:].split()),
                       "heading": bool(heading)})
    return result


@rcmflow.hookimpl
def document_context(context, instance):
    """`texts`: the language versions of the text ({code: {text, revision}});
    `text_columns`: their languages, each named in itself ("Español", "English");
    `text_rows`: their blocks side by side ({code: {text, heading} or None}); and
    `translation_pending`: {code: the revision since which it is pending}."""
    texts = texts_of(instance.data)
    codes = [code for code in sorted(set(LANGUAGES) | set(texts), key=lambda c: (c not in LANGUAGES, c))
             if code in texts or pending(instance.data, LANGUAGES).get(code)] if texts else []
    columns = {code: blocks(texts[code]["text"]) if code in texts else [] for code in codes}
    context["texts"] = texts
    context["text_columns"] = [{"code": code, "name": language_name(code, code).capitalize(),
                                "revision": (texts.get(code) or {}).get("revision")} for code in codes]
    context["text_rows"] = [{code: (columns[code][n] if n < len(columns[code]) else None) for code in codes}
                            for n in range(max(map(len, columns.values()), default=0))]
    context["translation_pending"] = pending(instance.data, LANGUAGES)
