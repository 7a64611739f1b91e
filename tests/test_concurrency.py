"""Two OS processes fire on one instance at the same moment, round after round.

Two worker processes (multiprocessing, "spawn") are started once for the module;
for each test each builds an Engine of its own on the test's home and database, as
two users on two machines would have, and closes it when the test ends. For every
round the test sends each worker one trigger; the workers meet at a barrier and
fire at once, then report what happened (the FireResult, or the exception's type
and message) on a queue. A test that fails half-way leaves the workers stopped, and
the next test starts new ones.

* Conflicting triggers (only one of the two can be valid once the other has fired):
  exactly one worker succeeds; the other gets a one-line RcmflowError naming the
  state the winner left the instance (or track) in; the history gains exactly the
  winner's event; the instance's version goes up by exactly one.
  Pairs: accept vs return_for_revision on a track; the same instance trigger twice
  (revise, circulate); revise or cancel vs submit_regional_input; a due timeout
  fired by two ticks, or by a tick and a user.
* Two starts of one instance id: one instance, one start event, an AlreadyExists (a BadInput) for the other.
* Non-conflicting triggers on two tracks of the same instance: both succeed (the second
  writer waits on the instance's row lock, then reads the first one's commit), two
  events, version + 2.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import pytest

from rcmflow.core.engine import Engine

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

WORKFLOW = "thematic-consultation"
PARTICIPANTS = ["BZ", "GT", "HN", "MX", "NI", "SV"]  # tests/workflows/members.yaml
ROUNDS = 25
DEADLINE = "2030-01-01"
#: a moment when the collection's timeout (the day after DEADLINE) is due
AFTER_DEADLINE = dt.datetime(2030, 1, 3, tzinfo=dt.timezone.utc)
#: how long the test waits for a worker before it calls the round hung
ROUND_TIMEOUT = 60.0
#: errors a loser of a conflicting race may get
LOSER_ERRORS = {"InvalidTrigger", "Blocked", "Conflict"}
#: where each trigger takes a track or an instance
TRACK_DEST = {"accept": "accepted", "return_for_revision": "returned", "submit": "submitted",
              "decline": "declined", "start_drafting": "drafting"}
INSTANCE_DEST = {"revise": "consolidating", "circulate": "agreeing", "submit_regional_input": "submitted",
                 "cancel": "cancelled"}


# --- the worker process ------------------------------------------------------------------



def transitions(engine, instance_id):
    """The instance's history without the notes its actions add (a document built):
    what the races are about is the transitions."""
    return [e for e in engine.history(instance_id) if e.trigger != "build"]

def _worker(name: str, commands, results, barrier) -> None:
    """Runs in a spawned process: per test ("open" to "close") one Engine on the test's
    home and database; per round one command (fire, tick or start), run when both
    workers have reached the barrier."""
    from structlog.testing import capture_logs

    from rcmflow.core.engine import Engine
    from rcmflow.errors import RcmflowError

    engine = None
    while True:
        command = commands.get()
        if command is None:
            break
        round_no, op = command["round"], command["op"]
        if op == "open":
            try:
                engine = Engine(command["home"], command["db_url"], "ts-officer", entry_points=False)
                engine.catalog  # noqa: B018 - load the definitions before the first race, not inside it
                engine.status()  # and open a pooled connection
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                engine = None
                results.put({"worker": name, "round": round_no, "ok": False, "error_type": type(exc).__name__,
                             "message": str(exc), "is_rcmflow": False, "traceback": traceback.format_exc()})
            else:
                results.put({"worker": name, "round": round_no, "ok": True})
            continue
        if op == "close":
            if engine is not None:
                engine.close()
                engine = None
            results.put({"worker": name, "round": round_no, "ok": True})
            continue
        report: dict[str, Any] = {**command, "worker": name, "pid": os.getpid()}
        try:
            barrier.wait(timeout=ROUND_TIMEOUT)
        except threading.BrokenBarrierError:
            report.update(ok=False, error_type="BrokenBarrierError", message="the other worker never came",
                          is_rcmflow=False, traceback="")
            results.put(report)
            continue
        started = time.perf_counter()
        with capture_logs() as logs:
            try:
                if op == "fire":
                    fired = [engine.fire(command["instance"], command["trigger"], command["participant"])]
                elif op == "tick":
                    ticked = engine.tick(dt.datetime.fromisoformat(command["now"]))
                    fired = ticked.fired
                    report["waiting"] = ticked.waiting
                else:
                    view = engine.start(WORKFLOW, command["instance"], command["params"])
                    fired = []
                    report.update(ok=True, state=view.state, version=view.version)
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                report.update(ok=False, error_type=type(exc).__name__, error_module=type(exc).__module__,
                              message=str(exc), is_rcmflow=isinstance(exc, RcmflowError),
                              traceback="" if isinstance(exc, RcmflowError) else traceback.format_exc())
            else:
                if op != "start":
                    # a tick that found nothing to fire is no error: "ok" is False, "error_type" None
                    report.update(ok=bool(fired), error_type=None, fired=len(fired))
                for result in fired[:1]:
                    report.update(event_seq=result.event_seq, state=result.state, trigger=result.trigger,
                                  track_state=result.track_state, source=result.source, dest=result.dest)
        report["elapsed"] = time.perf_counter() - started
        report["retries"] = sum(1 for entry in logs if entry.get("event") == "write lost a race; retrying")
        results.put(report)
    if engine is not None:
        engine.close()


@dataclass
class Racers:
    """Two worker processes that fire at the same moment."""

    processes: list
    commands: list
    results: Any
    retries: int = 0

    def race(self, round_no: int, first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
        """Run command `first` in worker A and `second` in worker B, at the same moment."""
        for command, body in zip(self.commands, (first, second)):
            command.put({**body, "round": round_no})
        reports = [self._next(round_no) for _ in range(2)]
        reports.sort(key=lambda r: r["worker"])
        self.retries += sum(r.get("retries", 0) for r in reports)
        return reports

    def _next(self, round_no: Any) -> dict[str, Any]:
        deadline = time.monotonic() + ROUND_TIMEOUT
        while time.monotonic() < deadline:
            try:
                report = self.results.get(timeout=0.5)
            except queue.Empty:
                dead = [p.name for p in self.processes if not p.is_alive()]
                assert not dead, f"worker {dead} died (exit code {[p.exitcode for p in self.processes]})"
                continue
            assert report["round"] == round_no, f"expected a report of round {round_no}, got {report}"
            return report
        pytest.fail(f"round {round_no}: no report from a worker within {ROUND_TIMEOUT:.0f} s")


class Workers:
    """The two spawned worker processes, started when a test first needs them."""

    def __init__(self):
        self.processes: list = []

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barrier = ctx.Barrier(2)
        self.results = ctx.Queue()
        self.commands = [ctx.Queue(), ctx.Queue()]
        self.processes = [
            ctx.Process(target=_worker, name=f"racer-{name}", daemon=True,
                        args=(name, self.commands[i], self.results, self.barrier))
            for i, name in enumerate("AB")
        ]
        for process in self.processes:
            process.start()

    def running(self) -> bool:
        return bool(self.processes) and all(p.is_alive() for p in self.processes)

    def stop(self) -> None:
        for command in self.commands if self.processes else []:
            command.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        self.processes = []


@pytest.fixture(scope="module")
def workers():
    started = Workers()
    yield started
    started.stop()


@pytest.fixture
def racers(workers, home, db_url, engine):
    """The two workers, each with an Engine of its own on the test's home and (initialised) database."""
    if not workers.running():
        workers.stop()
        workers.start()
    racers = Racers(workers.processes, workers.commands, workers.results)
    for command in workers.commands:
        command.put({"op": "open", "round": "ready", "home": str(home), "db_url": db_url})
    for _ in workers.processes:
        ready = racers._next("ready")
        assert ready["ok"], f"a worker could not start: {ready}"
    yield racers
    try:
        for command in workers.commands:
            command.put({"op": "close", "round": "closed"})
        for _ in workers.processes:
            racers._next("closed")
    except BaseException:  # a test that failed half-way: the next test gets new workers
        workers.stop()


