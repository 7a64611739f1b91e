"""Reminders: before a deadline and while overdue, sent once each by `tick`, recorded
in the history and shown in the status."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

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
    - {before: 1d, actions: [{record: "1 day left for {{ event.participant }}"}]}
    - {every: 3d, actions: [{record: "overdue: {{ event.participant }}"}]}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
initial: open
states:
  - open
  - {name: closed, final: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""



def day(text: str, hour: int = 8) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(hour=hour, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self):
        self.now = day("2017-04-01")

    def __call__(self):
        return self.now


@pytest.fixture
def call(home: Path, initialised, make_engine, recorder):
    (home / "workflows" / "call-for-input.yaml").write_text(CALL)
    # the rules of reminders, whatever the calendar (test_workdays.py has the working days)
    (home / "rcmflow.toml").write_text("[calendar]\nweekend = []\nholidays = false\n")
    clock = Clock()
    engine = make_engine(clock=clock)
    engine.start("call-for-input", "call-1", {"deadline": "2017-04-20"})
    return engine, clock, recorder


def tick_on(engine, clock, text: str, times: int = 3):
    clock.now = day(text)
    return [engine.tick(clock.now) for _ in range(times)]


def test_each_reminder_goes_once_to_whoever_still_owes(call):
    engine, clock, recorder = call
    assert all(not r.reminded for r in tick_on(engine, clock, "2017-04-12"))  # 8 days left: nothing yet
    first = tick_on(engine, clock, "2017-04-13")  # 7 days left
    assert [len(r.reminded) for r in first] == [3, 0, 0]
    engine.fire("call-1", "answer", "SV")  # El Salvador answers: no more reminders for it
    tick_on(engine, clock, "2017-04-19")  # 1 day left
    tick_on(engine, clock, "2017-04-20")  # the deadline day itself: nothing new
    tick_on(engine, clock, "2017-04-21")  # overdue, first period
    tick_on(engine, clock, "2017-04-23")  # same period: nothing
    tick_on(engine, clock, "2017-04-24")  # second period
    assert recorder.args() == [
        "7 days left for HN", "7 days left for SV", "7 days left for NI",
        "1 day left for HN", "1 day left for NI",
        "overdue: HN", "overdue: NI",
        "overdue: HN", "overdue: NI",
    ]
    reminders = [e for e in engine.history("call-1") if e.trigger == "remind"]
    assert len(reminders) == 9
    assert {e.actor for e in reminders} == {"rcmflow"}
    assert reminders[0].note == "reminder: 7 days before the deadline (2017-04-20)"
    assert reminders[-1].note == "reminder: every 3 days while overdue (2017-04-20)"
    [view] = engine.status()
    assert view.tracks["HN"].reminded == dt.date(2017, 4, 24)
    assert view.tracks["SV"].reminded == dt.date(2017, 4, 13)


def test_a_tick_that_missed_days_sends_the_latest_not_a_burst(call):
    engine, clock, recorder = call
    tick_on(engine, clock, "2017-05-02", times=1)  # first tick long after the deadline
    assert recorder.args() == ["overdue: HN", "overdue: SV", "overdue: NI"]


def test_no_reminders_once_closed(call, rcmflow):
    engine, clock, recorder = call
    engine.fire("call-1", "close")
    tick_on(engine, clock, "2017-04-13")
    assert recorder.runs() == []


def test_tick_reports_reminders_and_status_shows_them(call, rcmflow):
    result = rcmflow("tick", "--now", "2017-04-13T09:00", "--json")
    report = json.loads(result.stdout)
    assert [(r["id"], r["participant"], r["reminder"]) for r in report["reminded"]] == [
        ("call-1", "HN", "7 days before the deadline"), ("call-1", "SV", "7 days before the deadline"),
        ("call-1", "NI", "7 days before the deadline")]
    status = json.loads(rcmflow("status", "--json").stdout)
    assert status["instances"][0]["tracks"]["NI"]["reminded"] == "2017-04-13"
    again = rcmflow("tick", "--now", "2017-04-13T10:00")
    assert "0 reminders sent" in again.stdout


def test_reminders_are_validated(home, recorder):
    from rcmflow.model.catalog import load_catalog
    from rcmflow.model.members import load_members
    from rcmflow.plugins import load_plugins

    path = home / "workflows" / "call-for-input.yaml"
    path.write_text(CALL.replace("{before: 1d,", "{before: soon,").replace("{every: 3d,", "{every: 3d, before: 2d,"))
    members, _ = load_members(home)
    problems = [str(p) for p in load_catalog(home, load_plugins(home, False).registry, members, [path]).problems]
    assert any(":12: 'soon' is not a duration" in p for p in problems), problems
    assert any(":13: a reminder has either before:" in p for p in problems), problems
