"""`rcmflow whatif`: what slips when some countries are late, played on a copy."""

from __future__ import annotations

import sys

import click

from rcmflow.cli.group import cli, pass_engine
from rcmflow.cli.params import json_option
from rcmflow.errors import BadInput
from rcmflow.language import _
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
            raise BadInput(_("--late expects COUNTRY=DAYS, e.g. --late NI=10d; got {value!r}").format(value=value))
        try:
            late = parse_duration(days)
        except BadInput as exc:
            raise BadInput(f"--late {value}: {exc}") from None
        if late != dt.timedelta(days=late.days):
            raise BadInput(_("--late {value}: lateness is a number of whole days, e.g. --late NI=10d").format(
                value=value))
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
    for code, _days in late:
        if code not in countries:
            raise BadInput(_("--late {code}: not a country of members.yaml; countries: {known}").format(
                code=code, known=", ".join(countries)))
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
    late = _(" and ").join(_("{code} is {days} days late").format(code=code, days=days)
                           for code, days in report["late"].items()) or _("nobody is late")
    lines = [_("What if {late}: played from {first} to {last}, as planned and late.").format(
        late=late, first=report["from"], last=report["until"])]
    if report["past_deadlines"]:
        lines.append(_("Note: {count} deadlines are before {first}: countries answer them at once in both plays; "
                       "give --from an earlier day to see them slip.").format(count=report["past_deadlines"],
                                                                              first=report["from"]))
    sections = [(_("Deadlines answered late"), report["deadlines"], _late_answer),
                (_("Steps that slip"), report["steps"], _slip),
                (_("Dates of the plan reached in another state"), report["dates"], _date_missed),
                (_("Instances that end blocked"), report["blocked"], _blocked)]
    if not any(rows for _title, rows, _line in sections[:3]):
        lines.append(_("Nothing slips."))
    for title, rows, line in sections:
        if rows:
            lines += ["", f"{title}:"] + [line(r) for r in rows]
    return lines


def _late_answer(r: dict) -> str:
    answer = (_("answer {day} ({days:+d} days)").format(day=r["answered"], days=r["days_late"]) if r["answered"]
              else _("no answer by the end"))
    line = _("{instance}: {who} due {due}, {answer}").format(instance=r["instance"], who=", ".join(r["participants"]),
                                                             due=r["due"], answer=answer)
    return f"  {line}" + ("; " + _("as planned {day}").format(day=r["planned"]) if r["planned"] else "")


def _slip(r: dict) -> str:
    if r["slip_days"] is not None:
        when = _("{planned} -> {whatif} ({days:+d} days)").format(planned=r["planned"], whatif=r["whatif"],
                                                                  days=r["slip_days"])
    else:
        when = _("planned {planned}, now {whatif}").format(planned=r["planned"] or _("never"),
                                                           whatif=r["whatif"] or _("not by the end"))
    return f"  {r['instance']}: {r['trigger']} -> {r['dest']} {when}"


def _date_missed(r: dict) -> str:
    return "  " + _("{date} {instance} {param}: as planned {planned}, now still {whatif}").format(
        date=r["date"], instance=r["instance"], param=r["param"], planned=r["planned_state"], whatif=r["whatif_state"])


def _blocked(r: dict) -> str:
    line = _("{instance} in {state}: {reason}").format(instance=r["instance"], state=r["state"], reason=r["reason"])
    return f"  {line}" + (" " + _("(as planned too)") if r["as_planned"] else "")
