"""Writing what a command decided: the moves of one instance in one go (one version
check, the moved tracks and the chained events each in one statement), the history's
events, and the outbox rows of their effects.

Every function here takes the open connection and never commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from rcmflow.context import EventView, InstanceView
from rcmflow.core import views
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.log import get_logger
from rcmflow.model.definition import Call, Definition
from rcmflow.model.refs import render_value
from rcmflow.store.records import (
    InstanceRecord, TrackRecord, insert_attachment, insert_events, insert_outbox, last_event, save_instance,
)

if TYPE_CHECKING:
    from rcmflow.core.transition import Move


@dataclass(frozen=True)
class FireResult:
    id: str
    state: str
    participant: str | None
    track_state: str | None
    event_seq: int
    trigger: str
    source: str
    dest: str
    #: what failed after the commit (the step stands), one line each
    failures: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "participant": self.participant,
                "track_state": self.track_state, "event_seq": self.event_seq}


@dataclass
class Decided:
    """A move decided and applied to the records in memory, not written yet."""

    track: TrackRecord | None
    definition: Definition
    move: Move
    fields: dict[str, Any]
    data: dict[str, Any]
    effects: list[Call]
    #: what the effects see: the instance as this move left it
    view: InstanceView | None


@dataclass
class Batch:
    """The moves of one command on one instance, written together: one version-checked
    UPDATE of the instance, the moved tracks and the events each in one statement."""

    moves: list[Decided]

    def write(self, rt: Runtime, conn: Connection, row: InstanceRecord) -> list[Outcome]:
        if not self.moves:
            return []
        # The version check: the instance (even when only tracks moved) is written
        # only if nobody else wrote it since we read it.
        save_instance(conn, row, *(d.track for d in self.moves if d.track is not None))
        events = record_many(conn, row, [(d.move.now, d.move.actor, {**d.fields, "data": d.data}) for d in self.moves])
        outcomes = []
        for d, event in zip(self.moves, events):
            for filename, content in d.move.files:
                insert_attachment(conn, event_seq=event.seq, instance_id=row.id, participant=d.move.participant,
                                  filename=filename, size=len(content),
                                  sha256=hashlib.sha256(content).hexdigest(), content=content)
            outbox = enqueue(conn, row, event, d.effects, d.view) if d.effects else []
            result = FireResult(row.id, row.state, d.move.participant, event.dest if d.track is not None else None,
                                event.seq, d.move.trigger, event.source, event.dest)
            get_logger().info("transition", instance=row.id, trigger=d.move.trigger, source=event.source,
                              dest=event.dest, participant=d.move.participant, event_seq=event.seq)
            outcomes.append(Outcome(result, [event.seq], outbox, d.move.now))
        return outcomes


def record(conn: Connection, row: InstanceRecord, now: dt.datetime, actor: str, **fields: Any) -> EventView:
    """Write one history event and return it (see `record_many`)."""
    return record_many(conn, row, [(now, actor, fields)])[0]


def record_many(conn: Connection, row: InstanceRecord,
                events: list[tuple[dt.datetime, str, dict[str, Any]]]) -> list[EventView]:
    """Write history events of one instance, in order, in one statement: (time, actor,
    fields) each. Never one dated before the instance's last (a `--now` in the past
    would put the history out of time order)."""
    prev, last = last_event(conn, row)
    for now, _actor, _fields in events:
        if last is not None and now < last:
            raise BadInput(_("{instance}: its last event is at {last}; an event at {now} would come before it: "
                             "give a later --now").format(instance=row.id, last=last.isoformat(timespec="minutes"),
                                                          now=now.isoformat(timespec="minutes")))
        last = now
    rows = [dict(at=now, actor=actor, instance_id=row.id, **fields) for now, actor, fields in events]
    seqs = insert_events(conn, prev, rows)
    return [EventView(seq=seq, **values) for seq, values in zip(seqs, rows)]


def enqueue(conn: Connection, row: InstanceRecord, event: EventView, calls: list[Call],
            view: InstanceView) -> list[int]:
    """Write each effect to the outbox, in the transition's transaction."""
    if not calls:
        return []
    scope = views.scope(view, {"trigger": event.trigger, "participant": event.participant,
                               "actor": event.actor, "note": event.note, "seq": event.seq})
    return insert_outbox(conn, [
        dict(instance_id=row.id, event_seq=event.seq, action=call.name, args=render_value(call.args, scope),
             status="pending", attempts=0, next_attempt_at=event.at, created_at=event.at)
        for call in calls])
