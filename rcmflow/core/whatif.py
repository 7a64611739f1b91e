"""What-if: the plan played forward day by day on a throw-away copy of the database,
with every effect switched off, once as planned and once with some countries late;
what differs is what slips.

How the simulated people act (the `whatif` command's help says the same):
- the steps a machine takes (its *line*): from its initial state, the first transition
  its file lists to a state not on the line yet;
- each country answers on its deadline day (a country `--late` by N days, N days after
  it): its track takes its line up to the first state where the deadline is met;
  after that, it takes a step only when its process waits for it (the guard that holds
  the next step names the country, as `tracks_in` and `consensus` do);
- nobody else waits: the secretariat and the PPT take each next step of the line as
  soon as its guards allow it (a guard that needs a person's input, like a text to be
  given with --set, holds the step: the instance ends blocked).
Timeouts fall as `tick` makes them fall. No e-mail, file, document or SMTP connection:
the actions that are effects run as no-ops, and no `on_event` listener is called.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from rcmflow.context import InstanceView
from rcmflow.errors import RcmflowError
from rcmflow.language import _
from rcmflow.model.definition import Definition, MachineDef, TransitionDef
from rcmflow.plugins import Plugins, Registry
from rcmflow.store.sandbox import sandbox

#: at most this many days are played
MAX_DAYS = 3 * 366


def _no_effect(ctx, args) -> None:
    """What an effect does in a what-if: nothing."""


class _QuietHooks:
    """The plugin hooks, but for `on_event`, which has no listener in a what-if."""

    def __init__(self, pm):
        self._pm = pm

    def __getattr__(self, name: str):
        if name == "on_event":
            return self._pm.subset_hook_caller(name, remove_plugins=self._pm.get_plugins())
        return getattr(self._pm.hook, name)


class QuietPlugins(Plugins):
    """`plugins` with every effect action a no-op (in-transaction actions, which only
    change an instance's data, still run) and no `on_event` listener."""

    def __init__(self, plugins: Plugins):  # the hooks are collected already: no super().__init__
        self.__dict__.update(copy.copy(plugins.__dict__))
        actions = {name: r if r.in_transaction else replace(r, function=_no_effect)
                   for name, r in plugins.registry.actions.items()}
        self.registry = Registry(dict(plugins.registry.guards), actions)

    @property
    def hook(self):
        return _QuietHooks(self.pm)


def line(mdef: MachineDef) -> dict[str, TransitionDef]:
    """The step each state of the machine's line takes (see the module's docstring)."""
    steps: dict[str, TransitionDef] = {}
    order, state = [mdef.initial], mdef.initial
    while not mdef.states[state].final:
        step = next((t for t in mdef.triggers_from(state) if t.dest not in order), None)
        if step is None:
            break
        steps[state] = step
        order.append(step.dest)
        state = step.dest
    # a state off the line (a timeout's, like no_response) rejoins it by its first way back
    for other in mdef.states:
        back = next((t for t in mdef.triggers_from(other) if t.dest in order), None)
        if other not in steps and not mdef.states[other].final and back is not None:
            steps[other] = back
    return steps


@dataclass(frozen=True)
class Step:
    instance: str
    trigger: str
    dest: str
    day: dt.date


@dataclass
class Played:
    """One play: the instances' steps by day, the day each track answered, where each
    instance stood at the start and at the end, and why an open one cannot go on."""

    start: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    answers: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    end: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)

    def state_on(self, instance: str, day: dt.date) -> str:
        state = self.start.get(instance, "")
        for step in self.steps:
            if step.instance == instance and step.day <= day:
                state = step.dest
        return state


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Play:
    """The plan played on `engine` (an engine on a copy, with quiet plugins)."""

    def __init__(self, engine, clock: Clock, late: dict[str, int], progress: Callable[[dt.date], None]):
        self.engine, self.clock, self.late, self.progress = engine, clock, late, progress
        self.members = engine.members
        self.played = Played()
        self.lines: dict[tuple[str, str], dict[str, TransitionDef]] = {}
        # Moves so far: a refused step is tried again once its instance has moved, or
        # any instance has changed state (a guard may look across instances).
        self.world = 0
        self.moves: dict[str, int] = {}
        self.tried: dict[tuple, tuple[int, int]] = {}
        #: why each instance's next step was refused, last time it was tried
        self.waiting: dict[str, str] = {}

    def run(self, first: dt.date, last: dt.date) -> Played:
        views = self.open_views()
        self.played.start = {v.id: v.state for v in self.engine.status()}
        days = self.special_days(views)
        day = first
        while day <= last:  # a day when nothing can change (no date, no answer) is skipped
            if day == first or day in days:
                self.tried.clear()
                before = self.world
                self.play_day(day)
                if self.world != before:  # a state entered may have a timeout of its own
                    days |= self.special_days(self.open_views())
            if day.day == 1:
                self.progress(day)
            day += dt.timedelta(days=1)
        for view in self.engine.status():
            self.played.end[view.id] = view.state
            if not self.engine.is_final(view):
                self.played.blocked[view.id] = self.why_blocked(view)
        return self.played

    def open_views(self) -> list[InstanceView]:
        return [v for v in self.engine.status() if not self.engine.is_final(v)]

    def special_days(self, views: list[InstanceView]) -> set[dt.date]:
        """The days when time alone may open a step: deadlines (and the day after),
        every country's answer day, the plan's dates."""
        days: set[dt.date] = set()
        for view in views:
            for participant, track in view.tracks.items():
                if track.due:
                    days |= {track.due, track.due + dt.timedelta(days=1 + self.late.get(participant, 0)),
                             track.due + dt.timedelta(days=self.late.get(participant, 0))}
            for value in view.params.values():
                if isinstance(value, dt.date):
                    value = value.date() if isinstance(value, dt.datetime) else value
                    days |= {value, value + dt.timedelta(days=1)}
            if view.timeout_at:
                days.add(self.engine.local(view.timeout_at).date())
        return days

    def play_day(self, day: dt.date) -> None:
        local = dt.datetime.combine(day, dt.time(12), self.engine.config.timezone)
        self.clock.now = local.astimezone(dt.timezone.utc)
        for fired in self.engine.tick(self.clock.now).fired:
            if fired.participant is None:
                self.played.steps.append(Step(fired.id, fired.trigger, fired.dest, day))
            self.moved(fired.id, fired.participant)
        for _ in range(100):  # each round moves at least one step, or the day is done
            moved = False
            for view in self.open_views():
                moved |= self.step_instance(view, day)
                active = self.definition(view).track and self.definition(view).track.active_in
                if active and view.state not in active:
                    continue  # its tracks cannot move now
                for participant in view.tracks:
                    moved |= self.step_track(view, participant, day)
            if not moved:
                break

    def definition(self, view: InstanceView) -> Definition:
        return self.engine.definition(view.workflow)

    def step_of(self, view: InstanceView, participant: str | None) -> TransitionDef | None:
        definition = self.definition(view)
        key = (view.workflow, participant and "track")
        if key not in self.lines:
            self.lines[key] = line(definition.track if participant else definition.instance)
        state = view.tracks[participant].state if participant else view.state
        return self.lines[key].get(state)

    def step_instance(self, view: InstanceView, day: dt.date) -> bool:
        step = self.step_of(view, None)
        if step is None or not self.fire(view, step, None):
            return False
        self.played.steps.append(Step(view.id, step.trigger, step.dest, day))
        return True

    def step_track(self, view: InstanceView, participant: str, day: dt.date) -> bool:
        step = self.step_of(view, participant)
        if step is None:
            return False
        track, met = view.tracks[participant], self.definition(view).track.deadline_met
        answering = step.dest in met and track.state not in met
        if answering and track.due is not None and \
                day < track.due + dt.timedelta(days=self.late.get(participant, 0)):
            return False  # the country answers on its day
        if track.state in met and not re.search(rf"\b{re.escape(participant)}\b", self.waiting.get(view.id, "")):
            return False  # answered: it moves on when its process waits for it
        if not self.fire(view, step, participant):
            return False
        if answering:
            self.played.answers[(view.id, participant)] = day
        return True

    def fire(self, view: InstanceView, step: TransitionDef, participant: str | None) -> bool:
        state = view.tracks[participant].state if participant else view.state
        key = (view.id, participant, state, step.trigger)
        seen = (self.moves.get(view.id, 0), self.world)
        if self.tried.get(key) == seen:
            return False  # refused already, and nothing it may depend on has moved since
        self.tried[key] = seen
        actor = actor_for(self.members, step.roles, participant)
        if actor is None:
            return False
        try:
            self.engine.acting_as(actor).fire(view.id, step.trigger, participant)
        except RcmflowError as exc:
            if participant is None:
                self.waiting[view.id] = str(exc)
            return False
        self.waiting.pop(view.id, None)
        self.moved(view.id, participant)
        return True

    def moved(self, instance: str, participant: str | None) -> None:
        self.moves[instance] = self.moves.get(instance, 0) + 1
        self.world += participant is None

    def why_blocked(self, view: InstanceView) -> str:
        step = self.step_of(view, None)
        if step is None:
            return _("no next step from {state}").format(state=view.state)
        for option in self.engine.triggers(view.id, check_roles=False):
            if option.trigger == step.trigger and not option.allowed:
                return f"{step.trigger}: {option.reason}"
        return _("{trigger} is possible but was not taken").format(trigger=step.trigger)


