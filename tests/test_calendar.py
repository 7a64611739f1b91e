"""`rcmflow calendar`: the open instances' deadlines, meetings and timeouts as iCalendar."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, date_kind


def export(rcmflow, *args: str) -> Calendar:
    result = rcmflow("calendar", *args)
    assert result.exit_code == 0, result.stderr
    return Calendar.from_ical(result.stdout)


def events(calendar: Calendar) -> dict[str, dict]:
    """Each event by UID, as {property: value as written}."""
    found = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"])
        assert uid not in found, f"{uid} twice"
        found[uid] = {name: value.to_ical() for name, value in event.items()}
    return found


def dated(calendar: Calendar) -> dict[str, dt.date | dt.datetime]:
    return {str(e["UID"]): e.decoded("DTSTART") for e in calendar.walk("VEVENT")}


def expected_dates(engine) -> dict[str, dt.date]:
    """What the instances' params say: one event per date param of each open instance
    (the tracks' deadline is made from one of them and is that param's event)."""
    expected = {}
    for view in engine.status():
        if engine.is_final(view):
            continue
        definition = engine.catalog.definitions[view.workflow]
        for name, param in definition.params.items():
            if param.type == "date" and view.params.get(name):
                expected[f"{view.id}.{name}@rcmflow"] = view.params[name]
    return expected


def test_the_roadmap_gives_one_all_day_event_per_deadline_and_meeting(rcmflow, engine):
    assert rcmflow("quickstart").exit_code == 0
    calendar = export(rcmflow)

    assert str(calendar["VERSION"]) == "2.0"
    assert "rcmflow" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "RCM roadmap"
    expected = expected_dates(engine)
    assert len(expected) == 15  # 6 themes, 2 dates each for the review, Troika, declaration; 2 deliverables; the RCPs
    assert dated(calendar) == expected  # all day (dates, not times), on the params' days
    for event in calendar.walk("VEVENT"):
        assert event.decoded("DTEND") == event.decoded("DTSTART") + dt.timedelta(days=1)

    by_uid = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    meetings = {uid for uid, e in by_uid.items() if e.categories == ["Meeting"]}
    assert meetings == {"declaration-2017.meeting@rcmflow", "troika-2017-03-30.date@rcmflow",
                        "review-2017.stocktaking@rcmflow", "rcp-meeting-2017-03-22.date@rcmflow"}
    assert by_uid["troika-2017-03-30.date@rcmflow"]["SUMMARY"].startswith("Troika meeting")
    assert "online meeting" in by_uid["declaration-2017.meeting@rcmflow"]["SUMMARY"]

    theme = by_uid["theme-3.deadline@rcmflow"]
    assert theme["SUMMARY"] == "theme-3: input due from 11 countries"
    assert theme.categories == ["Deadline"]
    assert "International cooperation and governance of migration" in theme["DESCRIPTION"]  # the theme's label
    assert "Not met yet by 11 of 11: Belize, Canada" in theme["DESCRIPTION"]
    assert "Fecha límite para 11 países" in theme["DESCRIPTION"] and "Belice, Canadá" in theme["DESCRIPTION"]
    # The Troika meeting's agenda is asked of every RCM delegation and the SACM, not only of countries.
    assert by_uid["troika-2017-03-30.proposals_due@rcmflow"]["SUMMARY"].endswith("from 12 participants")


def test_meetings_are_told_from_deadlines_by_the_params_words(engine):
    kinds = {(d.name, p.name): date_kind(p)
             for d in engine.catalog.definitions.values() for p in d.params.values() if p.type == "date"}
    meetings = {key for key, kind in kinds.items() if kind == MEETING}
    assert meetings == {("declaration-adoption", "meeting"), ("troika-meeting", "date"),
                        ("regional-review", "stocktaking"), ("rcp-meeting", "date")}
    assert {name for (_, name), kind in kinds.items() if kind == DEADLINE} == {
        "deadline", "comments_due", "review_due", "amendments_due", "proposals_due"}


def test_a_second_export_has_the_same_events(rcmflow, engine):
    rcmflow("quickstart")
    engine.fire("theme-1", "open")
    first, second = events(export(rcmflow)), events(export(rcmflow))

    assert set(first) == set(second) and len(first) == 16
    for export_ in (first, second):
        for event in export_.values():
            del event["DTSTAMP"]  # when the file was made: the one thing that may change
    assert first == second


def test_the_description_names_who_has_not_met_the_deadline(rcmflow, engine):
    rcmflow("quickstart")
    engine.fire("theme-3", "open")
    engine.fire("theme-3", "submit", participant="MX")
    engine.fire("theme-3", "decline", participant="US")
    description = str(next(e for e in export(rcmflow).walk("VEVENT")
                           if e["UID"] == "theme-3.deadline@rcmflow")["DESCRIPTION"])

    assert "Not met yet by 9 of 11: Belize, Canada, Costa Rica" in description
    assert "Mexico" not in description and "United States" not in description
    assert "Pendiente para 9 de 11: Belice, Canadá" in description and "México" not in description


def test_a_track_given_another_date_has_its_own_event(rcmflow, engine, db_url):
    rcmflow("quickstart")
    store = sa.create_engine(db_url)
    try:
        with store.begin() as conn:  # what an extension for Mexico would leave in the database
            conn.execute(sa.text("UPDATE tracks SET due = :due WHERE instance_id = 'theme-3' AND participant = 'MX'"),
                         {"due": dt.date(2017, 6, 9)})
    finally:
        store.dispose()
    by_uid = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}

    assert by_uid["theme-3.deadline@rcmflow"]["SUMMARY"] == "theme-3: input due from 10 countries"
    extended = by_uid["theme-3.deadline.2017-06-09@rcmflow"]
    assert extended.decoded("DTSTART") == dt.date(2017, 6, 9)
    assert extended["SUMMARY"] == "theme-3: input due from 1 country"
    assert "Not met yet by 1 of 1: Mexico" in extended["DESCRIPTION"]


def test_finished_instances_are_left_out(rcmflow, engine):
    rcmflow("quickstart")
    engine.fire("background-paper", "send_for_review")
    uids = set(dated(export(rcmflow)))
    assert {"background-paper.review_due@rcmflow", "background-paper.timeout.in_review@rcmflow",
            "theme-2.deadline@rcmflow"} <= uids

    engine.fire("background-paper", "close_review")
    engine.fire("background-paper", "publish")
    engine.fire("theme-2", "cancel")
    after = set(dated(export(rcmflow)))

    assert uids - after == {"background-paper.review_due@rcmflow", "background-paper.timeout.in_review@rcmflow",
                            "theme-2.deadline@rcmflow"}
    assert after == set(expected_dates(engine))


def test_a_pending_timeout_is_a_timed_event_with_its_trigger(rcmflow, home):
    # The deadline's day ends at midnight in El Salvador, 06:00 UTC.
    (home / "rcmflow.toml").write_text('timezone = "America/El_Salvador"\n')
    rcmflow("quickstart")
    assert not any(".timeout." in uid for uid in dated(export(rcmflow)))
    assert rcmflow("fire", "theme-1", "open").exit_code == 0
    by_uid = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}

    timeout = by_uid["theme-1.timeout.collecting_input@rcmflow"]
    assert timeout.decoded("DTSTART") == dt.datetime(2017, 4, 21, 6, 0, tzinfo=dt.timezone.utc)
    assert "DTEND" not in timeout  # a moment, not a stretch of time
    assert timeout["SUMMARY"] == "theme-1: close_collection (timeout)"
    assert "fires close_collection on theme-1" in timeout["DESCRIPTION"]
    assert timeout.categories == ["Timeout"]
    assert [uid for uid in by_uid if ".timeout." in uid] == ["theme-1.timeout.collecting_input@rcmflow"]


def test_out_writes_the_file_and_says_what_it_holds(rcmflow, tmp_path):
    rcmflow("quickstart")
    target = tmp_path / "roadmap.ics"
    result = rcmflow("calendar", "--out", str(target))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"15 events (11 deadlines, 4 meetings, 0 timeouts) written to {target}"
    assert len(Calendar.from_ical(target.read_bytes()).walk("VEVENT")) == 15


@pytest.mark.parametrize("where", ["missing/roadmap.ics", "."])
def test_an_unwritable_out_is_one_line_and_a_failure(rcmflow, tmp_path, where):
    rcmflow("quickstart")
    result = rcmflow("calendar", "--out", str(tmp_path / where))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot write the calendar to {tmp_path / where}: ")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


@pytest.mark.no_database
def test_the_plugin_is_built_in(rcmflow):
    plugins = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    assert plugins["rcmflow.default_plugins.calendar"]["source"] == "built-in"
    assert plugins["rcmflow.default_plugins.calendar"]["commands"] == ["calendar"]
