"""Markdown: escaping what must stay text, and parsing a template's output.

Parsed with markdown-it-py, restricted to what documents need: headings, paragraphs,
bullet and numbered lists, pipe tables, bold and italic, backslash escapes and line
breaks (kept, since amendments point at "item 1, line 3"). Raw HTML, links, images
and code are not recognised at all, so they come out as the characters that were written.

Text in another language than the edition around it is marked, so that the HTML
says `lang` and Word proofs it in its own language: a block between the lines
`::: lang=es` and `:::`, or a phrase `{lang=es}…{/lang}` inside a paragraph (what
`in_language` writes). A country's text cannot write either marker: its `{` is
escaped like every special character, and Markdown given on purpose has them
escaped by `neutralise_markers`.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")

LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_BLOCK_OPEN = re.compile(r"::: ?lang=([a-z]{2,3})[ \t]*")
_INLINE_OPEN = re.compile(r"\{lang=([a-z]{2,3})\}")
_INLINE_CLOSE = "{/lang}"
_FENCE_LINE = re.compile(r"^([ \t]*):(?=::)", re.MULTILINE)
_PHRASE_MARK = re.compile(r"\{(?=/?lang\b)")


def _language_block(state, start: int, end: int, silent: bool) -> bool:
    """`::: lang=es` … `:::`: the blocks between, in that language."""
    line = state.src[state.bMarks[start] + state.tShift[start]:state.eMarks[start]]
    found = _BLOCK_OPEN.fullmatch(line)
    if found is None or state.is_code_block(start):
        return False
    if silent:
        return True
    closing = start + 1
    while closing < end and state.src[state.bMarks[closing] + state.tShift[closing]:
                                      state.eMarks[closing]].strip() != ":::":
        closing += 1
    opening = state.push("language_open", "div", 1)
    opening.attrSet("lang", found.group(1))
    opening.block, opening.map = True, [start, closing]
    parent, line_max = state.parentType, state.lineMax
    state.parentType, state.lineMax = "language", closing
    state.md.block.tokenize(state, start + 1, closing)
    state.parentType, state.lineMax = parent, line_max
    state.push("language_close", "div", -1).block = True
    state.line = closing + 1
    return True


def _language_phrase(state, silent: bool) -> bool:
    """`{lang=es}…{/lang}` inside a paragraph: a phrase in that language."""
    if state.src[state.pos] != "{":
        return False
    if state.src.startswith(_INLINE_CLOSE, state.pos):
        if not silent:
            state.push("language_inline_close", "span", -1)
        state.pos += len(_INLINE_CLOSE)
        return True
    found = _INLINE_OPEN.match(state.src, state.pos)
    if found is None:
        return False
    if not silent:
        state.push("language_inline_open", "span", 1).attrSet("lang", found.group(1))
    state.pos = found.end()
    return True


#: "zero" recognises nothing but paragraphs; enable exactly the subset documents use.
PARSER = (MarkdownIt("zero", {"breaks": True, "html": False})
          .enable(["heading", "list", "table", "newline", "escape", "emphasis"]))
PARSER.block.ruler.before("paragraph", "language", _language_block,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
PARSER.inline.ruler.before("escape", "language", _language_phrase)


class Markdown(str):
    """Text that is Markdown on purpose; a template's output keeps it as it is."""


def escape_markdown(text: str) -> str:
    """Backslash-escape every character that could make Markdown of `text`."""
    return _FENCE_LINE.sub(r"\1\\:", _SPECIAL.sub(r"\\\1", text))


def neutralise_markers(text: str) -> str:
    """Markdown given on purpose (an attached .md) with its language markers escaped:
    only the document's template says which text is in which language."""
    return _PHRASE_MARK.sub(r"\\{", _FENCE_LINE.sub(r"\1\\:", text))


def in_language(value: Any, language: Any, around: str | None = None) -> "Markdown":
    """`{{ text | in_language(track.language) }}`: the text (escaped, unless it is
    Markdown on purpose) marked as written in `language`, unless that is the language
    `around` it (the edition's); a block when it is Markdown or has paragraphs of its
    own, else a phrase of the paragraph it sits in."""
    code = str(language or "")
    if isinstance(value, Markdown):
        text = str(value)
    else:
        text = escape_markdown(str(value if value is not None else ""))
    if not LANGUAGE_CODE.fullmatch(code) or code == around or not text.strip():
        return Markdown(text)
    if isinstance(value, Markdown) or "\n\n" in text.strip():
        # on lines of its own, even after a label ("**Input:** …")
        return Markdown(f"\n\n::: lang={code}\n{text.strip()}\n:::\n\n")
    return Markdown(f"{{lang={code}}}{text}{_INLINE_CLOSE}")


def oneline(value: Any) -> str:
    """The value on one line (for a table cell or a list item)."""
    return " ".join(str(value if value is not None else "").split())


def parse_markdown(source: str) -> list[Token]:
    return PARSER.parse(source)


def inline_text(token: Token) -> str:
    return "".join(c.content if c.type in ("text", "text_special") else " " for c in token.children or []
                   if c.type in ("text", "text_special", "softbreak", "hardbreak")).strip()


def document_title(tokens: list[Token]) -> str | None:
    """The text of the first top-level heading."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1":
            return inline_text(tokens[index + 1])
    return None
