"""Documents: the build_document action and `rcmflow build`, on the demo's data.

The regional input with every country's input or its absence, the declaration draft
with the amendments by country, the Troika report, a deliverable; attachments' text;
HTML that escapes what countries wrote; the sandbox; files that never leave out/;
each build recorded in the history with its hashes.
"""

from __future__ import annotations

import re

import datetime as dt
import hashlib
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from rcmflow.default_plugins.documents.build import build
from rcmflow.default_plugins.documents.files import output_path
from rcmflow.default_plugins.documents.markdown import parse_markdown
from rcmflow.default_plugins.documents.word import to_docx
from rcmflow.errors import BadInput
from rcmflow.store.models import OutboxItem

MEMBERS = {"BZ": "Belize", "CA": "Canada", "CR": "Costa Rica", "DO": "Dominican Republic", "SV": "El Salvador",
           "GT": "Guatemala", "HN": "Honduras", "MX": "Mexico", "NI": "Nicaragua", "PA": "Panama",
           "US": "United States"}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def theme4(demo, tmp_path):
    """theme-4 after the demo: Mexico sends text and a .md file, Guatemala a .docx,
    Canada a value with an HTML tag in it, the United States declines, El Salvador is
    drafting, the others have not answered."""
    markdown = tmp_path / "input-mx.md"
    markdown.write_text("# Priorities of Mexico\n\n- remittances without fees\n- portable pensions\n\n"
                        "Mexico supports **co-development** programmes.\n", encoding="utf-8")
    word = tmp_path / "aporte-gt.docx"
    document = docx.Document()
    document.add_heading("Aporte de Guatemala", level=1)
    document.add_paragraph("Las remesas sostienen a una de cada tres familias rurales.")
    document.add_paragraph("inclusión financiera de las familias receptoras", style="List Bullet")
    document.save(word)
    demo.fire("theme-4", "open")
    demo.acting_as("mx-focal").fire("theme-4", "submit", "MX", values={"input": "Diaspora bonds, 2 pilots."},
                                    attachments=[markdown])
    demo.acting_as("gt-focal").fire("theme-4", "submit", "GT", attachments=[word])
    demo.acting_as("ca-focal").fire("theme-4", "submit", "CA", values={"input": f"Our view {SCRIPT} | ok"})
    demo.acting_as("us-focal").fire("theme-4", "decline", "US", note="no input on this theme")
    demo.acting_as("sv-focal").fire("theme-4", "start_drafting", "SV")
    demo.fire("theme-4", "accept", "MX")
    return demo


def paragraphs(path: Path) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in docx.Document(path).paragraphs if p.text.strip()]


def section(items: list[tuple[str, str]], heading: str) -> list[tuple[str, str]]:
    """The paragraphs under the Heading 2 `heading`, up to the next Heading 1 or 2."""
    start = items.index(("Heading 2", heading)) + 1
    end = next((i for i in range(start, len(items)) if items[i][0] in ("Heading 1", "Heading 2")), len(items))
    return items[start:end]


# --- the documents ---------------------------------------------------------------------------


def test_the_regional_input_has_each_country_or_its_absence_and_who_contributed(theme4, rcmflow, home):
    result = rcmflow("build", "theme-4", "--template", "regional-input", "--format", "docx")
    assert result.exit_code == 0, result.stderr
    path = home / "out" / "theme-4" / "regional-input.en.docx"
    assert result.stdout.startswith("out/theme-4/regional-input.en.docx  ")
    items = paragraphs(path)
    assert items[0] == ("Heading 1", "Regional input of the RCM on theme 4")
    headings = [text for style, text in items if style == "Heading 2"]
    assert headings == ["Canada", "Guatemala", "Mexico", "Countries without input", "Who contributed"]
    absent = {text.split(":")[0]: text for style, text in section(items, "Countries without input")
              if style == "List Bullet"}
    assert set(absent) | {"Canada", "Guatemala", "Mexico"} == set(MEMBERS.values())
    assert re.fullmatch(r"United States: declined on \w+ \d{1,2}, 2017: “no input on this theme”", absent["United States"])
    # the command runs on today's clock: the deadline of 2017 is long past
    assert absent["El Salvador"] == "El Salvador: no answer by the deadline (July 7, 2017)"
    assert absent["Belize"] == "Belize: no answer by the deadline (July 7, 2017)"
    assert ("Normal", "Input: Diaspora bonds, 2 pilots.") in section(items, "Mexico")
    assert re.fullmatch(r"Input sent \w+ \d{1,2}, 2017; accepted\.", section(items, "Mexico")[0][1])
    assert any("3 of 11 member countries sent input" in text for _, text in items)

    table = docx.Document(path).tables[-1]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["Country", "Answer", "Notes", "Files"]
    assert [r[0] for r in rows[1:]] == list(MEMBERS.values())
    mexico = rows[1 + list(MEMBERS).index("MX")]
    assert mexico[0] == "Mexico" and mexico[1].startswith("sent ") and mexico[1].endswith("; accepted")
    assert mexico[2:] == ["—", "input-mx.md"]
    assert rows[1 + list(MEMBERS).index("GT")][3] == "aporte-gt.docx"
    assert rows[1 + list(MEMBERS).index("US")][1:3] == [absent["United States"].split(": ", 1)[1],
                                                        "no input on this theme"]
    assert not (home / "out" / "theme-4" / "regional-input.en.html").exists()


