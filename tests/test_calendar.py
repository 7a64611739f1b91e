"""`rcmflow calendar`: the open instances' deadlines, meetings and timeouts as iCalendar."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, date_kind
from tests.conftest import one_line


def export(rcmflow, *args: str) -> Calendar:
    result = rcmflow("calendar", *args)
    assert result.exit_code == 0, result.stderr
    return Calendar.from_ical(result.stdout)


@pytest.fixture
def engine(engine):
    """The 2017 roadmap's steps opened today, after their deadlines: a replay."""
    return engine.replaying()


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


def uid(engine, what: str) -> str:
    """The UID of `what` ("theme-3.deadline") in the calendar of `engine`'s database."""
    return f"{what}@{engine.namespace()}.rcmflow"


def planned(calendar: Calendar) -> Calendar:
    """`calendar` with only the events still planned (not CANCELLED)."""
    kept = Calendar()
    for event in calendar.walk("VEVENT"):
        if str(event["STATUS"]) != "CANCELLED":
            kept.add_component(event)
    return kept


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
                expected[uid(engine, f"{view.id}.{name}")] = view.params[name]
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
    meetings = {key for key, e in by_uid.items() if e.categories == ["Meeting"]}
    assert meetings == {uid(engine, "declaration-2017.meeting"), uid(engine, "troika-2017-03-30.date"),
                        uid(engine, "review-2017.stocktaking"), uid(engine, "rcp-meeting-2017-03-22.date")}
    assert by_uid[uid(engine, "troika-2017-03-30.date")]["SUMMARY"].startswith("Troika meeting")
    assert "online meeting" in by_uid[uid(engine, "declaration-2017.meeting")]["SUMMARY"]

    theme = by_uid[uid(engine, "theme-3.deadline")]
    assert theme["SUMMARY"] == "theme-3: input due from 11 countries"
    assert theme.categories == ["Deadline"]
    assert "International cooperation and governance of migration" in theme["DESCRIPTION"]  # the theme's label
    assert "Not met yet by 11 of 11: Belize, Canada" in theme["DESCRIPTION"]
    assert "Belice" not in theme["DESCRIPTION"]  # in the home's language only
    assert all(str(e["STATUS"]) == "CONFIRMED" for e in calendar.walk("VEVENT"))
    # The Troika meeting's agenda is asked of every RCM delegation and the SACM, not only of countries.
    assert by_uid[uid(engine, "troika-2017-03-30.proposals_due")]["SUMMARY"].endswith("from 12 participants")


def test_meetings_are_told_from_deadlines_by_the_params_words(engine):
    kinds = {(d.name, p.name): date_kind(p)
             for d in engine.catalog.definitions.values() for p in d.params.values() if p.type == "date"}
    meetings = {key for key, kind in kinds.items() if kind == MEETING}
    assert meetings == {("declaration-adoption", "meeting"), ("troika-meeting", "date"),
                        ("regional-review", "stocktaking"), ("rcp-meeting", "date")}
    assert {name for (_, name), kind in kinds.items() if kind == DEADLINE} == {
        "deadline", "comments_due", "review_due", "amendments_due", "proposals_due", "adoption_due"}


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
                           if e["UID"] == uid(engine, "theme-3.deadline"))["DESCRIPTION"])

    assert "Not met yet by 9 of 11: Belize, Canada, Costa Rica" in description
    assert "Mexico" not in description and "United States" not in description
    spanish = str(next(e for e in Calendar.from_ical(rcmflow("--lang", "es", "calendar").stdout).walk("VEVENT")
                       if e["UID"] == uid(engine, "theme-3.deadline"))["DESCRIPTION"])
    assert "Pendiente para 9 de 11: Belice, Canadá" in spanish and "México" not in spanish


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

    assert by_uid[uid(engine, "theme-3.deadline")]["SUMMARY"] == "theme-3: input due from 10 countries"
    extended = by_uid[uid(engine, "theme-3.deadline.2017-06-09")]
    assert extended.decoded("DTSTART") == dt.date(2017, 6, 9)
    assert extended["SUMMARY"] == "theme-3: input due from 1 country"
    assert "Not met yet by 1 of 1: Mexico" in extended["DESCRIPTION"]


