"""Steps opened after their deadline: refused in one line that names the date and the
param and says how to go on (`rcmflow extend`, or `--replay`), whatever the workflow;
`quickstart` starts the 2017 plan all the same and warns how to move its dates."""

from __future__ import annotations

import json

import pytest

from tests.conftest import one_line

NOW = "2030-06-01T09:00"


def states(rcmflow) -> dict[str, str]:
    return {i["id"]: i["state"] for i in json.loads(rcmflow("--now", NOW, "status", "--json").stdout)["instances"]}


@pytest.fixture
def planned(rcmflow):
    """Three steps started on 1 March 2030, each with a deadline that has passed by June."""
    assert rcmflow("init").exit_code == 0
    start = ("--now", "2030-03-01T09:00", "start")
    assert rcmflow(*start, "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow(*start, "troika-meeting", "--set", "date=2030-05-30", "--set", "proposals_due=2030-05-20").exit_code == 0
    assert rcmflow(*start, "ts-deliverable", "--set", "kind=background-paper", "--set",
                   "review_due=2030-05-31").exit_code == 0


@pytest.mark.parametrize("instance, trigger, dest, deadline, param", [
    ("theme-1", "open", "collecting_input", "2030-04-20", "deadline"),            # the tracks' deadline
    ("troika-2030-05-30", "call_for_agenda", "collecting_agenda", "2030-05-20", "proposals_due"),
    ("background-paper", "send_for_review", "in_review", "2030-05-31", "review_due"),  # and a timeout's
])
def test_opening_after_the_deadline_is_refused_in_one_line(rcmflow, planned, snapshot, home,
                                                            instance, trigger, dest, deadline, param):
    before = snapshot()
    result = rcmflow("--now", NOW, "fire", instance, trigger)
    assert result.exit_code == 1
    assert one_line(result) == (
        f"Error: {trigger} would open {instance} ({dest}) after its deadline {deadline} (param {param}) "
        f"(today is 2030-06-01); move the deadline first with 'rcmflow extend {instance} --to DATE --note TEXT', "
        f"or replay past dates with rcmflow --replay (or RCMFLOW_REPLAY=1)")
    assert snapshot() == before
    assert not (home / "outbox").exists() or not list((home / "outbox").glob("*.eml"))


def test_triggers_says_what_fire_would_refuse(rcmflow, planned):
    """`triggers` and `fire` give the same answer: a step that would open late is not
    shown as one that can fire now, and the reason is fire's."""
    [option] = [o for o in json.loads(rcmflow("--now", NOW, "triggers", "theme-1", "--json").stdout)
                if o["trigger"] == "open"]
    assert option["allowed"] is False
    assert option["reason"] == ("its deadline 2030-04-20 (param deadline) has passed: move it with 'rcmflow extend' "
                                "first, or replay past dates with --replay")
    [option] = [o for o in json.loads(rcmflow("--now", NOW, "--replay", "triggers", "theme-1", "--json").stdout)
                if o["trigger"] == "open"]
    assert option["allowed"] is True


def test_a_step_opens_before_its_deadline_and_after_it_is_moved(rcmflow, planned, home):
    assert rcmflow("--now", "2030-04-20T18:00", "fire", "theme-1", "open").exit_code == 0  # its last day
    moved = rcmflow("--now", NOW, "extend", "troika-2030-05-30", "--to", "2030-06-10", "--note", "new date")
    assert moved.exit_code == 0, moved.stderr
    assert not (home / "outbox").exists() or not any("extended" in p.read_text().lower()
                                                     for p in (home / "outbox").glob("*.eml")), \
        "a step not opened yet has asked nobody: no notice of a new date"
    result = rcmflow("--now", NOW, "fire", "troika-2030-05-30", "call_for_agenda")
    assert result.exit_code == 0, result.stderr
    assert states(rcmflow)["troika-2030-05-30"] == "collecting_agenda"


@pytest.mark.parametrize("how", [["--replay"], "env"])
def test_a_replay_opens_past_deadlines(rcmflow, planned, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("RCMFLOW_REPLAY", "1")
    result = rcmflow(*(how if how != "env" else []), "--now", NOW, "fire", "theme-1", "open")
    assert result.exit_code == 0, result.stderr
    assert states(rcmflow)["theme-1"] == "collecting_input"


SURVEY = """\
workflow: survey
version: 1
title: {en: Survey}
params:
  due: {type: date, required: true}
participants: members
track:
  initial: asked
  states: [asked, answered]
  deadline: {date: "{{ params.due }}", met: [answered]}
  transitions:
    - {trigger: answer, source: asked, dest: answered, roles: [focal_point, secretariat]}
initial: asking
states:
  - asking
  - {name: done, final: true}
transitions:
  - {trigger: finish, source: asking, dest: done, roles: [secretariat]}
"""


def test_a_start_that_opens_a_passed_deadline_is_refused(rcmflow, home, snapshot):
    # a workflow whose tracks run from its first state: starting it opens it
    (home / "workflows" / "survey.yaml").write_text(SURVEY)
    assert rcmflow("init").exit_code == 0
    before = snapshot()
    result = rcmflow("--now", NOW, "start", "survey", "--set", "due=2030-05-01")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: start survey: its deadline 2030-05-01 (param due) has passed (today is "
                                "2030-06-01); give a later --set due=DATE, or replay past dates with rcmflow "
                                "--replay (or RCMFLOW_REPLAY=1)")
    assert snapshot() == before
    assert rcmflow("--now", NOW, "start", "survey", "--set", "due=2030-06-01").exit_code == 0  # today is not past
    assert rcmflow("--now", NOW, "--replay", "start", "survey", "--set", "due=2030-05-01").exit_code == 0


def test_quickstart_starts_the_2017_plan_and_says_how_to_move_its_dates(rcmflow):
    result = rcmflow("quickstart")
    assert result.exit_code == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if line.startswith("started: ")]) == 12
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warning.startswith("Warning: 11 steps of workflows/roadmap.yaml have deadlines that have passed "
                              "(the earliest: 2017-03-29, troika-2017-03-30; today is ")
    assert "rcmflow --replay" in warning and "edit workflows/roadmap.yaml before quickstart" in warning
    assert "'rcmflow extend INSTANCE --to DATE --note TEXT' after" in warning
    # started, not opened: opening is refused without the replay, and done with it
    refused = rcmflow("fire", "theme-1", "open")
    assert refused.exit_code == 1 and "after its deadline 2017-04-20 (param deadline)" in one_line(refused)
    assert rcmflow("--replay", "fire", "theme-1", "open").exit_code == 0


def test_quickstart_of_a_plan_with_dates_ahead_warns_of_nothing(rcmflow, home):
    plan = home / "workflows" / "roadmap.yaml"
    plan.write_text("instances:\n"
                    "  - {workflow: thematic-consultation, id: theme-1, params: {theme: 1, deadline: 2099-04-20}}\n")
    result = rcmflow("quickstart")
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stderr


def test_quickstart_in_spanish_warns_in_spanish(rcmflow):
    result = rcmflow("--lang", "es", "quickstart")
    assert result.exit_code == 0
    [warning] = [line for line in result.stderr.splitlines() if "roadmap.yaml" in line]
    assert "11 pasos" in warning and "rcmflow --replay" in warning
