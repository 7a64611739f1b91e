"""Deadlines that move: `rcmflow extend` gives one or several countries (or the whole
step) until another day, as one transaction with an event per track; reminders and the
silence timeout follow the track's new date by themselves, since both count from it."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.engine import Connection

from rcmflow.core import transition
from rcmflow.core.runtime import Runtime
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput, NotFound
from rcmflow.language import _
from rcmflow.model.definition import Call, Definition
from rcmflow.store.records import InstanceRecord, save_dues

#: the e-mail each country whose deadline moved gets, in its language
NOTICE = Call("notify", {"to": "participant", "template": "deadline-extended"})


def deadline_param(definition: Definition) -> str | None:
    """The param the track deadline is, when it is one (`{{ params.deadline }}`)."""
    text = definition.track.deadline.text if definition.track and definition.track.deadline else ""
    match = re.fullmatch(r"\{\{\s*params\.(\w+)\s*\}\}", text.strip())
    return match.group(1) if match else None


def extend(rt: Runtime, conn: Connection, row: InstanceRecord, participants: list[str], to: dt.date,
           note: str | None, actor: str, now: dt.datetime) -> Outcome:
    """Move the deadline of `participants` (all: the whole step, its timeout too) to `to`."""
    definition = rt.definition_of(row.workflow, row.definition_hash)
    if definition.track is None or definition.track.deadline is None:
        raise BadInput(_("{instance} ({workflow}) has no deadline to move").format(instance=row.id, workflow=row.workflow))
    if to < rt.today(now):
        raise BadInput(_("--to {day} has passed already; give a day from {today} on").format(
            day=to.isoformat(), today=rt.today(now).isoformat()))
    whole = not participants
    unknown = [p for p in participants if row.track(p) is None]
    if unknown:
        raise NotFound(_("{participant} has no track in {instance}; participants: {known}").format(
            participant=repr(unknown[0]), instance=row.id, known=", ".join(t.participant for t in row.tracks)))
    tracks = row.tracks if whole else [row.track(p) for p in dict.fromkeys(participants)]
    events, outbox = [], []
    for track in tracks:
        old = track.due
        track.due, track.updated_at = to, now
        event = transition.record(conn, row, now, actor, trigger="extend", source=track.state, dest=track.state,
                                  participant=track.participant, note=note,
                                  data={"from": old.isoformat() if old else None, "to": to.isoformat()})
        events.append(event.seq)
        outbox += transition.enqueue(conn, row, event, [NOTICE], transition.view_of(rt, row, definition, now))
    if whole:
        param = deadline_param(definition)
        if param:
            row.params = {**row.params, param: to.isoformat()}
        state = definition.instance.states.get(row.state)
        if state is not None and state.timeout is not None and state.timeout.at is not None and row.timeout_at:
            row.timeout_at = transition.timeout_at(rt, state, now, {"params": row.params, "data": row.data})
    row.updated_at = now
    save_dues(conn, row, tracks)
    return Outcome(events, events, outbox, now)
