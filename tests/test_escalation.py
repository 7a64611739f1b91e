"""Escalation: a country that stays silent after several reminders is reminded again
with its head of delegation and the PPT in copy, once each, through a real SMTP
server on the loopback interface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import one_line
from tests.test_notify import _no_smtp_environment, smtp  # noqa: F401 - fixtures

SILENT = """\
workflow: silent-call
title: {en: Call for input, es: Convocatoria}
params:
  deadline: {type: date, required: true}
participants: [GT, MX]
track:
  initial: asked
  states: [asked, answered]
  deadline: {date: "{{ params.deadline }}", met: [answered]}
  reminders:
    - every: 3d
      actions: [{notify: {to: participant, template: input-reminder}}]
      escalate: {after: 2, to: [head_of_delegation, ppt]}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
initial: open
states:
  - open
  - {name: closed, final: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""


@pytest.fixture
def silent(home: Path, rcmflow, smtp):  # noqa: F811
    (home / "workflows" / "silent-call.yaml").write_text(SILENT)
    # every day a working day: this is about who is reminded, not when (see test_workdays.py)
    (home / "rcmflow.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nfrom = "RCM TS <ts@rcm.example.org>"\n\n'
                                       '[calendar]\nweekend = []\nholidays = false\n')
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "silent-call", "--id", "call-1", "--set", "deadline=2030-04-20").exit_code == 0
    return smtp.mailbox


def tick_on(rcmflow, mailbox, day: str) -> list[str]:
    """Tick twice on `day`; the addresses that got a message, in order."""
    mailbox.received.clear()
    for hour in ("09", "15"):
        assert rcmflow("tick", "--now", f"{day}T{hour}:00").exit_code == 0
    return sorted(rcpt for _, rcpts, _ in mailbox.received for rcpt in rcpts)


def sent_keys(db_url: str) -> set[str]:
    import sqlalchemy as sa

    from rcmflow.store.models import ReminderSent

    db = sa.create_engine(db_url)
    try:
        with db.connect() as conn:
            return set(conn.execute(sa.select(ReminderSent.key)).scalars())
    finally:
        db.dispose()


def test_the_escalation_goes_once_to_the_head_of_delegation_and_the_ppt(silent, rcmflow, db_url):
    focal = ["focal@gt.example.org", "focal@mx.example.org"]
    assert tick_on(rcmflow, silent, "2030-04-21") == focal  # first overdue reminder
    assert tick_on(rcmflow, silent, "2030-04-24") == focal  # second
    assert rcmflow("--now", "2030-04-25T09:00", "fire", "call-1", "answer", "--participant", "MX").exit_code == 0
    # a third reminder, after two: Guatemala's goes to its head of delegation and the PPT too
    assert tick_on(rcmflow, silent, "2030-04-27") == ["focal@gt.example.org", "head@gt.example.org",
                                                      "ppt@sv.example.org"]
    head, focal_point = silent.to("head@gt.example.org"), silent.to("focal@gt.example.org")
    # the same reminder, in Guatemala's language, addressed to each
    assert head["Subject"] == focal_point["Subject"] and "Convocatoria (plazo: 20 de abril de 2030)" in head["Subject"]
    assert "Estimado/a Guatemala head of delegation:" in head.get_content()
    assert tick_on(rcmflow, silent, "2030-04-30") == ["focal@gt.example.org"]  # escalated once only
    history = json.loads(rcmflow("history", "call-1", "--json").stdout)
    reminders = [e for e in history if e["trigger"] == "remind"]
    assert len(reminders) == 6
    escalated = [e for e in reminders if "escalated" in (e["note"] or "")]
    assert sent_keys(db_url) >= {"call-1:GT:escalate:2030-04-20"}
    assert not any(key.startswith("call-1:MX:escalate") for key in sent_keys(db_url))
    assert [(e["participant"], e["note"]) for e in escalated] == [
        ("GT", "reminder: every 3 days while overdue (2030-04-20), escalated to head_of_delegation, ppt")]


def test_an_escalation_to_nobody_known_is_a_validation_error(home, rcmflow):
    (home / "workflows" / "silent-call.yaml").write_text(
        SILENT.replace("[head_of_delegation, ppt]", "[head_of_delgation, ppt]"))
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 1
    assert "workflows/silent-call.yaml:13: escalate to: 'head_of_delgation' is not a role" in result.stdout


def test_an_escalation_says_when(home, rcmflow, snapshot):
    (home / "workflows" / "silent-call.yaml").write_text(
        SILENT.replace("{after: 2, to:", "{to:"))
    assert rcmflow("init").exit_code == 0
    before = snapshot()
    result = rcmflow("start", "silent-call", "--set", "deadline=2030-04-20")
    assert result.exit_code != 0
    assert "an escalation has either after: N (reminders sent) or after_overdue:" in one_line(result)
    assert snapshot() == before


OVERDUE = """\
workflow: overdue-call
title: Call for input
params:
  deadline: {type: date, required: true}
participants: [GT]
track:
  initial: asked
  states: [asked, answered]
  deadline: {date: "{{ params.deadline }}", met: [answered]}
  reminders:
    - every: 1d
      actions: [{record: reminded}]
      escalate: {after_overdue: 10d, to: [head_of_delegation]}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
initial: open
states: [open, {name: closed, final: true}]
transitions:
  - {trigger: close, source: open, dest: closed}
"""


def test_an_escalation_after_days_overdue_goes_once_from_that_day(home, initialised, make_engine, recorder):
    import datetime as dt

    (home / "workflows" / "overdue-call.yaml").write_text(OVERDUE)
    (home / "rcmflow.toml").write_text("[calendar]\nweekend = []\nholidays = false\n")
    engine = make_engine()
    engine.start("overdue-call", "call-1", {"deadline": "2030-04-20"})
    for day in range(21, 31):  # 1 to 10 days overdue
        engine.tick(dt.datetime(2030, 4, day, 9, tzinfo=dt.timezone.utc))
    engine.tick(dt.datetime(2030, 5, 1, 9, tzinfo=dt.timezone.utc))
    reminders = [e for e in engine.history("call-1") if e.trigger == "remind"]
    assert len(reminders) == len(recorder.runs()) == 11
    # the tenth day overdue escalates, and only that one
    assert [e.data.get("escalate") for e in reminders] == [None] * 9 + [["head_of_delegation"], None]
