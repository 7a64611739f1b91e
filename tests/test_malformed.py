"""Malformed input, through the real command line: every broken definition, members.yaml
and rcmflow.toml gives `file:line: message` lines and exit 1, never a traceback, and
changes nothing.

These need no database, so they run once (not per backend): `init` on a SQLite file
in the test's folder shows that a refused command created nothing.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from rcmflow.cli import cli

SAMPLE = "workflows/sample.yaml"
MEMBERS = "workflows/members.yaml"
SETTINGS = "rcmflow.toml"

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
  - {trigger: finish, source: draft, dest: done, roles: [secretariat]}
"""

#: nine levels of nine: 387 million values once the aliases are expanded
ALIAS_BOMB = "".join(
    f"{chr(97 + level)}: &{chr(97 + level)} [{', '.join([f'*{chr(96 + level)}'] * 9) if level else '1, 1, 1, 1, 1, 1, 1, 1, 1'}]\n"
    for level in range(9)
)
HUGE = "9" * 5000


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run(home: Path, tmp_path: Path):
    """The command line on the test's home and a SQLite file that must never appear."""
    runner = CliRunner()
    database = tmp_path / "never.db"

    def invoke(*args: str) -> Result:
        result = runner.invoke(cli, ["--home", str(home), "--db", f"sqlite:///{database}", "--actor", "ts-officer",
                                     *args], catch_exceptions=False)
        assert not database.exists(), "a refused command created the database"
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke


def problem_lines(text: str, file: str) -> list[str]:
    """The output's lines, each of which must be `file:line: message`."""
    lines = [line.removeprefix("Error: ") for line in text.splitlines() if line.strip()]
    assert lines, "no problem was reported"
    for line in lines:
        assert re.match(rf"^{re.escape(file)}:\d+: \S", line), f"not a file:line: message line: {line!r}"
        assert "Traceback" not in line
    return lines


def assert_reported(lines: list[str], file: str, line: int, words: str) -> None:
    assert any(p.startswith(f"{file}:{line}: ") and words in p for p in lines), lines


# --- workflow definitions -----------------------------------------------------------------

