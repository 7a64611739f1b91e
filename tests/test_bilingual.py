"""The declaration in Spanish and English: each revision in both languages or a
translation pending that holds adoption, and the terms a member asked to keep out
kept out of every language version, through the glossary's equivalents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcmflow.core.engine import Engine

from .conftest import one_line
from .test_roadmap import MEMBERS, agree_all
from .test_roadmap import to_adoption as to_single_language_adoption

BASE_ES = "1. Texto base de México.\n"
BASE_EN = "1. Mexico's base text.\n"
DRAFT_ES = "# Declaración\n\n1. Protegemos los derechos de las personas migrantes.\n2. Cooperamos en la región.\n"
DRAFT_EN = "# Declaration\n\n1. We protect the rights of migrants.\n2. We cooperate in the region.\n"


def to_adoption(engine: Engine) -> Engine:
    """declaration-2017 in adoption with its text in es and en (revision 2); US asked for
    "modern slavery" to stay out."""
    engine.start("declaration-adoption", params={"year": "2017", "meeting": "2017-04-24"})
    engine.fire("declaration-2017", "share_base_text", values={"text.es": BASE_ES, "text.en": BASE_EN})
    engine.acting_as("us-focal").fire("declaration-2017", "propose_amendment", "US",
                                      values={"change": "no slavery terms", "exclude_terms": "modern slavery"})
    for country in MEMBERS:
        if country != "US":
            engine.fire("declaration-2017", "no_comments", country)
    engine.fire("declaration-2017", "resolve_amendment", values={"amendment": "US 1", "disposition": "taken_in"})
    for trigger in ("agree_draft", "draft_declaration"):
        engine.fire("declaration-2017", trigger)
    engine.fire("declaration-2017", "revise_text", values={"text.es": DRAFT_ES, "text.en": DRAFT_EN})
    engine.fire("declaration-2017", "sign_off")
    engine.acting_as("sv-ppt").fire("declaration-2017", "sign_off")
    engine.fire("declaration-2017", "circulate_declaration")
    for country in MEMBERS:
        engine.fire("declaration-2017", "finalise_input", country)
    engine.fire("declaration-2017", "hold_online_meeting")
    engine.fire("declaration-2017", "open_adoption")
    agree_all(engine)
    return engine


@pytest.fixture
def adoption(engine: Engine) -> Engine:
    return to_adoption(engine)


def written(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_revision_in_one_language_holds_adoption_until_the_other_is_given(adoption, rcmflow, snapshot, tmp_path):
    revised = DRAFT_ES.replace("en la región", "en toda la región")
    assert rcmflow("fire", "declaration-2017", "revise_text",
                   "--set-file", f"text.es={written(tmp_path, 'es.md', revised)}").exit_code == 0
    status = rcmflow("status", "declaration-2017").stdout
    assert "declaration-2017: translation pending: the English text (en) since revision 3" in status
    before = snapshot()
    refused = rcmflow("fire", "declaration-2017", "adopt")
    assert refused.exit_code == 3  # blocked
    assert "translation pending: the English text (en) since revision 3: give it with --set-file text.en=FILE" \
        in one_line(refused)
    assert snapshot() == before
    # in Spanish, too
    assert "traducción pendiente: el texto en inglés (en) desde la revisión 3" in \
        rcmflow("--lang", "es", "status", "declaration-2017").stdout
    english = DRAFT_EN.replace("in the region", "across the region")
    assert rcmflow("fire", "declaration-2017", "revise_text",
                   "--set-file", f"text.en={written(tmp_path, 'en.md', english)}").exit_code == 0
    assert "translation pending" not in rcmflow("status", "declaration-2017").stdout
    assert rcmflow("fire", "declaration-2017", "adopt").exit_code == 0
    texts = adoption.get("declaration-2017").data["texts"]
    assert {code: (v["text"], v["revision"]) for code, v in texts.items()} == {"es": (revised, 3), "en": (english, 3)}


def test_a_base_text_in_one_language_leaves_the_other_pending(engine, rcmflow, snapshot, tmp_path):
    engine.start("declaration-adoption", params={"year": "2017", "meeting": "2017-04-24"})
    blocked = [t for t in json.loads(rcmflow("triggers", "declaration-2017", "--json").stdout)
               if t["trigger"] == "share_base_text"]
    assert "there is no text yet: give it with --set-file text.en=FILE --set-file text.es=FILE" in blocked[0]["reason"]
    assert rcmflow("fire", "declaration-2017", "share_base_text",
                   "--set-file", f"text.es={written(tmp_path, 'es.md', BASE_ES)}").exit_code == 0
    assert "translation pending: the English text (en) since revision 1" in rcmflow("status", "declaration-2017").stdout
    before = snapshot()
    mixed = rcmflow("fire", "declaration-2017", "resolve_amendment", "--set", "text=x")
    assert mixed.exit_code == 1 and "resolve_amendment has no input 'text'" in one_line(mixed)
    assert snapshot() == before


def test_a_text_in_languages_takes_no_single_text_and_a_revision_needs_one(adoption, rcmflow, snapshot, tmp_path):
    before = snapshot()
    plain = rcmflow("fire", "declaration-2017", "revise_text", "--set-file", f"text={written(tmp_path, 'd.md', 'x')}")
    assert plain.exit_code == 1
    assert one_line(plain) == ("Error: declaration-2017 has its text in en, es: give each language with "
                               "--set-file text.en=FILE --set-file text.es=FILE, not one text")
    empty = rcmflow("fire", "declaration-2017", "revise_text")
    assert one_line(empty) == "Error: revise_text needs the text: add --set-file text.en=FILE --set-file text.es=FILE"
    assert snapshot() == before
    same = rcmflow("fire", "declaration-2017", "revise_text", "--set-file", f"text.es={written(tmp_path, 'es.md', DRAFT_ES)}")
    assert same.exit_code == 0  # the same text again: no new revision, nothing pending
    assert "translation pending" not in rcmflow("status", "declaration-2017").stdout


def test_the_glossary_keeps_a_term_out_of_the_spanish_text_and_quotes_the_line(adoption, rcmflow, snapshot, tmp_path):
    spanish = DRAFT_ES + "3. Rechazamos la Esclavitud\n   Moderna en todas sus formas.\n"
    assert rcmflow("fire", "declaration-2017", "revise_text", "--set-file", f"text.es={written(tmp_path, 'es.md', spanish)}",
                   "--set-file", f"text.en={written(tmp_path, 'en.md', DRAFT_EN + '3. We reject abuse.')}").exit_code == 0
    before = snapshot()
    refused = rcmflow("fire", "declaration-2017", "adopt")
    assert refused.exit_code == 3  # blocked
    assert ('"modern slavery" (kept out at the request of US) in the Spanish text (es), as "Esclavitud Moderna", '
            'on line 5: "3. Rechazamos la Esclavitud Moderna en todas sus formas."') in one_line(refused)
    assert "English text" not in one_line(refused)
    assert snapshot() == before
    # without the accents, as one may type it: still found
    assert rcmflow("fire", "declaration-2017", "revise_text", "--set-file",
                   f"text.es={written(tmp_path, 'es.md', DRAFT_ES + '3. Sin la esclavitud  moderna.')}").exit_code == 0
    assert 'as "esclavitud moderna", on line 5' in rcmflow("fire", "declaration-2017", "adopt").stderr
    listed = rcmflow("amendments", "declaration-2017", "-p", "US").stdout
    assert "[terms kept out: modern slavery (es: esclavitud moderna; fr: esclavage moderne)]" in listed
    [row] = json.loads(rcmflow("amendments", "declaration-2017", "--json").stdout)
    assert row["equivalents"] == {"modern slavery": {"en": ["modern slavery"], "es": ["esclavitud moderna"],
                                                     "fr": ["esclavage moderne"]}}


def test_a_text_in_one_language_only_is_still_checked_for_every_equivalent(engine, rcmflow, tmp_path):
    to_single_language_adoption(engine, {"year": "2017", "meeting": "2017-04-24"})
    agree_all(engine)
    assert rcmflow("fire", "declaration-2017", "revise_text", "--set-file",
                   f"text={written(tmp_path, 'd.md', 'Sin esclavitud.')}").exit_code == 0
    refused = rcmflow("fire", "declaration-2017", "adopt")
    assert refused.exit_code == 3
    assert one_line(refused).endswith('"slavery" (kept out at the request of US), as "esclavitud", '
                                      'on line 1: "Sin esclavitud."')


@pytest.mark.no_database
@pytest.mark.parametrize(("content", "line", "message"), [
    ("terms:\n  - {en: slavery, es: esclavitud}\n  - {en: modern slavery, xx: esclavitud moderna}\n", 3,
     "language 'xx' is not one of ['en', 'es', 'fr']"),
    ("terms:\n  - {en: slavery, es: esclavitud}\n  - {es: Esclavitud}\n", 3, "'Esclavitud' is already an equivalent of 'slavery'"),
    ("terms:\n  - {en: slavery}\n  - es: [esclavitud moderna, 3]\n", 3, "es: give the term as text, or a list"),
    ("slavery: esclavitud\n", 1, "glossary.yaml must be a mapping with one key, terms"),
])
def test_a_bad_glossary_is_one_line_with_file_and_line(home, rcmflow, content, line, message):
    (home / "workflows" / "glossary.yaml").write_text(content, encoding="utf-8")
    checked = rcmflow("workflows", "validate")
    assert checked.exit_code == 1
    [problem] = [out for out in checked.stdout.splitlines() if "glossary" in out]
    assert problem.startswith(f"workflows/glossary.yaml:{line}: ") and message in problem
    alone = rcmflow("workflows", "validate", str(home / "workflows" / "glossary.yaml"))  # as what it is
    assert alone.exit_code == 1 and alone.stdout.splitlines() == [problem]
    refused = rcmflow("workflows", "list")
    assert refused.exit_code != 0 and one_line(refused).startswith(f"Error: workflows/glossary.yaml:{line}: ")


def built_draft(rcmflow, home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The draft built with a revision in Spanish only: its Word and HTML files (the
    first of each, whatever the edition)."""
    assert rcmflow("fire", "declaration-2017", "revise_text", "--set-file",
                   f"text.es={written(tmp_path, 'es.md', DRAFT_ES + '3. Nuevo punto.')}").exit_code == 0
    built = json.loads(rcmflow("build", "declaration-2017", "--template", "declaration-draft", "--json").stdout)
    paths = [home / f["path"] for f in built["files"]]
    return next(p for p in paths if p.suffix == ".docx"), next(p for p in paths if p.suffix == ".html")


