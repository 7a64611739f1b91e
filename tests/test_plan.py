"""The plan follows the agreements: the first three themes are due before the online
meeting of 24 April, Mexico's work sessions record the input of every country present
in one command, any RCM delegation may propose Troika agenda items, and a meeting of
the presidents of the RCPs ends, by agreement, without a report."""

from __future__ import annotations

import datetime as dt
import json

import yaml

from .conftest import REPO, one_line


def test_the_first_three_themes_are_due_before_the_online_meeting():
    plan = {i["id"]: i for i in yaml.safe_load((REPO / "workflows" / "roadmap.yaml").read_text())["instances"]}
    meeting = plan["declaration-2017"]["params"]["meeting"]
    assert meeting == dt.date(2017, 4, 24)
    assert all(plan[f"theme-{n}"]["params"]["deadline"] < meeting for n in (1, 2, 3))


def test_a_work_session_records_every_country_present_in_one_command(initialised, rcmflow, snapshot):
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-04-21").exit_code == 0
    assert rcmflow("start", "thematic-consultation", "--set", "theme=3", "--set", "deadline=2030-04-21").exit_code == 0
    for theme in ("theme-2", "theme-3"):
        assert rcmflow("fire", theme, "open").exit_code == 0
    assert rcmflow("fire", "theme-3", "submit", "-p", "HN", actor="hn-focal").exit_code == 0
    before = snapshot()
    for args, message in [
        (["-p", "MX", "-p", "XX"], "XX is not a participant of theme-2; its participants are BZ, CA,"),
        (["-p", "MX", "-p", "HN"], "theme-3: submit of HN is not possible now ("),
    ]:
        refused = rcmflow("work-session", "theme-2", "theme-3", "--date", "2030-04-19", "--place", "Mexico City",
                          *args)
        assert refused.exit_code == 1 and message in one_line(refused), refused.stderr
    assert snapshot() == before

    sample = REPO / "samples" / "input-mx.docx"
    done = rcmflow("work-session", "theme-2", "theme-3", "--date", "2030-04-19", "--place", "Mexico City",
                   "-p", "MX", "-p", "GT", "--attach", str(sample))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip().endswith("4 tracks moved: 2 countries on 2 consultations")
    for theme in ("theme-2", "theme-3"):
        [view] = json.loads(rcmflow("status", theme, "--json").stdout)["instances"]
        assert {c: view["tracks"][c]["state"] for c in ("MX", "GT", "CR")} == {
            "MX": "submitted", "GT": "submitted", "CR": "requested"}
        history = rcmflow("history", theme, "--json").stdout
        assert "input gathered at the work session in Mexico City on 2030-04-19 (MX, GT present)" in history
        listed = rcmflow("attachments", theme).stdout
        assert listed.count("input-mx.docx") == 2


def test_any_delegation_proposes_troika_items_and_an_rcp_meeting_has_no_report(initialised, rcmflow):
    assert rcmflow("quickstart").exit_code == 0
    assert rcmflow("--replay", "fire", "troika-2017-03-30", "call_for_agenda", actor="sv-ppt").exit_code == 0
    for code in ("US", "DO", "MX", "SACM"):
        actor = "sacm-focal" if code == "SACM" else f"{code.lower()}-focal"
        assert rcmflow("fire", "troika-2017-03-30", "propose_items", "-p", code, "--set", "items=1. GCM",
                       actor=actor).exit_code == 0
    # the PPT decides the agenda, whoever has answered
    assert rcmflow("fire", "troika-2017-03-30", "agree_agenda", "--set", "agenda=1. GCM", actor="sv-ppt").exit_code == 0
    meeting = "rcp-meeting-2017-03-22"
    assert rcmflow("fire", meeting, "attend", "-p", "CAM", actor="cam-focal").exit_code == 0
    assert rcmflow("fire", meeting, "hold_meeting", actor="sv-ppt").exit_code == 0
    closed = rcmflow("fire", meeting, "close_without_report", "--note", "by agreement, no report", actor="sv-ppt")
    assert closed.exit_code == 0 and "closed_without_report" in closed.stdout
