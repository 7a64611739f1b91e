"""The command line as the secretariat uses it: JSON contracts, tables, one-line errors."""

from __future__ import annotations

import json

import pytest

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]


@pytest.fixture
def opened(rcmflow):
    assert rcmflow("init").exit_code == 0
    started = rcmflow("start", "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20", "--json")
    assert json.loads(started.stdout) == {"id": "theme-1", "workflow": "thematic-consultation", "state": "planned"}
    assert rcmflow("fire", "theme-1", "open").exit_code == 0
    return "theme-1"


def test_init_twice_is_harmless(rcmflow):
    first, second = rcmflow("init"), rcmflow("init")
    assert first.exit_code == second.exit_code == 0
    assert "database ready" in second.stdout


def test_a_consultation_through_the_cli(rcmflow, opened):
    for country in MEMBERS:
        result = rcmflow("fire", opened, "submit", "--participant", country, "--json", actor=f"{country.lower()}-focal")
        assert result.exit_code == 0, result.stderr
        fired = json.loads(result.stdout)
        assert set(fired) == {"id", "state", "participant", "track_state", "event_seq"}
        assert (fired["participant"], fired["track_state"]) == (country, "submitted")
    moved = json.loads(rcmflow("fire", opened, "close_collection", "--json").stdout)
    assert moved["state"] == "consolidating" and moved["participant"] is None and moved["track_state"] is None

    status = json.loads(rcmflow("status", "--json").stdout)
    [instance] = status["instances"]
    assert set(instance) == {"id", "workflow", "state", "version", "tracks"}
    assert instance["state"] == "consolidating"
    assert instance["tracks"]["MX"] == {"state": "submitted", "due": "2030-04-20", "overdue": False, "reminded": None}

    history = json.loads(rcmflow("history", opened, "--json").stdout)
    assert all(set(e) == {"seq", "at", "actor", "trigger", "source", "dest", "participant", "note", "data"}
               for e in history)
    assert history[-1]["data"]["files"][0]["path"] == "out/theme-1/regional-input.en.docx"
    assert [e["trigger"] for e in history][:2] == ["start", "open"]
    assert history[-2]["trigger"] == "close_collection" and history[-2]["actor"] == "ts-officer"
    # the regional input it built is in the history too, by rcmflow itself
    assert (history[-1]["trigger"], history[-1]["actor"]) == ("build", "rcmflow")

    table = rcmflow("history", opened)
    assert "us-focal" in table.stdout and "close_collection" in table.stdout


def test_triggers_json_and_table_say_why(rcmflow, opened):
    options = json.loads(rcmflow("triggers", opened, "--json").stdout)
    assert all(set(o) == {"trigger", "dest", "allowed", "reason", "inputs"} for o in options)
    close = next(o for o in options if o["trigger"] == "close_collection")
    assert close["allowed"] is False
    assert close["reason"] == "waiting for " + ", ".join(MEMBERS) + ": 0 of 11 tracks in submitted|accepted|declined|no_response"
    table = rcmflow("triggers", opened, "--participant", "MX", actor="mx-focal")
    assert "submit" in table.stdout and "yes" in table.stdout


def test_status_shows_the_matrix_and_the_blocking_reason(rcmflow, opened):
    rcmflow("fire", opened, "submit", "-p", "NI", actor="ni-focal")
    matrix = rcmflow("status")
    assert "theme-1" in matrix.stdout and "NI Nicaragua" in matrix.stdout and "1/11 submitted" in matrix.stdout
    detail = rcmflow("status", opened)
    assert "waiting for BZ, CA" in detail.stdout and "Nicaragua" in detail.stdout


@pytest.mark.no_database
def test_plugins_list(rcmflow):
    plugins = json.loads(rcmflow("plugins", "list", "--json").stdout)
    guards = {g for p in plugins for g in p["guards"]}
    assert {"tracks_in", "tracks_min", "param_set", "before", "after"} <= guards
    sources = {p["name"]: p["source"] for p in plugins}
    assert sources["rcmflow.default_plugins.guards"] == sources["rcmflow.default_plugins.actions"] == "built-in"
    assert sources["plugins/consensus.py"].endswith("/plugins/consensus.py")
    by_name = {p["name"]: p for p in plugins}
    assert by_name["plugins/amendments.py"]["commands"] == ["amendments"]
    assert by_name["plugins/amendments.py"]["actions"] == ["record_amendment", "record_disposition"]


