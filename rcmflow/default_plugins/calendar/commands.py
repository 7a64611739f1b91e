"""`rcmflow calendar`: the open instances' dates as an iCalendar file.

This module is loaded with every command, so it imports only what defining the
command needs; the calendar library loads when an export runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rcmflow.errors import BadInput
from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, TIMEOUT, calendar_entries
from rcmflow.language import _, ngettext

if TYPE_CHECKING:
    from rcmflow import Engine


def add_commands(cli: click.Group, pass_engine: Any) -> None:
    """Add `calendar` to `cli`; its docstring is its help."""

    @cli.command()
    @click.option("--out", "-o", metavar="FILE", help="Write the calendar to FILE instead of standard output.")
    @pass_engine
    def calendar(engine, out):
        """Deadlines, meetings and timeouts of the instances, as an iCalendar file.

        Import it into Outlook or Google Calendar; importing a newer export updates
        the events instead of adding copies, and removes those of a step finished or
        cancelled since (they are exported CANCELLED). Titles are in the home's
        language (--lang, language in rcmflow.toml); the organizer is [calendar]
        organizer of rcmflow.toml, else [smtp] from.
        """
        export_calendar(engine, out)


def export_calendar(engine: "Engine", out: str | None) -> None:
    """Write the calendar to `out` and say what it holds, or print it when `out` is None."""
    from rcmflow.default_plugins.calendar.ical import build_calendar  # the calendar library is slow to import

    entries = calendar_entries(engine)
    data = build_calendar(engine, entries).to_ical()
    if out is None:
        click.echo(data, nl=False)
        return
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise BadInput(_("cannot write the calendar to {file}: {reason}").format(
            file=out, reason=exc.strerror or exc)) from None
    click.echo(summary(entries, out))


def summary(entries: list, out: str) -> str:
    """ "14 events (11 deadlines, 3 meetings, 0 timeouts; 2 cancelled) written to FILE"."""
    planned = [e for e in entries if not e.cancelled]
    kinds = Counter(e.kind for e in planned)
    words = {DEADLINE: ngettext("{count} deadline", "{count} deadlines", kinds[DEADLINE]),
             MEETING: ngettext("{count} meeting", "{count} meetings", kinds[MEETING]),
             TIMEOUT: ngettext("{count} timeout", "{count} timeouts", kinds[TIMEOUT])}
    counts = ", ".join(words[kind].format(count=kinds[kind]) for kind in (DEADLINE, MEETING, TIMEOUT))
    cancelled = len(entries) - len(planned)
    if cancelled:
        counts += "; " + ngettext("{count} cancelled", "{count} cancelled", cancelled).format(count=cancelled)
    return _("{events} ({counts}) written to {file}").format(
        events=ngettext("{count} event", "{count} events", len(planned)).format(count=len(planned)),
        counts=counts, file=out)
