"""A stateful property test of the engine (issue 14, item 8), on SQLite only.

Hypothesis plays random sequences of start, fire (instance and track triggers, as any
person of tests/workflows/members.yaml, allowed or not) and tick (after moving the
clock) through the Python API, and after every step checks that:

1. each instance's state and each track's state are the fold of its history (the last
   event's `dest` at that level; a track with no event of its own is in its initial state);
2. the history's hash chain verifies;
3. every outbox row belongs to an existing event of its instance, and no action that
   succeeded ran twice (`build_document` records one `build` event per outbox row, at
   most, and one exactly once the row is done);

and that a refusal (an `RcmflowError`) changed nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rcmflow import Engine
from rcmflow.errors import RcmflowError

FIXTURES = Path(__file__).resolve().parent  # tests/workflows/: six countries, small definitions
MEMBERS = ["BZ", "GT", "HN", "MX", "NI", "SV"]
PEOPLE = ["ts-officer", "sv-ppt", "bz-focal", "gt-focal", "hn-focal", "mx-focal", "ni-focal", "sv-focal"]
START = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
CONSULTATION_TRIGGERS = ["open", "close_collection", "circulate", "revise", "submit_regional_input", "cancel"]
TRACK_TRIGGERS = ["start_drafting", "submit", "decline", "accept", "return_for_revision"]
MEETING_TRIGGERS = ["hold", "report", "close_without_report"]
TRACK_INITIAL = "requested"


_TEMPLATE: list[Path] = []


def template_home() -> Path:
    """A home with tests/workflows/ and a database `init` made, built once per process."""
    if not _TEMPLATE:
        home = Path(tempfile.mkdtemp(prefix="rcmflow-prop-template-")) / "home"
        home.mkdir()
        shutil.copytree(FIXTURES / "workflows", home / "workflows")
        (home / "plugins").mkdir()
        engine = Engine(home, f"sqlite:///{home}/rcmflow.db", "ts-officer", entry_points=False)
        engine.init()
        engine.close()
        _TEMPLATE.append(home)
    return _TEMPLATE[0]


class Clock:
    def __init__(self, now: dt.datetime):
        self.moment = now

    def __call__(self) -> dt.datetime:
        return self.moment


class EngineMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="rcmflow-prop-"))
        self.home = self.folder / "home"
        shutil.copytree(template_home(), self.home)  # an initialised database, copied: fast
        self.clock = Clock(START)
        self.engine = Engine(self.home, f"sqlite:///{self.home}/rcmflow.db", "ts-officer",
                             entry_points=False, clock=self.clock)
        self.engine.init()  # already at the head: a no-op
        self.engines = {person: self.engine.acting_as(person) for person in PEOPLE}
        self.instances: dict[str, str] = {}  # id -> workflow

    def teardown(self):
        self.engine.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- what the database says ------------------------------------------------------------

    def snapshot(self):
        views = self.engine.status()
        return (
            [(v.id, v.state, v.version, tuple(sorted((p, t.state) for p, t in v.tracks.items()))) for v in views],
            {v.id: [e.seq for e in self.engine.history(v.id)] for v in views},
            [(i["id"], i["status"], i["attempts"]) for i in self.engine.dispatcher.items()],
        )

    def attempt(self, call):
        """Run one command; a refusal must change nothing."""
        before = self.snapshot()
        try:
            call()
        except RcmflowError:
            assert self.snapshot() == before, "a refused command changed the database"

    # --- rules -----------------------------------------------------------------------------

    @rule(theme=st.integers(1, 3), days=st.integers(1, 20))
    def start_consultation(self, theme, days):
        deadline = (self.clock.moment + dt.timedelta(days=days)).date().isoformat()
        self.attempt(lambda: self.instances.setdefault(
            self.engine.start("thematic-consultation", params={"theme": str(theme), "deadline": deadline}).id,
            "thematic-consultation"))

    @rule(days=st.integers(0, 10), agenda=st.booleans())
    def start_meeting(self, days, agenda):
        params = {"date": (self.clock.moment + dt.timedelta(days=days)).date().isoformat()}
        if agenda:
            params["agenda"] = "Regional input"
        self.attempt(lambda: self.instances.setdefault(self.engine.start("meeting", params=params).id, "meeting"))

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), person=st.sampled_from(PEOPLE))
    def fire_instance_trigger(self, data, person):
        instance = data.draw(st.sampled_from(sorted(self.instances)))
        triggers = MEETING_TRIGGERS if self.instances[instance] == "meeting" else CONSULTATION_TRIGGERS
        trigger = data.draw(st.sampled_from(triggers))
        self.attempt(lambda: self.engines[person].fire(instance, trigger))

    @precondition(lambda self: "thematic-consultation" in self.instances.values())
    @rule(data=st.data(), person=st.sampled_from(PEOPLE), participant=st.sampled_from(MEMBERS),
          trigger=st.sampled_from(TRACK_TRIGGERS))
    def fire_track_trigger(self, data, person, participant, trigger):
        instance = data.draw(st.sampled_from(sorted(i for i, w in self.instances.items()
                                                    if w == "thematic-consultation")))
        self.attempt(lambda: self.engines[person].fire(instance, trigger, participant=participant,
                                                       note=f"{trigger} by {person}"))

    @rule(hours=st.sampled_from([1, 24, 24 * 3, 24 * 8, 24 * 21]))
    def advance_and_tick(self, hours):
        self.clock.moment += dt.timedelta(hours=hours)
        self.engine.tick()  # a due timeout whose guards refuse is reported as waiting

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def state_is_the_fold_of_the_history(self):
        for view in self.engine.status():
            events = self.engine.history(view.id)
            instance_events = [e for e in events if e.participant is None]
            assert instance_events and instance_events[0].trigger == "start"
            assert view.state == instance_events[-1].dest, (view.id, view.state, events)
            for participant, track in view.tracks.items():
                mine = [e for e in events if e.participant == participant]
                folded = mine[-1].dest if mine else TRACK_INITIAL
                assert track.state == folded, (view.id, participant, track.state, mine)

    @invariant()
    def history_verifies(self):
        check = self.engine.verify_history()
        assert check.ok, check.summary()

    @invariant()
    def outbox_rows_belong_to_events_and_actions_ran_once(self):
        items = self.engine.dispatcher.items()
        builds: dict[str, int] = {}
        seqs: dict[int, str] = {}
        for view in self.engine.status():
            for event in self.engine.history(view.id):
                seqs[event.seq] = view.id
                if event.trigger == "build" and event.data.get("action"):
                    builds[event.data["action"]] = builds.get(event.data["action"], 0) + 1
        for item in items:
            assert seqs.get(item["event_seq"]) == item["instance_id"], item
            ran = builds.get(f"outbox-{item['id']}", 0)
            assert ran == (1 if item["status"] == "done" else 0), (item, ran)
        assert set(builds) <= {f"outbox-{i['id']}" for i in items}, builds


EngineMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=15, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.no_database
def test_engine_state_machine():
    EngineMachine.TestCase().runTest()
