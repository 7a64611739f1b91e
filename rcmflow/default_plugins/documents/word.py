"""The Word writer: markdown-it's tokens into a .docx with Word's own styles.

Heading 1-6, List Bullet and List Number (numbering restarted per list), List
Continue, Table Grid with repeated header rows: so that the navigation pane, the
table of contents and list numbering work as a person editing it expects.
"""

from __future__ import annotations

import datetime as dt
import io

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from markdown_it.token import Token


def to_docx(tokens: list[Token], title: str, now: dt.datetime, language: str = "en") -> bytes:
    return DocxWriter(title, now, language).write(tokens)


class DocxWriter:
    """Walks markdown-it's tokens into a python-docx Document with Word's own styles,
    so that the navigation pane, the table of contents and list numbering work."""

    def __init__(self, title: str, now: dt.datetime, language: str = "en"):
        self.document = docx.Document()
        properties = self.document.core_properties
        properties.language = language
        self._default_language(language)
        #: the languages of the marked text around the current token, innermost last
        self.languages: list[str] = []
        properties.title = title
        properties.author = properties.last_modified_by = "rcmflow"
        properties.created = properties.modified = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        properties.revision = 1
        #: the open lists, innermost last: (paragraph style, numbering id or None)
        self.lists: list[tuple[str, str | None]] = []
        self.item_starts = False

    def write(self, tokens: list[Token]) -> bytes:
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
            elif kind == "language_open":
                self.languages.append(token.attrGet("lang"))
            elif kind == "language_close":
                self.languages.pop()
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

    def _paragraph(self, opening: Token, inline: Token) -> None:
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

    def _runs(self, paragraph, children: list[Token], bold: bool = False) -> None:
        strong = emphasis = 0
        languages = list(self.languages)
        if languages:  # the paragraph mark too, so that a whole marked paragraph is in that language
            _set_language(_child(paragraph._p.get_or_add_pPr(), "w:rPr"), languages[-1])
        for child in children:
            # text_special: an escaped character, in markdown-it-py versions without text_join
            if child.type in ("text", "text_special") and child.content:
                run = paragraph.add_run(child.content)
                if bold or strong:
                    run.bold = True
                if emphasis:
                    run.italic = True
                if languages:
                    _set_language(run._r.get_or_add_rPr(), languages[-1])
            elif child.type == "language_inline_open":
                languages.append(child.attrGet("lang"))
            elif child.type == "language_inline_close" and len(languages) > len(self.languages):
                languages.pop()
            elif child.type in ("softbreak", "hardbreak"):
                paragraph.add_run().add_break()
            elif child.type in ("strong_open", "strong_close"):
                strong += 1 if child.type == "strong_open" else -1
            elif child.type in ("em_open", "em_close"):
                emphasis += 1 if child.type == "em_open" else -1

    def _table(self, tokens: list[Token]) -> None:
        rows: list[list[Token]] = []
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

    def _default_language(self, language: str) -> None:
        """The language of every run that says none: docDefaults' w:lang."""
        styles = self.document.styles.element
        defaults = styles.find(qn("w:docDefaults"))
        if defaults is None:
            defaults = OxmlElement("w:docDefaults")
            styles.insert(0, defaults)
        run_defaults = defaults.find(qn("w:rPrDefault"))
        if run_defaults is None:
            run_defaults = OxmlElement("w:rPrDefault")
            defaults.insert(0, run_defaults)
        properties = run_defaults.find(qn("w:rPr"))
        if properties is None:
            properties = OxmlElement("w:rPr")
            run_defaults.append(properties)
        _set_language(properties, language)

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


def _child(parent, tag: str):
    """`parent`'s child `tag`, added at its end if it has none."""
    element = parent.find(qn(tag))
    if element is None:
        element = OxmlElement(tag)
        parent.append(element)
    return element


def _set_language(properties, language: str) -> None:
    """w:lang w:val=LANGUAGE on a run's (or the defaults') properties."""
    element = properties.find(qn("w:lang"))
    if element is None:
        element = OxmlElement("w:lang")
        properties.append(element)
    element.set(qn("w:val"), language)
