#!/usr/bin/env python
"""Benchmark of rcmflow against baselines measured in the same run.

1. Persisted transitions per second through `Engine.fire` (track triggers of
   thematic-consultation instances) against a raw SQLAlchemy Core loop doing the
   same writes per transaction (goal: engine/raw >= 0.30).
2. Wall time of `rcmflow status --json` over 10,000 instances of 11 tracks (goal: < 1 s).
3. Start-up of `rcmflow --help` against `python -c "import sqlalchemy"` (goal: < 2x).

Usage: python bench/bench_engine.py [--db URL] [--transitions N] [--quick]
A PostgreSQL URL gets a fresh schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from rcmflow.core.engine import Engine
from rcmflow.log import configure
from rcmflow.store.database import make_engine
from rcmflow.store.models import Event, Instance, Track

REPO = Path(__file__).resolve().parent.parent
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
TABLES = ("outbox", "attachments", "events", "tracks", "instances")  # children first
INSTANCES, TRACKS, EVENTS = Instance.__table__, Track.__table__, Event.__table__
UTC = dt.timezone.utc


def targets(instance_ids: list[str]):
    """Endless (instance, participant, trigger, source, dest) steps, round robin over
    the tracks; each cycles requested -> submitted -> returned -> submitted -> ..."""
    state = {(i, p): "requested" for i in instance_ids for p in COUNTRIES}
    for key in itertools.cycle(list(state)):
        source = state[key]
        trigger, dest = ("return_for_revision", "returned") if source == "submitted" else ("submit", "submitted")
        state[key] = dest
        yield key[0], key[1], trigger, source, dest


def start_instances(engine: Engine, prefix: str, count: int) -> list[str]:
    ids = []
    for n in range(1, count + 1):
        view = engine.start(WORKFLOW, f"{prefix}-{n}", {"theme": str(n % 6 + 1), "deadline": "2999-12-31"})
        engine.fire(view.id, "open")  # tracks move only while the instance collects input
        ids.append(view.id)
    return ids


def raw_stepper(url: str, ids: list[str]):
    """The floor: per transaction, the three statements any persisted transition needs.
    Same engine factory as rcmflow (WAL, BEGIN IMMEDIATE on SQLite), prepared statements."""
    db = make_engine(url).execution_options(rcmflow_write=True)
    bump = (sa.update(INSTANCES)
            .where(INSTANCES.c.id == sa.bindparam("b_id"), INSTANCES.c.version == sa.bindparam("b_version"))
            .values(version=INSTANCES.c.version + 1, updated_at=sa.bindparam("b_now")))
    move = (sa.update(TRACKS)
            .where(TRACKS.c.instance_id == sa.bindparam("b_id"), TRACKS.c.participant == sa.bindparam("b_p"))
            .values(state=sa.bindparam("b_state"), updated_at=sa.bindparam("b_now")))
    record = sa.insert(EVENTS)
    with db.connect() as conn:
        versions = dict(conn.execute(sa.select(INSTANCES.c.id, INSTANCES.c.version)
                                     .where(INSTANCES.c.id.in_(ids))).all())

    def step(instance_id: str, participant: str, trigger: str, source: str, dest: str) -> None:
        now = dt.datetime.now(UTC)
        with db.begin() as conn:
            version = versions[instance_id]
            if conn.execute(bump, {"b_id": instance_id, "b_version": version, "b_now": now}).rowcount != 1:
                raise RuntimeError(f"version check failed on {instance_id}")
            conn.execute(move, {"b_id": instance_id, "b_p": participant, "b_state": dest, "b_now": now})
            conn.execute(record, {"at": now, "actor": ACTOR, "instance_id": instance_id, "participant": participant,
                                  "trigger": trigger, "source": source, "dest": dest, "note": None, "data": {}})
        versions[instance_id] = version + 1

    return step, db


def rates(sides: list, n: int, warmup: int, rounds: int) -> list[float]:
    """Transitions/s of each (step, steps) side. The sides take turns in `rounds`
    chunks so that a change of background load hits both alike."""
    spent = [0.0] * len(sides)
    for step, steps in sides:
        for args in itertools.islice(steps, warmup):
            step(*args)
    per = max(1, n // rounds)
    for _ in range(rounds):
        for k, (step, steps) in enumerate(sides):
            began = time.perf_counter()
            for args in itertools.islice(steps, per):
                step(*args)
            spent[k] += time.perf_counter() - began
    return [per * rounds / t for t in spent]


def populate(url: str, count: int) -> None:
    """`count` collecting instances with 11 tracks and a start event each, by bulk inserts."""
    db = make_engine(url)
    now = dt.datetime.now(UTC)
    states = ["requested", "drafting", "submitted", "returned", "accepted", "declined"]
    with db.begin() as conn:
        for name in TABLES:  # the transitions benchmark left its instances behind
            conn.execute(sa.text(f"DELETE FROM {name}"))
        for lo in range(0, count, 2000):
            chunk = [f"theme-bench-{n:05d}" for n in range(lo, min(lo + 2000, count))]
            params = [{"theme": n % 6 + 1, "deadline": "2017-04-20" if n % 2 else "2999-12-31"}
                      for n in range(lo, lo + len(chunk))]
            conn.execute(sa.insert(INSTANCES), [
                {"id": i, "workflow": WORKFLOW, "definition_version": 1, "state": "collecting_input",
                 "params": p, "data": {}, "version": 1, "state_entered_at": now, "timeout_at": None,
                 "created_at": now, "updated_at": now} for i, p in zip(chunk, params)])
            conn.execute(sa.insert(TRACKS), [
                {"instance_id": i, "participant": c, "state": states[(k + j) % len(states)],
                 "due": dt.date.fromisoformat(p["deadline"]), "data": {}, "updated_at": now}
                for k, (i, p) in enumerate(zip(chunk, params)) for j, c in enumerate(COUNTRIES)])
            conn.execute(sa.insert(EVENTS), [
                {"at": now, "actor": ACTOR, "instance_id": i, "participant": None, "trigger": "start",
                 "source": None, "dest": "collecting_input", "note": None, "data": {"params": p}}
                for i, p in zip(chunk, params)])
    db.dispose()


def best_of(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, list[float], str]:
    """Best wall time of `runs` timed runs, after one untimed run (it fills the caches)."""
    times, out = [], ""
    for _ in range(runs + 1):
        began = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        out = done.stdout
    return min(times[1:]), times[1:], out


def postgres_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--transitions", type=int, help="transitions timed per side (default 3000)")
    parser.add_argument("--instances", type=int, help="instances for status --json (default 10000)")
    parser.add_argument("--runs", type=int, help="subprocess runs, best taken (default 10)")
    parser.add_argument("--quick", action="store_true", help="a small run: 300 transitions, 1000 instances")
    args = parser.parse_args()
    n = args.transitions or (300 if args.quick else 3000)
    count = args.instances or (1000 if args.quick else 10_000)
    runs = args.runs or (3 if args.quick else 10)

    tmp = Path(tempfile.mkdtemp(prefix="rcmflow-bench-"))
    home = tmp / "home"
    (home / "workflows").mkdir(parents=True)
    shutil.copy(REPO / "workflows" / "members.yaml", home / "workflows" / "members.yaml")
    (home / "workflows" / "bench-consultation.yaml").write_text(WORKFLOW_YAML)
    (home / "plugins").mkdir()
    url, schema, base = args.db or f"sqlite:///{tmp / 'bench.db'}", None, args.db
    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        url, schema = postgres_schema(url)
    env = {**os.environ, "RCMFLOW_ENTRY_POINTS": "0", "RCMFLOW_HOME": str(home), "RCMFLOW_DB": url}
    env.pop("RCMFLOW_ACTOR", None)
    # Byte-compiled files as an installed package has them, but kept out of the
    # repository: a private cache that the untimed first run of each command fills.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    rcmflow = shutil.which("rcmflow", path=str(Path(sys.executable).parent)) or "rcmflow"
    configure("console", "warning")  # what the CLI does: info lines are filtered out
    print(f"rcmflow: {Path(sys.modules[Engine.__module__].__file__).parent}\nhome: {home}\n"
          f"database: {sa.engine.make_url(url).render_as_string(hide_password=True)}")
    engine = Engine(home, url, ACTOR, entry_points=False)
    try:
        engine.init()
        with engine.db.engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(INSTANCES)).scalar():
                sys.exit("the database already holds instances; give an empty one")

        # 1. transitions: 4 instances (44 tracks) per side, so no row is hot.
        def fire(instance_id, participant, trigger, _source, _dest):
            engine.fire(instance_id, trigger, participant)

        engine_ids = start_instances(engine, "bench-e", 4)
        raw_ids = start_instances(engine, "bench-r", 4)
        raw_step, raw_db = raw_stepper(url, raw_ids)
        rate_engine, rate_raw = rates([(fire, targets(engine_ids)), (raw_step, targets(raw_ids))],
                                      n, min(200, n // 5), 3 if args.quick else 10)
        raw_db.dispose()
        print(f"[1] {n} transitions each: engine {rate_engine:.0f}/s, raw Core {rate_raw:.0f}/s")

        # 2. status --json over `count` instances
        began = time.perf_counter()
        populate(url, count)
        print(f"[2] populated {count} instances x {len(COUNTRIES)} tracks in {time.perf_counter() - began:.1f} s")
        status_runs = 3 if not args.quick else 1
        status_s, status_times, out = best_of([rcmflow, "status", "--json"], status_runs, env)
        listed = json.loads(out)["instances"]
        assert len(listed) == count, f"status --json listed {len(listed)} instances, not {count}"
        assert all(len(i["tracks"]) == len(COUNTRIES) for i in listed), "an instance lacks tracks"
        print(f"    status --json: {', '.join(f'{t:.3f}' for t in status_times)} s; "
              f"{len(out) / 1e6:.1f} MB of valid JSON, {count} instances")

        # 3. start-up, best of `runs`
        help_s, _, _ = best_of([rcmflow, "--help"], runs, env)
        import_s, _, _ = best_of([sys.executable, "-c", "import sqlalchemy"], runs, env)
        print(f"[3] best of {runs}: rcmflow --help {help_s * 1000:.0f} ms, import sqlalchemy {import_s * 1000:.0f} ms")
    finally:
        engine.close()
        if schema:
            admin = sa.create_engine(base)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    full = count == 10_000  # the status goal is stated for 10,000 instances
    rows = [
        ("Engine.fire, transitions/s", f"{rate_engine:,.0f}", "", None),
        ("raw Core loop, transitions/s", f"{rate_raw:,.0f}", "", None),
        ("ratio engine / raw", f"{rate_engine / rate_raw:.3f}", ">= 0.30", rate_engine / rate_raw >= 0.30),
        (f"status --json, {count:,} instances (best of {status_runs})", f"{status_s:.3f} s", "< 1 s",
         status_s < 1.0 if full else None),
        (f"rcmflow --help (best of {runs})", f"{help_s * 1000:.0f} ms", "", None),
        (f"python -c 'import sqlalchemy' (best of {runs})", f"{import_s * 1000:.0f} ms", "", None),
        ("ratio --help / import sqlalchemy", f"{help_s / import_s:.3f}x", "< 2x", help_s / import_s < 2),
    ]
    print(f"\nSummary ({sa.engine.make_url(url).get_backend_name()}, {n} transitions)")
    print(f"{'figure':<46} {'value':>10}  {'goal':<8} met")
    print("-" * 72)
    for name, value, goal, met in rows:
        verdict = "" if not goal else ("yes" if met else "NO" if met is False else "n/a (not 10,000)")
        print(f"{name:<46} {value:>10}  {goal:<8} {verdict}")


if __name__ == "__main__":
    main()
