"""Word files as a country's focal point writes them: headings, bold and italic, and
lists made with Word's numbering buttons (the "List Paragraph" style with a numbering
definition of their own, not the "List Number" style), and a table."""

from __future__ import annotations

import io

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

ABSTRACT = """<w:abstractNum {ns} w:abstractNumId="{id}"><w:multiLevelType w:val="hybridMultilevel"/>
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/>
<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl></w:abstractNum>"""


def _numbering(document, fmt: str, text: str) -> int:
    """A numbering definition as Word's buttons make one; its numId."""
    numbering = document.part.numbering_part.element
    abstract_id = 90 + len(numbering.findall(docx.oxml.ns.qn("w:abstractNum")))
    numbering.insert(0, parse_xml(ABSTRACT.format(ns=nsdecls("w"), id=abstract_id, fmt=fmt, text=text)))
    return numbering.add_num(abstract_id).numId


def _item(document, text: str, num_id: int) -> None:
    paragraph = document.add_paragraph(text, style="List Paragraph")
    numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    numbering.get_or_add_ilvl().val = 0
    numbering.get_or_add_numId().val = num_id


def country_input(title: str, numbered: list[str], bullets: list[str], table: list[list[str]]) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=1)
    intro = document.add_paragraph("This input was agreed by the ")
    intro.add_run("inter-institutional working group").bold = True
    intro.add_run(" on ")
    intro.add_run("12 April 2017").italic = True
    intro.add_run(".")
    document.add_heading("Proposals", level=2)
    decimal = _numbering(document, "decimal", "%1.")
    for text in numbered:
        _item(document, text, decimal)
    document.add_heading("Good practices", level=2)
    bullet = _numbering(document, "bullet", "\u2022")
    for text in bullets:
        _item(document, text, bullet)
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for row, values in zip(grid.rows, table):
        for cell, value in zip(row.cells, values):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def mexico_input() -> bytes:
    """samples/input-mx.docx: Mexico's input on theme 3."""
    return country_input(
        "Mexico: input on theme 3",
        ["Strengthen consular protection in transit countries",
         "Share data on returns and reintegration through the RCM's network",
         "Joint training of border officials on the rights of migrants"],
        ["Mexico's programme of assisted return", "Bilateral labour mobility agreements"],
        [["Measure", "Responsible", "By"], ["Consular network", "SRE", "2018"], ["Return data", "INM", "2017"]])


if __name__ == "__main__":  # python -m tests.wordfiles: rebuild the sample of the README's tour
    from pathlib import Path

    (Path(__file__).resolve().parent.parent / "samples" / "input-mx.docx").write_bytes(mexico_input())
