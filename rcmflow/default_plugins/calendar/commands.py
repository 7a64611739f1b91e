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
from rcmflow.default_plugins.calendar.entries import DEADLINE, MEETING, TIMEOUT, calendar_entries, counted

if TYPE_CHECKING:
    from rcmflow import Engine


def add_commands(cli: click.Group, pass_engine: Any) -> None:
    """Add `calendar` to `cli`; its docstring is its help."""

    @cli.command()
    @click.option("--out", "-o", metavar="FILE", help="Write the calendar to FILE instead of standard output.")
    @pass_engine
    def calendar(engine, out):
        """Deadlines, meetings and timeouts of the open instances, as an iCalendar file.

        Import it into Outlook or Google Calendar; importing a newer export updates
        the events instead of adding copies.
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
        raise BadInput(f"cannot write the calendar to {out}: {exc.strerror or exc}") from None
    kinds = Counter(e.kind for e in entries)
    counts = ", ".join(counted(kinds[kind], kind) for kind in (DEADLINE, MEETING, TIMEOUT))
    click.echo(f"{counted(len(entries), 'event')} ({counts}) written to {out}")
