"""`rcmflow whatif`: what slips when some countries are late, played on a copy."""

from __future__ import annotations

import sys

import click

from rcmflow.cli.group import cli, pass_engine
from rcmflow.cli.params import json_option
from rcmflow.errors import BadInput
from rcmflow.output import emit_json


class Lateness(click.ParamType):
    """`--late NI=10d`: converts to the pair (country, whole days). A bad value is a
    `BadInput`, the one-line error of every rcmflow command (as in `cli.params`)."""

    name = "COUNTRY=DAYS"

    def convert(self, value, param, ctx):
        import datetime as dt

        from rcmflow.model.values import parse_duration

        if isinstance(value, tuple):
            return value
        code, sep, days = str(value).partition("=")
        if not sep or not code.strip():
            raise BadInput(f"--late expects COUNTRY=DAYS, e.g. --late NI=10d; got {value!r}")
        try:
            late = parse_duration(days)
        except BadInput as exc:
            raise BadInput(f"--late {value}: {exc}") from None
        if late != dt.timedelta(days=late.days):
            raise BadInput(f"--late {value}: lateness is a number of whole days, e.g. --late NI=10d")
        return code.strip().upper(), late.days


class Day(click.ParamType):
    """A date, e.g. 2017-04-20."""

    name = "DATE"

    def convert(self, value, param, ctx):
        import datetime as dt

        from rcmflow.model.values import parse_date

        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(value)
        except BadInput as exc:
            raise BadInput(f"{param.opts[0] if param else 'date'}: {exc}") from None


@cli.command()
@click.option("--late", "late", type=Lateness(), multiple=True,
              help="A country that answers this many days after each of its deadlines, e.g. NI=10d; repeat.")
@click.option("--from", "first", type=Day(), help="The first day played [default: today].")
@click.option("--until", "last", type=Day(), help="The last day played [default: a month after the plan's last date].")
@json_option
@pass_engine
def whatif(engine, late, first, last, as_json: bool):
    """What slips if some countries are late: deadlines, steps, meetings, blocked instances.

    Plays the open instances forward day by day, twice, each time on a throw-away copy
    of the database (your database is only read): as planned, then with the --late
    countries late. Every effect is off: no e-mail, no document, no file, no SMTP
    connection. What differs between the two plays is printed.

    \b
    How the simulated people act:
      - the steps a process or a track takes: from its initial state, the first
        transition its file lists to a state not reached yet;
      - a country answers on its deadline day (a --late one N days after it): its
        track goes on to the first state that meets the deadline (submit, amend...);
        after that it takes a step only when its process waits for it (the guard
        that holds the next step names the country: accept, agree...);
      - nobody else waits: the secretariat and the PPT take each next step as soon
        as its guards allow it; a step that needs a person's input (a text given
        with --set) is held, and its instance ends blocked;
      - timeouts fall as 'rcmflow tick' makes them fall; days when nothing can change
        (no deadline, no date of the plan, no answer) are skipped.

    \b
    rcmflow whatif --late NI=10d                  what if Nicaragua is ten days late
    rcmflow whatif --late NI=10d --late BZ=5d --from 2017-03-01 --until 2017-12-31 --json
    """
    from rcmflow.core.slips import what_if

    countries = engine.members.countries
    for code, _ in late:
        if code not in countries:
            raise BadInput(f"--late {code}: not a country of members.yaml; countries: {', '.join(countries)}")
    start = first or engine.local(engine.now()).date()
    tty = sys.stderr.isatty()

    def progress(play: str, day) -> None:
        if tty:
            click.echo(f"{play}: {day.isoformat()} …", err=True)

    report = what_if(engine, dict(late), start, last, progress)
    if as_json:
        return emit_json(report)
    for line in describe(report):
        click.echo(line)


def describe(report: dict) -> list[str]:
    """The report in words, one finding a line."""
    late = " and ".join(f"{code} is {days} days late" for code, days in report["late"].items()) or "nobody is late"
    lines = [f"What if {late}: played from {report['from']} to {report['until']}, as planned and late."]
    if report["past_deadlines"]:
        lines.append(f"Note: {report['past_deadlines']} deadlines are before {report['from']}: countries answer "
                     f"them at once in both plays; give --from an earlier day to see them slip.")
    sections = [
        ("Deadlines answered late", report["deadlines"], lambda r: (
            f"  {r['instance']}: {', '.join(r['participants'])} due {r['due']}, "
            + (f"answer {r['answered']} ({r['days_late']:+d} days)" if r["answered"] else "no answer by the end")
            + (f"; as planned {r['planned']}" if r["planned"] else ""))),
        ("Steps that slip", report["steps"], lambda r: (
            f"  {r['instance']}: {r['trigger']} -> {r['dest']} "
            + (f"{r['planned']} -> {r['whatif']} ({r['slip_days']:+d} days)" if r["slip_days"] is not None
               else f"planned {r['planned'] or 'never'}, now {r['whatif'] or 'not by the end'}"))),
        ("Dates of the plan reached in another state", report["dates"], lambda r: (
            f"  {r['date']} {r['instance']} {r['param']}: as planned {r['planned_state']}, "
            f"now still {r['whatif_state']}")),
        ("Instances that end blocked", report["blocked"], lambda r: (
            f"  {r['instance']} in {r['state']}: {r['reason']}" + (" (as planned too)" if r["as_planned"] else ""))),
    ]
    if not any(rows for _, rows, _ in sections[:3]):
        lines.append("Nothing slips.")
    for title, rows, line in sections:
        if rows:
            lines += ["", f"{title}:"] + [line(r) for r in rows]
    return lines
