"""What slips: two plays of the plan (as planned, and with some countries late)
compared. Only what differs is reported, but for the instances that end blocked."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Callable

from rcmflow.context import InstanceView
from rcmflow.core.whatif import MAX_DAYS, Played, last_day, play
from rcmflow.errors import BadInput
from rcmflow.language import _


def _days(later: dt.date | None, earlier: dt.date | None) -> int | None:
    return (later - earlier).days if later and earlier else None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def deadlines(views: list[InstanceView], planned: Played, late: Played) -> list[dict[str, Any]]:
    """The tracks that answer on another day than planned, by instance, deadline and day."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for view in views:
        for participant, track in view.tracks.items():
            if track.due is None:
                continue
            key = (view.id, participant)
            answered, expected = late.answers.get(key), planned.answers.get(key)
            if answered != expected:
                groups[(view.id, track.due, answered, expected)].append(participant)
    return [{"instance": instance, "participants": codes, "due": _iso(due), "answered": _iso(answered),
             "planned": _iso(expected), "days_late": _days(answered, due)}
            for (instance, due, answered, expected), codes in groups.items()]


def _occurrences(played: Played) -> dict[tuple[str, str, str, int], dt.date]:
    """Each step by instance, trigger, state and how many times it came before, in the
    order the play took them."""
    seen: dict[tuple[str, str, str], int] = defaultdict(int)
    found = {}
    for step in played.steps:
        n = seen[(step.instance, step.trigger, step.dest)]
        seen[(step.instance, step.trigger, step.dest)] += 1
        found[(step.instance, step.trigger, step.dest, n)] = step.day
    return found


def steps(planned: Played, late: Played) -> list[dict[str, Any]]:
    """The steps of the instances that come on another day than planned, or never, in
    the order they were planned."""
    before, after = _occurrences(planned), _occurrences(late)
    order = {key: index for index, key in enumerate([*before, *(k for k in after if k not in before)])}
    rows = []
    for key in sorted(order, key=lambda k: (before.get(k) or after.get(k), order[k])):
        if before.get(key) != after.get(key):
            instance, trigger, dest, _ = key
            rows.append({"instance": instance, "trigger": trigger, "dest": dest, "planned": _iso(before.get(key)),
                         "whatif": _iso(after.get(key)), "slip_days": _days(after.get(key), before.get(key))})
    return rows


def dates(views: list[InstanceView], planned: Played, late: Played) -> list[dict[str, Any]]:
    """The plan's dates (deadlines, meetings) on which an instance is in another state
    than planned: the step it should have reached by then slips past the date."""
    rows = []
    for view in views:
        for name, value in view.params.items():
            if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
                continue
            expected, found = planned.state_on(view.id, value), late.state_on(view.id, value)
            if expected != found:
                rows.append({"instance": view.id, "param": name, "date": value.isoformat(),
                             "planned_state": expected, "whatif_state": found})
    return sorted(rows, key=lambda r: (r["date"], r["instance"]))


def blocked(planned: Played, late: Played) -> list[dict[str, Any]]:
    """The instances still open at the end, with what holds them, and whether the plan
    as it is ends the same way."""
    return [{"instance": instance, "state": late.end[instance], "reason": reason,
             "planned_state": planned.end.get(instance),
             "as_planned": planned.blocked.get(instance) == reason and planned.end.get(instance) == late.end[instance]}
            for instance, reason in late.blocked.items()]


def compare(views: list[InstanceView], planned: Played, late: Played) -> dict[str, Any]:
    return {"deadlines": deadlines(views, planned, late), "steps": steps(planned, late),
            "dates": dates(views, planned, late), "blocked": blocked(planned, late)}


def what_if(engine, late: dict[str, int], first: dt.date, last: dt.date | None = None,
            progress: Callable[[str, dt.date], None] = lambda play, day: None) -> dict[str, Any]:
    """Play the plan from `first` to `last` twice on throw-away copies of the database
    (as planned, then with each country of `late` that many days late) and say what
    slips. `last` defaults to a month after the plan's last date."""
    views = [v for v in engine.status() if not engine.is_final(v)]
    if not views:
        raise BadInput(_("nothing to play: no instance is open; start the roadmap with 'rcmflow quickstart'"))
    last = last or last_day(views, late) or first + dt.timedelta(days=90)
    if last < first:
        raise BadInput(_("--until {last} is before the first day played, {first}").format(
            last=last.isoformat(), first=first.isoformat()))
    if (last - first).days > MAX_DAYS:
        raise BadInput(_("{days} days is too long to play; give --until at most {most} days after {first}").format(
            days=(last - first).days, most=MAX_DAYS, first=first.isoformat()))
    planned = play(engine, {}, first, last, lambda day: progress("as planned", day))
    whatif = play(engine, late, first, last, lambda day: progress("what if", day))
    past = sorted({t.due for v in views for t in v.tracks.values() if t.due and t.due < first})
    return {"from": first.isoformat(), "until": last.isoformat(), "late": late,
            "past_deadlines": len(past), **compare(views, planned, whatif)}
