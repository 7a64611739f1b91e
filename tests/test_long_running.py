"""A roadmap that runs for a year: one broken instance never stops `tick`, a cancelled
consultation never blocks the review."""

from __future__ import annotations

import json

import sqlalchemy as sa


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
    result = rcmflow("tick", "--now", "2030-04-14T09:00", "--json")
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
    assert "theme-2: timeout due but waiting" in result.stdout
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
    result = rcmflow("tick", "--now", "2030-04-14T09:00")
    assert result.exit_code == 0, result.stderr
    assert "11 reminders sent" in result.stdout