def _only_one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("args, actor, code, words", [
    (["fire", "theme-9", "open"], "ts-officer", 1, "unknown instance 'theme-9'; instances: theme-1"),
    (["start", "consultation"], "ts-officer", 1, "unknown workflow 'consultation'; workflows: declaration-adoption, rcp-meeting, regional-review, thematic-consultation"),
    (["fire", "theme-1", "submit", "-p", "XX"], "ts-officer", 1, "'XX' has no track in theme-1; participants: BZ"),
    (["fire", "theme-1", "circulate"], "ts-officer", 1, "'circulate' is not possible: theme-1 is in state collecting_input"),
    (["fire", "theme-1", "close_collection"], "ts-officer", 3, "close_collection is blocked on theme-1: waiting for BZ"),
    (["fire", "theme-1", "cancel"], "mx-focal", 4, "cancel needs role secretariat; mx-focal has focal_point"),
    (["fire", "theme-1", "submit", "-p", "GT"], "mx-focal", 4, "mx-focal is a focal point of MX and cannot act on GT's track"),
    (["fire", "theme-1", "submit", "-p", "MX", "--set", "summary"], "mx-focal", 1, "--set expects NAME=VALUE"),
    (["fire", "theme-1", "submit", "-p", "MX", "--attach", "/nonexistent/input.docx"], "mx-focal", 1, "cannot read attachment"),
    (["start", "thematic-consultation", "--set", "theme=9", "--set", "deadline=2030-01-01"], "ts-officer", 1, "'9' is not one of"),
    (["start", "thematic-consultation", "--set", "theme=2"], "ts-officer", 1, "needs param deadline: add --set deadline=VALUE"),
    (["start", "thematic-consultation", "--id", "Theme 2!", "--set", "theme=2", "--set", "deadline=2030-01-01"],
     "ts-officer", 1, "instance id 'Theme 2!' must be lower case"),
    (["tick", "--now", "tomorrow"], "ts-officer", 1, "is not a date and time"),
    (["triggers", "theme-1", "-p", "ZZ"], "ts-officer", 1, "'ZZ' has no track in theme-1"),
    (["history", "theme-0"], "ts-officer", 1, "unknown instance 'theme-0'"),
])
def test_user_errors_are_one_line_and_change_nothing(rcmflow, opened, snapshot, args, actor, code, words):
    before = snapshot()
    result = rcmflow(*args, actor=actor)
    assert result.exit_code == code
    assert words in _only_one_line(result)
    assert snapshot() == before


def test_an_invalid_definition_is_one_line(rcmflow, opened, home, snapshot):
    path = home / "workflows" / "thematic-consultation.yaml"
    path.write_text(path.read_text().replace("dest: consolidating\n    roles", "dest: consolidation\n    roles", 1))
    before = snapshot()
    result = rcmflow("start", "thematic-consultation", "--id", "theme-9", "--set", "theme=2",
                     "--set", "deadline=2099-01-31")
    assert result.exit_code == 1
    assert "workflows/thematic-consultation.yaml:" in _only_one_line(result)
    assert "more: run 'rcmflow workflows validate'" in result.stderr
    assert snapshot() == before


def test_an_uninitialised_database_says_to_run_init(rcmflow):
    result = rcmflow("status")
    assert result.exit_code == 1
    assert "run 'rcmflow init'" in _only_one_line(result)


@pytest.mark.parametrize("url, words", [
    ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/nothing: connection failed"),
    ("not a url", "is not a database URL"),
])
def test_an_unreachable_database_is_one_line(home, url, words):
    from click.testing import CliRunner

    from rcmflow.cli import cli

    result = CliRunner().invoke(cli, ["--home", str(home), "--db", url, "status"])
    assert result.exit_code == 1
    assert words in _only_one_line(result)


def test_json_logs_are_bound_to_instance_trigger_and_actor(rcmflow, opened):
    result = rcmflow("--log-format", "json", "fire", opened, "submit", "-p", "HN", actor="hn-focal")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    [transition] = [line for line in lines if line["event"] == "transition"]
    assert (transition["instance"], transition["trigger"], transition["actor"]) == (opened, "submit", "hn-focal")
    assert transition["participant"] == "HN" and transition["level"] == "info"


def test_console_logs_are_quiet_unless_asked(rcmflow, opened):
    assert rcmflow("fire", opened, "submit", "-p", "HN", actor="hn-focal").stderr == ""
    verbose = rcmflow("-v", "fire", opened, "submit", "-p", "CR", actor="cr-focal")
    assert "transition" in verbose.stderr and "instance=theme-1" in verbose.stderr
