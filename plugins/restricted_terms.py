"""The `restricted_terms` guard: terms a member asked to keep out stay out.

A country asks for terms to be left out of a text by giving them with a step of its
track (`--set exclude_terms="slavery; modern slavery"`). The guard looks for each
term in the text to adopt, whole words, case-insensitive, across line breaks, and
blocks while one is there, quoting the line where it was found.

    guards:
      - restricted_terms: {text: "{{ data.text }}"}
"""

from __future__ import annotations

import re

import rcmflow

DEFAULT_KEY = "exclude_terms"


def _check(args):
    if not isinstance(args, dict) or "text" not in args or set(args) - {"text", "terms_key"}:
        return 'write {text: "{{ data.text }}"} (and optionally terms_key: the track data key of the terms)'
    return None


def _terms(value) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[;\n]", str(value or ""))
    return [" ".join(item.split()) for item in items if str(item).strip()]


def find_term(text: str, term: str) -> list[re.Match]:
    """Every place `term` occurs in `text` as whole words, whatever the case or the
    line breaks and spaces between its words."""
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in term.split()) + r"(?!\w)"
    return list(re.finditer(pattern, text, flags=re.IGNORECASE))


def _inside(inner: re.Match, outer: re.Match) -> bool:
    return (outer.start() <= inner.start() and inner.end() <= outer.end()
            and outer.end() - outer.start() > inner.end() - inner.start())


def quote(text: str, match: re.Match) -> str:
    """'line N: "…"', the line (or lines) where the match was found."""
    line = text.count("\n", 0, match.start()) + 1
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return f'line {line}: "{" ".join(text[start:end if end != -1 else len(text)].split())}"'


def restricted_terms(ctx, args):
    """The text holds none of the terms that a participant asked to keep out."""
    text = str(args.get("text") or "")
    if not text.strip():
        return "there is no text to adopt yet: give it with --set-file text=FILE"
    key = args.get("terms_key", DEFAULT_KEY)
    hits = [(match, term, participant)
            for participant, track in ctx.tracks.items()
            for term in _terms(track.data.get(key))
            for match in find_term(text, term)]
    # "slavery" inside "modern slavery" is one finding, not two: a hit inside a longer one goes.
    hits = [h for h in hits if not any(_inside(h[0], other[0]) for other in hits)]
    found, seen = [], set()
    for hit in sorted(hits, key=lambda h: h[0].start()):
        if hit[1] not in seen:  # the first place of each term is enough to find it
            seen.add(hit[1])
            found.append(hit)
    if not found:
        return None
    return "the text uses restricted terms: " + "; ".join(
        f'"{term}" (kept out at the request of {participant}) on {quote(text, match)}'
        for match, term, participant in sorted(found, key=lambda f: f[0].start()))


@rcmflow.hookimpl
def register_guards(register):
    register("restricted_terms", restricted_terms, check=_check)
