"""Four processes run `rcmflow init` (or `quickstart`) on a new database at the same moment.

Each is a spawned process that runs the command line in-process once all four have met
at a barrier. The migration takes the write lock first (BEGIN IMMEDIATE on SQLite, an
advisory lock on PostgreSQL), so the others wait, then find the schema at head and do
nothing: every process exits 0, the schema is at head once, and quickstart starts each
planned instance once.
"""

from __future__ import annotations

import io
import json
import multiprocessing
from contextlib import redirect_stderr, redirect_stdout

import sqlalchemy as sa

from rcmflow.store.database import SCHEMA_REVISION

PROCESSES = 4
TIMEOUT = 120


def _run(args: list[str], barrier, results) -> None:
    from rcmflow.cli import cli

    out, err = io.StringIO(), io.StringIO()
    barrier.wait(timeout=TIMEOUT)
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main(args, prog_name="rcmflow", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            code, _ = 99, err.write(f"{type(exc).__name__}: {exc}")
    results.put((code, out.getvalue(), err.getvalue()))


def run_at_once(*args: str) -> list[tuple[int, str, str]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    processes = [ctx.Process(target=_run, args=(list(args), barrier, results), daemon=True)
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=TIMEOUT) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    return reports


def schema_revisions(db_url: str) -> list[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def options(home, db_url: str) -> list[str]:
    return ["--home", str(home), "--db", db_url, "--actor", "ts-officer"]


def test_four_inits_at_once_wait_for_each_other(home, db_url):
    for round_no in range(2):  # a new database, then one already at head
        reports = run_at_once(*options(home, db_url), "init")
        assert [code for code, _, _ in reports] == [0] * PROCESSES, f"round {round_no}: {reports}"
        assert all("database ready" in out and not err for _, out, err in reports), reports
        assert schema_revisions(db_url) == [SCHEMA_REVISION]


def test_four_quickstarts_at_once_start_each_instance_once(home, db_url, rcmflow):
    reports = run_at_once(*options(home, db_url), "quickstart")
    assert [code for code, _, _ in reports] == [0] * PROCESSES, [(c, e) for c, _, e in reports]
    assert schema_revisions(db_url) == [SCHEMA_REVISION]
    started = [line for _, out, _ in reports for line in out.splitlines() if line.startswith("started: ")]
    assert len(started) == len(set(started)) == 12, started  # each planned instance started by one process
    status = json.loads(rcmflow("status", "--json").stdout)
    assert len(status["instances"]) == 12
    for instance in status["instances"]:
        history = json.loads(rcmflow("history", instance["id"], "--json").stdout)
        assert [e["trigger"] for e in history] == ["start"], instance["id"]