def test_attached_md_and_docx_text_is_pulled_into_the_regional_input(theme4, home, tmp_path):
    (tmp_path / "notas.txt").write_text("# not a heading\n1. not a list\n", encoding="utf-8")
    (tmp_path / "notas.docx").write_bytes(b"not a zip file")
    (tmp_path / "anexo.pdf").write_bytes(b"%PDF-1.4\n")
    theme4.acting_as("hn-focal").fire("theme-4", "submit", "HN", attachments=[
        tmp_path / "notas.txt", tmp_path / "notas.docx", tmp_path / "anexo.pdf"])
    build(theme4, "theme-4", "regional-input", ("docx",))
    items = paragraphs(home / "out" / "theme-4" / "regional-input.en.docx")
    mexico = section(items, "Mexico")
    assert ("Heading 3", "input-mx.md") in mexico
    # the file's own heading sits below the file's: level 1 in the file, 4 here
    assert ("Heading 4", "Priorities of Mexico") in mexico
    assert [t for s, t in mexico if s == "List Bullet"] == ["remittances without fees", "portable pensions"]
    assert ("Normal", "Mexico supports co-development programmes.") in mexico
    guatemala = section(items, "Guatemala")
    assert ("Heading 3", "aporte-gt.docx") in guatemala
    assert ("Heading 4", "Aporte de Guatemala") in guatemala
    assert ("Normal", "Las remesas sostienen a una de cada tres familias rurales.") in guatemala
    assert ("List Bullet", "inclusión financiera de las familias receptoras") in guatemala
    # a .txt is text, whatever it looks like; a damaged file and a PDF are named, without text
    honduras = [t for s, t in section(items, "Honduras") if s == "Normal"]
    assert "# not a heading\n1. not a list" in honduras
    assert "The text of this file could not be read (BadZipFile: File is not a zip file); see the file itself." \
        in honduras
    assert "A PDF file: its text is not reproduced here; see the file itself." in honduras


def test_the_declaration_draft_lists_the_amendments_by_country(demo, home):
    built = build(demo, "declaration-2017", "declaration-draft")
    assert [f.path for f in built.files] == ["out/declaration-2017/declaration-draft.en.docx",
                                             "out/declaration-2017/declaration-draft.en.html",
                                             "out/declaration-2017/declaration-draft.es.docx",
                                             "out/declaration-2017/declaration-draft.es.html"]
    document = docx.Document(home / built.files[0].path)
    items = [(p.style.name, p.text) for p in document.paragraphs if p.text.strip()]
    text = section(items, "Text")
    assert text[0] == ("Normal", "Declaration of the Regional Conference on Migration on the Global Compact")
    assert [s for s, _ in text[1:]] == ["List Number"] * 8
    assert "and to promote access to justice" in text[1][1]
    amendments = section(items, "Amendments by country")
    assert ("Normal", "5 amendments from 3 of 11 member countries; 5 of them have a disposition of the "
                      "Technical Secretariat.") in amendments
    assert [t for s, t in amendments if s == "Heading 3"] == ["Guatemala", "Honduras", "United States",
                                                              "Without amendments"]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    assert [t[0] for t in tables] == [["No.", "Item", "Line", "Change", "Reason", "Disposition"]] * 3
    guatemala, honduras, united_states = (t[1:] for t in tables)
    assert guatemala == [
        ["GT 1", "1", "3", 'say "victims of crimes"', "migrants can be victims of various crimes", "taken in"],
        ["GT 2", "1", "—", "include access to justice, and mechanisms for it in countries of transit, return and "
                           "destination", "—", "taken in"],
        ["GT 3", "5", "—", 'drop "and more efficient border management"', "territorial claim with Belize",
         "not taken in: item 5 stays as Mexico proposed it, for the online meeting of 24 April to discuss"],
    ]
    assert honduras == [["HN 1", "new", "—", "add an item on migrant smuggling and trafficking in persons", "—",
                         "merged: into the new item 8, with the protection of victims"]]
    assert united_states == [["US 1", "—", "—", 'do not use the terms "slavery" or "modern slavery"', "—", "taken in"]]
    assert ("List Bullet", "United States asks that these terms not be used: slavery; modern slavery") in \
        section(items, "Terms to keep out of the text")