def text_table(path: Path):
    import docx

    [table] = [t for t in docx.Document(str(path)).tables if "Español (es)" in t.rows[0].cells[-1].text]
    return table


def test_the_draft_sets_the_two_languages_side_by_side(adoption, rcmflow, home, tmp_path):
    word, html = built_draft(rcmflow, home, tmp_path)
    table = text_table(word)
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["English (en): translation pending since revision 3", "Español (es)"]
    assert rows[1:] == [["Declaration", "Declaración"],
                        ["1. We protect the rights of migrants.", "1. Protegemos los derechos de las personas migrantes."],
                        ["2. We cooperate in the region.", "2. Cooperamos en la región."],
                        ["", "3. Nuevo punto."]]
    assert table.rows[1].cells[1].paragraphs[0].runs[0].bold  # a heading of the text stands out
    page = html.read_text(encoding="utf-8")
    assert "<th>Español (es)</th>" in page and "3. Nuevo punto." in page


def test_each_column_of_the_draft_says_its_language(adoption, rcmflow, home, tmp_path):
    """In each edition the column in the edition's own language reads as the document
    does; the other column is marked as written in its language (w:lang, lang)."""
    from docx.oxml.ns import qn

    built_draft(rcmflow, home, tmp_path)
    folder = home / "out" / "declaration-2017"

    def languages(cell) -> set[str]:
        return {r._r.rPr.find(qn("w:lang")).get(qn("w:val")) for p in cell.paragraphs for r in p.runs
                if r._r.rPr is not None and r._r.rPr.find(qn("w:lang")) is not None}

    sentence = {"en": "1. We protect the rights of migrants.", "es": "1. Protegemos los derechos de las personas migrantes."}
    for edition, other in (("en", "es"), ("es", "en")):
        english, spanish = (languages(cell) for cell in text_table(folder / f"declaration-draft.{edition}.docx").rows[2].cells)
        marks = {"en": english, "es": spanish}
        assert marks[edition] <= {edition} and marks[other] == {other}, (edition, marks)
        page = (folder / f"declaration-draft.{edition}.html").read_text(encoding="utf-8")
        assert f'<html lang="{edition}"' in page
        assert f'<span lang="{other}">{sentence[other]}</span>' in page