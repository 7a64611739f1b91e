"""A tick over more open instances than SQLite allows parameters in one statement
(32,766): 40,000 open calls for input of one workflow. Nothing the tick asks the
database binds one parameter per instance, so it ticks them all, sends the reminders
that are due (and only those), and the next tick finds them sent."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from rcmflow.core.engine import Engine
from rcmflow.store.records import insert_instances, load_instance

pytestmark = pytest.mark.fixture_workflows

INSTANCES = 40_000
SQLITE_VARIABLES = 32_766
DUE_EVERY = 10_000  # one in so many copies has its deadline in 7 days: its reminders are due

CALL = """\
workflow: call-for-input
title: Call for input
params:
  deadline: {type: date, required: true}
participants: troika
track:
  initial: asked
  states: [asked, answered]
  deadline: {date: "{{ params.deadline }}", met: [answered]}
  reminders:
    - {before: 7d, actions: [{record: "7 days left for {{ event.participant }}"}]}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
initial: open
states:
  - open
  - {name: closed, final: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""


def test_a_tick_over_40000_open_instances_of_one_workflow(home: Path, tmp_path: Path, recorder):
    # SQLite only: the limit is SQLite's (PostgreSQL ticks the same statements in the other tests)
    (home / "workflows" / "call-for-input.yaml").write_text(CALL)
    (home / "rcmflow.toml").write_text("[calendar]\nweekend = []\nholidays = false\n")
    now = dt.datetime(2017, 4, 13, 8, tzinfo=dt.timezone.utc)  # 7 days before 2017-04-20
    engine = Engine(home, f"sqlite:///{tmp_path / 'many.db'}", "ts-officer", entry_points=False, clock=lambda: now)
    try:
        tick_many(engine, recorder, now)
    finally:
        engine.close()


def tick_many(engine: Engine, recorder, now: dt.datetime) -> None:
    # SQLite's own default limit (Debian builds allow 250,000): the test holds on every build
    sa.event.listen(engine.db.engine, "connect", lambda dbapi, _: dbapi.setlimit(
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_VARIABLES))
    engine.init()
    engine.start("call-for-input", "call-0", {"deadline": "2017-04-20"})
    # the other 39,999 as copies of the first, in one batch through the store
    with engine.db.writing() as conn:
        first = load_instance(conn, "call-0")
        copies = []
        for n in range(1, INSTANCES):
            due = dt.date(2017, 4, 20) if n % DUE_EVERY == 0 else dt.date(2030, 1, 31)
            copies.append(replace(first, id=f"call-{n}", params={"deadline": due.isoformat()},
                                  tracks=[replace(t, id=None, due=due) for t in first.tracks]))
        insert_instances(conn, copies)

    report = engine.tick(now)
    assert report.problems == []
    due = ["call-0"] + [f"call-{n}" for n in range(DUE_EVERY, INSTANCES, DUE_EVERY)]
    assert sorted({i for i, _, _ in report.reminded}) == sorted(due)
    assert len(report.reminded) == len(due) * 3  # the troika: three tracks each
    assert len(recorder.args()) == len(due) * 3
    again = engine.tick(now)  # each reminder goes once
    assert again.problems == [] and again.reminded == []
