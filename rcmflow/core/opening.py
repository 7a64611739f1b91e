"""Steps opened after their deadline. Opening a step is entering a state in which its
tracks' deadline and reminders run (the track's `active_in`; any state when it names
none) or a state whose timeout falls `at:` a date. Done after that date, the first
`tick` would tell every country its input is overdue minutes after asking for it, or
close the step at once; so it is refused, unless the command replays past dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rcmflow.core.transition import timeout_at
from rcmflow.core.runtime import Runtime
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.definition import Definition
from rcmflow.model.refs import REFERENCE, Template
from rcmflow.model.values import parse_date


@dataclass(frozen=True)
class Deadline:
    """A deadline of a step: its last day, and what the definition names it by."""

    day: dt.date
    #: the param it is (`{{ params.deadline }}` names `deadline`), else None
    param: str | None
    text: str

    def describe(self) -> str:
        if self.param:
            return _("{day} (param {param})").format(day=self.day.isoformat(), param=self.param)
        return f"{self.day.isoformat()} ({self.text})"


def param_of(template: Template) -> str | None:
    whole = REFERENCE.fullmatch(template.text.strip())
    return whole.group(2) if whole and whole.group(1) == "params" else None


def tracks_run_in(definition: Definition, state: str | None) -> bool:
    """Whether the tracks' deadline and reminders run while the instance is in `state`."""
    track = definition.track
    return track is not None and track.deadline is not None and track.moves_in(state)


def opened(rt: Runtime, definition: Definition, source: str | None, dest: str, scope: dict[str, Any],
           now: dt.datetime) -> list[Deadline]:
    """The deadlines that entering `dest` from `source` (None: a start) opens and that
    have passed at `now`: the tracks' when they begin to run, the state's `at:` timeout."""
    if source == dest:
        return []
    passed = []
    if tracks_run_in(definition, dest) and not tracks_run_in(definition, source):
        template = definition.track.deadline
        day = _day(template.render(scope))
        if day is not None and day < rt.today(now):
            passed.append(Deadline(day, param_of(template), template.text))
    state = definition.instance.states.get(dest)
    if state is not None and state.timeout is not None and state.timeout.at is not None:
        falls = timeout_at(rt, state, now, scope)
        if falls is not None and falls <= now:
            day = _day(state.timeout.at.render(scope)) or rt.today(falls)
            passed.append(Deadline(day, param_of(state.timeout.at), state.timeout.at.text))
    return sorted(set(passed), key=lambda d: d.day)


def planned(rt: Runtime, definition: Definition, params: dict[str, Any], now: dt.datetime) -> list[Deadline]:
    """Every deadline of a step started with `params` that has passed at `now` (what the
    plan's dates would open late), earliest first."""
    scope = {"params": params, "data": {}, "instance": {"workflow": definition.name}, "event": {}}
    found = set()
    for state in definition.instance.states:
        found.update(opened(rt, definition, None, state, scope, now))
    return sorted(found, key=lambda d: d.day)


def refuse_start(rt: Runtime, definition: Definition, params: dict[str, Any], now: dt.datetime) -> None:
    """Refuse a start whose initial state opens a deadline that has passed."""
    scope = {"params": params, "data": {}, "instance": {"workflow": definition.name}, "event": {}}
    passed = opened(rt, definition, None, definition.instance.initial, scope, now)
    if passed and not rt.replay:
        first = passed[0]
        move = (_("give a later --set {param}=DATE").format(param=first.param) if first.param
                else _("give later dates"))
        raise BadInput(_("start {workflow}: its deadline {deadline} has passed (today is {today}); {move}, "
                         "or {replay}").format(workflow=definition.name, deadline=first.describe(),
                                               today=rt.today(now).isoformat(), move=move, replay=replay_hint()))


def refuse_opening(rt: Runtime, definition: Definition, instance: str, trigger: str, source: str, dest: str,
                   scope: dict[str, Any], now: dt.datetime) -> None:
    """Refuse a move into `dest` that opens a deadline that has passed."""
    reason = late_opening(rt, definition, instance, trigger, source, dest, scope, now)
    if reason:
        raise BadInput(reason)


def late_opening(rt: Runtime, definition: Definition, instance: str, trigger: str, source: str, dest: str,
                 scope: dict[str, Any], now: dt.datetime, brief: bool = False) -> str | None:
    """Why a move into `dest` may not be made now (it opens a deadline that has passed),
    or None: what `fire` refuses with, and `brief`, what `triggers` and `status` show."""
    passed = opened(rt, definition, source, dest, scope, now)
    if passed and brief and not rt.replay:
        return _("its deadline {deadline} has passed: move it with 'rcmflow extend' first, or replay past "
                 "dates with --replay").format(deadline=passed[0].describe())
    if passed and not rt.replay:
        first = passed[0]
        return (_("{trigger} would open {instance} ({state}) after its deadline {deadline} (today is "
                         "{today}); move the deadline first with 'rcmflow extend {instance} --to DATE --note TEXT', "
                         "or {replay}").format(trigger=trigger, instance=instance, state=dest,
                                               deadline=first.describe(), today=rt.today(now).isoformat(),
                                               replay=replay_hint()))
    return None


def replay_hint() -> str:
    """How a command states that it replays past dates."""
    return _("replay past dates with rcmflow --replay (or RCMFLOW_REPLAY=1)")


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return parse_date(text[:10])
    except (BadInput, ValueError):
        return None
