"""Every transition of the shipped workflows declares what `fire --set` may give: a
name it does not declare is refused in one line naming those it accepts, nothing
changed; `triggers` prints them; a declared one is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcmflow.model.catalog import load_catalog
from rcmflow.model.members import load_members
from rcmflow.plugins import load_plugins
from tests.conftest import REPO, one_line

@pytest.mark.no_database
def test_every_shipped_transition_declares_its_inputs():
    members, _ = load_members(REPO)
    catalog = load_catalog(REPO, load_plugins(REPO, False).registry, members)
    assert not catalog.problems
    undeclared = [f"{d.name}: {t.trigger}" for d in catalog.definitions.values()
                  for mdef in filter(None, (d.instance, d.track)) for t in mdef.transitions if t.inputs is None]
    assert undeclared == []
    assert {"thematic-consultation", "regional-review", "troika-meeting", "rcp-meeting",
            "ts-deliverable", "declaration-adoption"} <= set(catalog.definitions)


@pytest.fixture
def steps(rcmflow):
    """A consultation, a Troika meeting and a deliverable, each opened (dates of 2030)."""
    assert rcmflow("init").exit_code == 0
    at = ("--now", "2030-03-01T09:00")
    for args in (["thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20"],
                 ["troika-meeting", "--set", "date=2030-05-30", "--set", "proposals_due=2030-05-20"],
                 ["ts-deliverable", "--set", "kind=background-paper", "--set", "review_due=2030-05-31"]):
        assert rcmflow(*at, "start", *args).exit_code == 0
    for instance, trigger in (("theme-1", "open"), ("troika-2030-05-30", "call_for_agenda"),
                              ("background-paper", "send_for_review")):
        result = rcmflow(*at, "fire", instance, trigger)
        assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("args, actor, refusal", [
    (["theme-1", "submit", "-p", "MX", "--set", "text=ours"], "mx-focal",
     "submit has no input 'text'; it accepts input, work_session, attendees, language"),
    (["theme-1", "decline", "-p", "US", "--set", "reason=none"], "us-focal",
     "decline has no input 'reason'; it accepts no --set"),
    (["theme-1", "cancel", "--set", "why=x"], "ts-officer", "cancel has no input 'why'; it accepts no --set"),
    (["troika-2030-05-30", "propose_items", "-p", "MX", "--set", "item=GCM"], "mx-focal",
     "propose_items has no input 'item'; it accepts items"),
    (["background-paper", "review", "-p", "GT", "--set", "comment=ok"], "gt-focal",
     "review has no input 'comment'; it accepts comments, language"),
])
def test_an_undeclared_set_is_refused_naming_what_is_accepted(rcmflow, steps, snapshot, args, actor, refusal):
    before = snapshot()
    result = rcmflow("--now", "2030-03-02T09:00", "fire", *args, actor=actor)
    assert result.exit_code == 1
    assert one_line(result) == f"Error: {refusal}"
    assert snapshot() == before


def test_triggers_print_the_inputs_and_a_declared_one_is_recorded(rcmflow, steps):
    table = rcmflow("--now", "2030-03-02T09:00", "triggers", "theme-1", "-p", "MX").stdout
    submit = next(line for line in table.splitlines() if line.strip().startswith("submit "))
    assert "input, work_session, attendees" in submit
    options = json.loads(rcmflow("--now", "2030-03-02T09:00", "triggers", "theme-1", "--json").stdout)
    assert {o["trigger"]: o["inputs"] for o in options} == {"close_collection": [], "cancel": []}
    result = rcmflow("--now", "2030-03-02T09:00", "fire", "theme-1", "submit", "-p", "MX",
                     "--set", "input=Five proposals", actor="mx-focal")
    assert result.exit_code == 0, result.stderr
    [event] = [e for e in json.loads(rcmflow("history", "theme-1", "--json").stdout) if e["trigger"] == "submit"]
    assert event["data"]["values"] == {"input": "Five proposals"}
