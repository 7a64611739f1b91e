"""The SQLite figures: each a pair of callables timed in turns (`sample.interleave`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import sys
import time
from collections import Counter
from itertools import count
from pathlib import Path

from raw import Raw, stored
from sample import Figure, interleave, run, timed

from rcmflow.core.engine import Engine
from rcmflow.core.machine import Subject
from rcmflow.log import configure
from rcmflow.store.chain import GENESIS, event_hash

BENCH = Path(__file__).resolve().parent
WORKFLOW = "bench-consultation"
# The thematic consultation's two machines, guards and roles, without its actions: the
# benchmark measures persisted transitions, not the e-mails and documents they queue
# (those run after the commit, from the outbox).
WORKFLOW_YAML = """\
workflow: bench-consultation
title: The thematic consultation, without actions
params:
  theme: {type: int, choices: [1, 2, 3, 4, 5, 6], required: true}
  deadline: {type: date, required: true}
participants: members
track:
  initial: requested
  states: [requested, drafting, submitted, returned, accepted, declined]
  active_in: [collecting_input, consolidating]
  deadline: {date: "{{ params.deadline }}", met: [submitted, accepted, declined]}
  transitions:
    - {trigger: submit, source: [requested, drafting, returned], dest: submitted, roles: [focal_point, secretariat]}
    - {trigger: return_for_revision, source: submitted, dest: returned, roles: [secretariat]}
    - {trigger: start_drafting, source: [requested, returned], dest: drafting, roles: [focal_point, secretariat]}
    - {trigger: decline, source: [requested, drafting, returned], dest: declined, roles: [focal_point, secretariat]}
    - {trigger: accept, source: submitted, dest: accepted, roles: [secretariat]}
initial: planned
states:
  - planned
  - {name: collecting_input, timeout: {at: "{{ params.deadline }}", trigger: close_collection}}
  - consolidating
  - {name: closed, final: true}
transitions:
  - {trigger: open, source: planned, dest: collecting_input, roles: [secretariat]}
  - {trigger: close_collection, source: collecting_input, dest: consolidating, roles: [secretariat],
     guards: [{tracks_in: [submitted, accepted, declined]}]}
  - {trigger: close, source: consolidating, dest: closed, roles: [secretariat]}