# --- helpers ------------------------------------------------------------------------------


def fire(instance_id: str, trigger: str, participant: str | None = None) -> dict[str, Any]:
    return {"op": "fire", "instance": instance_id, "trigger": trigger, "participant": participant,
            "actor": "ts-officer"}


def tick(now: dt.datetime) -> dict[str, Any]:
    return {"op": "tick", "now": now.isoformat(), "participant": None, "actor": "rcmflow"}


def start(instance_id: str, **params: str) -> dict[str, Any]:
    return {"op": "start", "instance": instance_id, "params": params}


def start_open(engine: Engine, theme: int, instance_id: str | None = None) -> str:
    view = engine.start(WORKFLOW, instance_id, params={"theme": str(theme), "deadline": DEADLINE})
    engine.fire(view.id, "open")
    return view.id


def to_agreeing(engine: Engine, theme: int) -> str:
    """An instance in `agreeing`: every country declined, input closed, consolidated."""
    instance_id = start_open(engine, theme)
    for participant in PARTICIPANTS:
        engine.fire(instance_id, "decline", participant=participant)
    engine.fire(instance_id, "close_collection")
    # The first circulate sets data.consolidated; it is done here, outside the races.
    engine.fire(instance_id, "circulate")
    return instance_id


@dataclass
class Snapshot:
    version: int
    seqs: list[int]


