"""The engine through its Python API: start, fire, roles, guards, history, status."""

from __future__ import annotations

import hashlib

import pytest

from rcmflow.errors import BadInput, Blocked, Forbidden, InvalidTrigger, NotFound

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

MEMBERS = ["BZ", "GT", "HN", "MX", "NI", "SV"]  # tests/workflows/members.yaml


def test_start_creates_one_track_per_member_with_its_deadline(engine):
    view = engine.start("thematic-consultation", params={"theme": "3", "deadline": "2030-04-20"})
    assert view.id == "theme-3"
    assert view.state == "planned"
    assert list(view.tracks) == MEMBERS
    assert {t.state for t in view.tracks.values()} == {"requested"}
    assert {t.due.isoformat() for t in view.tracks.values()} == {"2030-04-20"}
    [event] = engine.history("theme-3")
    assert (event.trigger, event.source, event.dest, event.actor) == ("start", None, "planned", "ts-officer")


@pytest.mark.parametrize("params, words", [
    ({"deadline": "2030-04-20"}, "needs param theme"),
    ({"theme": "7", "deadline": "2030-04-20"}, "'7' is not one of 1, 2, 3, 4, 5, 6"),
    ({"theme": "one", "deadline": "2030-04-20"}, "'one' is not a whole number"),
    ({"theme": "1", "deadline": "20 April"}, "write it as YYYY-MM-DD"),
    ({"theme": "1", "deadline": "2030-04-20", "colour": "red"}, "no param 'colour'; its params are: theme, deadline"),
])
def test_bad_params_are_refused_and_change_nothing(engine, snapshot, params, words):
    before = snapshot()
    with pytest.raises(BadInput, match=words):
        engine.start("thematic-consultation", params=params)
    assert snapshot() == before


def test_unknown_workflow_names_the_known_ones(engine):
    with pytest.raises(NotFound, match="unknown workflow 'consultation'; workflows: meeting, thematic-consultation"):
        engine.start("consultation")


def test_an_instance_id_cannot_be_taken_twice(engine, snapshot):
    engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    before = snapshot()
    with pytest.raises(BadInput, match="instance theme-1 already exists"):
        engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-05-20"})
    assert snapshot() == before


def test_a_focal_point_moves_its_own_track(consultation, make_engine):
    mexico = make_engine("mx-focal")
    result = mexico.fire(consultation, "submit", participant="MX", note="our input",
                         values={"summary": "Protection of migrant children"})
    assert (result.state, result.participant, result.track_state) == ("collecting_input", "MX", "submitted")
    view = mexico.get(consultation)
    assert view.tracks["MX"].state == "submitted"
    assert view.tracks["MX"].data == {"summary": "Protection of migrant children"}
    last = mexico.history(consultation)[-1]
    assert (last.actor, last.trigger, last.participant, last.note) == ("mx-focal", "submit", "MX", "our input")


def test_a_focal_point_cannot_act_on_another_countrys_track(consultation, make_engine, snapshot):
    before = snapshot()
    with pytest.raises(Forbidden, match="mx-focal is a focal point of MX and cannot act on GT's track"):
        make_engine("mx-focal").fire(consultation, "submit", participant="GT")
    assert snapshot() == before


def test_roles_are_enforced_on_the_instance(consultation, make_engine, snapshot):
    make_engine("gt-focal").fire(consultation, "submit", participant="GT")
    before = snapshot()
    with pytest.raises(Forbidden, match="cancel needs role secretariat; mx-focal has focal_point"):
        make_engine("mx-focal").fire(consultation, "cancel")
    with pytest.raises(Forbidden, match="actor 'someone' is not in workflows/members.yaml"):
        make_engine("someone").fire(consultation, "cancel")
    with pytest.raises(Forbidden, match="accept needs role secretariat"):
        make_engine("gt-focal").fire(consultation, "accept", participant="GT")
    assert snapshot() == before


def test_the_guard_says_who_is_missing_until_everyone_has_answered(consultation, engine, snapshot):
    for country in MEMBERS[:4]:
        engine.fire(consultation, "submit", participant=country)
    before = snapshot()
    with pytest.raises(Blocked, match=r"waiting for NI, SV: 4 of 6 tracks in submitted\|accepted\|declined"):
        engine.fire(consultation, "close_collection")
    assert snapshot() == before
    [close] = [o for o in engine.triggers(consultation) if o.trigger == "close_collection"]
    assert not close.allowed and close.reason == "waiting for NI, SV: 4 of 6 tracks in submitted|accepted|declined"

    engine.fire(consultation, "submit", participant="NI")
    engine.fire(consultation, "decline", participant="SV", note="no input on this theme")
    assert engine.fire(consultation, "close_collection").state == "consolidating"


def test_a_consultation_runs_to_its_final_state(consultation, engine):
    for country in MEMBERS:
        engine.fire(consultation, "submit", participant=country)
    engine.fire(consultation, "return_for_revision", participant="NI", note="please add figures")
    engine.fire(consultation, "submit", participant="NI")
    engine.fire(consultation, "close_collection")
    with pytest.raises(Blocked, match="waiting for BZ"):
        engine.fire(consultation, "circulate")
    for country in MEMBERS:
        engine.fire(consultation, "accept", participant=country)
    version = engine.get(consultation).version
    engine.fire(consultation, "circulate")  # moves the state and sets data: one write
    assert engine.get(consultation).data == {"consolidated": True}
    assert engine.get(consultation).version == version + 1
    done = engine.fire(consultation, "submit_regional_input")
    assert done.state == "submitted"
    assert engine.triggers(consultation) == []
    history = engine.history(consultation)
    assert [e.seq for e in history] == sorted({e.seq for e in history})
    [circulated] = [e for e in history if e.trigger == "circulate"]
    assert circulated.data["set"] == {"consolidated": True}
    transitions = [e for e in history if e.trigger != "build"]  # builds: by the actions, after the commits
    assert len(transitions) == 1 + 1 + 6 + 2 + 1 + 6 + 1 + 1
    assert [e.trigger for e in history if e.trigger == "build"] == ["build", "build"]  # close_collection, circulate


