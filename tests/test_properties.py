"""A stateful property test of the engine (issue 14, item 8), on SQLite and, when
RCMFLOW_TEST_POSTGRES_URL is set, on PostgreSQL.

Hypothesis plays random sequences of start, fire (instance and track triggers, as any
person of tests/workflows/members.yaml, allowed or not), tick (after moving the clock),
extend (a deadline moved, its notices queued), kill (a command whose process dies
after its commit: before the dispatcher starts, in
the action before its effect, or after the effect before the outbox row is marked done;
simulated by an exception nothing catches, as SIGKILL leaves it) and relay (the outbox
dispatcher, on its own, later) through the Python API, and after every step checks that:

1. each instance's state and each track's state are the fold of its history (the last
   event's `dest` at that level; a track with no event of its own is in its initial state);
2. the history's hash chain verifies;
3. an outbox row exists exactly for each committed effect: every event of a transition
   whose definition names actions has one row per action, and every row has its event;
4. no effect is done twice: `build_document` records one `build` event per outbox row at
   most, exactly one once the row is done, none before its first attempt; an extension's
   notice is written once per Message-ID (these homes have no SMTP server, so notices are
   .eml files; the one window of repetition left, SMTP's, is measured in
   tests/test_exactly_once.py).

and that a refusal (an `RcmflowError`) changed nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

import yaml

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rcmflow import Engine
from rcmflow.default_plugins.notify import action as notify_action
from rcmflow.core.outbox import LEASE
from rcmflow.errors import RcmflowError

FIXTURES = Path(__file__).resolve().parent  # tests/workflows/: six countries, small definitions
SHIPPED = FIXTURES.parent / "workflows" / "templates"
MEMBERS = ["BZ", "GT", "HN", "MX", "NI", "SV"]
PEOPLE = ["ts-officer", "sv-ppt", "bz-focal", "gt-focal", "hn-focal", "mx-focal", "ni-focal", "sv-focal"]
START = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
CONSULTATION_TRIGGERS = ["open", "close_collection", "circulate", "revise", "submit_regional_input", "cancel"]
TRACK_TRIGGERS = ["start_drafting", "submit", "decline", "accept", "return_for_revision"]
MEETING_TRIGGERS = ["hold", "report", "close_without_report"]
TRACK_INITIAL = "requested"
TRACKS_RUN_IN = {"collecting_input", "consolidating"}  # the consultation's track active_in
KILL_POINTS = ["before_dispatch", "before_effect", "after_effect"]
IN_TRANSACTION = {"set"}  # actions applied in the transition's own transaction, not queued


def effects() -> dict[tuple[str, str], list[str]]:
    """(workflow, trigger) -> the actions its transition queues, as the definitions say."""
    found = {}
    for path in (FIXTURES / "workflows").glob("*.yaml"):
        definition = yaml.safe_load(path.read_text())
        if not isinstance(definition, dict) or "workflow" not in definition:
            continue
        for transition in definition.get("transitions", []):
            names = [name for action in transition.get("actions", []) for name in
                     ([action] if isinstance(action, str) else action) if name not in IN_TRANSACTION]
            found[(definition["workflow"], transition["trigger"])] = names
    return found


EFFECTS = effects()


#: Message-ID -> how many times a notice was written, over one example
WRITES: Counter = Counter()
_write_eml = notify_action.write_eml


def counted_write(folder, msg, msgid):
    WRITES[msgid] += 1
    return _write_eml(folder, msg, msgid)


#: the outbox rows' statuses the invariants saw, over the whole run: proof that it reached the effects
SEEN: Counter = Counter()


class Killed(BaseException):
    """The process died here: nothing after it runs, nothing catches it."""


_TEMPLATE: list[Path] = []


def template_home() -> Path:
    """A home with tests/workflows/ and a database `init` made, built once per process."""
    if not _TEMPLATE:
        home = Path(tempfile.mkdtemp(prefix="rcmflow-prop-template-")) / "home"
        home.mkdir()
        shutil.copytree(FIXTURES / "workflows", home / "workflows")
        for notice in SHIPPED.glob("deadline-extended.*"):  # the notice `extend` sends, in each language
            shutil.copy(notice, home / "workflows" / "templates")
        (home / "plugins").mkdir()
        engine = Engine(home, f"sqlite:///{home}/rcmflow.db", "ts-officer", entry_points=False)
        engine.init()
        engine.close()
        _TEMPLATE.append(home)
    return _TEMPLATE[0]


#: where each example's database comes from: ("sqlite", None) or ("postgresql", (Postgres, template schema))
BACKEND: list = [("sqlite", None)]


def new_database(home: Path) -> tuple[str, Callable[[], None]]:
    """A database initialised for one example, and how to drop it."""
    backend, postgres = BACKEND[0]
    if backend == "sqlite":
        return f"sqlite:///{home}/rcmflow.db", lambda: None
    server, template = postgres
    url, schema = server.create_schema()
    server.copy(template, schema)  # what `init` makes, in a fraction of its time
    return url, lambda: server.drop_schema(schema)


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
        url, self.drop = new_database(self.home)
        self.clock = Clock(START)
        self.engine = Engine(self.home, url, "ts-officer", entry_points=False, clock=self.clock)
        self.engine.init()  # already at the head: a no-op
        self.engines = {person: self.engine.acting_as(person) for person in PEOPLE}
        self.instances: dict[str, str] = {}  # id -> workflow
        WRITES.clear()

    def teardown(self):
        self.engine.close()
        self.drop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def doomed(self, point: str) -> Engine:
        """The secretariat's engine in a process that dies at `point` of its first action run."""
        engine = self.engine.acting_as("ts-officer")
        dispatcher, perform = engine.dispatcher, engine.dispatcher.perform

        def die(*args, **kwargs):
            raise Killed(point)

        def effect_then_die(item):
            perform(item)
            raise Killed(point)

        if point == "before_dispatch":
            dispatcher.run = die
        else:
            dispatcher.perform = die if point == "before_effect" else effect_then_die
        return engine

    # --- what the database says ------------------------------------------------------------

    def snapshot(self):
        views = self.engine.status()
        return (
            [(v.id, v.state, v.version, tuple(sorted((p, t.state) for p, t in v.tracks.items()))) for v in views],
            {v.id: [e.seq for e in self.engine.history(v.id)] for v in views},
            [(i["id"], i["status"], i["attempts"]) for i in self.engine.dispatcher.items()],
        )

    def attempt(self, call):
        """Run one command; a refusal must change nothing, and a killed one may have
        committed its step (then its actions wait in the outbox)."""
        before = self.snapshot()
        try:
            call()
        except RcmflowError:
            assert self.snapshot() == before, "a refused command changed the database"
        except Killed:
            pass

    # --- rules -----------------------------------------------------------------------------

    @initialize(days=st.integers(1, 20))
    def an_open_consultation(self, days):
        """Every run has one consultation under way, so that its effects are reached."""
        self.start_consultation(4, days, opened=True)

    @rule(theme=st.integers(1, 3), days=st.integers(1, 20), opened=st.booleans())
    def start_consultation(self, theme, days, opened):
        deadline = (self.clock.moment + dt.timedelta(days=days)).date().isoformat()
        self.attempt(lambda: self.instances.setdefault(
            self.engine.start("thematic-consultation", params={"theme": str(theme), "deadline": deadline}).id,
            "thematic-consultation"))
        if opened:
            self.attempt(lambda: self.engine.fire(f"theme-{theme}", "open"))

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

    @precondition(lambda self: "thematic-consultation" in self.instances.values())
    @rule(data=st.data(), answers=st.sampled_from([["submit"], ["submit", "accept"], ["decline"]]))
    def every_country_answers(self, data, answers):
        """The six tracks moved one after the other, so that the steps that wait for them
        (and their effects) are reached."""
        instance = data.draw(st.sampled_from(sorted(i for i, w in self.instances.items()
                                                    if w == "thematic-consultation")))
        for participant in MEMBERS:
            for answer in answers:
                self.attempt(lambda: self.engine.fire(instance, answer, participant=participant))

    def allowed(self, data, with_effects: bool = False) -> tuple[str, str] | None:
        """An instance and a trigger the secretariat may fire on it now, if any (one
        that queues an action, if asked and there is one)."""
        instance = data.draw(st.sampled_from(sorted(self.instances)))
        options = sorted(o.trigger for o in self.engine.triggers(instance) if o.allowed and o.trigger != "cancel")
        effectful = [t for t in options if EFFECTS.get((self.instances[instance], t))]
        options = effectful if with_effects and effectful else options
        return (instance, data.draw(st.sampled_from(options))) if options else None

    @precondition(lambda self: self.instances)
    @rule(data=st.data())
    def secretariat_fires(self, data):
        """A step that the process allows now (the random `fire_instance_trigger` is mostly refused)."""
        if chosen := self.allowed(data):
            self.attempt(lambda: self.engine.fire(*chosen))

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), point=st.sampled_from(KILL_POINTS))
    def fire_and_die(self, data, point):
        if chosen := self.allowed(data, with_effects=True):
            self.attempt(lambda: self.doomed(point).fire(*chosen))

    @rule(hours=st.sampled_from([24, 24 * 8, 24 * 21]), point=st.sampled_from(KILL_POINTS))
    def tick_and_die(self, hours, point):
        self.clock.moment += dt.timedelta(hours=hours)
        self.attempt(lambda: self.doomed(point).tick())  # a due timeout fires, then the process dies

    @rule(minutes=st.sampled_from([1, int(LEASE.total_seconds() // 60) + 1, 60 * 7]))
    def relay(self, minutes):
        """The outbox dispatcher on its own: due actions, and the claims of dead processes once expired."""
        self.clock.moment += dt.timedelta(minutes=minutes)
        self.engine.dispatcher.run_due(self.clock.moment)

    @precondition(lambda self: "thematic-consultation" in self.instances.values())
    @rule(data=st.data(), days=st.integers(0, 20), whole=st.booleans(), point=st.sampled_from([None, *KILL_POINTS]))
    def extend(self, data, days, whole, point):
        """A deadline moved for some countries or the whole step: an event and a notice per
        track (queued like any action, so a kill leaves them to the relay)."""
        instance = data.draw(st.sampled_from(sorted(i for i, w in self.instances.items()
                                                    if w == "thematic-consultation")))
        participants = [] if whole else data.draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3))
        to = (self.clock.moment + dt.timedelta(days=days)).date()
        engine = self.doomed(point) if point else self.engine
        self.attempt(lambda: engine.extend(instance, to, participants, note="more time"))

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
    def an_outbox_row_for_each_committed_effect(self):
        queued: dict[int, list[str]] = {}
        for item in self.engine.dispatcher.items():
            queued.setdefault(item["event_seq"], []).append(item["action"])
        expected: dict[int, list[str]] = {}
        for view in self.engine.status():
            state = None  # the instance's, as its history has it at each event
            for event in self.engine.history(view.id):
                if event.participant is None:
                    state = event.dest
                if event.trigger == "extend":
                    if state in TRACKS_RUN_IN:  # a country asked for input is told its new date
                        expected[event.seq] = ["notify"]
                elif event.participant is None and EFFECTS.get((view.workflow, event.trigger)):
                    expected[event.seq] = EFFECTS[(view.workflow, event.trigger)]
        assert queued == expected

    @invariant()
    def no_effect_done_twice(self):
        builds: dict[str, int] = {}
        for view in self.engine.status():
            for event in self.engine.history(view.id):
                if event.trigger == "build" and event.data.get("action"):
                    builds[event.data["action"]] = builds.get(event.data["action"], 0) + 1
        written = Counter(msgid.strip("<").split(".")[0] for msgid in WRITES)  # "<outbox-12.gt-focal.…@…>"
        items = self.engine.dispatcher.items()
        for item in items:
            SEEN[item["status"]] += 1
            if item["action"] == "notify":  # a notice to each of the country's people
                sent = written[f"outbox-{item['id']}"]
                if item["status"] == "done":
                    assert sent >= 1, (item, WRITES)
                elif item["attempts"] == 0:
                    assert sent == 0, (item, WRITES)
                continue
            ran = builds.get(f"outbox-{item['id']}", 0)
            assert ran <= 1, (item, ran)
            if item["status"] == "done":
                assert ran == 1, item
            if item["attempts"] == 0:
                assert ran == 0, item
        assert set(builds) <= {f"outbox-{i['id']}" for i in items}, builds
        assert all(count == 1 for count in WRITES.values()), WRITES
        SEEN["notices"] += len(WRITES)


def machine_settings(examples: int):
    return settings(max_examples=examples, stateful_step_count=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


#: examples per backend (a PostgreSQL schema per example costs more); RCMFLOW_PROPERTY_EXAMPLES for more
EXAMPLES = {"sqlite": 30, "postgresql": 10}


@pytest.mark.no_database
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_engine_state_machine(backend, templates, monkeypatch):
    if backend == "postgresql":
        if not os.environ.get("RCMFLOW_TEST_POSTGRES_URL"):
            pytest.skip("set RCMFLOW_TEST_POSTGRES_URL to run on PostgreSQL")
        BACKEND[0] = (backend, (templates.postgres, templates.initialised(backend).schema))
    SEEN.clear()
    monkeypatch.setattr(notify_action, "write_eml", counted_write)
    EngineMachine.TestCase.settings = machine_settings(
        int(os.environ.get("RCMFLOW_PROPERTY_EXAMPLES") or EXAMPLES[backend]))
    try:
        EngineMachine.TestCase().runTest()
    finally:
        BACKEND[0] = ("sqlite", None)
    # the effects were reached: queued, killed while claimed, and done
    assert SEEN["pending"] and SEEN["running"] and SEEN["done"] and SEEN["notices"], SEEN