def snapshot(engine: Engine, instance_id: str) -> Snapshot:
    return Snapshot(engine.get(instance_id).version, [e.seq for e in transitions(engine, instance_id)])


def describe(reports: list[dict[str, Any]]) -> str:
    def line(r: dict[str, Any]) -> str:
        what = " ".join(str(r.get(k)) for k in ("op", "instance", "trigger", "participant") if r.get(k))
        if r["ok"]:
            outcome = f"ok, event {r.get('event_seq')}, {r.get('source')} -> {r.get('dest') or r.get('state')}"
        elif r["error_type"] is None:
            outcome = f"nothing fired (waiting: {r.get('waiting')})"
        else:
            outcome = f"{r['error_type']}: {r['message']}" + (f"\n{r['traceback']}" if r.get("traceback") else "")
        return f"  {r['worker']}: {what} -> {outcome} ({r.get('retries', 0)} retries, {r.get('elapsed', 0) * 1000:.0f} ms)"
    return "\n".join(line(r) for r in reports)


def check_history(engine: Engine, instance_id: str, before: Snapshot, reports: list[dict[str, Any]],
                  where: str) -> None:
    """The history kept every earlier event and gained exactly the winners' events, in seq order."""
    events = transitions(engine, instance_id)
    seqs = [e.seq for e in events]
    assert len(set(seqs)) == len(seqs), f"{where}: duplicated event seqs {seqs}\n{describe(reports)}"
    assert all(a < b for a, b in zip(seqs, seqs[1:])), f"{where}: seqs not increasing {seqs}"
    assert seqs[:len(before.seqs)] == before.seqs, f"{where}: earlier events changed: {before.seqs} -> {seqs}"
    winners = [r for r in reports if r["ok"]]
    new = events[len(before.seqs):]
    assert len(new) == len(winners), (
        f"{where}: {len(winners)} transition(s) succeeded but the history gained {len(new)} event(s): "
        f"{[(e.seq, e.trigger, e.participant, e.source, e.dest) for e in new]}\n{describe(reports)}")
    assert sorted(e.seq for e in new) == sorted(r["event_seq"] for r in winners), f"{where}\n{describe(reports)}"
    for report in winners:
        event = next(e for e in new if e.seq == report["event_seq"])
        assert (event.trigger, event.participant, event.source, event.dest, event.actor) == (
            report["trigger"], report["participant"], report["source"], report["dest"], report["actor"]), where
    version = engine.get(instance_id).version
    assert version - before.version == len(winners), (
        f"{where}: version went {before.version} -> {version} for {len(winners)} transition(s)\n{describe(reports)}")


