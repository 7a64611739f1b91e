"""The status matrix: who has sent what, who is late, and what each step waits for,
in a table, as JSON and as CSV, all agreeing with the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

MEMBERS = ["BZ", "GT", "HN", "MX", "NI", "SV"]  # tests/workflows/members.yaml
AFTER_DEADLINE = dt.datetime(2017, 4, 22, 9, tzinfo=dt.timezone.utc)  # theme-1's deadline was 2017-04-20


@pytest.fixture
def mixed(initialised, make_engine, rcmflow):
    """The small plan of tests/workflows/roadmap.yaml on 22 April 2017: theme-1 collecting
    (NI and BZ late), theme-2 collecting (not yet due), the rest planned."""
    engine = make_engine(clock=lambda: AFTER_DEADLINE).replaying()  # theme-1 opens after its deadline
    from rcmflow.default_plugins.scenario.plan import apply_plan

    apply_plan(engine)
    for theme in ("theme-1", "theme-2"):
        engine.fire(theme, "open")
    for country in MEMBERS:
        if country not in ("NI", "BZ"):
            engine.fire("theme-1", "submit", country)
    engine.fire("theme-1", "accept", "MX")
    engine.fire("theme-2", "submit", "GT")
    return engine


def test_json_agrees_with_the_database(mixed, db_url):
    import sqlalchemy as sa

    from rcmflow.store.models import INSTANCES, TRACKS

    fast = json.loads(mixed.status_json())
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        tracks = conn.execute(sa.select(TRACKS.c.instance_id, TRACKS.c.participant, TRACKS.c.state, TRACKS.c.due)).all()
        states = dict(conn.execute(sa.select(INSTANCES.c.id, INSTANCES.c.state)).all())
    db.dispose()
    listed = {i["id"]: i for i in fast["instances"]}
    assert {i: listed[i]["state"] for i in listed} == states
    for instance_id, participant, state, due in tracks:
        cell = listed[instance_id]["tracks"][participant]
        assert (cell["state"], cell["due"]) == (state, due.isoformat())
    overdue = {(i, p) for i, v in listed.items() for p, t in v["tracks"].items() if t["overdue"]}
    assert overdue == {("theme-1", "NI"), ("theme-1", "BZ")}
    # the Python views (tables, filters) say exactly the same
    assert {v.id: {p: t.overdue for p, t in v.tracks.items()} for v in mixed.status()} == \
        {i: {p: t["overdue"] for p, t in v["tracks"].items()} for i, v in listed.items()}


def test_csv_has_one_line_per_track(mixed):
    from click.testing import CliRunner

    from rcmflow.cli import cli

    result = CliRunner().invoke(cli, ["--home", str(mixed.home), "--db", mixed.config.db_url,
                                      "status", "--workflow", "thematic-consultation", "--csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 * 6
    nicaragua = next(r for r in rows if r["instance"] == "theme-1" and r["participant"] == "NI")
    assert nicaragua == {"instance": "theme-1", "workflow": "thematic-consultation",
                         "instance_state": "collecting_input", "participant": "NI", "name": "Nicaragua",
                         "state": "requested", "due": "2017-04-20", "overdue": "true",
                         "last_reminded": "", "reminders": "0",  # the CLI's clock: today
                         "no_answer_by": "", "late": ""}


def test_filters_and_the_blocking_sentence(mixed, rcmflow):
    late = json.loads(rcmflow("status", "--overdue", "--json").stdout)["instances"]
    # The CLI's clock is the real one: long after 2017, so every open consultation's
    # missing input is late; theme-1 still waits for NI and BZ.
    assert {p for i in late if i["id"] == "theme-1" for p in i["tracks"]} == {"NI", "BZ"}
    assert all(t["overdue"] for i in late for t in i["tracks"].values())
    two = json.loads(rcmflow("status", "-p", "NI", "-p", "MX", "--json").stdout)["instances"]
    assert all(set(i["tracks"]) == {"NI", "MX"} for i in two if i["tracks"])
    table = rcmflow("status", "--workflow", "thematic-consultation")
    assert "What each step waits for" in table.stdout
    assert "close_collection: waiting for BZ, NI: 4 of 6 tracks in submitted|accepted|declined" in table.stdout
    assert "3/6 submitted, 2/6 requested, 1/6 accepted" in table.stdout
    by_instance = rcmflow("status", "--workflow", "thematic-consultation", "--by", "instance")
    assert "Instances by participant" in by_instance.stdout
    unknown = rcmflow("status", "-p", "XX")
    assert unknown.exit_code == 1 and "unknown participant 'XX'; participants: BZ, GT" in unknown.stderr
    missing = rcmflow("status", "--workflow", "consultation")
    assert missing.exit_code == 1 and "unknown workflow 'consultation'" in missing.stderr


def test_streamed_json_is_the_listing_key_for_key(mixed, make_engine, rcmflow):
    """`status --json` is written as the database is read, and says exactly what the
    Python views say: the same instances in start order, the same keys in the same
    order, each instance's tracks in the order they were made."""
    from rcmflow.core.engine import instance_json

    mixed.fire("theme-1", "return_for_revision", "GT")  # a track that moved after others
    streamed = rcmflow("status", "--json")
    assert streamed.exit_code == 0
    today = make_engine()  # the command line's clock: overdue is as of today
    expected = json.dumps({"instances": [instance_json(v) for v in today.status()]})
    pairs = lambda text: json.loads(text, object_pairs_hook=list)  # noqa: E731 - keeps every key's place
    assert pairs(streamed.stdout) == pairs(expected)
    theme_1 = next(i for i in json.loads(streamed.stdout)["instances"] if i["id"] == "theme-1")
    assert list(theme_1["tracks"]) == MEMBERS
    one = json.loads(rcmflow("status", "theme-1", "--json").stdout)["instances"]
    assert [i["id"] for i in one] == ["theme-1"]


def test_streamed_json_of_an_unknown_instance_is_one_line_and_no_output(mixed, rcmflow, snapshot):
    before = snapshot()
    run = rcmflow("status", "theme-99", "--json")
    assert (run.exit_code != 0, run.stdout) == (True, "")
    assert run.stderr.count("\n") == 1 and "theme-99" in run.stderr
    assert snapshot() == before