def test_the_troika_report_and_the_deliverable(demo, home):
    build(demo, "troika-2017-03-30", "troika-report", ("docx",))
    items = paragraphs(home / "out" / "troika-2017-03-30" / "troika-report.en.docx")
    assert items[0] == ("Heading 1", "Report of the Troika meeting RCM–SACM, March 30, 2017")
    assert [t for s, t in section(items, "Agenda")] == [
        "Contents and schedule of the GCM",
        "Migration flows towards the RCM region and towards Europe, extra-regional and extra-continental migrants",
        "The RCM's joint declaration on the GCM", "Agreements and non-agreements concerning the GCM"]
    assert {s for s, _ in section(items, "Agenda")} == {"List Number"}
    assert section(items, "Agreements") == [("List Bullet", "The GCM is the only topic"),
                                            ("List Bullet", "human rights as the focus of bi-regional input")]
    assert section(items, "Non-agreements") == [
        ("List Bullet", "The best practices to share: to be limited to the topics of the New York Declaration")]

    build(demo, "background-paper", "deliverable", ("docx",))
    items = paragraphs(home / "out" / "background-paper" / "deliverable.en.docx")
    assert items[0] == ("Heading 1", "Background paper on the RCM's experience with the topics of the GCM")
    assert [t for s, t in items if s == "Heading 2"] == [
        "Draft", "Comments of Canada", "Comments of Guatemala", "Comments of Mexico", "Comments of Panama",
        "Countries without comments", "The review at a glance"]
    assert ("Normal", "Comments: see attached remarks") in section(items, "Comments of Panama")
    assert ("List Bullet", "United States: no comments") in section(items, "Countries without comments")
    # the draft the secretariat sent for review, read back from the file it attached
    assert ("Heading 3", "background-paper.md") in section(items, "Draft")


def test_each_numbered_list_in_word_starts_again_at_one():
    tokens = parse_markdown("1. a\n2. b\n\nbetween\n\n1. c\n\nagain\n\n3. d\n")
    document = docx.Document(io.BytesIO(to_docx(tokens, "t", dt.datetime.now(dt.timezone.utc))))
    numbered = [p for p in document.paragraphs if p.style.name == "List Number"]
    ids = [p._p.pPr.numPr.numId.val for p in numbered]
    assert ids[0] == ids[1] and len(set(ids)) == 3  # a, b | c | d (its own list, from 3)
    numbering = document.part.numbering_part.element
    starts = [numbering.num_having_numId(i).lvlOverride_lst[0].startOverride.val for i in (ids[0], ids[2], ids[3])]
    assert starts == [1, 1, 3]


# --- HTML, sandbox and paths -----------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_is_one_page_that_escapes_what_countries_wrote(theme4, home):
    build(theme4, "theme-4", "regional-input", ("html",))
    page = (home / "out" / "theme-4" / "regional-input.en.html").read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and "style" in parser.tags
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>Regional input of the RCM on theme 4</title>" in page
    assert "Our view &lt;script&gt;alert(1)&lt;/script&gt; | ok" in page
    assert f"Input: Our view {SCRIPT} | ok" in "".join(parser.text)
    assert parser.tags.count("h2") == 5 and parser.tags.count("table") == 1


def wire(home: Path, transition: str, action: str) -> None:
    """Add an action to a transition of the test home's thematic-consultation."""
    path = home / "workflows" / "thematic-consultation.yaml"
    text = path.read_text()
    anchor = f"  - trigger: {transition}\n"
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor}    actions: [{action}]\n", 1))