def check_conflict(engine: Engine, instance_id: str, before: Snapshot, reports: list[dict[str, Any]],
                   where: str) -> dict[str, Any]:
    """Exactly one worker won; the other got a clear one-line error naming the new state."""
    winners = [r for r in reports if r["ok"]]
    assert len(winners) == 1, f"{where}: {len(winners)} workers succeeded, expected exactly 1\n{describe(reports)}"
    winner = winners[0]
    loser = next(r for r in reports if not r["ok"])
    if loser["op"] == "tick" and loser["error_type"] is None:  # a tick that found nothing due any more
        assert loser["fired"] == 0 and loser["waiting"] == [], f"{where}\n{describe(reports)}"
    else:
        assert loser["is_rcmflow"], f"{where}: the loser got a non-rcmflow error\n{describe(reports)}"
        assert loser["error_type"] in LOSER_ERRORS, f"{where}: unexpected error\n{describe(reports)}"
        message = loser["message"]
        assert message and "\n" not in message and "Traceback" not in message, f"{where}: message {message!r}"
        assert f"in state {winner['dest']}" in message, (
            f"{where}: the loser's message does not name the state {winner['dest']}: {message!r}")
    check_history(engine, instance_id, before, reports, where)
    return winner


def total_events(engine: Engine, instance_ids: list[str]) -> int:
    return sum(len(transitions(engine, i)) for i in instance_ids)


# --- the tests ----------------------------------------------------------------------------


def test_accept_and_return_race_on_one_track(engine, racers):
    """accept vs return_for_revision on a submitted track: one wins, the other learns the new state."""
    instances: list[str] = []
    expected_events = 0  # events the test knows of: starts, parent's fires, race winners

    def next_track():
        nonlocal expected_events
        for theme in range(1, 7):
            instances.append(start_open(engine, theme))
            expected_events += 2
            for participant in PARTICIPANTS:
                engine.fire(instances[-1], "submit", participant=participant)
                expected_events += 1
                yield instances[-1], participant
        raise AssertionError("ran out of tracks")

    tracks = next_track()
    instance_id, participant = next(tracks)
    outcomes = {"accepted": 0, "returned": 0}
    winners = {"A": 0, "B": 0}
    for n in range(ROUNDS):
        pair = ("accept", "return_for_revision") if n % 2 == 0 else ("return_for_revision", "accept")
        before = snapshot(engine, instance_id)
        reports = racers.race(n, fire(instance_id, pair[0], participant), fire(instance_id, pair[1], participant))
        where = f"round {n} ({participant}'s track in {instance_id})"
        winner = check_conflict(engine, instance_id, before, reports, where)
        expected_events += 1
        dest = TRACK_DEST[winner["trigger"]]
        assert winner["track_state"] == dest
        assert engine.get(instance_id).tracks[participant].state == dest, where
        outcomes[dest] += 1
        winners[winner["worker"]] += 1
        if dest == "returned":  # put it back in the ring for the next round
            engine.fire(instance_id, "submit", participant=participant)
            expected_events += 1
        else:  # accepted is final for the track: race on the next country
            instance_id, participant = next(tracks)
    assert total_events(engine, instances) == expected_events
    print(f"outcomes {outcomes}, wins {winners}, retries {racers.retries}")


def test_instance_level_races(engine, racers):
    """revise vs revise and circulate vs circulate, round after round on one instance; then
    revise or cancel vs submit_regional_input, which ends an instance, on fresh ones."""
    instance_id = to_agreeing(engine, 1)
    for n in range(ROUNDS - 5):
        state = engine.get(instance_id).state
        trigger = {"agreeing": "revise", "consolidating": "circulate"}[state]
        before = snapshot(engine, instance_id)
        reports = racers.race(n, fire(instance_id, trigger), fire(instance_id, trigger))
        winner = check_conflict(engine, instance_id, before, reports, f"round {n} ({trigger} x2 on {instance_id})")
        assert engine.get(instance_id).state == winner["state"] == INSTANCE_DEST[trigger]

    # (revise vs cancel is no conflict: cancel is possible from consolidating too)
    pairs = [("revise", "submit_regional_input"), ("submit_regional_input", "cancel"),
             ("cancel", "submit_regional_input"), ("submit_regional_input", "revise"),
             ("revise", "submit_regional_input")]
    for n, pair in enumerate(pairs, start=ROUNDS - 5):
        instance_id = to_agreeing(engine, n - ROUNDS + 7)  # themes 2..6
        before = snapshot(engine, instance_id)
        reports = racers.race(n, fire(instance_id, pair[0]), fire(instance_id, pair[1]))
        winner = check_conflict(engine, instance_id, before, reports, f"round {n} ({' vs '.join(pair)} on {instance_id})")
        assert engine.get(instance_id).state == winner["state"] == INSTANCE_DEST[winner["trigger"]]
    print(f"retries {racers.retries}")