DEFINITIONS = [
    # wrong types at the top level
    (("title: {en: Sample, es: Muestra}", "title: 5"), 2, "title must be a text, or one text per language"),
    (("workflow: sample", "workflow: 5"), 1, "workflow must be the workflow's name"),
    (("title: {en", "version: one\ntitle: {en"), 2, "version must be a whole number from 1 (got 'one')"),
    (("title: {en", "version: 0\ntitle: {en"), 2, "version must be a whole number from 1 (got 0)"),
    (("title: {en", "description: [a, b]\ntitle: {en"), 2, "description must be text"),
    (("title: {en", "id: 5\ntitle: {en"), 2, "id must be an id template"),
    (("title: {en", "participants: 5\ntitle: {en"), 2, "participants must be a group of members.yaml or a list"),
    (("title: {en", "track: 5\ntitle: {en"), 2, "track must be a mapping with initial, states and transitions"),
    (("title: {en", "colour: red\ntitle: {en"), 2, "unknown key 'colour' in the workflow; valid keys: description"),
    # params
    (("  deadline: {type: date}", "  - deadline"), 3, "params must be a mapping of name: {type: ...}"),
    (("  deadline: {type: date}", "  deadline: 5"), 4, "params.deadline must be a mapping"),
    (("{type: date}", "{type: date, required: maybe}"), 4, "params.deadline.required must be true or false"),
    (("{type: date}", "{type: [date]}"), 4, "params.deadline.type must be a param type"),
    (("{type: date}", "{type: int, choices: 3}"), 4, "params.deadline.choices must be a list of the values allowed"),
    (("{type: date}", "{type: date, default: 2017-02-30}"), 4, "'2017-02-30' cannot be read: day is out of range"),
    (("  deadline: {type: date}", "  7: {type: date}"), 4, "key 7 in params must be text"),
    # states
    (("  - draft\n  - {name: done, final: true}\n", "  draft\n"), 6, "states must be a list of states"),
    (("  - draft\n  - {name: done, final: true}\n", "  []\n"), 6, "states must be a list of states"),
    (("  - draft\n", "  - draft\n  - 5\n"), 8, "states[1] must be a name or a mapping with a name (got 5)"),
    (("{name: done, final: true}", "{name: done, final: 3}"), 8, "states[1].final must be true or false (got 3)"),
    (("{name: done, final: true}", "{final: true}"), 8, "a state is a name or a mapping with a name"),
    (("{name: done, final: true}", "{name: done, final: true, on_enter: 5}"), 8, "states[1].on_enter must be a list"),
    (("  - draft\n", "  - {name: draft, timeout: 5}\n"), 7, "states[0].timeout must be a mapping {after: 14d"),
    (("  - draft\n", "  - {name: draft, timeout: {after: 3d}}\n"), 7, "a timeout needs the trigger it fires"),
    (("  - draft\n", "  - {name: draft, timeout: {after: 3d, at: 2030-01-01, trigger: finish}}\n"), 7,
     "a timeout needs one of at (a date), after (e.g. 14d)"),
    (("  - draft\n", "  - {name: draft, timeout: {after: 99999999999999999d, trigger: finish}}\n"), 7,
     "is too long a duration"),
    # transitions
    (("transitions:\n  - {trigger: finish, source: draft, dest: done, roles: [secretariat]}\n", "transitions: 5\n"), 9,
     "transitions must be a list of transitions"),
    (("  - {trigger: finish, source: draft, dest: done, roles: [secretariat]}", "  - 5"), 10,
     "transitions[0] must be a mapping"),
    (("trigger: finish,", "trigger: 5,"), 10, "transitions[0].trigger must be a lower case name"),
    (("source: draft,", "source: 5,"), 10, "transitions[0].source must be a state, a list of states, or '*'"),
    (("source: draft,", "source: [],"), 10, "transitions[0].source must be non-empty"),
    (("source: draft, dest: done,", "source: draft,"), 10, "a transition needs a dest"),
    (("roles: [secretariat]", "roles: 7"), 10, "transitions[0].roles must be a list of roles, e.g. [secretariat] (got 7)"),
    (("roles: [secretariat]", "roles: [7]"), 10, "transitions[0].roles[0] must be text (got 7)"),
    (("roles: [secretariat]", "guards: 5"), 10, "transitions[0].guards must be a list of guards"),
    (("roles: [secretariat]", "guards: [[1, 2]]"), 10, "transitions[0].guards[0] must be a guard name, or a mapping"),
    (("roles: [secretariat]", "guards: [{before: 2030-01-01, after: 2017-01-01}]"), 10,
     "a guard is a name or a mapping {name: arguments}"),
    # the track
    (("transitions:\n", "participants: members\ntrack: {initial: a}\ntransitions:\n"), 10,
     "track needs a list of states"),
    (("transitions:\n", "participants: members\ntrack: {initial: a, states: [a], reminders: [{before: 1d}]}\n"
                        "transitions:\n"), 10, "a reminder has either before: (e.g. 7d) or every: (e.g. 3d)"),
    # huge numbers
    (("title: {en", f"version: {HUGE}\ntitle: {{en"), 2, "a number of 5000 digits is more than a file needs"),
    (("{type: date}", "{type: int, choices: [1.0e+99999]}"), 4, "choice inf: param deadline: inf is not a whole number"),
]


@pytest.mark.parametrize("change, line, words", DEFINITIONS, ids=[c[0][1][:40] for c in DEFINITIONS])
def test_each_malformed_definition_is_a_line_of_its_file(run, home, change, line, words):
    old, new = change
    assert old in VALID
    (home / SAMPLE).write_text(VALID.replace(old, new, 1))
    result = run("workflows", "validate")
    assert result.exit_code == 1, result.stdout
    assert result.stderr == ""
    lines = problem_lines(result.stdout, SAMPLE)
    assert_reported(lines, SAMPLE, line, words)


def test_the_sample_is_valid(run, home):
    (home / SAMPLE).write_text(VALID)
    result = run("workflows", "validate")
    assert result.exit_code == 0 and "workflows/sample.yaml: sample v1 (" in result.stdout


