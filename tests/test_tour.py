"""The README's five-minute tour runs as written, and first contact is smooth: a
folder that is not a project says so, and nothing is recorded under a login name."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rcmflow.cli import cli

from .conftest import REPO, one_line

#: commands of the tour that a test cannot run as written: a server that runs until stopped
LONG_RUNNING = ("rcmflow serve",)


def tour_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## A five-minute tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def tour_exports() -> dict[str, str]:
    """What the tour's `export NAME=VALUE` lines set."""
    found = re.findall(r"^export (\w+)=(\S+)", tour_block(), re.M)
    return dict(found)


def tour_commands() -> list[tuple[str, int]]:
    """(command line, expected exit code) for each `rcmflow` line of the tour's sh
    block, backslash continuations joined and `for V in …; do …; done` unrolled; a
    line followed by a comment naming `(exit N)` expects N."""
    lines = tour_block().replace("\\\n", " ").splitlines()
    commands: list[tuple[str, int]] = []
    for index, line in enumerate(lines):
        code = line.split("  #", 1)[0].strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        exit_code = re.search(r"\(exit (\d)\)", following)
        loop = re.fullmatch(r"for (\w+) in ([^;]+); do (.+); done", code)
        if loop:
            name, values, body = loop.groups()
            commands += [(body.replace(f"${name}", value), 0) for value in values.split()]
        elif code.startswith("rcmflow ") and not code.startswith(LONG_RUNNING):
            commands.append((code, int(exit_code.group(1)) if exit_code else 0))
    return commands


@pytest.fixture
def clone(home: Path) -> Path:
    """The home laid out as a fresh clone: with the sample files the tour names."""
    shutil.copytree(REPO / "samples", home / "samples")
    return home


def test_the_tour_runs_line_by_line(clone, db_url, monkeypatch):
    monkeypatch.chdir(clone)  # the tour's files (samples/…, status.csv) are relative to the home
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db_url, "--actor", "ts-officer", "quickstart"]).exit_code == 0
    exports = tour_exports()
    assert exports == {"RCMFLOW_ACTOR": "ts-officer", "RCMFLOW_REPLAY": "1"}
    for name, value in exports.items():  # as the tour's first lines do
        monkeypatch.setenv(name, value)
    commands = tour_commands()
    assert len(commands) > 40
    has_graphviz = shutil.which("dot") is not None
    for line, expected in commands:
        words = shlex.split(line.split(" > ", 1)[0])[1:]  # the output redirection is the shell's
        if "svg" in words and not has_graphviz:
            continue
        result = runner.invoke(cli, ["--db", db_url, *words], catch_exceptions=False)
        assert result.exit_code == expected, f"{line}\n{result.stdout}{result.stderr}"
        last = result
    assert "an objection stands: GT" in last.stdout
    assert '"modern slavery" (kept out at the request of US) on line 12' in " ".join(last.stdout.split())
    history = runner.invoke(cli, ["--db", db_url, "history", "declaration-2017", "--json"]).stdout
    assert '"actor": "root"' not in history


def test_the_samples_are_what_the_tour_says():
    import docx

    document = docx.Document(REPO / "samples" / "input-mx.docx")
    numbered = [p for p in document.paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None]
    assert len(numbered) == 5 and {p.style.name for p in numbered} == {"List Paragraph"}  # Word's own lists
    items = re.findall(r"^(\d)\. ", (REPO / "samples" / "mexico-7-items.md").read_text(), re.M)
    assert items == [str(n) for n in range(1, 8)]


@pytest.mark.no_database
@pytest.mark.parametrize("args", [["status"], ["init"], ["--actor", "ts-officer", "quickstart"],
                                  ["workflows", "validate"], ["history", "theme-1"]])
def test_a_folder_without_workflows_is_not_a_home(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert one_line(result) == (f"Error: {tmp_path} is not an rcmflow home: it has no workflows/ folder; run "
                                f"rcmflow in the project folder, or give --home DIR (or RCMFLOW_HOME)")
    assert list(tmp_path.iterdir()) == []  # no stray rcmflow.db


def test_without_an_actor_a_change_asks_for_one(initialised, rcmflow, snapshot, monkeypatch):
    monkeypatch.setenv("USER", "root")
    before = snapshot()
    result = rcmflow("start", "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20",
                     actor=None)
    assert result.exit_code == 4
    assert "no actor given: say who you are with --actor ID or RCMFLOW_ACTOR" in one_line(result)
    assert snapshot() == before


def test_the_demo_folder_option_is_not_the_global_home(home):
    result = CliRunner().invoke(cli, ["--home", str(home), "demo", "--help"])
    assert "--into DIR" in result.stdout and "--home" not in result.stdout


def test_the_reminders_before_a_deadline_say_how_long_is_left(opened, rcmflow, home):
    """The week-before and the day-before reminder are two different messages, each in its words
    (the first tick in the week before is a working Monday, five days before)."""
    import email
    from email import policy

    subjects = {}
    for now in ("2030-04-15T12:00:00+00:00", "2030-04-19T12:00:00+00:00"):
        result = rcmflow("tick", "--now", now)
        assert result.exit_code == 0, result.stderr
        told = "1 day before the deadline" if now.startswith("2030-04-19") else "7 days before the deadline"
        assert f"theme-1: reminded MX ({told})" in result.stdout and "1 days" not in result.stdout
        for path in (home / "outbox").glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if "reminder" in path.name or path.name not in subjects:
                subjects.setdefault(path.name, (str(message["To"]), str(message["Subject"]).strip()))
    to_mexico = sorted(subject for to, subject in subjects.values() if "focal@mx" in to)
    # the United States (no Good Friday off: 19 April 2030 is one in most members)
    to_belize = sorted(subject for to, subject in subjects.values() if "focal@us" in to)
    assert any(s.startswith(("Recordatorio, quedan 5 días: ", "Reminder, 5 days left: ")) for s in to_mexico), \
        to_mexico
    assert any(s.startswith(("El plazo vence mañana: ", "Input due tomorrow: ")) for s in to_mexico), to_mexico
    assert any(s.startswith("Input due tomorrow: ") for s in to_belize), to_belize
