"""Timeouts and the outbox: `tick` fires each timeout once and retries failed actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

START = dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.timezone.utc)

WINDOW = """\
workflow: review-window
title: Review window
params:
  closes: {type: date}
initial: open
states:
  - name: open
    timeout: {after: 2d, trigger: remind}
  - name: closing
    timeout: {at: "{{ params.closes }}", trigger: close}
  - {name: closed, final: true}
transitions:
  - {trigger: remind, source: open, dest: closing, actions: [{record: "reminded {{ instance.id }}"}]}
  - {trigger: close, source: closing, dest: closed, actions: [{record: "closed"}]}
"""

# An action that fails while a file says so, and records every successful run.


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def window(home: Path, initialised, make_engine, recorder):
    (home / "workflows" / "review-window.yaml").write_text(WINDOW)
    clock = Clock(START)
    engine = make_engine(clock=clock)
    engine.start("review-window", "window-1", {"closes": "2030-04-10"})
    return engine, clock, recorder


def test_a_timeout_fires_once_however_often_tick_runs(window):
    engine, clock, recorder = window
    assert engine.tick(START + dt.timedelta(days=1)).fired == []
    clock.now = START + dt.timedelta(days=2, minutes=1)
    reports = [engine.tick(clock.now) for _ in range(5)]
    assert [len(r.fired) for r in reports] == [1, 0, 0, 0, 0]
    assert engine.get("window-1").state == "closing"
    events = [e for e in engine.history("window-1") if e.trigger == "remind"]
    assert len(events) == 1 and events[0].actor == "rcmflow"
    assert recorder.runs() == ["outbox-1 reminded window-1"]


def test_an_absolute_timeout_falls_when_its_day_is_over(window):
    engine, clock, recorder = window
    clock.now = START + dt.timedelta(days=3)
    engine.tick(clock.now)
    view = engine.get("window-1")
    assert view.timeout_at == dt.datetime(2030, 4, 11, tzinfo=dt.timezone.utc)
    assert engine.tick(dt.datetime(2030, 4, 10, 23, 59, tzinfo=dt.timezone.utc)).fired == []
    clock.now = dt.datetime(2030, 4, 11, 0, 1, tzinfo=dt.timezone.utc)
    for _ in range(3):
        engine.tick(clock.now)
    assert engine.get("window-1").state == "closed"
    assert [e.trigger for e in engine.history("window-1")] == ["start", "remind", "close"]


def test_a_failed_action_stays_queued_and_runs_once_when_it_can(window, db_url):
    import sqlalchemy as sa

    from rcmflow.store.models import OutboxItem

    engine, clock, recorder = window
    recorder.fail()
    clock.now = START + dt.timedelta(days=2, minutes=1)
    report = engine.tick(clock.now)
    assert len(report.fired) == 1 and report.actions_failed == 1
    assert engine.get("window-1").state == "closing"  # the transition stands
    assert recorder.runs() == []

    def outbox():
        db = sa.create_engine(db_url)
        with db.connect() as conn:
            rows = conn.execute(sa.select(OutboxItem.__table__)).all()
        db.dispose()
        return rows

    [item] = outbox()
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.last_error == "ConnectionError: mail server down"
    assert engine.tick(clock.now).actions_done == 0  # not due again yet: backoff
    recorder.fail(False)
    clock.now += dt.timedelta(minutes=5)
    assert engine.tick(clock.now).actions_done == 1
    assert engine.tick(clock.now + dt.timedelta(hours=1)).actions_done == 0
    assert recorder.runs() == ["outbox-1 reminded window-1"]
    [item] = outbox()
    assert (item.status, item.attempts, item.last_error) == ("done", 2, None)


def test_tick_reports_a_due_timeout_that_a_guard_holds(engine):
    engine.start("thematic-consultation", params={"theme": "4", "deadline": "2030-04-20"})
    engine.fire("theme-4", "open")
    after_deadline = dt.datetime(2030, 4, 21, 1, tzinfo=dt.timezone.utc)
    report = engine.tick(after_deadline)
    assert report.fired == []
    [(instance, reason)] = report.waiting
    assert instance == "theme-4" and "waiting for BZ" in reason
    for country in ["BZ", "GT", "HN", "MX", "NI", "SV"]:
        engine.fire("theme-4", "submit", participant=country)
    assert [f.trigger for f in engine.tick(after_deadline).fired] == ["close_collection"]
    assert engine.tick(after_deadline).fired == []
    assert engine.get("theme-4").state == "consolidating"


def test_tick_cli_with_now(rcmflow, window):
    result = rcmflow("tick", "--now", "2030-04-03T10:00", "--json")
    assert result.exit_code == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert [f["id"] for f in report["fired"]] == ["window-1"]
    assert report["actions_done"] == 1


def test_engines_for_other_actors_decide_with_the_same_definitions(initialised, make_engine):
    """An engine made with `acting_as` before any definition was read shares the
    definitions and compiled machines of the first: a due timeout whose guard holds is
    reported as waiting by either, never a crash."""
    engine = make_engine()
    focal = engine.acting_as("mx-focal")  # nothing read yet
    focal.catalog  # noqa: B018 - the other engine reads the definitions first
    engine.start("thematic-consultation", params={"theme": "4", "deadline": "2030-04-20"})
    engine.fire("theme-4", "open")
    focal.fire("theme-4", "submit", participant="MX")
    after_deadline = dt.datetime(2030, 4, 21, 1, tzinfo=dt.timezone.utc)
    for acting in (engine, focal):
        report = acting.tick(after_deadline)
        assert report.fired == [] and [i for i, _ in report.waiting] == ["theme-4"]