"""
ACTOR = "ts-officer"  # role secretariat: may submit and return every country's input
COUNTRIES = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]
PARAMS = {"theme": "1", "deadline": "2999-12-31"}
IMPORTS = "import click, pluggy, yaml, pydantic, sqlalchemy, rich.console"


class Tracks:
    """Where each benchmark track is, and the next move that keeps it moving
    (requested -> submitted -> returned -> submitted -> ...)."""

    def __init__(self):
        self.state: dict[tuple[str, str], str] = {}

    def next(self, instance_id: str, participant: str) -> tuple[str, str, str, str]:
        source = self.state.get((instance_id, participant), "requested")
        trigger, dest = ("return_for_revision", "returned") if source == "submitted" else ("submit", "submitted")
        self.state[(instance_id, participant)] = dest
        return participant, trigger, source, dest


class Bench:
    def __init__(self, home: Path, tmp: Path, quick: bool, samples: int, url: str | None = None):
        self.home, self.tmp, self.quick, self.samples = home, tmp, quick, samples
        self.path = tmp / "bench.db"
        self.url = url or f"sqlite:///{self.path}"
        configure("console", "warning")  # what the CLI does: info lines are filtered out
        self.engine = Engine(home, self.url, ACTOR, entry_points=False)
        self.engine.init()
        self.raw = Raw(self.url)
        self.tracks = Tracks()
        self.ids = count(1)
        self.sqlite_version = sqlite3.sqlite_version
        self.env = {**os.environ, "RCMFLOW_ENTRY_POINTS": "0", "RCMFLOW_HOME": str(home), "RCMFLOW_DB": self.url,
                    "RCMFLOW_ACTOR": ACTOR, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.rcmflow = shutil.which("rcmflow", path=str(Path(sys.executable).parent)) or "rcmflow"

    def close(self) -> None:
        self.raw.close()
        self.engine.close()

    def opened(self, prefix: str) -> str:
        instance_id = f"{prefix}-{next(self.ids)}"
        self.engine.start(WORKFLOW, instance_id, PARAMS)
        self.engine.fire(instance_id, "open")  # tracks move only while the instance collects input
        return instance_id

    def sqlite_figures(self, instances: int) -> list[Figure]:
        figures = []
        for step in (self.fire, self.decision, self.start, self.moves, self.startup, self.status_one,
                     lambda: self.status_json(instances)):
            began = time.perf_counter()
            figures += step()
            print(f"  {figures[-1].name}: {time.perf_counter() - began:.0f} s", flush=True)
        check = self.engine.verify_history()
        assert check.ok, f"the history does not verify after the benchmark: {check.summary()}"
        return figures

    def fire(self) -> list[Figure]:
        """One Engine.fire on a track against the raw read, version-checked UPDATEs, chained INSERT, commit."""
        per = 20 if self.quick else 50
        ours_ids, raw_ids = [self.opened("bench-e") for _ in range(4)], [self.opened("bench-r") for _ in range(4)]

        def ours():
            def work():
                for k in range(per):
                    i = ours_ids[k % 4]
                    p, trigger, _, _ = self.tracks.next(i, COUNTRIES[k % 11])
                    self.engine.fire(i, trigger, p)
            return timed(work, per)

        def base():
            def work():
                for k in range(per):
                    i = raw_ids[k % 4]
                    self.raw.move(i, [self.tracks.next(i, COUNTRIES[k % 11])], ACTOR)
            return timed(work, per)

        a, b = interleave(ours, base, self.samples)
        return [Figure("Engine.fire on a track vs raw sqlite3 (read, version-checked UPDATE, INSERT, commit)",
                       a, b, "us", 3)]

    def decision(self) -> list[Figure]:
        """CompiledMachine.fire against one trigger of `transitions` on a live model."""
        from transitions import Machine

        definition = self.engine.definition(WORKFLOW)
        machine = self.engine.rt.machine(definition, "track")
        live = Machine(model=None, states=list(definition.track.states), initial="requested",
                       auto_transitions=False, send_event=True)
        live.add_transition("submit", ["requested", "drafting", "returned"], "submitted")
        live.add_transition("return_for_revision", "submitted", "returned")

        class Model:
            pass

        model = Model()
        live.add_model(model)
        per = 2000

        def ours():
            def work():
                state = "requested"
                for _ in range(per):
                    subject = Subject(state, lambda t: [])
                    machine.fire(subject, "return_for_revision" if state == "submitted" else "submit")
                    state = subject.state
            return timed(work, per)

        def base():
            def work():
                for _ in range(per):
                    model.trigger("return_for_revision" if model.state == "submitted" else "submit")
            return timed(work, per)

        a, b = interleave(ours, base, self.samples)
        return [Figure("the decision: CompiledMachine.fire vs one trigger of transitions on a live model",
                       a, b, "us", 2)]

    def start(self) -> list[Figure]:
        """Engine.start (instance + 11 tracks + event, one commit), per row, against raw batched inserts."""
        per, rows = 10, 13

        def ours():
            return timed(lambda: [self.engine.start(WORKFLOW, f"bench-s-{next(self.ids)}", PARAMS)
                                  for _ in range(per)], per * rows)

        def base():
            due = dt.date(2999, 12, 31)
            return timed(lambda: [self.raw.start(f"bench-t-{next(self.ids)}", WORKFLOW, COUNTRIES, PARAMS, due, ACTOR)
                                  for _ in range(per)], per * rows)

        a, b = interleave(ours, base, self.samples)
        return [Figure("fan-out: Engine.start per row (1 instance, 11 tracks, 1 event) vs raw batched", a, b, "us", 3)]

    def moves(self) -> list[Figure]:
        """Every track of one instance moved in one command (`Engine.fire_tracks`), per move,
        against one raw transaction."""
        ours_id, raw_id = self.opened("bench-m"), self.opened("bench-n")

        def ours():
            def work():
                [trigger] = {self.tracks.next(ours_id, p)[1] for p in COUNTRIES}  # they move in step
                self.engine.fire_tracks(ours_id, trigger, COUNTRIES)
            return timed(work, len(COUNTRIES))

        def base():
            return timed(lambda: self.raw.move(raw_id, [self.tracks.next(raw_id, p) for p in COUNTRIES], ACTOR),
                         len(COUNTRIES))

        a, b = interleave(ours, base, self.samples)
        return [Figure("11 track moves of one instance in one command (fire -p x11), per move, vs raw in one commit",
                       a, b, "us", 3)]

    def startup(self) -> list[Figure]:
        ours = lambda: run([self.rcmflow, "--help"], self.env)[0]  # noqa: E731
        base = lambda: run([sys.executable, "-c", "pass"], self.env)[0]  # noqa: E731
        a, b = interleave(ours, base, self.samples)
        ours = lambda: run([self.rcmflow, "workflows", "list"], self.env)[0]  # noqa: E731
        c, d = interleave(ours, base, self.samples)
        return [Figure("rcmflow --help (the checkout's plugins/ in the home) vs python -c pass", a, b, "ms", 5),
                Figure("rcmflow workflows list vs python -c pass", c, d, "ms", None, "(no goal)")]

    def status_one(self) -> list[Figure]:
        instance_id = self.opened("bench-status")
        ours = lambda: run([self.rcmflow, "status", instance_id], self.env)[0]  # noqa: E731
        base = lambda: run([sys.executable, "-c", IMPORTS], self.env)[0]  # noqa: E731
        a, b = interleave(ours, base, self.samples)
        return [Figure(f"rcmflow status INSTANCE vs `{IMPORTS}`", a, b, "ms", 1.2)]

    def status_json(self, instances: int) -> list[Figure]:
        """status --json over many instances against bench/raw_status.py, and its peak memory."""
        big, small = self.tmp / "status-big.db", self.tmp / "status-small.db"
        for path, n in ((big, instances), (small, 1000)):
            with sqlite3.connect(self.path) as src, sqlite3.connect(path) as dst:
                src.backup(dst)  # the schema, and the benchmark's instances so far
            populate(path, n)
        print(f"  populated {instances:,} and 1,000 instances x 11 tracks", flush=True)
        today = dt.date.today().isoformat()
        out = self.tmp / "status.json"

        def status(path: Path, peak: bool = False):
            with open(out, "wb") as sink:
                return run([self.rcmflow, "--db", f"sqlite:///{path}", "status", "--json"], self.env, sink, peak)

        def floor():
            with open(out, "wb") as sink:
                return run([sys.executable, str(BENCH / "raw_status.py"), str(big), today], self.env, sink)

        status(big)
        ours_json = json.loads(out.read_text())
        floor()
        assert json.loads(out.read_text()) == ours_json, "status --json and bench/raw_status.py disagree"
        timings = interleave(lambda: status(big), floor, max(3, self.samples // 2), warmup=0)
        peaks = interleave(lambda: status(big, True)[1], lambda: status(small, True)[1], 3, warmup=0)
        ours = [t for t, _ in timings[0]]
        base = [t for t, _ in timings[1]]
        counts = self.counts(big, instances)
        return counts + [Figure(f"status --json, {instances:,} instances x 11 tracks vs bench/raw_status.py",
                       ours, base, "s", 2),
                Figure(f"status --json peak RSS, {instances:,} vs 1,000 instances", peaks[0], peaks[1], "MiB", 1.2)]


    def counts(self, path: Path, instances: int) -> list[Figure]:
        """The matrix's counts (tracks per instance and state, `Queries.counts`), checked
        equal to what the status views give, against a raw GROUP BY on the same index."""
        engine, raw = Engine(self.home, f"sqlite:///{path}", ACTOR, entry_points=False), Raw(f"sqlite:///{path}")

        def ours():
            return timed(engine.queries.counts)

        try:
            views = {v.id: dict(Counter(t.state for t in v.tracks.values())) for v in engine.status() if v.tracks}
            assert engine.queries.counts() == views, "Queries.counts and the status views disagree"
            a, b = interleave(ours, lambda: timed(raw.counts), max(3, self.samples // 2), warmup=0)
        finally:
            engine.close()
            raw.close()
        return [Figure(f"the matrix's counts per instance and state, {instances:,} instances, vs a raw GROUP BY",
                       a, b, "s", 2)]


def populate(path: Path, n: int) -> None:
    """`n` collecting instances of 11 tracks and a chained start event each, by raw batches."""
    conn = sqlite3.connect(path, isolation_level=None)
    now = dt.datetime.now(dt.timezone.utc)
    stamp = stored(now)
    states = ["requested", "drafting", "submitted", "returned", "accepted", "declined"]
    conn.execute("BEGIN")
    for lo in range(0, n, 5000):
        chunk = range(lo, min(lo + 5000, n))
        ids = [f"theme-bench-{k:06d}" for k in chunk]
        params = [{"theme": k % 6 + 1, "deadline": "2017-04-20" if k % 2 else "2999-12-31"} for k in chunk]
        conn.executemany("INSERT INTO instances (id, workflow, definition_version, state, params, data, version, "
                         "state_entered_at, created_at, updated_at) VALUES (?, ?, 1, 'collecting_input', ?, '{}', 1, "
                         "?, ?, ?)", [(i, WORKFLOW, json.dumps(p), stamp, stamp, stamp) for i, p in zip(ids, params)])
        conn.executemany("INSERT INTO tracks (instance_id, participant, state, due, data, updated_at) "
                         "VALUES (?, ?, ?, ?, '{}', ?)",
                         [(i, c, states[(k + j) % 6], p["deadline"], stamp)
                          for k, (i, p) in enumerate(zip(ids, params)) for j, c in enumerate(COUNTRIES)])
        events = []
        for i, p in zip(ids, params):
            values = {"at": now, "actor": ACTOR, "instance_id": i, "participant": None, "trigger": "start",
                      "source": None, "dest": "collecting_input", "note": None, "data": {"params": p}}
            digest = event_hash(GENESIS, values)  # each instance's chain starts with its start event
            events.append((stamp, ACTOR, i, "start", "collecting_input", json.dumps({"params": p}), GENESIS, digest))
        conn.executemany("INSERT INTO events (at, actor, instance_id, trigger, dest, data, prev_hash, hash) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.execute("COMMIT")
    conn.close()
