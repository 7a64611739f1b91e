"""A thematic subgroup's joint input: one command (`fire theme-5 submit --joint`) moves
the track of every member with one shared input, in one transaction, all or nothing;
the events name the members, and `status` and the regional input say whose joint
input it is rather than showing the same text twice. A focal point of a member may
send it for the subgroup because the definition's `joint:` rule says so."""

from __future__ import annotations

import json

import docx
import pytest

from tests.conftest import one_line
from tests.wordfiles import country_input


@pytest.fixture
def theme(rcmflow, tmp_path):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "thematic-consultation", "--set", "theme=5", "--set", "deadline=2030-04-20",
                   "--set", "subgroup=MX,GT").exit_code == 0
    assert rcmflow("fire", "theme-5", "open").exit_code == 0
    joint = tmp_path / "subgrupo.docx"
    joint.write_bytes(country_input("Aporte del subgrupo", ["Protección de víctimas"], ["Red regional"], [["a"]]))
    return joint


def states(rcmflow) -> dict[str, str]:
    tracks = json.loads(rcmflow("status", "theme-5", "--json").stdout)["instances"][0]["tracks"]
    return {code: track["state"] for code, track in tracks.items()}


def test_a_focal_point_sends_the_subgroups_joint_input_in_one_command(rcmflow, theme, home):
    result = rcmflow("fire", "theme-5", "submit", "--joint", "--attach", str(theme), "--note", "texto común",
                     actor="mx-focal")
    assert result.exit_code == 0, result.stderr
    assert "MX's track in theme-5: requested -> submitted" in result.stdout
    assert "GT's track in theme-5: requested -> submitted" in result.stdout
    moved = {code: state for code, state in states(rcmflow).items() if state != "requested"}
    assert moved == {"MX": "submitted", "GT": "submitted"}

    events = [e for e in json.loads(rcmflow("history", "theme-5", "--json").stdout) if e["trigger"] == "submit"]
    assert sorted(e["participant"] for e in events) == ["GT", "MX"]
    assert {e["actor"] for e in events} == {"mx-focal"} and {e["note"] for e in events} == {"texto común"}
    assert all(e["data"]["values"] == {"joint": ["MX", "GT"]} for e in events)
    assert len({e["data"]["attachments"][0]["sha256"] for e in events}) == 1

    shown = rcmflow("status", "theme-5")
    assert shown.exit_code == 0 and "joint input of MX, GT: submitted" in shown.stdout

    assert rcmflow("build", "theme-5", "--template", "regional-input", "--format", "docx").exit_code == 0
    texts = [p.text for p in docx.Document(home / "out" / "theme-5" / "regional-input.en.docx").paragraphs]
    assert "2 of 11 member countries sent input." in " ".join(texts)
    assert texts.count("Joint input of Mexico, Guatemala.") == 2  # under each member's heading
    assert texts.count("Protección de víctimas") == 1 and texts.count("Its text is under Guatemala.") == 1
    assert not any(t.startswith("Joint:") for t in texts)  # the marker is not shown as a value


def test_the_joint_input_moves_every_member_or_none(rcmflow, theme, snapshot):
    assert rcmflow("fire", "theme-5", "decline", "-p", "GT", actor="gt-focal").exit_code == 0
    before = snapshot()
    result = rcmflow("fire", "theme-5", "submit", "--joint", "--attach", str(theme), actor="mx-focal")
    assert result.exit_code == 1
    assert one_line(result).startswith("Error: GT: ") and "none of the 2 tracks moved" in one_line(result)
    assert snapshot() == before
    assert states(rcmflow)["MX"] == "requested"


@pytest.mark.parametrize("args, actor, words", [
    # a focal point of a country outside the subgroup
    (["submit", "--joint"], "hn-focal", "hn-focal is a focal point of HN, which is not one of the subgroup (MX, GT)"),
    # a trigger that the definition does not let a group take together
    (["decline", "--joint"], "mx-focal", "decline on theme-5 cannot be sent jointly; joint triggers: submit"),
    # the marker cannot be typed: it would claim a group
    (["submit", "-p", "GT", "--set", "joint=MX,GT"], "mx-focal", "--set joint: joint input is sent with --joint"),
    (["submit", "--joint", "-p", "MX"], "mx-focal", "give one of --participant, --all-in and --joint"),
])
def test_who_may_send_joint_input_is_the_definitions_rule(rcmflow, theme, snapshot, args, actor, words):
    before = snapshot()
    result = rcmflow("fire", "theme-5", *args, actor=actor)
    assert result.exit_code != 0 and words in one_line(result)
    assert snapshot() == before


def test_a_consultation_without_a_subgroup_has_no_joint_input(rcmflow, snapshot):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "thematic-consultation", "--set", "theme=4", "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("fire", "theme-4", "open").exit_code == 0
    before = snapshot()
    result = rcmflow("fire", "theme-4", "submit", "--joint", actor="mx-focal")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: theme-4 has no subgroup of two or more members for joint input; "
                                "start it with --set subgroup=MX,GT")
    assert snapshot() == before


def test_validate_checks_the_joint_rule_with_its_line(rcmflow, home):
    text = (home / "workflows" / "thematic-consultation.yaml").read_text()
    rule = "joint: {members: subgroup, roles: [focal_point]}"
    assert rule in text
    line = text[:text.index(rule)].count("\n") + 1
    (home / "workflows" / "thematic-consultation.yaml").write_text(
        text.replace(rule, "joint: {members: theme, roles: [delegate]}"))
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert f"workflows/thematic-consultation.yaml:{line}: joint members: 'theme' is not a list param; " \
           "list params: subgroup" in out
    assert f"workflows/thematic-consultation.yaml:{line}: joint: unknown role 'delegate'" in out


def test_joint_is_for_track_transitions(rcmflow, home):
    (home / "workflows" / "joint-step.yaml").write_text(
        "workflow: joint-step\nparams:\n  subgroup: {type: list}\ninitial: open\n"
        "states:\n  - open\n  - {name: closed, final: true}\n"
        "transitions:\n  - {trigger: close, source: open, dest: closed, joint: {members: subgroup}}\n")
    result = rcmflow("workflows", "validate", str(home / "workflows" / "joint-step.yaml"))
    assert result.exit_code == 1
    assert "workflows/joint-step.yaml:9: joint: is for track transitions" in result.stdout + result.stderr
