"""A track's deadlines, and deadlines that move.

A track may owe several things by several days (amendments, then the finalised input
before a meeting). The first deadline is each track's `due` day; another one is its
definition's date, unless `extend --deadline NAME` moved it, which the instance's data
keeps under `deadlines` ({name: {participant or "*": day}}). `rcmflow extend` gives one
or several countries (or the whole step) until another day, as one transaction with an
event per track; reminders and the silence timeout follow the new date by themselves,
since both count from it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.engine import Connection

from rcmflow.core import transition
from rcmflow.core.opening import tracks_run_in
from rcmflow.core.runtime import Runtime
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput, NotFound
from rcmflow.language import _
from rcmflow.model.definition import Call, Deadline, Definition, TrackDef
from rcmflow.model.values import parse_date
from rcmflow.store.records import InstanceRecord, save_dues, save_instance

#: the e-mail each country whose deadline moved gets, in its language
NOTICE = Call("notify", {"to": "participant", "template": "deadline-extended"})


#: where the instance's data keeps the days of its other deadlines that `extend` moved
MOVED = "deadlines"


def dates(track_def: TrackDef, params: dict[str, Any], data: dict[str, Any], participant: str,
          due: dt.date | None) -> list[tuple[Deadline, dt.date | None]]:
    """Each deadline of one track with its day: the first is the track's `due`; another,
    the day `extend` gave it (this participant's, else the whole step's), else its date."""
    found = []
    for index, deadline in enumerate(track_def.deadlines):
        if index == 0:
            found.append((deadline, due))
            continue
        moved = (data.get(MOVED) or {}).get(deadline.name) or {}
        value = moved.get(participant) or moved.get("*") or deadline.date.render({"params": params, "data": data})
        try:
            found.append((deadline, parse_date(value) if value else None))
        except BadInput:  # a date that is not one (yet): this deadline has no day
            found.append((deadline, None))
    return found


def next_deadline(track_def: TrackDef, params: dict[str, Any], data: dict[str, Any],
                  tracks: dict[str, Any], today: dt.date) -> tuple[Deadline, dt.date, list[str]] | None:
    """The next deadline some track still owes (the earliest day from today on, else the
    latest one passed), its day, and the participants who owe it."""
    owed: dict[tuple[str, dt.date], list[str]] = {}
    by_name = {d.name: d for d in track_def.deadlines}
    for participant, track in tracks.items():
        for deadline, day in dates(track_def, params, data, participant, track.due):
            if day is not None and track.state not in deadline.met:
                owed.setdefault((deadline.name, day), []).append(participant)
    if not owed:
        return None
    coming = sorted((day, name) for name, day in owed if day >= today)
    day, name = coming[0] if coming else max((day, name) for name, day in owed)
    return by_name[name], day, owed[name, day]


def deadline_param(definition: Definition, deadline: Deadline | None = None) -> str | None:
    """The param a deadline is, when it is one (`{{ params.deadline }}`); by default the first's."""
    template = deadline.date if deadline else definition.track.deadline if definition.track else None
    match = re.fullmatch(r"\{\{\s*params\.(\w+)\s*\}\}", template.text.strip()) if template else None
    return match.group(1) if match else None


def extend(rt: Runtime, conn: Connection, row: InstanceRecord, participants: list[str], to: dt.date,
           note: str | None, actor: str, now: dt.datetime, name: str | None = None) -> Outcome:
    """Move the deadline `name` (None: the first) of `participants` (all: the whole step,
    and for the first deadline its timeout and param too) to `to`."""
    definition = rt.definition_of(row.workflow, row.definition_hash)
    if definition.track is None or definition.track.deadline is None:
        raise BadInput(_("{instance} ({workflow}) has no deadline to move").format(instance=row.id, workflow=row.workflow))
    state = definition.instance.states.get(row.state)
    if state is not None and state.final:  # nobody is waited for any more: a notice would mislead
        raise BadInput(_("{instance} is {state}, which is final: only a step under way has deadlines to move").format(
            instance=row.id, state=row.state))
    deadline = definition.track.deadline_named(name)
    first = deadline is definition.track.deadlines[0]
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
    # a step not opened yet has asked nobody for anything: its new date is told when it opens
    asked = tracks_run_in(definition, row.state)
    moved = {k: dict(v) for k, v in (row.data.get(MOVED) or {}).items()}
    for track in tracks:
        old = next(day for d, day in dates(definition.track, row.params, row.data, track.participant, track.due)
                   if d.name == deadline.name)
        if first:
            track.due = to
        else:
            moved.setdefault(deadline.name, {})[track.participant] = to.isoformat()
        track.updated_at = now
        data = {"from": old.isoformat() if old else None, "to": to.isoformat()}
        event = transition.record(conn, row, now, actor, trigger="extend", source=track.state, dest=track.state,
                                  participant=track.participant, note=note,
                                  data=data if first else {**data, "deadline": deadline.name})
        events.append(event.seq)
        if asked:
            outbox += transition.enqueue(conn, row, event, [NOTICE], transition.view_of(rt, row, definition, now))
    row.updated_at = now
    if not first:  # the meeting a deadline is set by stays where it is: the new days are the data's
        if whole:
            moved[deadline.name] = {"*": to.isoformat()}
        row.data = {**row.data, MOVED: moved}
        save_instance(conn, row)
        return Outcome(events, events, outbox, now)
    if whole:
        param = deadline_param(definition)
        if param:
            row.params = {**row.params, param: to.isoformat()}
        if state is not None and state.timeout is not None and state.timeout.at is not None and row.timeout_at:
            row.timeout_at = transition.timeout_at(rt, state, now, {"params": row.params, "data": row.data})
    save_dues(conn, row, tracks)
    return Outcome(events, events, outbox, now)
