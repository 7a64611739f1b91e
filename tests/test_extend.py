"""Deadlines that move (`rcmflow extend`): one country's or the whole step's, with a
notice in each country's language; reminders and the silence timeout follow the new day."""

from __future__ import annotations

import json

import pytest

from tests.conftest import one_line


@pytest.fixture
def open_theme(rcmflow):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "start", "thematic-consultation", "--set", "theme=1",
                   "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "fire", "theme-1", "open").exit_code == 0
    return "theme-1"


def tracks(rcmflow, instance):
    return json.loads(rcmflow("status", instance, "--json").stdout)["instances"][0]["tracks"]


def test_one_country_gets_more_time_and_is_reminded_by_its_new_date(rcmflow, open_theme, home):
    requests = set((home / "outbox").glob("*.eml"))
    result = rcmflow("--now", "2030-03-02T09:00", "extend", open_theme, "-p", "NI", "--to", "2030-05-10",
                     "--note", "elections")
    assert result.exit_code == 0, result.stderr
    due = {p: t["due"] for p, t in tracks(rcmflow, open_theme).items()}
    assert due.pop("NI") == "2030-05-10" and set(due.values()) == {"2030-04-20"}
    [notice] = [p.read_text() for p in set((home / "outbox").glob("*.eml")) - requests]
    assert "To: " in notice and "focal@ni.example.org" in notice and "2030-05-10" in notice
    [event] = [e for e in json.loads(rcmflow("history", open_theme, "--json").stdout) if e["trigger"] == "extend"]
    assert (event["participant"], event["note"], event["data"]) == ("NI", "elections",
                                                                     {"from": "2030-04-20", "to": "2030-05-10"})
    # the week before the old deadline: everyone but Nicaragua is reminded
    report = json.loads(rcmflow("tick", "--now", "2030-04-15T09:00", "--json").stdout)
    assert "NI" not in {r["participant"] for r in report["reminded"]} and len(report["reminded"]) == 10
    # the week before the new one: Nicaragua, once
    first = json.loads(rcmflow("tick", "--now", "2030-05-06T09:00", "--json").stdout)["reminded"]
    again = json.loads(rcmflow("tick", "--now", "2030-05-06T10:00", "--json").stdout)["reminded"]
    assert [r["participant"] for r in first if r["participant"] == "NI"] == ["NI"] and not again


def test_the_whole_step_moves_with_its_timeout(rcmflow, open_theme):
    result = rcmflow("--now", "2030-03-02T09:00", "extend", open_theme, "--to", "2030-04-29", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["event_seqs"]) == 11
    assert {t["due"] for t in tracks(rcmflow, open_theme).values()} == {"2030-04-29"}
    # the collection no longer closes at the old deadline
    assert "close_collection" not in rcmflow("tick", "--now", "2030-04-22T09:00").stdout
    assert "timeout due" in rcmflow("tick", "--now", "2030-04-30T09:00").stdout


@pytest.mark.parametrize("args, words", [
    (["-p", "ZZ", "--to", "2030-05-10"], "'ZZ' has no track in theme-1"),
    (["--to", "2020-05-10"], "--to 2020-05-10 has passed already"),
    (["--to", "someday"], "is not a date"),
])
def test_a_bad_extension_is_one_line_and_changes_nothing(rcmflow, open_theme, snapshot, args, words):
    before = snapshot()
    result = rcmflow("--now", "2030-03-02T09:00", "extend", open_theme, *args)
    assert result.exit_code == 1 and words in one_line(result)
    assert snapshot() == before


def test_a_finished_step_has_no_deadline_to_move(rcmflow, open_theme, snapshot, home):
    assert rcmflow("--now", "2030-03-02T09:00", "fire", open_theme, "cancel").exit_code == 0
    before, mail = snapshot(), set((home / "outbox").glob("*.eml"))
    result = rcmflow("--now", "2030-03-03T09:00", "extend", open_theme, "--to", "2030-05-10")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: theme-1 is cancelled, which is final: only a step under way has "
                                "deadlines to move")
    assert snapshot() == before and set((home / "outbox").glob("*.eml")) == mail


# --- what a trigger may be given -------------------------------------------------------


def test_a_param_cannot_be_changed_by_a_trigger(rcmflow, open_theme, snapshot):
    before = snapshot()
    result = rcmflow("--now", "2030-03-02T09:00", "fire", open_theme, "cancel", "--set", "deadline=2031-01-31")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: --set deadline: deadline is a param of thematic-consultation, fixed when "
                                "the instance started; move a deadline with 'rcmflow extend'")
    assert snapshot() == before


def test_a_transition_takes_only_the_inputs_it_declares(rcmflow, snapshot, home):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "declaration-adoption", "--set", "year=2030", "--set", "meeting=2030-04-24",
                   "--set", "amendments_due=2099-04-14").exit_code == 0
    (home / "base.md").write_text("1. Migrants' rights\n")
    assert rcmflow("fire", "declaration-2030", "share_base_text", "--set-file", f"text={home / 'base.md'}").exit_code == 0
    before = snapshot()
    result = rcmflow("fire", "declaration-2030", "propose_amendment", "-p", "GT", "--set", "itme=1",
                     "--set", "change=x", actor="gt-focal")
    assert result.exit_code == 1
    assert one_line(result) == ("Error: propose_amendment has no input 'itme'; it accepts item, line, change, "
                                "reason, exclude_terms")
    assert snapshot() == before
    shown = rcmflow("workflows", "show", "declaration-adoption").stdout
    assert "item, line, change, reason, exclude_terms" in shown
    triggers = json.loads(rcmflow("triggers", "declaration-2030", "-p", "GT", "--json").stdout)
    assert next(o for o in triggers if o["trigger"] == "propose_amendment")["inputs"][:3] == ["item", "line", "change"]