def actor_for(members, roles: tuple[str, ...], participant: str | None) -> str | None:
    """A person who may take a step that needs one of `roles` (a country's own focal
    point for its track), the secretariat's first person for a step open to all."""
    for role in roles or ("secretariat",):
        if role == "focal_point":
            found = members.focal_points(participant) if participant else []
            if found:
                return found[0].id
        elif members.holders(role):
            return members.holders(role)[0]
    return None


def play(engine, late: dict[str, int], first: dt.date, last: dt.date,
         progress: Callable[[dt.date], None] = lambda day: None) -> Played:
    """Play from `first` to `last` on a copy of `engine`'s database, effects off."""
    from rcmflow.core.engine import Engine

    with sandbox(engine.db) as url:
        clock = Clock(dt.datetime.combine(first, dt.time(12), dt.timezone.utc))
        config = replace(engine.config, db_url=url)
        # a play opens steps when it reaches them, late ones too: that is what it shows
        copy_engine = Engine(config=config, plugins=QuietPlugins(engine.plugins), clock=clock, replay=True)
        try:
            return Play(copy_engine, clock, late, progress).run(first, last)
        finally:
            copy_engine.close()


def last_day(views: list[InstanceView], late: dict[str, int]) -> dt.date | None:
    """A month after the plan's last date (deadlines, meetings), the lateness included."""
    dates = [value for v in views for value in v.params.values()
             if isinstance(value, dt.date) and not isinstance(value, dt.datetime)]
    dates += [t.due for v in views for t in v.tracks.values() if t.due]
    if not dates:
        return None
    return max(dates) + dt.timedelta(days=30 + max(late.values(), default=0))


def as_dict(played: Played) -> dict[str, Any]:
    return {"steps": [vars(s) for s in played.steps], "end": played.end, "blocked": played.blocked}
