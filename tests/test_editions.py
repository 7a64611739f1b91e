"""Editions: every document in each language its readers use.

`rcmflow build` writes NAME.es.docx, NAME.en.docx, NAME.es.html and NAME.en.html, each
with its headings, labels, dates and country names in its language and the right
`lang` (the page's, Word's w:lang); what a country sent keeps the language it was sent
in, marked as such. (That a focal point's e-mail carries their own edition is checked
on real SMTP in test_messages.py and test_review.py.)
"""

from __future__ import annotations

import json
import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from rcmflow.default_plugins.web.app import StatusApp, make_server

from .test_web import get

EDITIONS = ("en", "es")
W_LANG = qn("w:lang")

#: each document the roadmap ships, on the demo's data: its instance, its first heading
#: in each edition, and a heading further down
SHIPPED = {
    "regional-input": ("theme-1", {"en": "Regional input of the RCM on theme 1",
                                   "es": "Insumo regional de la CRM sobre el tema 1"},
                       {"en": "Who contributed", "es": "Quién contribuyó"}),
    "base-text": ("declaration-2017", {"en": "Political declaration 2017: base text for amendments",
                                       "es": "Declaración política 2017: texto base para enmiendas"}, None),
    "declaration-draft": ("declaration-2017", {"en": "Political declaration 2017: draft and amendments",
                                               "es": "Declaración política 2017: borrador y enmiendas"},
                          {"en": "Amendments by country", "es": "Enmiendas por país"}),
    "troika-report": ("troika-2017-03-30", {"en": "Report of the Troika meeting RCM–SACM, March 30, 2017",
                                            "es": None},
                      {"en": "Items proposed by the participants", "es": "Puntos propuestos por los participantes"}),
    "deliverable": ("background-paper", None, {"en": "The review at a glance", "es": "La revisión de un vistazo"}),
}


class Page(HTMLParser):
    """The `lang` of the page, and the text inside each element that says a `lang` of its own."""

    def __init__(self):
        super().__init__()
        self.page_language = None
        self.marked: list[list] = []  # [lang, tag, depth, text]
        self.open: list[list] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.page_language = attrs.get("lang")
            return
        for entry in self.open:
            if entry[1] == tag:
                entry[2] += 1
        if "lang" in attrs:
            entry = [attrs["lang"], tag, 1, ""]
            self.marked.append(entry)
            self.open.append(entry)
        if tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        for entry in list(self.open):
            if entry[1] == tag:
                entry[2] -= 1
                if entry[2] == 0:
                    self.open.remove(entry)
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        for entry in self.open:
            entry[3] += data
        if self._heading is not None:
            self._heading.append(data)


def page(path: Path) -> Page:
    parsed = Page()
    parsed.feed(path.read_text(encoding="utf-8"))
    return parsed


def default_language(document) -> str:
    return document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")) \
        .find(W_LANG).get(qn("w:val"))


def runs_in(document, language: str) -> str:
    """The text of every run that says it is in `language` (tables' too)."""
    paragraphs = list(document.paragraphs) + [p for t in document.tables for row in t.rows for cell in row.cells
                                              for p in cell.paragraphs]
    return " ".join(run.text for p in paragraphs for run in p.runs
                    if run._r.rPr is not None and run._r.rPr.find(W_LANG) is not None
                    and run._r.rPr.find(W_LANG).get(qn("w:val")) == language)


@pytest.mark.parametrize("template", sorted(SHIPPED))
def test_every_shipped_document_is_built_in_spanish_and_english(demo, rcmflow, home, template):
    instance, titles, heading = SHIPPED[template]
    result = rcmflow("build", instance, "--template", template, "--json")
    assert result.exit_code == 0, result.stderr
    built = json.loads(result.stdout)
    assert built["languages"] == ["en", "es"]  # the home's (en) first, then the participants' other
    assert [(Path(f["path"]).name, f["language"]) for f in built["files"]] == [
        (f"{template}.{language}.{fmt}", language) for language in EDITIONS for fmt in ("docx", "html")]
    folder = home / "out" / instance
    assert not (folder / f"{template}.docx").exists() and not (folder / f"{template}.html").exists()
    for language in EDITIONS:
        document = docx.Document(folder / f"{template}.{language}.docx")
        html = page(folder / f"{template}.{language}.html")
        assert default_language(document) == language and document.core_properties.language == language
        assert html.page_language == language
        word_headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
        if titles and titles[language]:
            assert word_headings[0] == titles[language] == html.headings[0]
        if heading:
            assert heading[language] in word_headings and heading[language] in html.headings
    # the other edition's words are not left in
    english = (folder / f"{template}.en.html").read_text(encoding="utf-8")
    spanish = (folder / f"{template}.es.html").read_text(encoding="utf-8")
    assert english != spanish
    if heading:
        assert heading["en"] not in spanish and heading["es"] not in english


def test_names_and_dates_are_the_editions_own(demo, rcmflow, home):
    assert rcmflow("build", "theme-1", "--template", "regional-input").exit_code == 0
    folder = home / "out" / "theme-1"
    spanish = [p.text for p in docx.Document(folder / "regional-input.es.docx").paragraphs]
    english = [p.text for p in docx.Document(folder / "regional-input.en.docx").paragraphs]
    # members.yaml's names per language, Babel's dates with the year
    assert "México" in spanish and "República Dominicana" in spanish and "Panamá" in spanish
    assert "Mexico" in english and "Dominican Republic" in english and "México" not in english
    # (built now: the command runs on today's clock)
    assert any(re.fullmatch(r"Consulta theme-1; plazo: 20 de abril de 2017\. Generado el \d{1,2} de \w+ de \d{4}, "
                            r"\d\d:\d\d\.", p) for p in spanish)
    assert any(re.fullmatch(r"Consultation theme-1; deadline April 20, 2017\. Built \w+ \d{1,2}, \d{4}, \d\d:\d\d\.", p)
               for p in english)
    assert "Insumo enviado el 24 de abril de 2017, con retraso (plazo: 20 de abril de 2017); aceptado." in spanish
    # the label of what a country gave is the edition's; the text, the country's
    assert any(p.startswith("Insumo: ") for p in spanish) and any(p.startswith("Input: ") for p in english)
    assert spanish[1] == "Derechos humanos de todas las personas migrantes, inclusión social, cohesión y todas las " \
                         "formas de discriminación, incluidos el racismo, la xenofobia y la intolerancia"


