"""`rcmflow quickstart`: the roadmap plan is started once, however often it runs."""

from __future__ import annotations

import json


def test_quickstart_twice_starts_nothing_twice(rcmflow):
    first = rcmflow("quickstart")
    assert first.exit_code == 0, first.stderr
    assert "started: theme-1 (thematic-consultation)" in first.stdout
    assert "theme-6" in first.stdout and "Participants" in first.stdout
    second = rcmflow("quickstart")
    assert second.exit_code == 0
    assert "already running: theme-1" in second.stdout and "started:" not in second.stdout
    status = json.loads(rcmflow("status", "--json").stdout)
    assert [i["id"] for i in status["instances"]] == [f"theme-{n}" for n in range(1, 7)] + [
        "review-2017", "troika-2017-03-30", "rcp-meeting-2017-03-22", "declaration-2017", "background-paper",
        "best-practices"]
    assert len(json.loads(rcmflow("history", "theme-1", "--json").stdout)) == 1


def test_a_bad_plan_names_its_line(rcmflow, home, snapshot):
    rcmflow("init")
    plan = home / "workflows" / "roadmap.yaml"
    plan.write_text("instances:\n"
                    "  - {workflow: thematic-consultation, id: theme-1, params: {theme: 1, deadline: 2017-04-20}}\n"
                    "  - {workflow: thematic-consultation, id: theme-2, params: {theme: 9, deadline: 2017-05-05}}\n")
    before = snapshot()
    result = rcmflow("quickstart")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: workflows/roadmap.yaml:3: param theme: '9' is not one of 1, 2, 3, 4, 5, 6"
    assert snapshot() == before