def test_the_action_builds_after_the_commit_and_records_the_files(home, make_engine, rcmflow):
    wire(home, "open", "{build_document: {template: regional-input, formats: [html]}}")
    engine = make_engine()
    engine.init()
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-05-05"})
    engine.fire("theme-2", "open")
    page = home / "out" / "theme-2" / "regional-input.en.html"
    assert page.is_file() and not (home / "out" / "theme-2" / "regional-input.en.docx").exists()
    build = engine.history("theme-2")[-1]
    assert (build.trigger, build.actor, build.source, build.dest) == ("build", "rcmflow", "collecting_input",
                                                                      "collecting_input")
    spanish = home / "out" / "theme-2" / "regional-input.es.html"
    assert build.data["files"] == [{"path": f"out/theme-2/{f.name}", "language": f.name.split(".")[1],
                                    "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                                    "size": f.stat().st_size} for f in (page, spanish)]
    assert build.data["event_seq"] == build.seq - 1
    # and the workflow now names its template, so the command needs no --template
    assert rcmflow("build", "theme-2", "--format", "html").exit_code == 0


def test_the_sandbox_refuses_a_template_that_reaches_for_python(home, make_engine, rcmflow):
    (home / "workflows" / "templates" / "evil.md.j2").write_text(
        "# Evil\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    wire(home, "open", "{build_document: {template: evil}}")
    engine = make_engine()
    engine.init()
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-05-05"})
    engine.fire("theme-2", "open")  # the transition stands; its action fails
    with engine.db.reading() as session:
        item = session.scalars(select(OutboxItem).where(OutboxItem.action == "build_document")).one()
    assert item.status == "pending"
    assert item.last_error == ("BadInput: workflows/templates/evil.md.j2:3: "
                               "access to attribute '__class__' of 'str' object is unsafe.")
    assert not (home / "out").exists()
    assert "build" not in [e.trigger for e in engine.history("theme-2")]
    result = rcmflow("build", "theme-2", "--template", "evil")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: workflows/templates/evil.md.j2:3: access to attribute '__class__' of 'str' object is unsafe."]
    assert not (home / "out").exists()


def test_a_template_error_names_its_file_and_line(home, engine, rcmflow, consultation):
    (home / "workflows" / "templates" / "typo.md.j2").write_text("# T\n\n{{ instance.nope }}\n")
    result = rcmflow("build", consultation, "--template", "typo")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: workflows/templates/typo.md.j2:3: 'dict object' has no attribute 'nope'"
    missing = rcmflow("build", consultation, "--template", "nothing-here")
    assert missing.stderr.strip() == ("Error: no template workflows/templates/nothing-here.md.j2; templates: "
                                      "base-text, compilation, consolidated, declaration-draft, deliverable, regional-input, troika-report, typo")
    # without --template: the template the workflow's own build_document names
    default = rcmflow("build", consultation, "--json")
    assert default.exit_code == 0, default.stderr
    assert [Path(f["path"]).name for f in json.loads(default.stdout)["files"]] == [
        "regional-input.en.docx", "regional-input.en.html", "regional-input.es.docx", "regional-input.es.html"]


def test_no_name_can_lead_a_file_out_of_out(home, engine, rcmflow, consultation, tmp_path):
    for name in ("../../evil", "../evil", "a/../../b", "Evil", "_partial"):
        result = rcmflow("build", consultation, "--template", name)
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
        assert "must be lower case letters, digits, '-' or '_'" in result.stderr
    with pytest.raises(BadInput, match="must be lower case"):
        output_path(home, consultation, "../x", "html")
    with pytest.raises(BadInput, match="cannot name an output folder"):
        output_path(home, "../theme-1", "regional-input", "html")
    # a folder of out/ that is a symlink elsewhere is refused too
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "out").mkdir()
    (home / "out" / consultation).symlink_to(elsewhere)
    result = rcmflow("build", consultation, "--template", "regional-input")
    assert result.exit_code == 1 and "is outside" in result.stderr
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "evil.docx").exists()


@pytest.mark.no_database
def test_a_definition_naming_a_bad_template_does_not_validate(home, rcmflow):
    wire(home, "open", "{build_document: {template: ../secrets, formats: [pdf]}}")
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 1
    assert "thematic-consultation.yaml:" in result.stdout + result.stderr
    assert "template name '../secrets' must be lower case" in result.stdout + result.stderr


# --- the command line and the history ---------------------------------------------------------------


def test_build_json_prints_the_files_and_the_history_keeps_their_hashes(demo, rcmflow, home):
    result = rcmflow("build", "declaration-2017", "--template", "declaration-draft", "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert (printed["instance"], printed["template"]) == ("declaration-2017", "declaration-draft")
    for entry in printed["files"]:
        content = (home / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest() and entry["size"] == len(content)
    event = demo.history("declaration-2017")[-1]
    assert (event.seq, event.trigger, event.actor) == (printed["event_seq"], "build", "ts-officer")
    assert event.data == {"template": "declaration-draft", "languages": ["en", "es"], "files": printed["files"]}
    assert event.note == "built declaration-draft.en.docx, declaration-draft.en.html, declaration-draft.es.docx, declaration-draft.es.html in out/declaration-2017/"
    history = json.loads(rcmflow("history", "declaration-2017", "--json").stdout)
    assert history[-1]["trigger"] == "build" and history[-1]["dest"] == "adopted"