def test_a_finished_or_cancelled_step_comes_out_cancelled_with_the_same_uid(rcmflow, engine):
    rcmflow("quickstart")
    engine.fire("background-paper", "send_for_review")
    before = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}
    gone = {uid(engine, "background-paper.review_due"), uid(engine, "background-paper.timeout.in_review"),
            uid(engine, "theme-2.deadline")}
    assert gone <= set(before) and all(str(before[key]["STATUS"]) == "CONFIRMED" for key in gone)

    engine.fire("background-paper", "close_review")  # leaves in_review: its timeout is off
    after_review = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}
    assert str(after_review[uid(engine, "background-paper.timeout.in_review")]["STATUS"]) == "CANCELLED"
    assert str(after_review[uid(engine, "background-paper.review_due")]["STATUS"]) == "CONFIRMED"
    engine.fire("background-paper", "publish")
    engine.fire("theme-2", "cancel")
    after = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}

    for key in gone:  # the same event, cancelled, newer, so that a client removes it
        assert str(after[key]["STATUS"]) == "CANCELLED", key
        assert after[key]["SEQUENCE"] > before[key]["SEQUENCE"], key
    assert {k for k, e in after.items() if str(e["STATUS"]) == "CANCELLED"} == gone
    assert set(dated(planned(export(rcmflow)))) == set(expected_dates(engine))
    # and for as long as the database keeps the step, every export says so
    assert {str(e["UID"]) for e in export(rcmflow).walk("VEVENT") if str(e["STATUS"]) == "CANCELLED"} == gone


def test_uids_are_the_databases_own(rcmflow, engine, tmp_path, home):
    from click.testing import CliRunner

    from rcmflow.cli import cli

    rcmflow("quickstart")
    other = f"sqlite:///{tmp_path / 'test-copy.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--home", str(home), "--db", other, "--actor", "ts-officer", "quickstart"]).exit_code == 0
    elsewhere = Calendar.from_ical(runner.invoke(cli, ["--home", str(home), "--db", other, "calendar"]).stdout)
    here = export(rcmflow)
    assert len(dated(here)) == len(dated(elsewhere)) == 15
    assert not set(dated(here)) & set(dated(elsewhere))  # importing one never overwrites the other's events
    namespace = engine.namespace()
    assert len(namespace) == 32 and engine.namespace() == namespace  # made once, kept


def test_events_have_the_secretariat_as_organizer(rcmflow, home):
    rcmflow("quickstart")
    organizers = {event["ORGANIZER"].to_ical() for event in export(rcmflow).walk("VEVENT")}
    assert organizers == {b"mailto:coordinator@ts.example.org"}  # the first of members.yaml's secretariat

    (home / "rcmflow.toml").write_text('[smtp]\nfrom = "RCM TS <ts@rcm.example.org>"\n', encoding="utf-8")
    event = next(iter(export(rcmflow).walk("VEVENT")))
    assert event["ORGANIZER"].to_ical() == b"mailto:ts@rcm.example.org" and event["ORGANIZER"].params["CN"] == "RCM TS"

    (home / "rcmflow.toml").write_text('[calendar]\norganizer = "Secretaría <agenda@rcm.example.org>"\n',
                                       encoding="utf-8")
    event = next(iter(export(rcmflow).walk("VEVENT")))
    assert event["ORGANIZER"].to_ical() == b"mailto:agenda@rcm.example.org"


def test_a_bad_organizer_is_one_line(rcmflow, home, snapshot):
    rcmflow("quickstart")
    (home / "rcmflow.toml").write_text('[calendar]\norganizer = "the secretariat"\n', encoding="utf-8")
    before = snapshot()
    result = rcmflow("calendar")
    assert result.exit_code != 0 and result.stdout == ""
    assert one_line(result) == ("Error: rcmflow.toml: [calendar] organizer 'the secretariat' is not an e-mail "
                                'address; write organizer = "RCM Technical Secretariat <ts@example.org>"')
    assert snapshot() == before


