"""The iCalendar file (RFC 5545) of the entries, which Outlook and Google Calendar import.

SEQUENCE is the instance's version, which only grows, so that clients take the newer
copy of an event when a newer export is imported.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from icalendar import Calendar, Event

import rcmflow
from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, TIMEOUT, Entry, calendar_entries

if TYPE_CHECKING:
    from rcmflow import Engine

CALENDAR_NAME = "RCM roadmap"
PRODID = f"-//RCM Technical Secretariat//rcmflow {rcmflow.__version__}//EN"
CATEGORY = {DEADLINE: "Deadline", MEETING: "Meeting", TIMEOUT: "Timeout"}


def build_calendar(engine: "Engine", entries: list[Entry] | None = None) -> Calendar:
    """The iCalendar of `entries` (by default every open instance's)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", CALENDAR_NAME)
    calendar.add("name", CALENDAR_NAME)
    stamp = engine.now().astimezone(dt.timezone.utc)
    for entry in calendar_entries(engine) if entries is None else entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.start)
        if not isinstance(entry.start, dt.datetime):
            event.add("dtend", entry.start + dt.timedelta(days=1))  # all day: the end is exclusive
        # A timed event without an end is a moment (RFC 5545 3.6.1), which a timeout is.
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("categories", [CATEGORY[entry.kind]])
        # A deadline or a timeout does not make anyone busy; a meeting does.
        event.add("transp", "OPAQUE" if entry.kind == MEETING else "TRANSPARENT")
        event.add("sequence", entry.sequence)
        if entry.last_modified is not None:
            event.add("last-modified", entry.last_modified.astimezone(dt.timezone.utc))
        calendar.add_component(event)
    return calendar
