"""Compile definitions into `transitions` machines, once, and run triggers through them.

One `transitions.Machine` per level (the instance's and the track's) is built the
first time a definition is used and shared by every instance: a command adds a
light `Subject` as the machine's model, fires the trigger and removes it again.

The machine's callbacks only decide and record. `transitions` changes the state
before `on_enter` runs and rolls nothing back if a callback raises, so effects never
run here: callbacks append the actions to `Subject.queued`, and the engine writes
them to the outbox in the same transaction as the new state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from transitions import Machine

from rcmflow.context import GuardContext
from rcmflow.model.definition import Call, MachineDef, TransitionDef
from rcmflow.model.refs import render_value
from rcmflow.plugins import Registry

#: The actor `tick` uses to fire timeouts; it passes role checks, never guards.
from rcmflow.context import SYSTEM_ACTOR


@dataclass
class Subject:
    """The model one command puts through a machine."""

    state: str
    #: decides whether a transition may fire: returns the reasons it may not
    judge: Callable[[TransitionDef], list[str]]
    reasons: list[str] = field(default_factory=list)
    queued: list[Call] = field(default_factory=list)


def _permit(transition: TransitionDef):
    def condition(event) -> bool:
        reasons = event.model.judge(transition)
        event.model.reasons.extend(reasons)
        return not reasons
    return condition


def _queue(calls: tuple[Call, ...]):
    def record(event) -> None:
        event.model.queued.extend(calls)
    return record


class CompiledMachine:
    """A `transitions.Machine` built from one MachineDef, shared by all instances."""

    def __init__(self, definition: MachineDef):
        self.definition = definition
        states = [
            {"name": s.name, "final": s.final, "on_enter": [_queue(s.on_enter)], "on_exit": [_queue(s.on_exit)]}
            for s in definition.states.values()
        ]
        transitions = [
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
             "conditions": [_permit(t)], "before": [_queue(t.actions)]}
            for t in definition.transitions
        ]
        self.machine = Machine(
            model=None, states=states, transitions=transitions, initial=definition.initial,
            auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
        )

    def triggers(self, state: str) -> list[str]:
        return self.machine.get_triggers(state)

    def fire(self, subject: Subject, trigger: str) -> bool:
        """Run `trigger`; True if the state changed, False if every guard path refused."""
        self.machine.add_model(subject, initial=subject.state)
        try:
            return subject.trigger(trigger)
        finally:
            self.machine.remove_model(subject)


def guard_reasons(transition: TransitionDef, ctx: GuardContext, registry: Registry,
                  scope: dict[str, Any]) -> list[str]:
    """Why the guards of `transition` refuse it now; empty when they all allow it."""
    reasons = []
    for call in transition.guards:
        reason = registry.guards[call.name].function(ctx, render_value(call.args, scope))
        if reason:
            reasons.append(reason)
    return reasons


def role_problem(transition: TransitionDef, ctx: GuardContext) -> str | None:
    """Why the actor may not fire `transition`, or None. Checked before any guard."""
    if ctx.actor == SYSTEM_ACTOR:
        return None
    person = ctx.members.person(ctx.actor)
    if person and person.country and ctx.participant and person.country != ctx.participant:
        return (f"{person.id} is a focal point of {person.country} and cannot act on "
                f"{ctx.participant}'s track")
    if not transition.roles:
        return None
    needed = "|".join(transition.roles)
    if person is None:
        return (f"{transition.trigger} needs role {needed}, and actor {ctx.actor!r} is not in "
                f"workflows/members.yaml; choose one with --actor or RCMFLOW_ACTOR")
    if not person.roles & set(transition.roles):
        held = ", ".join(sorted(person.roles)) or "no role"
        return f"{transition.trigger} needs role {needed}; {person.id} has {held}"
    return None
