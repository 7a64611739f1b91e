"""A roadmap that runs for a year: one broken instance never stops `tick`, a cancelled
consultation never blocks the review."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.conftest import one_line


def _sql(db_url: str, statement: str, **params) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)
    engine.dispose()


def test_tick_goes_on_past_an_instance_it_cannot_handle(rcmflow, opened, db_url):
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("fire", "theme-2", "open").exit_code == 0
    # theme-1 now runs on a definition nobody kept (a database restored from elsewhere)
    _sql(db_url, "UPDATE instances SET definition_hash = :h WHERE id = 'theme-1'", h="0" * 64)
    result = rcmflow("tick", "--now", "2030-04-15T09:00", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert {r["id"] for r in report["reminded"]} == {"theme-2"}
    assert len(report["reminded"]) == 11
    assert [p["id"] for p in report["problems"]] == ["theme-1"]
    assert "is not in the database" in report["problems"][0]["reason"]


def test_a_due_timeout_that_fails_is_one_line_and_the_others_still_fire(rcmflow, opened, db_url):
    assert rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("fire", "theme-2", "open").exit_code == 0
    # bad data: theme-1's timeout is due in a state that has no timeout
    _sql(db_url, "UPDATE instances SET state = 'planned' WHERE id = 'theme-1'")
    result = rcmflow("tick", "--now", "2030-05-02T09:00")
    assert result.exit_code == 1
    assert "theme-2: timeout fired close_collection" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: theme-1: not ticked:")
    assert "Traceback" not in result.stderr


def test_a_cancelled_consultation_lets_the_review_compile(engine):
    for theme in range(1, 7):
        engine.start("thematic-consultation", f"theme-{theme}", {"theme": str(theme), "deadline": "2030-04-20"})
    engine.start("regional-review", None, {"year": "2030", "comments_due": "2030-09-01"})
    engine.fire("theme-6", "cancel")
    blocked = {o.trigger: o.reason for o in engine.triggers("review-2030")}["compile"]
    assert "theme-6 cancelled" in blocked and "theme-6 (cancelled)" not in blocked
    for theme in range(1, 6):
        _force_submitted(engine, f"theme-{theme}")
    assert engine.fire("review-2030", "compile").dest == "compiling"


def _force_submitted(engine, instance_id: str) -> None:
    with engine.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE instances SET state = 'submitted' WHERE id = :i"), {"i": instance_id})


def test_tick_without_problems_exits_0(rcmflow, opened):
    result = rcmflow("tick", "--now", "2030-04-15T09:00")
    assert result.exit_code == 0, result.stderr
    assert "11 reminders sent" in result.stdout


def test_one_clock_for_every_command(rcmflow, snapshot, home):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "start", "thematic-consultation", "--set", "theme=1",
                   "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "fire", "theme-1", "open").exit_code == 0
    history = json.loads(rcmflow("history", "theme-1", "--json").stdout)
    assert {e["at"][:16] for e in history} == {"2030-03-01T09:00"}
    # a reminder sent a week before the deadline speaks of the deadline, not of overdue input
    requests = set((home / "outbox").glob("*.eml"))
    assert "11 reminders sent" in rcmflow("--now", "2030-04-15T09:00", "tick").stdout
    reminders = [p.read_text() for p in set((home / "outbox").glob("*.eml")) - requests]
    assert len(reminders) == len(requests)  # one per focal point, as the requests
    assert not any("overdue" in text.lower() or "vencid" in text.lower() for text in reminders)
    # status at a later time sees the deadline passed
    later = json.loads(rcmflow("--now", "2030-04-25T09:00", "status", "theme-1", "--json").stdout)
    assert all(t["overdue"] for t in later["instances"][0]["tracks"].values())
    # the history keeps time order: a --now before the last event is refused
    before = snapshot()
    refused = rcmflow("--now", "2030-02-01T09:00", "fire", "theme-1", "submit", "-p", "MX", actor="mx-focal")
    assert refused.exit_code == 1 and "would come before it" in one_line(refused)
    assert rcmflow("--now", "9999-12-31T23:00", "status").exit_code == 1
    assert snapshot() == before


def test_one_decision_for_several_countries_is_one_transaction(rcmflow, opened, snapshot):
    for country, actor in (("MX", "mx-focal"), ("GT", "gt-focal"), ("SV", "sv-focal")):
        assert rcmflow("fire", opened, "submit", "-p", country, actor=actor).exit_code == 0
    before = snapshot()
    # BZ has sent nothing: the whole command is refused, naming it, and nothing moves
    refused = rcmflow("fire", opened, "accept", "-p", "MX", "-p", "BZ", "-p", "GT")
    assert refused.exit_code != 0
    line = one_line(refused)
    assert line.startswith("Error: BZ:") and "none of the 3 tracks moved" in line
    assert rcmflow("fire", opened, "accept", "--all-in", "drafting").exit_code == 1
    assert snapshot() == before
    result = rcmflow("fire", opened, "accept", "--all-in", "submitted", "--json")
    assert result.exit_code == 0, result.stderr
    moved = json.loads(result.stdout)
    assert sorted(m["participant"] for m in moved) == ["GT", "MX", "SV"]
    assert len({m["event_seq"] for m in moved}) == 3
    tracks = json.loads(rcmflow("status", opened, "--json").stdout)["instances"][0]["tracks"]
    assert {p for p, t in tracks.items() if t["state"] == "accepted"} == {"GT", "MX", "SV"}


def test_a_silent_country_reaches_no_response_and_the_step_closes(rcmflow):
    assert rcmflow("init").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "start", "thematic-consultation", "--set", "theme=1",
                   "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "fire", "theme-1", "open").exit_code == 0
    everyone_but_bz = [arg for c in ("CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US")
                       for arg in ("-p", c)]
    assert rcmflow("--now", "2030-04-10T09:00", "fire", "theme-1", "submit", *everyone_but_bz).exit_code == 0
    # the deadline's day and six days of grace (of seven) are over: BZ is still only late
    assert "lapse" not in rcmflow("tick", "--now", "2030-04-27T09:00").stdout
    result = rcmflow("tick", "--now", "2030-04-28T00:30", "--json")
    assert result.exit_code == 0, result.stderr
    fired = json.loads(result.stdout)["fired"]
    assert [(f["trigger"], f["dest"]) for f in fired] == [("lapse", "no_response"),
                                                          ("close_collection", "consolidating")]
    history = json.loads(rcmflow("history", "theme-1", "--json").stdout)
    lapse = next(e for e in history if e["trigger"] == "lapse")
    assert (lapse["participant"], lapse["actor"], lapse["note"]) == ("BZ", "rcmflow", "no answer by 2030-04-20")
    # input that comes after all is taken, and marked late
    late = rcmflow("--now", "2030-04-29T09:00", "fire", "theme-1", "submit", "-p", "BZ", actor="bz-focal")
    assert late.exit_code == 0, late.stderr
    submitted = [e for e in json.loads(rcmflow("history", "theme-1", "--json").stdout) if e["trigger"] == "submit"]
    assert submitted[-1]["data"]["late"] == {"due": "2030-04-20"}
    assert not any("late" in e["data"] for e in submitted[:-1])
