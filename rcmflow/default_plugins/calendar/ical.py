"""The iCalendar file (RFC 5545) of the entries, which Outlook and Google Calendar import.

SEQUENCE is the instance's version, which only grows, so that clients take the newer
copy of an event when a newer export is imported; a step finished or cancelled has a
higher version than when it was planned, so its events come out CANCELLED with a
higher SEQUENCE. A published event has an ORGANIZER (RFC 5546): the secretariat's
address of rcmflow.toml (`[calendar] organizer`, else `[smtp] from`), else the first
person of members.yaml with the secretariat role.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import TYPE_CHECKING

from icalendar import Calendar, Event, vCalAddress

import rcmflow
from rcmflow.errors import BadInput
from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, TIMEOUT, Entry, calendar_entries
from rcmflow.language import _

if TYPE_CHECKING:
    from rcmflow import Engine

PRODID = f"-//RCM Technical Secretariat//rcmflow {rcmflow.__version__}//EN"


def category(kind: str) -> str:
    return {DEADLINE: _("Deadline"), MEETING: _("Meeting"), TIMEOUT: _("Timeout")}[kind]


def organizer(engine: "Engine") -> vCalAddress | None:
    """The secretariat's address, as the events' ORGANIZER; None if nothing names one."""
    given = engine.config.section("calendar").get("organizer") or engine.config.section("smtp").get("from")
    if given is None:
        holders = [engine.members.people[i] for i in engine.members.holders("secretariat")]
        given = next((f"{p.name} <{p.email}>" for p in holders if p.email), None)
        if given is None:
            return None
    name, address = parseaddr(str(given))
    if "@" not in address:
        raise BadInput(f"rcmflow.toml: [calendar] organizer {given!r} is not an e-mail address; "
                       f'write organizer = "RCM Technical Secretariat <ts@example.org>"')
    calendar_user = vCalAddress(f"mailto:{address}")
    if name:
        calendar_user.params["cn"] = name
    return calendar_user


def build_calendar(engine: "Engine", entries: list[Entry] | None = None) -> Calendar:
    """The iCalendar of `entries` (by default every open instance's)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("RCM roadmap"))
    calendar.add("name", _("RCM roadmap"))
    stamp = engine.now().astimezone(dt.timezone.utc)
    secretariat = organizer(engine)
    for entry in calendar_entries(engine) if entries is None else entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        if secretariat is not None:
            event.add("organizer", secretariat)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.start)
        if not isinstance(entry.start, dt.datetime):
            event.add("dtend", entry.start + dt.timedelta(days=1))  # all day: the end is exclusive
        # A timed event without an end is a moment (RFC 5545 3.6.1), which a timeout is.
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("categories", [category(entry.kind)])
        # A deadline or a timeout does not make anyone busy; a meeting does.
        event.add("transp", "OPAQUE" if entry.kind == MEETING else "TRANSPARENT")
        event.add("sequence", entry.sequence)
        if entry.last_modified is not None:
            event.add("last-modified", entry.last_modified.astimezone(dt.timezone.utc))
        calendar.add_component(event)
    return calendar