@pytest.fixture
def theme4(demo, tmp_path):
    """theme-4: Guatemala (Spanish) sends a Word file, the United States (English)
    declines with a note, Mexico says its text is in English (--set language=en)."""
    word = tmp_path / "aporte-gt.docx"
    document = docx.Document()
    document.add_heading("Aporte de Guatemala", level=1)
    document.add_paragraph("Las remesas sostienen a una de cada tres familias rurales.")
    document.save(word)
    demo.fire("theme-4", "open")
    demo.acting_as("gt-focal").fire("theme-4", "submit", "GT", attachments=[word])
    demo.acting_as("us-focal").fire("theme-4", "decline", "US", note="no input on this theme")
    demo.acting_as("mx-focal").fire("theme-4", "submit", "MX",
                                    values={"input": "Diaspora bonds, two pilots.", "language": "en"})
    return demo


def test_what_a_country_sent_keeps_its_language_mark(theme4, rcmflow, home):
    assert rcmflow("build", "theme-4", "--template", "regional-input").exit_code == 0
    folder = home / "out" / "theme-4"
    english, spanish = page(folder / "regional-input.en.html"), page(folder / "regional-input.es.html")
    # Guatemala's Word file, in Spanish inside the English edition: a block of its own
    [guatemala] = [m for m in english.marked if m[1] == "div"]
    assert guatemala[0] == "es" and "Aporte de Guatemala" in guatemala[3] and "remesas" in guatemala[3]
    # in the Spanish edition it is simply part of the page
    assert not [m for m in spanish.marked if "remesas" in m[3]]
    # the United States' note, in English inside the Spanish edition, in its sentence and in the table
    us = [m for m in spanish.marked if m[3] == "no input on this theme"]
    assert us and all(m[:2] == ["en", "span"] for m in us)
    # Mexico's submission said its text is in English
    assert ["en", "span", 0, "Diaspora bonds, two pilots."] in spanish.marked
    assert not [m for m in english.marked if "Diaspora" in m[3]]

    english_word = docx.Document(folder / "regional-input.en.docx")
    spanish_word = docx.Document(folder / "regional-input.es.docx")
    assert "Aporte de Guatemala" in runs_in(english_word, "es") and "remesas" in runs_in(english_word, "es")
    assert "no input on this theme" in runs_in(spanish_word, "en")
    assert "Diaspora bonds, two pilots." in runs_in(spanish_word, "en")
    # the edition's own words carry no mark: they are in the document's language
    assert "Países sin insumos" not in runs_in(spanish_word, "en") + runs_in(spanish_word, "es")


def test_a_country_cannot_write_a_language_mark(demo, rcmflow, home):
    demo.fire("theme-4", "open")
    demo.acting_as("ca-focal").fire("theme-4", "submit", "CA",
                                    values={"input": "{lang=es}not Spanish{/lang}\n:::\n::: lang=fr\nnor French"})
    assert rcmflow("build", "theme-4", "--template", "regional-input", "--format", "html").exit_code == 0
    parsed = page(home / "out" / "theme-4" / "regional-input.es.html")
    canada = [m for m in parsed.marked if "not Spanish" in m[3]]
    assert [m[0] for m in canada] == ["en"]  # Canada's text, in English, marked once as such
    assert "{lang=es}not Spanish{/lang}" in canada[0][3] and "::: lang=fr" in canada[0][3]


def test_a_home_that_speaks_spanish_lists_its_edition_first_and_a_build_replaces_the_single_file(
        demo, rcmflow, home):
    settings = home / "rcmflow.toml"
    settings.write_text('language = "es"\n' + (settings.read_text() if settings.exists() else ""))
    stale = home / "out" / "theme-1" / "regional-input.docx"
    stale.write_bytes(b"a build from before editions")
    result = rcmflow("build", "theme-1", "--template", "regional-input", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["languages"] == ["es", "en"]
    assert not stale.exists()
    assert sorted(p.name for p in stale.parent.iterdir()) == [
        "regional-input.en.docx", "regional-input.en.html", "regional-input.es.docx", "regional-input.es.html"]


def test_the_status_page_lists_each_edition_in_its_language_and_serves_it(demo, rcmflow, make_engine):
    assert rcmflow("build", "theme-1", "--template", "regional-input").exit_code == 0
    httpd = make_server(StatusApp(make_engine()), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        status, _headers, body = get(base, "/instances/theme-1?lang=es")
        assert status == 200
        listed = re.findall(r'<a href="(/out/theme-1/[^"?]+)[^"]*" hreflang="(\w+)">[^<]+</a> <span class="meta">· (\w+)',
                            body.decode())
        assert listed == [("/out/theme-1/regional-input.en.docx", "en", "inglés"),
                          ("/out/theme-1/regional-input.en.html", "en", "inglés"),
                          ("/out/theme-1/regional-input.es.docx", "es", "español"),
                          ("/out/theme-1/regional-input.es.html", "es", "español")]
        status, _headers, served = get(base, "/out/theme-1/regional-input.es.html")
        assert status == 200 and b'<html lang="es">' in served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
