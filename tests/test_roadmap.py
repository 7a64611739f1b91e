"""The RCM roadmap end to end: the meeting report's scenario, consensus, restricted
terms, the review that waits for the consultations, and each definition's refusals."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rcmflow.cli import cli
from rcmflow.default_plugins.scenario.demo import ADOPTED_TEXT, DECLARATION_DRAFT
from rcmflow.core.engine import Engine
from rcmflow.errors import Blocked, Forbidden, InvalidTrigger

from .conftest import REPO

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]
FINAL = {
    "theme-1": "submitted", "theme-2": "submitted", "theme-3": "submitted", "theme-4": "planned",
    "review-2017": "planned", "troika-2017-03-30": "reported", "declaration-2017": "adopted",
    "background-paper": "published", "best-practices": "drafting",
}


def test_the_demo_plays_the_meeting_report_to_the_end(demo_data, demo, home):
    """The demo is played once per session and backend (conftest's templates); this test
    reads what it told and a copy of what it left: database and files."""
    states = {v.id: v.state for v in demo.status()}
    assert {k: states[k] for k in FINAL} == FINAL
    text = "\n".join(demo_data.told)
    assert 'BLOCKED: adopt is blocked on declaration-2017: an objection stands: GT ("item 5' in text
    assert '"modern slavery" (kept out at the request of US) on line 12' in text
    assert "compile is blocked on review-2017: waiting for theme-4 (planned)" in text
    assert "deadline of theme-1 passed, waiting: waiting for BZ, NI" in text
    declaration = demo.get("declaration-2017")
    assert declaration.data["text"] == ADOPTED_TEXT
    assert len(declaration.tracks["GT"].data["amendments"]) == 3
    adopted = demo.history("declaration-2017")[-2]
    assert (adopted.trigger, adopted.actor, adopted.dest) == ("adopt", "sv-ppt", "adopted")
    timeout = [e for e in demo.history("background-paper") if e.trigger == "close_review"]
    assert [e.actor for e in timeout] == ["rcmflow"]
    built = [e for e in demo.history("declaration-2017") if e.trigger == "build"]
    assert [Path(f["path"]).name for f in built[-1].data["files"]] == ["declaration-draft.en.docx",
                                                                      "declaration-draft.en.html",
                                                                      "declaration-draft.es.docx",
                                                                      "declaration-draft.es.html"]
    assert (home / "out" / "declaration-2017" / "declaration-draft.en.docx").exists()


def test_the_demo_command_keeps_its_folder(home, templates, tmp_path):
    """On SQLite the session's demo template is what `rcmflow demo --into FOLDER` printed
    and kept (conftest's Templates.demo); this test reads a copy of that folder."""
    played = templates.demo("sqlite")
    assert re.search(r"declaration-2017 +declaration-adoption +adopted", "\n".join(played.told))
    target = tmp_path / "demo"
    shutil.copytree(played.home, target)
    assert {"workflows", "plugins", "rcmflow.db", "out"} <= {p.name for p in target.iterdir()}
    status = CliRunner().invoke(cli, ["--home", str(target), "status", "--json"])
    states = {i["id"]: i["state"] for i in json.loads(status.stdout)["instances"]}
    assert {k: states[k] for k in FINAL} == FINAL
    again = CliRunner().invoke(cli, ["--home", str(home), "demo", "--into", str(target)])
    assert again.exit_code == 1 and "already holds a project" in again.stderr


# --- the declaration, step by step -------------------------------------------------------


@pytest.fixture
def adoption(engine: Engine) -> Engine:
    """declaration-2017 in adoption: every member has finalised its input; US asked
    for "slavery" and "modern slavery" to stay out."""
    return to_adoption(engine, {"year": "2017", "meeting": "2017-04-24"})


def to_adoption(engine: Engine, params: dict) -> Engine:
    engine.start("declaration-adoption", params=params)
    engine.fire("declaration-2017", "share_base_text", values={"text": "1. Base text of Mexico."})
    engine.acting_as("us-focal").fire("declaration-2017", "propose_amendment", "US",
                                      values={"change": "no slavery terms", "exclude_terms": "slavery; modern slavery"})
    for country in MEMBERS:
        if country != "US":
            engine.fire("declaration-2017", "no_comments", country)
    engine.fire("declaration-2017", "resolve_amendment", values={"amendment": "US 1", "disposition": "taken_in"})
    for trigger in ("agree_draft", "draft_declaration"):
        engine.fire("declaration-2017", trigger)
    engine.fire("declaration-2017", "revise_text", values={"text": DECLARATION_DRAFT})
    engine.fire("declaration-2017", "sign_off")
    engine.acting_as("sv-ppt").fire("declaration-2017", "sign_off")
    engine.fire("declaration-2017", "circulate_declaration")
    for country in MEMBERS:
        engine.fire("declaration-2017", "finalise_input", country)
    engine.fire("declaration-2017", "hold_online_meeting")
    engine.fire("declaration-2017", "open_adoption")
    return engine


def agree_all(engine: Engine, but: tuple[str, ...] = ()) -> None:
    for country in MEMBERS:
        if country not in but:
            engine.acting_as(f"{country.lower()}-focal").fire("declaration-2017", "agree", country)


def test_consensus_blocks_while_an_objection_stands_and_names_the_country(adoption, snapshot):
    adoption.fire("declaration-2017", "revise_text", values={"text": ADOPTED_TEXT})
    agree_all(adoption, but=("GT", "NI"))
    with pytest.raises(Blocked, match=r"no consensus yet: waiting for GT, NI \(9 of 11 members"):
        adoption.fire("declaration-2017", "adopt")
    adoption.acting_as("ni-focal").fire("declaration-2017", "not_object", "NI")
    adoption.acting_as("gt-focal").fire("declaration-2017", "object", "GT", values={"reason": "item 5"})
    before = snapshot()
    with pytest.raises(Blocked, match=r'an objection stands: GT \("item 5"\)'):
        adoption.fire("declaration-2017", "adopt")
    assert snapshot() == before
    adoption.acting_as("gt-focal").fire("declaration-2017", "withdraw_objection", "GT")
    assert adoption.fire("declaration-2017", "adopt").state == "adopted"


def test_the_silence_procedure_adopts_after_its_deadline_and_names_who_was_silent(engine):
    today = engine.rt.today()
    to_adoption(engine, {"year": "2017", "meeting": "2017-04-24", "adoption_due": today.isoformat()})
    engine.fire("declaration-2017", "revise_text", values={"text": ADOPTED_TEXT})
    agree_all(engine, but=("GT", "NI"))
    with pytest.raises(Blocked, match=rf"waiting for GT, NI .*silence counts as consent after {today.isoformat()}"):
        engine.fire("declaration-2017", "adopt")
    tomorrow = engine.at(engine.now() + dt.timedelta(days=1))
    assert tomorrow.fire("declaration-2017", "adopt").state == "adopted"
    adopted = tomorrow.get("declaration-2017")
    assert adopted.data["consented_by_silence"] == ["GT", "NI"]
    [adopt] = [e for e in tomorrow.history("declaration-2017") if e.trigger == "adopt"]
    assert adopt.data["set"]["consented_by_silence"] == ["GT", "NI"]  # in the adopted record itself


def test_an_objection_still_blocks_after_the_silence_deadline(engine):
    past = (engine.rt.today() - dt.timedelta(days=1)).isoformat()
    to_adoption(engine, {"year": "2017", "meeting": "2017-04-24", "adoption_due": past})
    engine.fire("declaration-2017", "revise_text", values={"text": ADOPTED_TEXT})
    agree_all(engine, but=("GT", "NI"))
    engine.acting_as("gt-focal").fire("declaration-2017", "object", "GT", values={"reason": "item 5"})
    with pytest.raises(Blocked, match=r'an objection stands: GT \("item 5"\)'):
        engine.fire("declaration-2017", "adopt")


def test_restricted_terms_block_adoption_and_say_where(adoption):
    agree_all(adoption)
    with pytest.raises(Blocked, match=r'"modern slavery" \(kept out at the request of US\) on line 12: "8. We will combat'):
        adoption.fire("declaration-2017", "adopt")
    # whatever the case, and across a line break
    adoption.fire("declaration-2017", "revise_text", values={"text": "We reject Modern\n  SLAVERY."})
    [option] = [o for o in adoption.triggers("declaration-2017") if o.trigger == "adopt"]
    assert not option.allowed and 'on line 1: "We reject Modern SLAVERY."' in option.reason
    adoption.fire("declaration-2017", "revise_text", values={"text": "We reject slaveryish words only."})
    assert adoption.fire("declaration-2017", "adopt").state == "adopted"


def test_a_focal_point_cannot_act_for_another_country(adoption, snapshot):
    before = snapshot()
    with pytest.raises(Forbidden, match="us-focal is a focal point of US and cannot act on GT's track"):
        adoption.acting_as("us-focal").fire("declaration-2017", "object", "GT")
    with pytest.raises(Forbidden, match="agree needs role focal_point; ts-officer has secretariat"):
        adoption.fire("declaration-2017", "agree", "GT")
    assert snapshot() == before


def test_amendments_are_listed_by_country(rcmflow, engine, snapshot):
    engine.start("declaration-adoption", params={"year": "2017", "meeting": "2017-04-24"})
    engine.fire("declaration-2017", "share_base_text", values={"text": "base"})
    gt = engine.acting_as("gt-focal")
    gt.fire("declaration-2017", "propose_amendment", "GT",
            values={"item": "1", "line": "3", "change": 'say "victims of crimes"', "reason": "various crimes"})
    gt.fire("declaration-2017", "propose_amendment", "GT", values={"item": "5", "change": "drop border management"})
    engine.acting_as("hn-focal").fire("declaration-2017", "propose_amendment", "HN",
                                      values={"change": "add smuggling and trafficking"})
    listed = json.loads(rcmflow("amendments", "declaration-2017", "--json").stdout)
    assert [(a["participant"], a["item"], a["change"]) for a in listed] == [
        ("GT", "1", 'say "victims of crimes"'), ("GT", "5", "drop border management"),
        ("HN", None, "add smuggling and trafficking")]
    table = rcmflow("amendments", "declaration-2017", "--participant", "GT").stdout
    assert 'GT 1  item 1, line 3: say "victims of crimes"  (reason: various crimes)  -> no disposition yet' in table
    assert "HN" not in table
    before = snapshot()
    refused = rcmflow("fire", "declaration-2017", "propose_amendment", "-p", "MX", "--set", "item=2", actor="mx-focal")
    assert refused.exit_code == 1
    assert refused.stderr == "Error: an amendment needs its text: add --set change=TEXT (and item, line, reason)\n"
    assert snapshot() == before


# --- the review waits for the consultations -------------------------------------------


def submit_consultation(engine: Engine, theme: int) -> None:
    engine.start("thematic-consultation", params={"theme": str(theme), "deadline": "2030-01-01"})
    instance = f"theme-{theme}"
    engine.fire(instance, "open")
    for country in MEMBERS:
        engine.fire(instance, "submit", country)
    engine.fire(instance, "close_collection")
    for country in MEMBERS:
        engine.fire(instance, "accept", country)
    engine.fire(instance, "circulate")
    engine.fire(instance, "submit_regional_input")


def submit_five(build) -> None:
    engine = build()
    engine.init()
    for theme in range(1, 6):
        submit_consultation(engine, theme)


@pytest.fixture
def five_submitted(home, database, templates, make_engine) -> Engine:
    """theme-1 to theme-5 submitted, each through every step (played once per session
    and backend, copied for each test)."""
    templates.played("five-consultations", database.backend, REPO, submit_five).copy_into(home, database)
    return make_engine()


def test_the_review_waits_for_its_consultations_to_start(engine):
    engine.start("regional-review", params={"year": "2017", "comments_due": "2030-11-15"})
    with pytest.raises(Blocked, match="0 thematic-consultation started, 6 needed"):
        engine.fire("review-2017", "compile")


def test_the_review_compiles_only_once_every_consultation_is_submitted(five_submitted, snapshot):
    engine = five_submitted
    assert {v.id: v.state for v in engine.status()} == {f"theme-{n}": "submitted" for n in range(1, 6)}
    engine.start("regional-review", params={"year": "2017", "comments_due": "2030-11-15"})
    engine.start("thematic-consultation", params={"theme": "6", "deadline": "2030-01-01"})
    before = snapshot()
    with pytest.raises(Blocked, match=r"waiting for theme-6 \(planned\): 5 of 6 thematic-consultation in submitted"):
        engine.fire("review-2017", "compile")
    assert snapshot() == before
    engine.fire("theme-6", "cancel")  # a cancelled consultation waits for nothing: the review goes on
    assert engine.fire("review-2017", "compile").dest == "compiling"


def test_the_review_runs_to_endorsement(five_submitted):
    engine = five_submitted
    submit_consultation(engine, 6)
    engine.start("regional-review", params={"year": "2017", "comments_due": "2030-11-15"})
    for trigger in ("compile", "circulate"):
        engine.fire("review-2017", trigger)
    for country in MEMBERS:
        engine.fire("review-2017", "comment" if country in ("MX", "GT") else "no_comments", country)
    engine.fire("review-2017", "consolidate")
    engine.acting_as("sv-ppt").fire("review-2017", "hold_stocktaking", note="Puerto Vallarta")
    for country in MEMBERS:
        engine.fire("review-2017", "endorse", country)
    assert engine.acting_as("sv-ppt").fire("review-2017", "endorse_review").state == "endorsed"


# --- the Troika meeting ------------------------------------------------------------------


def test_the_troika_meeting_reports_or_says_it_has_no_report(engine):
    for day in ("2017-03-30", "2017-06-30"):
        engine.start("troika-meeting", params={"date": day})
        instance = f"troika-{day}"
        engine.fire(instance, "call_for_agenda")
        for participant in ("HN", "SV", "PA", "SACM"):
            engine.fire(instance, "propose_items" if participant != "SACM" else "no_items", participant)
        engine.fire(instance, "agree_agenda", values={"agenda": "1. GCM; 2. Flows; 3. Declaration; 4. Agreements"})
        engine.fire(instance, "hold_meeting")
    with pytest.raises(Blocked, match="agreements, non_agreements not set"):
        engine.fire("troika-2017-03-30", "circulate_report")
    engine.fire("troika-2017-03-30", "record_outcome", values={"agreements": "GCM only", "non_agreements": "none"})
    assert engine.fire("troika-2017-03-30", "circulate_report").state == "reported"
    assert engine.fire("troika-2017-06-30", "close_without_report", note="first meeting: no report").state \
        == "closed_without_report"


# --- each definition refuses what its state does not allow --------------------------------


@pytest.mark.parametrize("workflow, params, trigger, possible", [
    ("thematic-consultation", {"theme": "1", "deadline": "2030-01-01"}, "close_collection", "cancel, open"),
    ("regional-review", {"year": "2017", "comments_due": "2030-01-01"}, "endorse_review", "compile"),
    ("troika-meeting", {"date": "2017-03-30"}, "hold_meeting", "call_for_agenda"),
    ("declaration-adoption", {"year": "2017", "meeting": "2017-04-24"}, "adopt", "share_base_text"),
    ("ts-deliverable", {"kind": "best-practices", "review_due": "2030-01-01"}, "publish", "send_for_review"),
])
def test_each_definition_refuses_a_trigger_its_state_does_not_allow(engine, snapshot, workflow, params, trigger,
                                                                     possible):
    view = engine.start(workflow, params=params)
    before = snapshot()
    with pytest.raises(InvalidTrigger, match=f"'{trigger}' is not possible: {view.id} is in state {view.state}; "
                                             f"possible now: {possible}"):
        engine.fire(view.id, trigger)
    assert snapshot() == before