def test_titles_and_descriptions_in_the_home_language(rcmflow, engine, home):
    rcmflow("quickstart")
    (home / "rcmflow.toml").write_text('language = "es"\n', encoding="utf-8")
    calendar = export(rcmflow)
    assert str(calendar["X-WR-CALNAME"]) == "Hoja de ruta de la CRM"
    theme = next(e for e in calendar.walk("VEVENT") if e["UID"] == uid(engine, "theme-3.deadline"))
    assert theme["SUMMARY"] == "theme-3: aportes de 11 países" and theme.categories == ["Fecha límite"]
    assert "Consulta temática theme-3 (estado: programado)" in theme["DESCRIPTION"]
    assert "Pendiente para 11 de 11: Belice, Canadá" in theme["DESCRIPTION"]
    assert "Not met" not in theme["DESCRIPTION"] and "Belize" not in theme["DESCRIPTION"]
    result = rcmflow("calendar", "--out", str(home / "hoja.ics"))
    assert result.stdout.strip() == (f"15 eventos (11 fechas límite, 4 reuniones, 0 plazos automáticos) "
                                     f"escritos en {home / 'hoja.ics'}")


def test_init_writes_the_machines_time_zone_into_a_new_home(rcmflow, engine, home, monkeypatch):
    monkeypatch.setenv("TZ", "America/El_Salvador")
    (home / "rcmflow.toml").unlink(missing_ok=True)
    result = rcmflow("init")
    assert result.exit_code == 0
    assert (f"time zone America/El_Salvador (this machine's) written to {home / 'rcmflow.toml'}"
            in result.stdout)
    assert (home / "rcmflow.toml").read_text().startswith('timezone = "America/El_Salvador"')
    again = rcmflow("quickstart")
    assert again.exit_code == 0 and "time zone" not in again.stdout  # once: the file names one now
    # a theme's deadline, a date, closes at the end of that day in El Salvador
    assert rcmflow("--replay", "fire", "theme-1", "open").exit_code == 0
    timeout = next(e for e in export(rcmflow).walk("VEVENT") if ".timeout." in str(e["UID"]))
    assert timeout.decoded("DTSTART") == dt.datetime(2017, 4, 21, 6, 0, tzinfo=dt.timezone.utc)


def test_quickstart_puts_the_zone_above_the_tables_of_rcmflow_toml(rcmflow, home, monkeypatch):
    monkeypatch.setenv("TZ", "America/Mexico_City")
    (home / "rcmflow.toml").write_text('[serve]\nport = 8100\n', encoding="utf-8")
    result = rcmflow("quickstart")
    assert result.exit_code == 0 and "time zone America/Mexico_City" in result.stdout
    import tomllib

    settings = tomllib.loads((home / "rcmflow.toml").read_text())
    assert settings == {"timezone": "America/Mexico_City", "serve": {"port": 8100}}


def test_a_pending_timeout_is_a_timed_event_with_its_trigger(rcmflow, engine, home):
    # The deadline's day ends at midnight in El Salvador, 06:00 UTC.
    (home / "rcmflow.toml").write_text('timezone = "America/El_Salvador"\n')
    rcmflow("quickstart")
    assert not any(".timeout." in uid for uid in dated(export(rcmflow)))
    assert rcmflow("--replay", "fire", "theme-1", "open").exit_code == 0
    by_uid = {str(e["UID"]): e for e in export(rcmflow).walk("VEVENT")}

    timeout = by_uid[uid(engine, "theme-1.timeout.collecting_input")]
    assert timeout.decoded("DTSTART") == dt.datetime(2017, 4, 21, 6, 0, tzinfo=dt.timezone.utc)
    assert "DTEND" not in timeout  # a moment, not a stretch of time
    assert timeout["SUMMARY"] == "theme-1: close_collection (timeout)"
    assert "fires close_collection on theme-1" in timeout["DESCRIPTION"]
    assert timeout.categories == ["Timeout"]
    assert [key for key in by_uid if ".timeout." in key] == [uid(engine, "theme-1.timeout.collecting_input")]


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
