"""What countries send is kept, counted and shown: a note alone counts as input, a
Word file keeps its lists (Word's own numbering), tables, bold and italic, a late
input says so, and the files come back byte for byte from the command line and the
status page, which lists them."""

from __future__ import annotations

import datetime as dt
import re
import threading
from html.parser import HTMLParser

import docx
import pytest

from rcmflow.default_plugins.web.app import StatusApp, make_server

from .conftest import one_line
from .test_web import get
from .wordfiles import country_input

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def theme2(initialised, make_engine, tmp_path):
    """theme-2 (due 20 April 2030): Guatemala sends only a note, Honduras a Word file
    with Word's own lists, Panama after the deadline, the United States declines, and
    Belize is silent; the collection is closed."""
    clock = Clock(dt.datetime(2030, 4, 1, 15, 0, tzinfo=dt.timezone.utc))
    engine = make_engine(clock=clock)
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-04-20"})
    engine.fire("theme-2", "open")
    word = tmp_path / "aporte-hn.docx"
    word.write_bytes(country_input("Aporte de Honduras", ["Alerta temprana", "Reasentamiento planificado"],
                                   ["Mesa nacional de cambio climático"], [["Medida", "Año"], ["Alerta", "2018"]]))
    engine.acting_as("gt-focal").fire("theme-2", "submit", "GT", note="Guatemala apoya el texto del subgrupo")
    engine.acting_as("hn-focal").fire("theme-2", "submit", "HN", attachments=[word])
    engine.acting_as("us-focal").fire("theme-2", "decline", "US", note="no input on this theme")
    for country in ("BZ", "CA", "CR", "DO", "SV", "MX", "NI"):
        engine.fire("theme-2", "submit", country, note=f"{country} input by e-mail")
    clock.now = dt.datetime(2030, 4, 23, 10, 0, tzinfo=dt.timezone.utc)
    engine.acting_as("pa-focal").fire("theme-2", "submit", "PA", note="Panamá: aporte tardío")
    return engine, word


def paragraphs(path) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in docx.Document(path).paragraphs if p.text.strip()]


@pytest.fixture(autouse=True)
def _after_the_story(monkeypatch):
    """The commands run after the story the fixtures tell (April 2030), as the history's time order asks."""
    monkeypatch.setenv("RCMFLOW_NOW", "2030-04-24T09:00:00+00:00")


def test_notes_word_lists_and_late_input_show_in_the_regional_input(theme2, rcmflow, home):
    result = rcmflow("build", "theme-2", "--template", "regional-input", "--format", "docx")
    assert result.exit_code == 0, result.stderr
    path = home / "out" / "theme-2" / "regional-input.en.docx"
    items = paragraphs(path)
    text = "\n".join(t for _, t in items)
    assert "10 of 11 member countries sent input, 1 of them after the deadline." in text
    assert "Nothing was recorded" not in text and "without any text or file" not in text
    guatemala = items[items.index(("Heading 2", "Guatemala")) + 1:]
    assert guatemala[0] == ("Normal", "Input sent April 1, 2030.")
    assert guatemala[1] == ("Normal", "Note of April 1, 2030: Guatemala apoya el texto del subgrupo")
    panama = items[items.index(("Heading 2", "Panama")) + 1:]
    assert panama[0] == ("Normal", "Input sent April 23, 2030, late (due April 20, 2030).")
    honduras = items[items.index(("Heading 2", "Honduras")) + 1:items.index(("Heading 2", "Mexico"))]
    assert ("Heading 4", "Aporte de Honduras") in honduras
    assert [t for s, t in honduras if s == "List Number"] == ["Alerta temprana", "Reasentamiento planificado"]
    assert [t for s, t in honduras if s == "List Bullet"] == ["Mesa nacional de cambio climático"]
    document = docx.Document(path)
    intro = next(p for p in document.paragraphs if p.text.startswith("This input was agreed by the"))
    assert [r.text for r in intro.runs if r.bold] == ["inter-institutional working group"]
    assert [r.text for r in intro.runs if r.italic] == ["12 April 2017"]
    assert [[c.text for c in row.cells] for row in document.tables[0].rows] == [["Medida", "Año"], ["Alerta", "2018"]]
    assert ("List Bullet", "United States: declined on April 1, 2030: “no input on this theme”") in items
    rows = [[c.text for c in row.cells] for row in document.tables[-1].rows]
    assert rows[1 + MEMBERS.index("GT")][1:3] == ["sent April 1, 2030", "Guatemala apoya el texto del subgrupo"]


def test_attachments_are_listed_saved_and_named_in_the_history(theme2, rcmflow, tmp_path, snapshot):
    engine, word = theme2
    listed = rcmflow("attachments", "theme-2")
    assert listed.exit_code == 0
    assert re.search(r"^HN\s+aporte-hn\.docx  [\d,]+ bytes  sent 2030-04-01 15:00 \(event \d+\)  sha256 [0-9a-f]{64}$",
                     listed.stdout, re.M), listed.stdout
    saved = rcmflow("attachments", "theme-2", "--participant", "HN", "--save", str(tmp_path / "inputs"))
    assert saved.exit_code == 0
    assert (tmp_path / "inputs" / "HN" / "aporte-hn.docx").read_bytes() == word.read_bytes()
    history = rcmflow("history", "theme-2")
    assert re.search(r"submit .* HN .* aporte-hn\.docx", history.stdout)
    before = snapshot()
    wrong = rcmflow("attachments", "theme-2", "--participant", "XX", "--save", str(tmp_path / "nothing"))
    assert wrong.exit_code == 1 and not (tmp_path / "nothing").exists()
    assert one_line(wrong).startswith("Error: XX is not a participant of theme-2; its participants are BZ, CA,")
    assert snapshot() == before


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def test_the_status_page_lists_and_serves_what_was_sent(theme2):
    engine, word = theme2
    httpd = make_server(StatusApp(engine), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        status, _, page = get(base, "/instances/theme-2")
        assert status == 200
        html = page.decode()
        assert "“Guatemala apoya el texto del subgrupo”" in html
        parser = Links()
        parser.feed(html)
        [href] = [h for h in parser.hrefs if h.startswith("/files/")]
        status, headers, content = get(base, href)
        assert status == 200 and content == word.read_bytes()
        assert headers["content-disposition"] == "attachment; filename*=UTF-8''aporte-hn.docx"
        assert get(base, href.replace("aporte-hn", "other"))[0] == 404
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
