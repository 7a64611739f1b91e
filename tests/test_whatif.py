"""`rcmflow whatif`: the plan played forward on a throw-away copy of the database, with
every effect off, as planned and with a country late; what slips, across instances
(the regional review waits on the six consultations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import one_line
from tests.test_notify import _no_smtp_environment, smtp  # noqa: F401 - fixtures

DEADLINES = ["2030-05-06", "2030-05-20", "2030-06-03", "2030-06-17", "2030-07-01", "2030-07-15"]


@pytest.fixture
def roadmap(home: Path, rcmflow, smtp):  # noqa: F811
    """The six consultations and the review, started (not opened), with rcmflow.toml
    sending e-mail through a loopback SMTP server."""
    (home / "rcmflow.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                       'from = "RCM TS <ts@rcm.example.org>"\n')
    assert rcmflow("init").exit_code == 0
    for theme, deadline in enumerate(DEADLINES, start=1):
        assert rcmflow("start", "thematic-consultation", "--set", f"theme={theme}",
                       "--set", f"deadline={deadline}").exit_code == 0
    assert rcmflow("start", "regional-review", "--set", "year=2030", "--set", "comments_due=2030-09-16",
                   "--set", "stocktaking=2030-10-07").exit_code == 0
    return smtp.mailbox


def files(home: Path) -> dict[str, tuple[int, int]]:
    """Every file under the home but the database itself, with its size and time."""
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in home.rglob("*") if p.is_file() and not p.name.startswith("rcmflow.db")}


def test_nicaragua_ten_days_late_delays_the_review_and_sends_nothing(roadmap, rcmflow, home, snapshot):
    before, written = snapshot(), files(home)
    result = rcmflow("whatif", "--late", "NI=10d", "--from", "2030-04-01", "--until", "2030-12-31", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["from"], report["until"], report["late"]) == ("2030-04-01", "2030-12-31", {"NI": 10})
    # Nicaragua answers each consultation ten days late, and the review's comments too
    late = {(r["instance"], tuple(r["participants"])): (r["due"], r["answered"]) for r in report["deadlines"]}
    assert late[("theme-1", ("NI",))] == ("2030-05-06", "2030-05-16")
    assert late[("review-2030", ("NI",))] == ("2030-09-16", "2030-09-26")
    assert len(late) == 7
    steps = {(r["instance"], r["trigger"]): (r["planned"], r["whatif"], r["slip_days"]) for r in report["steps"]}
    assert steps[("theme-1", "close_collection")] == ("2030-05-06", "2030-05-16", 10)
    # the review compiles once the last consultation is submitted: ten days later
    assert steps[("review-2030", "compile")] == ("2030-07-15", "2030-07-25", 10)
    assert steps[("review-2030", "endorse_review")] == ("2030-09-16", "2030-09-26", 10)
    assert {"instance": "review-2030", "param": "comments_due", "date": "2030-09-16",
            "planned_state": "endorsed", "whatif_state": "circulating"} in report["dates"]
    assert report["blocked"] == []
    # a copy was played: the database, the home and the SMTP server saw nothing
    assert snapshot() == before
    assert files(home) == written
    assert roadmap.received == []

    text = rcmflow("whatif", "--late", "NI=10d", "--from", "2030-04-01", "--until", "2030-05-31")
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "What if NI is 10 days late: played from 2030-04-01 to 2030-05-31, as planned and late."
    assert "  theme-1: NI due 2030-05-06, answer 2030-05-16 (+10 days); as planned 2030-05-06" in lines
    assert "  theme-1: close_collection -> consolidating 2030-05-06 -> 2030-05-16 (+10 days)" in lines
    assert snapshot() == before and roadmap.received == []


def test_nobody_late_nothing_slips(roadmap, rcmflow):
    result = rcmflow("whatif", "--from", "2030-04-01", "--until", "2030-05-10")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == "Nothing slips."


@pytest.mark.parametrize("args, error", [
    (["--late", "XX=10d"], "Error: --late XX: not a country of members.yaml; countries: BZ, CA"),
    (["--late", "NI"], "Error: --late expects COUNTRY=DAYS, e.g. --late NI=10d; got 'NI'"),
    (["--late", "NI=ten"], "Error: --late NI=ten: 'ten' is not a duration"),
    (["--late", "NI=10h"], "Error: --late NI=10h: lateness is a number of whole days"),
    (["--until", "soon"], "Error: --until: "),
    (["--from", "2030-05-01", "--until", "2030-04-01"],
     "Error: --until 2030-04-01 is before the first day played, 2030-05-01"),
])
def test_what_a_user_gets_wrong_is_one_line_and_changes_nothing(roadmap, rcmflow, snapshot, args, error):
    before = snapshot()
    result = rcmflow("whatif", *args)
    assert result.exit_code != 0
    assert one_line(result).startswith(error)
    assert snapshot() == before and roadmap.received == []
