"""What countries typed is shown in the terminal as text: never as rich markup (a
`[link=…]` would be a clickable hyperlink), never as control codes (an ESC sequence
would clear the screen, retitle the window or open a hyperlink of its own).

The commands run through the CLI with rich forced to write for a terminal
(FORCE_COLOR), so the output holds exactly the bytes a terminal would get: rcmflow's
own styles, and nothing that came from a country.
"""

from __future__ import annotations

import pytest

from rcmflow.cli.render import clean

MARKUP = "[link=https://evil.example]confirm[/link] [bold red]urgent[/]"
ANSI = "\x1b[2J\x1b]0;pwned\x07cleared \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \x9b31mred"
#: what a terminal shows for ANSI: each control character as its picture, nothing obeyed
ANSI_SHOWN = "␛[2J␛]0;pwned␇cleared ␛]8;;https://evil.example␛\\here␛]8;;␛\\ <U+009B>31mred"
NAME = "[link=https://evil.example]Belize[/link]"
VALUE = "[link=https://evil.example]yes[/link]"


@pytest.fixture
def terminal(monkeypatch):
    """rich writes as it would to a terminal, colours, hyperlinks and all."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def typed(rcmflow, home, terminal):
    """theme-1 open, with markup and escapes in a note, a value and a country's name."""
    members = home / "workflows" / "members.yaml"
    members.write_text(members.read_text(encoding="utf-8").replace(
        "BZ: {name: {en: Belize,", f"BZ: {{name: {{en: '{NAME}',"), encoding="utf-8")
    consultation = home / "workflows" / "thematic-consultation.yaml"  # a step that takes a remark
    consultation.write_text(consultation.read_text(encoding="utf-8").replace(
        "    inputs: {}\n    guards: [{param_set: deadline}]",
        "    inputs: {remark: {type: text}}\n    guards: [{param_set: deadline}]"), encoding="utf-8")
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20").exit_code == 0
    result = rcmflow("fire", "theme-1", "open", "--note", MARKUP, "--set", f"remark={VALUE}")
    assert result.exit_code == 0, result.stderr
    result = rcmflow("fire", "theme-1", "submit", "--participant", "MX", "--note", ANSI, actor="mx-focal")
    assert result.exit_code == 0, result.stderr
    return "theme-1"


def assert_only_our_own_codes(output: str) -> None:
    """No hyperlink and no control sequence but rich's own colours (CSI … m)."""
    assert "\x1b]" not in output, "an OSC sequence (hyperlink, window title) reached the terminal"
    assert "evil.example\x1b" not in output and "\x07" not in output and "\x9b" not in output
    assert "\x1b[2J" not in output
    assert "\x1b[" in output, "the console did not write for a terminal: the test would prove nothing"


def test_history_shows_notes_as_typed(rcmflow, typed):
    result = rcmflow("history", typed)
    assert result.exit_code == 0, result.stderr
    assert MARKUP in result.stdout
    assert ANSI_SHOWN in result.stdout
    assert_only_our_own_codes(result.stdout)


def test_the_status_of_an_instance_shows_values_and_names_as_typed(rcmflow, typed):
    result = rcmflow("status", typed)
    assert result.exit_code == 0, result.stderr
    assert f"remark={VALUE}" in result.stdout
    assert NAME in result.stdout
    assert_only_our_own_codes(result.stdout)


def test_the_status_tables_show_names_as_typed(rcmflow, typed):
    result = rcmflow("status")
    assert result.exit_code == 0, result.stderr
    assert f"BZ {NAME}" in result.stdout  # the participant matrix
    assert_only_our_own_codes(result.stdout)
    result = rcmflow("status", "--by", "instance")
    assert result.exit_code == 0 and "theme-1" in result.stdout
    assert_only_our_own_codes(result.stdout)


def test_a_workflow_description_is_shown_as_written(rcmflow, home, terminal):
    path = home / "workflows" / "troika-meeting.yaml"
    text = path.read_text(encoding="utf-8")
    described = text.replace("\nversion: 1\n", f'\nversion: 1\ndescription: "{MARKUP} \\e[2J"\n', 1)
    path.write_text(described, encoding="utf-8")
    result = rcmflow("workflows", "show", "troika-meeting")
    assert result.exit_code == 0, result.stderr
    assert f"{MARKUP} ␛[2J" in result.stdout
    assert "\x1b]" not in result.stdout and "\x1b[2J" not in result.stdout and "\x1b[" in result.stdout


def test_clean_shows_every_control_character_and_keeps_the_rest():
    assert clean("línea 1\r\nlínea 2\tfin") == "línea 1\nlínea 2\tfin"
    assert clean("\x1b[31m") == "␛[31m" and clean("\x00\x7f") == "␀␡"
    assert clean("abc\u202edcba") == "abc<U+202E>dcba"  # a right-to-left override reorders nothing
    assert clean(MARKUP) == MARKUP and clean(42) == "42"