def test_a_trigger_not_possible_now_names_what_is(consultation, engine, snapshot):
    before = snapshot()
    with pytest.raises(InvalidTrigger, match="'circulate' is not possible: theme-1 is in state collecting_input; "
                                             "possible now: cancel, close_collection"):
        engine.fire(consultation, "circulate")
    with pytest.raises(InvalidTrigger, match="'accept' is not possible: MX's track in theme-1 is in state requested"):
        engine.fire(consultation, "accept", participant="MX")
    with pytest.raises(BadInput, match="submit is a trigger of each participant's track: add --participant"):
        engine.fire(consultation, "submit")
    with pytest.raises(NotFound, match="'XX' has no track in theme-1; participants: BZ, GT"):
        engine.fire(consultation, "submit", participant="XX")
    with pytest.raises(NotFound, match="unknown instance 'theme-9'; instances: theme-1"):
        engine.fire("theme-9", "open")
    assert snapshot() == before


def test_tracks_wait_until_the_consultation_is_open(engine):
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-04-20"})
    with pytest.raises(InvalidTrigger, match="tracks of theme-2 move only while it is in collecting_input|consolidating"):
        engine.fire("theme-2", "submit", participant="MX")
    [submit] = [o for o in engine.triggers("theme-2", participant="MX") if o.trigger == "submit"]
    assert not submit.allowed and "move only while theme-2 is in" in submit.reason


def test_triggers_show_the_role_a_user_lacks(consultation, make_engine):
    options = {o.trigger: o for o in make_engine("bz-focal").triggers(consultation)}
    assert options["cancel"].reason == "cancel needs role secretariat; bz-focal has focal_point"
    options = {o.trigger: o for o in make_engine("bz-focal").triggers(consultation, participant="MX")}
    assert not options["submit"].allowed and "cannot act on MX's track" in options["submit"].reason
    options = {o.trigger: o for o in make_engine("bz-focal").triggers(consultation, participant="BZ")}
    assert options["submit"].allowed and options["submit"].reason is None


def test_attachments_are_kept_with_their_hash(consultation, make_engine, tmp_path, db_url):
    import sqlalchemy as sa

    from rcmflow.store.models import Attachment

    paper = tmp_path / "input-gt.md"
    paper.write_text("# Guatemala\nVictims of crimes.\n")
    result = make_engine("gt-focal").fire(consultation, "submit", participant="GT", attachments=[paper])
    event = make_engine().history(consultation)[-1]
    digest = hashlib.sha256(paper.read_bytes()).hexdigest()
    assert event.data["attachments"] == [{"filename": "input-gt.md", "sha256": digest, "size": paper.stat().st_size}]
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(Attachment.__table__)).one()
    engine.dispose()
    assert (row.event_seq, row.sha256, row.content) == (result.event_seq, digest, paper.read_bytes())


def test_an_unreadable_attachment_changes_nothing(consultation, engine, snapshot, tmp_path):
    before = snapshot()
    with pytest.raises(BadInput, match="cannot read attachment"):
        engine.fire(consultation, "submit", participant="MX", attachments=[tmp_path / "missing.docx"])
    assert snapshot() == before


def test_status_marks_overdue_tracks_only_while_input_is_awaited(initialised, make_engine):
    import datetime as dt

    later = make_engine(clock=lambda: dt.datetime(2030, 4, 21, 9, tzinfo=dt.timezone.utc)).replaying()  # opens late
    later.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    assert not any(t.overdue for t in later.status()[0].tracks.values())  # not asked yet
    later.fire("theme-1", "open")
    later.fire("theme-1", "submit", participant="MX")
    [view] = later.status()
    assert not view.tracks["MX"].overdue
    assert all(view.tracks[c].overdue for c in MEMBERS if c != "MX")


def test_a_step_without_tracks_waits_for_its_params_its_day_and_its_timeout(initialised, make_engine):
    import datetime as dt

    class Clock:
        now = dt.datetime(2017, 3, 29, 9, tzinfo=dt.timezone.utc)

        def __call__(self):
            return self.now

    clock = Clock()
    engine = make_engine(clock=clock)
    view = engine.start("meeting", params={"date": "2017-03-30"})
    assert (view.id, view.state, list(view.tracks)) == ("meeting-2017-03-30", "called", [])
    with pytest.raises(Blocked, match="agenda not set: give it with --set agenda=VALUE"):
        engine.fire(view.id, "hold")
    with pytest.raises(Blocked, match="not before 2017-03-30 has passed"):
        engine.fire(view.id, "hold", values={"agenda": "1. Flows"})
    clock.now = dt.datetime(2017, 3, 31, 9, tzinfo=dt.timezone.utc)
    assert engine.acting_as("sv-ppt").fire(view.id, "hold", values={"agenda": "1. Flows"}).state == "held"
    assert engine.tick(clock.now + dt.timedelta(days=6)).fired == []
    [fired] = engine.tick(clock.now + dt.timedelta(days=7, minutes=1)).fired
    assert (fired.trigger, engine.get(view.id).state) == ("close_without_report", "closed_without_report")
    assert engine.history(view.id)[-1].actor == "rcmflow"
