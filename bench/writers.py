"""The PostgreSQL figures, in a fresh schema dropped at the end: one fire against raw
psycopg, writer processes on different instances (1, 2, 4, 8) against the raw loop,
and writers of one instance, which must never give up with "kept changing"."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from pathlib import Path

from figures import ACTOR, COUNTRIES, Bench, Tracks
from raw import Raw
from sample import Figure

WRITERS = (1, 2, 4, 8)


def fresh_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def writer(kind: str, home: str, url: str, instance_id: str, participants: list[str], fires: int,
           ready, results) -> None:
    """One writer process: `fires` track moves on `instance_id`, round robin over
    `participants`, once every writer is ready; puts (seconds, done, failures)."""
    from rcmflow.errors import Conflict
    from rcmflow.log import configure

    configure("console", "error")
    tracks, failures = Tracks(), 0
    if kind == "rcmflow":
        from rcmflow.core.engine import Engine

        engine = Engine(Path(home), url, ACTOR, entry_points=False)
        engine.get(instance_id)  # connected and loaded before the clock starts
    else:
        raw = Raw(url)
    ready.wait()
    began = time.perf_counter()
    for k in range(fires):
        move = tracks.next(instance_id, participants[k % len(participants)])
        try:
            if kind == "rcmflow":
                engine.fire(instance_id, move[1], move[0])
            else:
                raw.move(instance_id, [move], ACTOR)
        except Conflict:
            failures += 1
            tracks.state[(instance_id, move[0])] = move[2]  # it did not move
    results.put((time.perf_counter() - began, fires - failures, failures))


def run_writers(kind: str, home: Path, url: str, instances: list[str], fires: int) -> tuple[float, int]:
    """Throughput (tx/s) of one writer per entry of `instances` (the same id repeated for
    writers of one instance: each then moves its own participants), and the failures."""
    # Forked: each writer opens its own connections, and a forked child ends with
    # os._exit, so it never closes (or uses) the ones it inherited from this process.
    ctx = multiprocessing.get_context("fork")
    ready, results = ctx.Barrier(len(instances)), ctx.Queue()
    same = len(instances) > 1 and len(set(instances)) == 1  # then each writer moves its own tracks
    procs = []
    for n, instance_id in enumerate(instances):
        participants = [c for k, c in enumerate(COUNTRIES) if k % len(instances) == n] if same else COUNTRIES
        procs.append(ctx.Process(target=writer, args=(kind, str(home), url, instance_id, participants, fires,
                                                      ready, results)))
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return sum(done for _, done, _ in got) / max(s for s, _, _ in got), sum(f for _, _, f in got)


def postgres_figures(home: Path, base: str, quick: bool, samples: int) -> list[Figure]:
    url, schema = fresh_schema(base)
    print(f"PostgreSQL: schema {schema}", flush=True)
    bench = Bench(home, Path(home).parent, quick=quick, samples=samples, url=url)
    try:
        figures = bench.fire()
        figures[0].name = figures[0].name.replace("raw sqlite3", "raw psycopg") + ", PostgreSQL"
        fires = 40 if quick else 300
        counts = (1, 4, 8) if quick else WRITERS
        rates = {}
        for n in counts:
            ours = [bench.opened("pg-w") for _ in range(n)]
            theirs = [bench.opened("pg-x") for _ in range(n)]
            rates[n] = run_writers("rcmflow", home, url, ours, fires)[0], run_writers("raw", home, url, theirs, fires)[0]
            print(f"  {n} writers: rcmflow {rates[n][0]:.0f} tx/s, raw psycopg {rates[n][1]:.0f} tx/s", flush=True)
        for n in counts:
            figures.append(Figure(f"PostgreSQL, {n} writer process(es) on different instances, tx/s",
                                  [rates[n][0]], [rates[n][1]], "tx/s", None, "(throughput)"))
        grows = rates[4][0] > rates[1][0]
        ours_fall, raw_fall = rates[8][0] / rates[4][0], rates[8][1] / rates[4][1]
        figures.append(Figure("PostgreSQL, 8 vs 4 writers: rcmflow's change (base: raw psycopg's)",
                              [ours_fall], [raw_fall], "%", None,
                              f"grows 1->4: {'yes' if grows else 'NO'}; no fall beyond raw's"))
        figures[-1].verdict = "yes" if grows and ours_fall >= raw_fall * 0.95 else "NO"
        for n in (2, 4):
            instance_id = bench.opened("pg-same")
            rate, failed = run_writers("rcmflow", home, url, [instance_id] * n, fires)
            share = failed / (n * fires)
            figures.append(Figure(f"PostgreSQL, {n} writers on the same instance: commands failed "
                                  f"('kept changing'), {rate:.0f} tx/s", [share], None, "%", None, "0%"))
            figures[-1].verdict = "yes" if failed == 0 else "NO"
        check = bench.engine.verify_history()
        assert check.ok, f"the history does not verify after the PostgreSQL figures: {check.summary()}"
    finally:
        bench.close()
        drop_schema(base, schema)
    return figures
