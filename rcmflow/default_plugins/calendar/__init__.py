"""The roadmap as a calendar: `rcmflow calendar` exports every open instance's dates.

Each instance not in a final state gives:

- one all-day event per distinct due date of its tracks ("theme-3: input due from 11
  countries"), naming in its description who has not met that deadline yet;
- one all-day event per other date param it has: a meeting (the Troika meeting, the
  online meeting on the declaration, the stocktaking meeting) or another deadline;
- one timed event for its pending timeout, naming the trigger `rcmflow tick` will fire.

The file is iCalendar (RFC 5545), which Outlook and Google Calendar import. Each event's
UID names what the event is (`theme-3.deadline@rcmflow`, `theme-1.timeout.collecting_input@rcmflow`),
never when it was exported, so importing a newer export updates the events instead of
adding copies; SEQUENCE is the instance's version, which only grows, so that clients
take the newer copy.

The parts, by job: `entries` (which events, and what each says), `ical` (the
iCalendar file), `commands` (`rcmflow calendar`).
"""

from __future__ import annotations

from rcmflow import hookimpl
from rcmflow.default_plugins.calendar.commands import add_commands


@hookimpl
def register_commands(cli, pass_engine):
    add_commands(cli, pass_engine)
