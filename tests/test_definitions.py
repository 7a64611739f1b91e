"""Definitions: the shipped ones are valid; each kind of mistake is reported at its line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from rcmflow.model.catalog import load_catalog
from rcmflow.model.members import load_members
from rcmflow.plugins import load_plugins

VALID = """\
workflow: sample
title: {en: Sample, es: Muestra}
params:
  deadline: {type: date}
initial: draft
states:
  - draft
  - {name: done, final: true}
transitions:
  - {trigger: finish, source: draft, dest: done}
"""


def problems_of(home: Path, text: str) -> list[str]:
    path = home / "workflows" / "sample.yaml"
    path.write_text(textwrap.dedent(text))
    members, _ = load_members(home)
    catalog = load_catalog(home, load_plugins(home, entry_points=False).registry, members, [path])
    return [str(p) for p in catalog.problems]


def test_shipped_workflows_are_valid(home):
    members, member_problems = load_members(home)
    catalog = load_catalog(home, load_plugins(home, entry_points=False).registry, members)
    assert list(member_problems) == []
    assert catalog.problems == []
    consultation = catalog.definitions["thematic-consultation"]
    assert len(consultation.participants) == 11
    assert consultation.params["theme"].choices == (1, 2, 3, 4, 5, 6)


def test_a_valid_sample_has_no_problems(home):
    assert problems_of(home, VALID) == []


@pytest.mark.parametrize("change, line, words", [
    # an unknown key, reported where it is written
    (("  - draft\n", "  - draft\n  - {name: x, colour: red}\n"), 8, "unknown key 'colour'"),
    # a transition to an unknown state
    (("dest: done}", "dest: finished}"), 10, "unknown state 'finished'"),
    # a transition from an unknown state
    (("source: draft,", "source: drafting,"), 10, "unknown state 'drafting'"),
    # the same state twice
    (("  - draft\n", "  - draft\n  - draft\n"), 8, "declared twice"),
    # the same trigger twice from one source
    (("  - {trigger: finish, source: draft, dest: done}\n",
      "  - {trigger: finish, source: draft, dest: done}\n  - {trigger: finish, source: draft, dest: draft}\n"),
     11, "defined twice"),
    # no initial state
    (("initial: draft\n", ""), 1, "no initial state"),
    # a state nothing leads to
    (("  - {name: done, final: true}\n", "  - {name: done, final: true}\n  - orphan\n"), 9, "cannot be reached"),
    # a guard nothing registers
    (("dest: done}", "dest: done, guards: [{quorum_of: 3}]}"), 10, "unknown guard 'quorum_of'"),
    # an action nothing registers
    (("dest: done}", "dest: done, actions: [{send_fax: {}}]}"), 10, "unknown action 'send_fax'"),
    # a param of a type that does not exist
    (("{type: date}", "{type: datum}"), 4, "unknown type 'datum'"),
    # a reference to a param that does not exist
    (("dest: done}", "dest: done, guards: [{before: '{{ params.deadlin }}'}]}"), 10, "is not a param"),
    # bad arguments to a known guard
    (("dest: done}", "dest: done, guards: [{tracks_min: 3}]}"), 10, "tracks_min"),
    # a timeout whose trigger does not leave its state
    (("  - draft\n", "  - {name: draft, timeout: {after: 3d, trigger: expire}}\n"), 7, "expire"),
])
def test_each_mistake_is_reported_with_its_line(home, change, line, words):
    old, new = change
    assert old in VALID
    problems = problems_of(home, VALID.replace(old, new, 1))
    assert any(p.startswith(f"workflows/sample.yaml:{line}: ") and words in p for p in problems), problems


def test_a_track_needs_participants(home):
    text = VALID + textwrap.dedent("""\
        track:
          initial: asked
          states: [asked, answered]
          transitions: [{trigger: answer, source: asked, dest: answered}]
        """)
    problems = problems_of(home, text)
    assert any(":11: " in p and "needs participants" in p for p in problems), problems


def test_participants_must_be_a_known_group(home):
    text = VALID + textwrap.dedent("""\
        participants: everyone
        track:
          initial: asked
          states: [asked, answered]
          transitions: [{trigger: answer, source: asked, dest: answered}]
        """)
    problems = problems_of(home, text)
    assert any(":11: " in p and "unknown group 'everyone'" in p and "members" in p for p in problems), problems


def test_yaml_syntax_errors_have_a_line(home):
    problems = problems_of(home, VALID.replace("  - draft\n", "  - draft\n   bad: [\n"))
    assert problems and problems[0].startswith("workflows/sample.yaml:") and "not valid YAML" in problems[0]


@pytest.mark.no_database
def test_validate_command_passes_on_the_shipped_workflows(rcmflow):
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 0, result.stdout
    assert re.search(r"thematic-consultation v1 \([0-9a-f]{8}\) is valid", result.stdout)


@pytest.mark.no_database
def test_validate_command_fails_with_file_and_line_on_a_broken_copy(rcmflow, home, tmp_path):
    source = (home / "workflows" / "thematic-consultation.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(source.replace("dest: consolidating\n    roles", "dest: consolidation\n    roles", 1))
    result = rcmflow("workflows", "validate", str(broken))
    assert result.exit_code == 1
    line = source.splitlines().index("    dest: consolidating") + 1
    assert f"{broken}:{line}: transition close_collection goes to unknown state 'consolidation'" in result.stdout


@pytest.mark.no_database
def test_workflows_list_and_show(rcmflow):
    import json

    listed = json.loads(rcmflow("workflows", "list", "--json").stdout)
    assert [w["name"] for w in listed] == ["declaration-adoption", "rcp-meeting", "regional-review",
                                           "thematic-consultation", "troika-meeting", "ts-deliverable"]
    consultation = listed[3]
    assert "close_collection" in consultation["triggers"]
    assert "submit" in consultation["track_triggers"]
    shown = rcmflow("workflows", "show", "thematic-consultation")
    assert shown.exit_code == 0 and "close_collection" in shown.stdout and "tracks_in" in shown.stdout
    graph = rcmflow("workflows", "graph", "thematic-consultation")
    assert "collecting_input --> consolidating: close_collection" in graph.stdout
    dot = rcmflow("workflows", "graph", "thematic-consultation", "--format", "dot")
    assert '"collecting_input" -> "consolidating" [label="close_collection"]' in dot.stdout


def test_the_graph_highlights_where_an_instance_stands(rcmflow):
    import shutil

    rcmflow("init")
    rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-01-01")
    rcmflow("fire", "theme-2", "open")
    mermaid = rcmflow("workflows", "graph", "thematic-consultation", "--instance", "theme-2").stdout
    assert "class collecting_input current" in mermaid and "class track_requested reached" in mermaid
    dot = rcmflow("workflows", "graph", "thematic-consultation", "--instance", "theme-2", "--format", "dot").stdout
    assert '"collecting_input" [label="collecting_input", fillcolor="#1f4e79", fontcolor=white];' in dot
    wrong = rcmflow("workflows", "graph", "troika-meeting", "--instance", "theme-2")
    assert wrong.exit_code == 1 and "theme-2 is a thematic-consultation, not a troika-meeting" in wrong.stderr
    svg = rcmflow("workflows", "graph", "thematic-consultation", "--format", "svg")
    if shutil.which("dot"):
        assert svg.exit_code == 0 and svg.stdout.lstrip().startswith(("<?xml", "<svg")) and "collecting_input" in svg.stdout
    else:
        assert svg.exit_code == 1 and "needs Graphviz" in svg.stderr
