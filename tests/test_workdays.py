"""Working days per country: a reminder due on a weekend or a public holiday of the
recipient's country goes out on its next working day; `status INSTANCE` and
`workflows validate` flag a deadline that falls on a day off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import one_line

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

# Guatemala observes Good Friday (2017-04-14), Mexico does not.
CALL = """\
workflow: amendments-call
title: Call for amendments
params:
  amendments_due: {type: date, required: true}
participants: [GT, MX]
track:
  initial: invited
  states: [invited, amended]
  deadline: {date: "{{ params.amendments_due }}", met: [amended]}
  reminders:
    - {before: 0d, actions: [{record: "due today: {{ event.participant }}"}]}
  transitions:
    - {trigger: amend, source: invited, dest: amended}
initial: open
states:
  - open
  - {name: closed, final: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""


@pytest.fixture
def call(home: Path, initialised, make_engine, recorder):
    (home / "workflows" / "amendments-call.yaml").write_text(CALL)
    engine = make_engine(clock=lambda: dt.datetime(2017, 4, 1, 9, tzinfo=dt.timezone.utc))
    engine.start("amendments-call", "call-1", {"amendments_due": "2017-04-14"})
    return recorder


def tick(rcmflow, day: str) -> None:
    result = rcmflow("tick", "--now", f"{day}T09:00")
    assert result.exit_code == 0, result.stderr


def test_a_reminder_due_on_good_friday_in_guatemala_goes_out_on_monday_once(call, rcmflow):
    tick(rcmflow, "2017-04-13")
    assert call.args() == []
    for _ in range(2):
        tick(rcmflow, "2017-04-14")  # Good Friday: a working day in Mexico only
    assert call.args() == ["due today: MX"]
    tick(rcmflow, "2017-04-15")  # Holy Saturday, then Sunday
    tick(rcmflow, "2017-04-16")
    assert call.args() == ["due today: MX"]
    for _ in range(2):
        tick(rcmflow, "2017-04-17")  # Monday: Guatemala's next working day
    tick(rcmflow, "2017-04-18")
    assert call.args() == ["due today: MX", "due today: GT"]
    history = rcmflow("history", "call-1", "--json").stdout
    assert history.count('"remind"') == 2


def test_which_days_count_is_a_setting(call, rcmflow, home):
    (home / "rcmflow.toml").write_text('[calendar]\nweekend = ["sat", "sun"]\nholidays = false\n')
    tick(rcmflow, "2017-04-14")
    assert sorted(call.args()) == ["due today: GT", "due today: MX"]


def test_a_bad_calendar_setting_is_one_line_and_changes_nothing(call, rcmflow, home, snapshot):
    (home / "rcmflow.toml").write_text('[calendar]\nweekend = ["saturday"]\n')
    before = snapshot()
    result = rcmflow("tick", "--now", "2017-04-14T09:00")
    assert result.exit_code != 0
    assert one_line(result) == ("Error: rcmflow.toml:2: [calendar] weekend must be one of 'mon', 'tue', "
                                "'wed', 'thu', 'fri', 'sat' or 'sun' (got 'saturday')")
    assert snapshot() == before and call.args() == []


def test_status_flags_a_deadline_on_a_holiday(call, rcmflow):
    result = rcmflow("status", "call-1")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Warning: call-1: the deadline 2017-04-14 is a public holiday in GT (Good Friday)"]
    assert "Warning" not in rcmflow("status").stderr  # the overview stays quiet


def test_validate_flags_a_plan_date_on_a_holiday_or_a_weekend(home, rcmflow, recorder):
    (home / "workflows" / "amendments-call.yaml").write_text(CALL)
    (home / "workflows" / "roadmap.yaml").write_text(
        "instances:\n"
        "  - {workflow: amendments-call, id: call-1, params: {amendments_due: 2017-04-14}}\n"
        "  - {workflow: amendments-call, id: call-2, params: {amendments_due: 2017-04-22}}\n"
        "  - {workflow: amendments-call, id: call-3, params: {amendments_due: 2017-04-20}}\n")
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 0, result.stdout
    warnings = [line for line in result.stdout.splitlines() if "warning" in line]
    assert warnings == [
        "workflows/roadmap.yaml:2: warning: call-1 amendments_due 2017-04-14 is a public holiday in GT (Good Friday)",
        "workflows/roadmap.yaml:3: warning: call-2 amendments_due 2017-04-22 is a Saturday",
    ]


@pytest.mark.no_database
def test_a_participant_that_is_no_country_has_weekends_only():
    from rcmflow.model.workdays import WorkingDays

    days = WorkingDays.from_settings({})
    good_friday, saturday = dt.date(2017, 4, 14), dt.date(2017, 4, 15)
    assert days.closed("GT", good_friday) == "Good Friday"
    assert days.closed("SACM", good_friday) is None and days.closed("RNCOM", good_friday) is None
    assert days.closed("SACM", saturday) == "Saturday"
    assert days.next_working("GT", dt.date(2017, 4, 13)) == dt.date(2017, 4, 17)  # Maundy Thursday on
    assert WorkingDays.from_settings({"weekend": ["fri", "sat"]}).closed("SACM", dt.date(2017, 4, 16)) is None