def test_two_tracks_of_one_instance_both_move(engine, racers):
    """Triggers on two different tracks do not conflict: both succeed, whoever comes second
    having waited for the first one's commit."""
    pairs = [("BZ", "GT"), ("HN", "MX"), ("NI", "SV")]
    steps = [("submit", "submit"), ("return_for_revision", "return_for_revision"),
             ("start_drafting", "submit"), ("submit", "return_for_revision"), ("accept", "decline")]
    n = 0
    for theme in (1, 2):  # every pair of tracks, on two instances: 30 rounds
        instance_id = start_open(engine, theme)
        expected = {p: "requested" for p in PARTICIPANTS}
        rounds = 0
        for first, second in pairs:
            for trigger_a, trigger_b in steps:
                before = snapshot(engine, instance_id)
                reports = racers.race(n, fire(instance_id, trigger_a, first), fire(instance_id, trigger_b, second))
                where = f"round {n} ({trigger_a} on {first}, {trigger_b} on {second} in {instance_id})"
                assert all(r["ok"] for r in reports), f"{where}: both should succeed\n{describe(reports)}"
                check_history(engine, instance_id, before, reports, where)
                expected[first], expected[second] = TRACK_DEST[trigger_a], TRACK_DEST[trigger_b]
                tracks = engine.get(instance_id).tracks
                assert {p: t.state for p, t in tracks.items()} == expected, where
                n += 1
                rounds += 1
        assert len(transitions(engine, instance_id)) == 2 + 2 * rounds
    print(f"retries {racers.retries}")
    # A writer locks the instance's row as it reads it (PostgreSQL) or holds the write lock
    # (SQLite): the second waits and reads what the first committed, so nothing is retried.
    assert racers.retries == 0, f"{racers.retries} writes lost the version check despite the lock"


def test_two_starts_of_one_id(engine, racers):
    """Two users start the same instance id at once: one instance, one start event; the other
    user hears that it exists."""
    for n in range(ROUNDS):
        instance_id = f"race-{n}"
        command = start(instance_id, theme=str(1 + n % 6), deadline=DEADLINE)
        reports = racers.race(n, command, command)
        where = f"round {n} (start {instance_id} x2)"
        winners = [r for r in reports if r["ok"]]
        assert len(winners) == 1, f"{where}: {len(winners)} workers succeeded, expected exactly 1\n{describe(reports)}"
        loser = next(r for r in reports if not r["ok"])
        assert loser["is_rcmflow"] and loser["error_type"] == "AlreadyExists"  # a BadInput, f"{where}\n{describe(reports)}"
        message = loser["message"]
        assert "\n" not in message and "already exists" in message and "state planned" in message, message
        events = transitions(engine, instance_id)
        assert [(e.trigger, e.dest) for e in events] == [("start", "planned")], f"{where}: {events}"
        view = engine.get(instance_id)
        assert (view.state, view.version, sorted(view.tracks)) == ("planned", 1, sorted(PARTICIPANTS)), where
    assert len(engine.status()) == ROUNDS


def test_timeout_and_user_race_to_close_collection(engine, racers):
    """The collection's timeout is due: two ticks, or a tick and a user firing close_collection,
    at the same moment. The collection closes once, with one event."""
    kinds = [(tick(AFTER_DEADLINE), fire("{id}", "close_collection")),
             (fire("{id}", "close_collection"), tick(AFTER_DEADLINE)),
             (tick(AFTER_DEADLINE), tick(AFTER_DEADLINE))]
    for n in range(12):
        instance_id = start_open(engine, 1 + n % 6, f"due-{n}")
        for participant in PARTICIPANTS:
            engine.fire(instance_id, "decline", participant=participant)
        first, second = ({**c, "instance": instance_id} if c["op"] == "fire" else c for c in kinds[n % 3])
        before = snapshot(engine, instance_id)
        reports = racers.race(n, first, second)
        where = f"round {n} ({first['op']} vs {second['op']} on {instance_id})"
        winner = check_conflict(engine, instance_id, before, reports, where)
        view = engine.get(instance_id)
        assert (winner["trigger"], view.state, view.timeout_at) == ("close_collection", "consolidating", None), where
