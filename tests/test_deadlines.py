"""Several deadlines on one track: the declaration's amendments, then every country's
finalised input before the 24 April online meeting. Each deadline has its own reminders,
sent once through a real SMTP server on loopback, in the recipient's language and naming
the deadline; `extend --deadline NAME` moves one and leaves the other alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import one_line
from tests.test_notify import _no_smtp_environment, smtp  # noqa: F401 - fixtures

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]


@pytest.fixture
def declaration(home: Path, rcmflow, smtp):  # noqa: F811
    # every day a working day: this is about which deadline, not when (see test_workdays.py)
    (home / "rcmflow.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                                       'from = "RCM TS <ts@rcm.example.org>"\n\n'
                                       '[calendar]\nweekend = []\nholidays = false\n')
    assert rcmflow("init").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "start", "declaration-adoption", "--set", "year=2030",
                   "--set", "meeting=2030-04-24", "--set", "amendments_due=2030-04-14").exit_code == 0
    (home / "base.md").write_text("1. Migrants' rights\n")
    result = rcmflow("--now", "2030-03-01T10:00", "fire", "declaration-2030", "share_base_text",
                     "--set-file", f"text={home / 'base.md'}")
    assert result.exit_code == 0, result.stderr
    return smtp.mailbox


class Subjects(dict):
    """The subject each address got on a day, and the countries reminded (`countries`)."""

    countries: list[str]


def tick(rcmflow, mailbox, day: str) -> Subjects:
    """Tick twice on `day`: the subject each address got (a second message would fail)."""
    mailbox.received.clear()
    subjects = Subjects()
    subjects.countries = []
    for hour in ("09", "15"):
        result = rcmflow("tick", "--now", f"{day}T{hour}:00", "--json")
        assert result.exit_code == 0, result.stderr
        subjects.countries += [r["participant"] for r in json.loads(result.stdout)["reminded"]]
    for _, rcpts, message in mailbox.received:
        for rcpt in rcpts:
            assert rcpt not in subjects, f"{rcpt} got two messages on {day}"
            subjects[rcpt] = str(message["Subject"])
    return subjects


def answer_amendments(rcmflow, *codes: str) -> None:
    args = [a for code in codes for a in ("-p", code)]
    result = rcmflow("--now", "2030-04-09T12:00", "fire", "declaration-2030", "no_comments", *args)
    assert result.exit_code == 0, result.stderr


def test_each_deadline_is_reminded_once_in_the_recipients_language_and_named(declaration, rcmflow):
    before_amendments = tick(rcmflow, declaration, "2030-04-07")
    assert sorted(before_amendments.countries) == sorted(MEMBERS)
    assert "enmiendas al texto base" in before_amendments["focal@gt.example.org"]
    assert "amendments to the base text" in before_amendments["focal@us.example.org"]
    assert "quedan 7 días" in before_amendments["focal@gt.example.org"]
    assert tick(rcmflow, declaration, "2030-04-08") == {}  # the 7-day reminder went already

    answer_amendments(rcmflow, *MEMBERS)
    shown = rcmflow("--now", "2030-04-10T09:00", "status", "declaration-2030").stdout
    assert "next deadline: finalised (finalised input before the online meeting), 2030-04-24, owed by 11 of 11" \
        in " ".join(shown.split())

    # the amendments are all in: only the finalised input is reminded, a week before the meeting
    before_meeting = tick(rcmflow, declaration, "2030-04-17")
    assert sorted(before_meeting.countries) == sorted(MEMBERS)
    gt = before_meeting["focal@gt.example.org"]
    assert "insumos finales antes de la reunión virtual" in gt and "24 de abril de 2030" in gt
    assert "finalised input before the online meeting" in before_meeting["focal@bz.example.org"]
    assert tick(rcmflow, declaration, "2030-04-17") == {}
    day_before = tick(rcmflow, declaration, "2030-04-23")
    assert len(day_before.countries) == 11 and "mañana" in day_before["focal@gt.example.org"]
    reminders = [e for e in json.loads(rcmflow("history", "declaration-2030", "--json").stdout)
                 if e["trigger"] == "remind" and e["participant"] == "GT"]
    assert [(e["data"]["deadline"], e["data"]["due"]) for e in reminders] == [
        ("amendments", "2030-04-14"), ("finalised", "2030-04-24"), ("finalised", "2030-04-24")]
    assert [e["note"] for e in reminders] == ["reminder: 7 days before the deadline, amendments (2030-04-14)",
                                             "reminder: 7 days before the deadline, finalised (2030-04-24)",
                                             "reminder: 1 day before the deadline, finalised (2030-04-24)"]


def test_a_country_that_has_finalised_is_not_reminded(declaration, rcmflow):
    answer_amendments(rcmflow, *MEMBERS)
    result = rcmflow("--now", "2030-04-10T09:00", "fire", "declaration-2030", "finalise_input", "-p", "MX")
    assert result.exit_code == 0, result.stderr
    reminded = tick(rcmflow, declaration, "2030-04-17")
    assert sorted(reminded.countries) == sorted(set(MEMBERS) - {"MX"}) and "focal@mx.example.org" not in reminded


def test_extending_one_deadline_leaves_the_others_reminders_alone(declaration, rcmflow, home):
    declaration.received.clear()
    result = rcmflow("--now", "2030-04-02T09:00", "extend", "declaration-2030", "--deadline", "finalised",
                     "-p", "GT", "--to", "2030-04-28", "--note", "national consultation")
    assert result.exit_code == 0, result.stderr
    assert "deadline finalised of GT moved to 2030-04-28" in result.stdout
    notice = declaration.to("focal@gt.example.org")
    assert "insumos finales antes de la reunión virtual" in str(notice["Subject"])
    [event] = [e for e in json.loads(rcmflow("history", "declaration-2030", "--json").stdout)
               if e["trigger"] == "extend"]
    assert event["data"] == {"from": "2030-04-24", "to": "2030-04-28", "deadline": "finalised"}
    # the meeting itself stays on its day
    shown = " ".join(rcmflow("--now", "2030-04-02T09:00", "status", "declaration-2030", "--wide").stdout.split())
    assert "meeting=2030-04-24" in shown and "amendments_due=2030-04-14" in shown

    # the amendments are still due on the 14th for Guatemala too
    assert len(tick(rcmflow, declaration, "2030-04-07").countries) == 11
    answer_amendments(rcmflow, *MEMBERS)
    assert "GT" not in tick(rcmflow, declaration, "2030-04-17").countries
    assert tick(rcmflow, declaration, "2030-04-21").countries == ["GT"]
    assert tick(rcmflow, declaration, "2030-04-22") == {}


def test_extending_the_first_deadline_moves_only_it(declaration, rcmflow):
    result = rcmflow("--now", "2030-04-02T09:00", "extend", "declaration-2030", "--to", "2030-04-16")
    assert result.exit_code == 0, result.stderr
    shown = " ".join(rcmflow("--now", "2030-04-02T09:00", "status", "declaration-2030", "--wide").stdout.split())
    assert "meeting=2030-04-24" in shown and "amendments_due=2030-04-16" in shown
    assert "next deadline: amendments (amendments to the base text), 2030-04-16, owed by 11 of 11" in shown
    assert tick(rcmflow, declaration, "2030-04-07") == {}  # 7 days before the 16th, not the 14th
    assert len(tick(rcmflow, declaration, "2030-04-09").countries) == 11


def test_an_unknown_deadline_is_one_line_and_changes_nothing(declaration, rcmflow, snapshot):
    before = snapshot()
    result = rcmflow("--now", "2030-04-02T09:00", "extend", "declaration-2030", "--deadline", "final",
                     "--to", "2030-04-28")
    assert result.exit_code == 1
    assert one_line(result) == "Error: no deadline 'final'; deadlines: amendments, finalised"
    assert snapshot() == before


BAD = """\
workflow: two-deadlines
participants: [GT, MX]
track:
  initial: asked
  states: [asked, answered]
  deadline: "2030-04-20"
  deadlines:
    first: {date: "{{ params.nope }}", met: [answred]}
    Second: {date: "2030-05-01"}
  transitions:
    - {trigger: answer, source: asked, dest: answered}
initial: open
states:
  - open
  - {name: closed, final: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""


def test_validate_names_each_bad_deadline_with_its_line(rcmflow, home):
    path = home / "workflows" / "two-deadlines.yaml"
    path.write_text(BAD)
    result = rcmflow("workflows", "validate", str(path))
    assert result.exit_code == 1
    out, path = result.stdout + result.stderr, "workflows/two-deadlines.yaml"
    assert f"{path}:6: deadline: goes inside each of deadlines:" in out
    assert f"{path}:8:" in out and "nope" in out
    assert f"{path}:8: deadline met in unknown track state 'answred'" in out
    assert f"{path}:9: deadline name 'Second': use a lower case name" in out