@pytest.mark.parametrize("content, line, words", [
    (b"", 1, "the file is empty"),
    (b"# only a comment\n", 1, "the file is empty"),
    (b"- workflow: sample\n", 1, "a workflow file is a mapping that starts with 'workflow: NAME'"),
    (b"just some words\n", 1, "a workflow file is a mapping"),
    (b"workflow: sample\ntitle: Sample\ninitial: caf\xe9\n", 3, "byte 0xe9 is not UTF-8 text"),
    (b"workflow: sample\nstates: [a, b\n", 3, "not valid YAML"),
    (ALIAS_BOMB.encode(), 1, "more than 100000 values"),
    (b"a: &a [1, *a]\n", 1, "an alias (*name) refers to the very anchor it is inside"),
    (b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", 1, "not valid YAML"),
    (b"? [a, b]\n: 1\nworkflow: sample\n", 1, "a key must be a plain name or number"),
])
def test_documents_that_are_not_definitions(run, home, content, line, words):
    (home / SAMPLE).write_bytes(content)
    result = run("workflows", "validate", str(home / SAMPLE))
    assert result.exit_code == 1
    assert_reported(problem_lines(result.stdout, SAMPLE), SAMPLE, line, words)


def test_a_plugin_check_that_raises_is_a_problem_and_the_other_files_are_still_checked(run, home):
    (home / SAMPLE).write_text(VALID.replace("roles: [secretariat]", "guards: [{before: tomorrow}]"))
    (home / "workflows" / "second.yaml").write_text(VALID.replace("sample", "second").replace("title: {en", "title: 5\nx: {en"))
    result = run("workflows", "validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert_reported(lines, SAMPLE, 10, "guard before: the check of plugin rcmflow.default_plugins.guards failed")
    assert_reported(lines, SAMPLE, 10, "'tomorrow' is not a date and time")
    assert_reported(lines, "workflows/second.yaml", 2, "title must be")


def test_a_broken_definition_stops_other_commands_with_its_line(run, home):
    (home / SAMPLE).write_text(VALID.replace("title: {en: Sample, es: Muestra}", "title: 5"))
    result = run("workflows", "show", "sample")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {SAMPLE}:2: title must be")


# --- workflows/members.yaml -----------------------------------------------------------------

MEMBERS_TEXT = """\
countries:
  MX: {name: {en: Mexico, es: México}, language: es}
  GT: {name: Guatemala, language: es}
observers:
  IOM: {name: IOM}
people:
  - {id: ts-officer, name: TS officer, roles: [secretariat]}
  - {id: mx-focal, country: MX, email: focal@mx.example.org}
groups:
  members: [MX, GT]
  troika: [MX]
"""

MEMBERS_CASES = [
    (("countries:\n  MX: {name: {en: Mexico, es: México}, language: es}\n  GT: {name: Guatemala, language: es}\n",
      "countries: [MX, GT]\n"), 1, "countries must be a mapping of codes, like MX: {name: Mexico"),
    (("  GT: {name: Guatemala, language: es}", "  GT: 5"), 3, "countries.GT must be a mapping"),
    (("{name: Guatemala, language: es}", "{name: 5, language: es}"), 3, "countries.GT.name must be a text"),
    (("{name: Guatemala, language: es}", "{name: Guatemala, language: [es]}"), 3, "countries.GT.language must be"),
    (("{name: Guatemala, language: es}", "{name: Guatemala, flag: blue}"), 3, "unknown key 'flag' in countries.GT"),
    (("{name: Guatemala, language: es}", "{name: Guatemala, language: de}"), 3, "language 'de' of GT is not one of"),
    (("  IOM: {name: IOM}", "  - IOM"), 4, "observers must be a mapping of codes"),
    (("people:\n  - {id: ts", "people: 5\nx:\n  - {id: ts"), 6, "people must be a list of people"),
    (("{id: mx-focal, country: MX,", "{country: MX,"), 8, "each person needs at least an id"),
    (("{id: mx-focal, country: MX,", "{id: 7, country: MX,"), 8, "people[1].id must be a person id"),
    (("roles: [secretariat]", "roles: 7"), 7, "people[0].roles must be a list of roles, e.g. [secretariat] (got 7)"),
    (("email: focal@mx.example.org", "email: [focal@mx.example.org]"), 8, "people[1].email must be an e-mail address"),
    (("country: MX,", "country: ZZ,"), 8, "person mx-focal belongs to unknown country 'ZZ'"),
    (("  members: [MX, GT]\n  troika: [MX]\n", "  - MX\n"), 9, "groups must be a mapping of group: [country codes]"),
    (("  troika: [MX]", "  troika: 5"), 11, "groups.troika must be a list"),
    (("  troika: [MX]", "  troika: [MX, 5]"), 11, "groups.troika[1] must be text (got 5)"),
    (("  troika: [MX]", f"  troika: [{HUGE}]"), 11, "a number of 5000 digits is more than a file needs"),
    (("  troika: [MX]", "  troika: [ZZ]"), 11, "group troika names unknown country 'ZZ'"),
]


@pytest.mark.parametrize("change, line, words", MEMBERS_CASES, ids=[c[0][1][:40] for c in MEMBERS_CASES])
def test_each_malformed_members_file_is_a_line_of_it(run, home, change, line, words):
    old, new = change
    assert old in MEMBERS_TEXT
    (home / MEMBERS).write_text(MEMBERS_TEXT.replace(old, new, 1))
    result = run("status")
    assert result.exit_code == 1
    assert result.stdout == ""
    [first] = problem_lines(result.stderr, MEMBERS)  # one line: the first problem, and how many more
    assert first.startswith(f"{MEMBERS}:")
    result = run("workflows", "validate")
    assert result.exit_code == 1
    assert_reported([line for line in result.stdout.splitlines() if line.startswith(MEMBERS)], MEMBERS, line, words)


@pytest.mark.parametrize("content, line, words", [
    (b"", 1, "members.yaml is empty"),
    (b"- MX\n- GT\n", 1, "members.yaml must be a mapping with countries, people and groups"),
    (b"countries:\n  MX: {name: M\xe9xico}\n", 2, "byte 0xe9 is not UTF-8 text"),
    (ALIAS_BOMB.encode(), 1, "more than 100000 values"),
    (b"countries: {MX: {name: [unclosed}\n", 1, "not valid YAML"),
])
def test_members_documents_that_are_not_members(run, home, content, line, words):
    (home / MEMBERS).write_bytes(content)
    result = run("init")
    assert result.exit_code == 1
    lines = problem_lines(result.stderr, MEMBERS)
    assert_reported(lines, MEMBERS, line, words)


def test_the_members_sample_is_valid(run, home):
    (home / MEMBERS).write_text(MEMBERS_TEXT)
    (home / SAMPLE).write_text(VALID)
    result = run("workflows", "validate", str(home / SAMPLE))
    assert result.exit_code == 0, result.stdout


# --- rcmflow.toml -------------------------------------------------------------------------------


@pytest.mark.parametrize("settings, line, words", [
    ("timezone = 5\n", 1, 'timezone must be a zone name, e.g. timezone = "America/El_Salvador" (got 5)'),
    ('timezone = "Mars/Olympus"\n', 1, "unknown timezone 'Mars/Olympus'; use a name like America/Mexico_City"),
    ('actor = ["ts-officer"]\n', 1, "actor must be a person id"),
    ('language = 5\n', 1, "language must be a language code"),
    ('database = "sqlite:///x.db"\n', 1, 'database must be a [database] table with url = "..."'),
    ('timezone = "UTC"\n[database]\nurl = 5\n', 3, "[database] url must be a database URL"),
    ('[database]\nuri = "sqlite:///x.db"\n', 2, "unknown key 'uri' in database; valid keys: url"),
    ('[smtp]\nhost = "smtp.example.org"\nport = "many"\n', 3, "[smtp] port must be a port number"),
    ('[smtp]\nstarttls = "yes"\n', 2, "[smtp] starttls must be true or false"),
    ('[serve]\nport = 70000\n', 2, "[serve] port must be a port number, e.g. port = 8000 (got 70000)"),
    ('[serve]\ntoken = 12345\n', 2, "[serve] token must be a string"),
    ('timezon = "UTC"\n', 1, "timezon must be a [section] of a plugin's settings"),
    ("timezone = \n", 1, "not valid TOML"),
    ('[database\nurl = "x"\n', 1, "not valid TOML"),
    (f"[serve]\nport = {HUGE}\n", 2, "a number with thousands of digits"),
])
def test_each_malformed_setting_is_a_line_of_rcmflow_toml(run, home, settings, line, words):
    (home / SETTINGS).write_text(settings, encoding="utf-8")
    for command in (("init",), ("workflows", "validate")):
        result = run(*command)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert_reported(problem_lines(result.stderr, SETTINGS), SETTINGS, line, words)


def test_every_problem_of_rcmflow_toml_is_a_line(run, home):
    (home / SETTINGS).write_text('timezone = 5\nactor = 3\n[serve]\nport = "x"\n', encoding="utf-8")
    result = run("status")
    assert result.exit_code == 1
    assert [line.split(": ")[0] for line in problem_lines(result.stderr, SETTINGS)] == [
        "rcmflow.toml:1", "rcmflow.toml:2", "rcmflow.toml:4"]


def test_rcmflow_toml_that_is_not_utf8(run, home):
    (home / SETTINGS).write_bytes(b'actor = "ts"\ntimezone = "Am\xe9rica"\n')
    result = run("init")
    assert result.exit_code == 1
    assert_reported(problem_lines(result.stderr, SETTINGS), SETTINGS, 2, "byte 0xe9 is not UTF-8 text")


def test_valid_settings_and_plugin_sections_are_accepted(home, tmp_path):
    (home / SETTINGS).write_text(textwrap.dedent("""\
        actor = "ts-officer"
        timezone = "America/El_Salvador"
        language = "es"
        [database]
        url = "sqlite:///elsewhere.db"
        [smtp]
        host = "smtp.example.org"
        port = 587
        starttls = true
        from = "RCM TS <ts@example.org>"
        [my_plugin]
        anything = [1, "two"]
        """), encoding="utf-8")
    database = tmp_path / "ok.db"
    result = CliRunner().invoke(cli, ["--home", str(home), "--db", f"sqlite:///{database}", "init"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert database.exists()
