"""The `restricted_terms` guard: terms a member asked to keep out stay out, in every language.

A country asks for terms to be left out of a text by giving them with a step of its
track (`--set exclude_terms="slavery; modern slavery"`). The guard looks for each term,
and for each of its equivalents in `workflows/glossary.yaml` ("esclavitud moderna",
"esclavage moderne"), in every language version of the text to adopt: whole words,
whatever the case, the accents or the line breaks and spaces between words. It blocks
while one is there, quoting the line where it was found, in that version.

    guards:
      - restricted_terms: {text: "{{ data.text }}", texts: "{{ data.texts }}"}

`text` is a text in one language; `texts` its language versions (`plugins/translations.py`
keeps them: {es: {text: …}, en: {text: …}}). Either may be left out.
"""

from __future__ import annotations

import re

import rcmflow
from rcmflow.language import _, language_name
from rcmflow.model.glossary import fold, folded, split_terms

DEFAULT_KEY = "exclude_terms"


def _check(args):
    if not isinstance(args, dict) or not {"text", "texts"} & set(args) or set(args) - {"text", "texts", "terms_key"}:
        return ('write {text: "{{ data.text }}", texts: "{{ data.texts }}"} (either one; and optionally '
                'terms_key: the track data key of the terms)')
    return None


def find_term(text: str, term: str) -> list[tuple[int, int]]:
    """The (start, end) in `text` of every place `term` occurs as whole words, whatever
    the case, the accents or the line breaks and spaces between its words."""
    haystack, origins = folded(text)
    needle = folded(term)[0].split()
    if not needle:
        return []
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in needle) + r"(?!\w)"
    return [(origins[m.start()], origins[m.end() - 1] + 1) for m in re.finditer(pattern, haystack)]


def _inside(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1] and outer[1] - outer[0] > inner[1] - inner[0]


def quote(text: str, span: tuple[int, int]) -> str:
    """'line N: "…"', the line (or lines) where the match was found."""
    line = text.count("\n", 0, span[0]) + 1
    start = text.rfind("\n", 0, span[0]) + 1
    end = text.find("\n", span[1])
    return _('line {line}: "{text}"').format(line=line, text=" ".join(text[start:end if end != -1 else len(text)].split()))


def versions(args) -> dict[str, str]:
    """The text to adopt by language ("" for a text in one language only)."""
    found = {}
    texts = args.get("texts")
    for code, version in (texts.items() if isinstance(texts, dict) else ()):
        text = version.get("text") if isinstance(version, dict) else version
        if isinstance(text, str) and text.strip():
            found[code] = text
    if str(args.get("text") or "").strip():
        found[""] = str(args["text"])
    return found


def findings(ctx, texts: dict[str, str], key: str = DEFAULT_KEY) -> list[tuple]:
    """(language, span, term, form, participant): the first place of each term kept out
    in each version of the text, in the order of the text."""
    glossary = ctx.members.glossary
    found = []
    for code, text in texts.items():
        hits = [(span, term, form, participant)
                for participant, track in ctx.tracks.items()
                for term in split_terms(track.data.get(key))
                for form in glossary.forms(term)
                for span in find_term(text, form)]
        # "esclavitud" inside "esclavitud moderna" is one finding, not two: a hit inside a longer one goes.
        hits = [h for h in hits if not any(_inside(h[0], other[0]) for other in hits)]
        seen = set()
        for hit in sorted(hits, key=lambda h: h[0]):
            if hit[1] not in seen:  # the first place of each term is enough to find it
                seen.add(hit[1])
                found.append((code, *hit))
    return found


def restricted_terms(ctx, args):
    """No language version of the text holds a term that a participant asked to keep
    out, nor one of its equivalents."""
    texts = versions(args)
    if not texts:
        return _("there is no text to adopt yet: give it with --set-file text.es=FILE --set-file text.en=FILE")
    found = findings(ctx, texts, args.get("terms_key", DEFAULT_KEY))
    if not found:
        return None
    return _("the text uses restricted terms: {found}").format(found="; ".join(
        finding(code, texts[code], span, term, form, participant)
        for code, span, term, form, participant in found))


def finding(code: str, text: str, span: tuple[int, int], term: str, form: str, participant: str) -> str:
    where, found = quote(text, span), " ".join(text[span[0]:span[1]].split())
    if code:
        return _('"{term}" (kept out at the request of {participant}) in the {language} text ({code}), as "{form}", '
                 'on {where}').format(term=term, participant=participant, language=language_name(code), code=code,
                                      form=found, where=where)
    if fold(found) != fold(term):  # an equivalent of the term, in a text of no named language
        return _('"{term}" (kept out at the request of {participant}), as "{form}", on {where}').format(
            term=term, participant=participant, form=found, where=where)
    return _('"{term}" (kept out at the request of {participant}) on {where}').format(
        term=term, participant=participant, where=where)


@rcmflow.hookimpl
def register_guards(register):
    register("restricted_terms", restricted_terms, check=_check)
