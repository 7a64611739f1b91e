"""Markdown: escaping what must stay text, and parsing a template's output.

Parsed with markdown-it-py, restricted to what documents need: headings, paragraphs,
bullet and numbered lists, pipe tables, bold and italic, backslash escapes and line
breaks (kept, since amendments point at "item 1, line 3"). Raw HTML, links, images
and code are not recognised at all, so they come out as the characters that were written.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")

#: "zero" recognises nothing but paragraphs; enable exactly the subset documents use.
PARSER = (MarkdownIt("zero", {"breaks": True, "html": False})
          .enable(["heading", "list", "table", "newline", "escape", "emphasis"]))


class Markdown(str):
    """Text that is Markdown on purpose; a template's output keeps it as it is."""


def escape_markdown(text: str) -> str:
    """Backslash-escape every character that could make Markdown of `text`."""
    return _SPECIAL.sub(r"\\\1", text)


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
