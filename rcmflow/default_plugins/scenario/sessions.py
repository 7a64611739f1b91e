"""`rcmflow work-session`: the input gathered at one of Mexico's work sessions, recorded
in one command for every country present, on each consultation it covered.

"The PPT proposed that Mexico organize an activity to collect input, through work
sessions, for the first three thematic sessions": at a session several countries give
their input together. Each attending country's track moves (`submit`, by the
secretariat) with the date, the place and the list of attendees, and the files of the
session; every step is checked before the first one is taken.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rcmflow.errors import BadInput, RcmflowError
from rcmflow.language import _

if TYPE_CHECKING:
    from rcmflow import Engine

TRIGGER = "submit"


def record_work_session(engine: "Engine", instances: list[str], day: dt.date, place: str,
                        attendees: list[str], files: list[Path], say=click.echo) -> int:
    """Move each attendee's track on each instance; the number of steps taken."""
    if not attendees:
        raise BadInput(_("name the countries present: --attendee MX --attendee GT …"))
    steps = [(i, code) for i in instances for code in attendees]
    for instance, code in steps:  # all or nothing that a check can see: refused before any step
        view = engine.get(instance)
        if code not in view.tracks:
            raise BadInput(_("{code} is not a participant of {instance}; its participants are {known}").format(
                code=code, instance=instance, known=", ".join(view.tracks)))
        [option] = [o for o in engine.triggers(instance, code) if o.trigger == TRIGGER] or [None]
        if option is None or not option.allowed:
            why = option.reason if option else f"its track is {view.tracks[code].state}"
            raise BadInput(_("{instance}: {trigger} of {code} is not possible now ({why}); nothing was recorded").format(
                instance=instance, trigger=TRIGGER, code=code, why=why))
    note = f"input gathered at the work session in {place} on {day.isoformat()} ({', '.join(attendees)} present)"
    values = {"work_session": f"{day.isoformat()}, {place}", "attendees": ", ".join(attendees)}
    done = 0
    for instance, code in steps:
        try:
            result = engine.fire(instance, TRIGGER, code, note, values, files)
        except RcmflowError as exc:
            raise type(exc)(_("{done} of {total} steps were taken and stand; then {instance} {code}: {error}").format(
                done=done, total=len(steps), instance=instance, code=code, error=exc)) from None
        done += 1
        say(f"{instance} {code}: {result.source} -> {result.dest} (event {result.event_seq})")
    return done


def work_session_command(pass_engine) -> click.Command:
    @click.command("work-session")
    @click.argument("instances", nargs=-1, required=True)
    @click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Day of the session.")
    @click.option("--place", required=True, help="Where it was held, e.g. Mexico City.")
    @click.option("--attendee", "-p", "attendees", multiple=True, metavar="CODE",
                  help="A country present (repeat for each).")
    @click.option("--attach", "files", multiple=True, type=click.Path(dir_okay=False, exists=True),
                  help="A file of the session (repeat for each): it goes with every country's input.")
    @pass_engine
    def work_session(engine, instances, day, place, attendees, files):
        """Record the input gathered at a work session for every country present.

        \b
        rcmflow work-session theme-1 theme-2 theme-3 --date 2017-04-19 --place "Mexico City" \\
            -p MX -p GT -p HN -p SV --attach session-mx.docx
        """
        engine.require_person("work-session")
        taken = record_work_session(engine, list(instances), day.date(), place, list(attendees),
                                    [Path(f) for f in files])
        click.echo(_("{moved} tracks moved: {countries} countries on {consultations} consultations").format(
            moved=taken, countries=len(attendees), consultations=len(instances)))

    return work_session
