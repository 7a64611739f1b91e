"""Compile definitions into `transitions` machines, once, and run triggers through them.

One `transitions.Machine` per level (the instance's and the track's) is built the
first time a definition is used and shared by every instance. Its models are seats
added once and reused: a command sits its `Subject` on a free seat, sets the seat's
state and fires the trigger (adding and removing a model per fire cost more than the
trigger itself). Seats are taken one per concurrent fire, so threads never share one.

The machine's callbacks only decide and record. `transitions` changes the state
before `on_enter` runs and rolls nothing back if a callback raises, so effects never
run here: callbacks append the actions to `Subject.queued`, and the engine writes
them to the outbox in the same transaction as the new state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from transitions import Machine

from rcmflow.model.definition import Call, MachineDef, TransitionDef


@dataclass
class Subject:
    """The model one command puts through a machine."""

    state: str
    #: decides whether a transition may fire: returns the reasons it may not
    judge: Callable[[TransitionDef], list[str]]
    reasons: list[str] = field(default_factory=list)
    queued: list[Call] = field(default_factory=list)


class _Seat:
    """A model of the machine, added once; `subject` is who sits on it for one fire."""

    state: str
    subject: Subject


def _permit(transition: TransitionDef):
    def condition(event) -> bool:
        subject = event.model.subject
        reasons = subject.judge(transition)
        subject.reasons.extend(reasons)
        return not reasons
    return condition


def _queue(calls: tuple[Call, ...]):
    def record(event) -> None:
        event.model.subject.queued.extend(calls)
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
        self._free: list[_Seat] = []
        self._lock = threading.Lock()

    def triggers(self, state: str) -> list[str]:
        return self.machine.get_triggers(state)

    def fire(self, subject: Subject, trigger: str) -> bool:
        """Run `trigger`; True if the state changed, False if every guard path refused."""
        with self._lock:
            seat = self._free.pop() if self._free else None
        if seat is None:
            seat = _Seat()
            self.machine.add_model(seat, initial=self.definition.initial)
        seat.subject, seat.state = subject, subject.state
        try:
            return seat.trigger(trigger)
        finally:
            subject.state = seat.state
            del seat.subject
            with self._lock:
                self._free.append(seat)
