"""A country's Word file as Markdown, read by mammoth: headings, bulleted and numbered
lists (Word's own numbering as well as list styles), tables, bold and italic.

mammoth turns the .docx into plain semantic HTML; this walks that HTML into Markdown,
escaping every piece of text, so that what a country wrote stays text in the
consolidated document whatever characters it holds.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

from rcmflow.default_plugins.documents.markdown import escape_markdown

#: list styles a document may use without Word's numbering (python-docx writes these)
STYLE_MAP = """
p[style-name='List Number'] => ol > li:fresh
p[style-name='List Number 2'] => ol|ul > li > ol > li:fresh
p[style-name='List Bullet'] => ul > li:fresh
p[style-name='List Bullet 2'] => ol|ul > li > ul > li:fresh
p[style-name='Title'] => h1:fresh
"""


def docx_to_markdown(content: bytes) -> str:
    import mammoth

    html = mammoth.convert_to_html(io.BytesIO(content), style_map=STYLE_MAP).value
    walker = _Markdown()
    walker.feed(html)
    walker.close()
    return walker.result()


class _Markdown(HTMLParser):
    """mammoth's HTML (h1-h6, p, ul, ol, li, table, tr, td, th, strong, em, br, a, img) as Markdown."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, bool]] = []  # (Markdown, is a list item)
        self.line: list[str] = []
        self.lists: list[str] = []  # "ol" or "ul", innermost last
        self.heading = 0
        self.rows: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("strong", "em"):
            self._text("**" if tag == "strong" else "*", raw=True)
        elif tag in ("ul", "ol"):
            self._flush()
            self.lists.append(tag)
        elif tag == "li":
            self._flush()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self.heading = int(tag[1])
        elif tag == "table":
            self._flush()
            self.rows = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []
        elif tag == "br":
            self._text(" ", raw=True)

    def handle_endtag(self, tag):
        if tag in ("strong", "em"):
            self._text("**" if tag == "strong" else "*", raw=True)
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag in ("p", "li") or tag.startswith("h") and tag[1:].isdigit():
            self._flush()
        elif tag in ("td", "th") and self.rows is not None and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.rows is not None:
            self._table(self.rows)
            self.rows = None

    def handle_data(self, data):
        self._text(data)

    def _text(self, text: str, raw: bool = False) -> None:
        piece = text if raw else escape_markdown(text)
        (self.cell if self.cell is not None else self.line).append(piece)

    def _flush(self) -> None:
        text = " ".join("".join(self.line).split()).replace("** **", " ").replace("****", "")
        self.line = []
        if not text or text in ("**", "*"):
            self.heading = 0
            return
        if self.heading:
            self.blocks.append(("#" * self.heading + " " + text, False))
            self.heading = 0
        elif self.lists:
            indent = "   " * (len(self.lists) - 1)
            self.blocks.append((indent + ("1. " if self.lists[-1] == "ol" else "- ") + text, True))
        else:
            self.blocks.append((text, False))

    def _table(self, rows: list[list[str]]) -> None:
        rows = [r for r in rows if r]
        if not rows:
            return
        width = max(len(r) for r in rows)
        lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
        lines.insert(1, "|" + " --- |" * width)
        self.blocks.append(("\n".join(lines), False))

    def result(self) -> str:
        self._flush()
        out = []
        for index, (markdown, item) in enumerate(self.blocks):
            if index:  # list items stay together (a tight list); everything else is its own block
                out.append("\n" if item and self.blocks[index - 1][1] else "\n\n")
            out.append(markdown)
        return "".join(out)
