"""The one way rows become the read-only views plugins and commands see, and the
overdue rule, written once (the SQL of `status` is derived from the same fields)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import and_, false, or_, true

from rcmflow.context import EventView, InstanceView, TrackView
from rcmflow.errors import RcmflowError
from rcmflow.model.definition import Definition
from rcmflow.model.values import PARAM_TYPES
from rcmflow.store.models import Instance


def is_overdue(definition: Definition | None, instance_state: str, track_state: str,
               due: dt.date | None, today: dt.date) -> bool:
    """A track is overdue once its due date is over, while its instance still waits
    for it (a track-active state) and it has not reached a state that meets the deadline."""
    if due is None or today <= due or definition is None or definition.track is None:
        return False
    track = definition.track
    if not track.moves_in(instance_state):
        return False
    return track_state not in track.deadline_met


def overdue_condition(definitions: dict[str, Definition], today: dt.date) -> Callable[[Any], Any]:
    """`is_overdue` as SQL, for a track row `t` of the outer instance row: the same
    three conditions, per workflow (tests hold the two to the same answers)."""

    def condition(t):
        per_workflow = [
            and_(Instance.workflow == name,
                 Instance.state.in_(d.track.active_in) if d.track.active_in else true(),
                 t.c.state.not_in(d.track.deadline_met) if d.track.deadline_met else true())
            for name, d in definitions.items() if d.track is not None
        ]
        return and_(t.c.due.is_not(None), t.c.due < today, or_(false(), *per_workflow))

    return condition


@dataclass(frozen=True)
class Answer:
    """How a track answered its deadline, beyond `overdue`: not at all (`no_answer_by`,
    its due day, once it is in a state the silence timeout moves it to), or after it
    (`late`: the due day its answer came after, from the event that says so)."""

    no_answer_by: dt.date | None = None
    late: dt.date | None = None


def silent_states(definition: Definition | None) -> set[str]:
    """The track states a silent participant is moved to: those the track states'
    `after_deadline` timeouts lead to (no_response in the roadmap)."""
    track = definition.track if definition else None
    if track is None:
        return set()
    lapses = {s.timeout.trigger for s in track.states.values() if s.timeout and s.timeout.after_deadline}
    return {t.dest for t in track.transitions if t.trigger in lapses}


def answers(definition: Definition | None, view: InstanceView, events: list[EventView] = ()) -> dict[str, Answer]:
    """Each track's `Answer` that has something to say: silent tracks from the view,
    late ones from `events` (the history), whose last move into a state meeting the
    deadline carries `late` while the track is still in such a state."""
    if definition is None or definition.track is None:
        return {}
    silent, met = silent_states(definition), set(definition.track.deadline_met)
    late: dict[str, dt.date | None] = {}
    for event in events:
        if event.participant and event.dest in met and event.source not in met:
            due = (event.data.get("late") or {}).get("due")
            late[event.participant] = dt.date.fromisoformat(due) if due else None
    found = {}
    for p, t in view.tracks.items():
        if t.state in silent and t.due:
            found[p] = Answer(no_answer_by=t.due)
        elif t.state in met and late.get(p):
            found[p] = Answer(late=late[p])
    return found


def typed_params(definition: Definition | None, params: dict[str, Any] | None) -> dict[str, Any]:
    """Stored params (JSON) as the types their definition declares (a date is a date)."""
    params = dict(params or {})
    if definition is None:
        return params
    typed = {}
    for name, value in params.items():
        param = definition.params.get(name)
        try:
            typed[name] = PARAM_TYPES[param.type](value) if param and value is not None else value
        except RcmflowError:  # the file was edited since: show what is stored, as stored
            typed[name] = value
    return typed


def instance_view(row: Any, definition: Definition | None, today: dt.date) -> InstanceView:
    """A view of an instance row (a record or an ORM row) with all its tracks."""
    tracks = {}
    for t in row.tracks:
        reminded = t.reminded_at.date() if t.reminded_at else None
        overdue = is_overdue(definition, row.state, t.state, t.due, today)
        tracks[t.participant] = TrackView(t.participant, t.state, t.due, overdue, dict(t.data or {}), reminded)
    return InstanceView(
        id=row.id, workflow=row.workflow, state=row.state, version=row.version,
        params=typed_params(definition, row.params), data=dict(row.data or {}), tracks=tracks,
        created_at=row.created_at, updated_at=row.updated_at, timeout_at=row.timeout_at,
        definition_hash=row.definition_hash,
    )


def status_view(row: Any, definition: Definition | None) -> InstanceView:
    """A view of a `status` row, whose tracks come as JSON built by the database
    (overdue already decided there; the tracks' data is left out)."""
    tracks = {p: TrackView(p, t["state"], _date(t["due"]), t["overdue"], reminded=_date(t["reminded"]))
              for p, t in json.loads(row.tracks or "{}").items()}
    return InstanceView(
        id=row.id, workflow=row.workflow, state=row.state, version=row.version,
        params=typed_params(definition, row.params), data=dict(row.data or {}), tracks=tracks,
        created_at=row.created_at, updated_at=row.updated_at, timeout_at=row.timeout_at,
        definition_hash=row.definition_hash)


def event_view(event: Any) -> EventView:
    return EventView(seq=event.seq, at=event.at, actor=event.actor, instance_id=event.instance_id,
                     trigger=event.trigger, source=event.source, dest=event.dest,
                     participant=event.participant, note=event.note, data=dict(event.data or {}))


def instance_json(view: InstanceView, answered: dict[str, Answer] | None = None) -> dict[str, Any]:
    """The stable `status --json` shape of one instance; with `answered` (see `answers`),
    each track also says `no_answer_by` and `late` (a day, or null)."""
    def track(p: str, t: TrackView) -> dict[str, Any]:
        shown = {"state": t.state, "due": t.due.isoformat() if t.due else None, "overdue": t.overdue,
                 "reminded": t.reminded.isoformat() if t.reminded else None}
        if answered is not None:
            answer = answered.get(p, Answer())
            shown["no_answer_by"] = answer.no_answer_by.isoformat() if answer.no_answer_by else None
            shown["late"] = answer.late.isoformat() if answer.late else None
        return shown

    return {"id": view.id, "workflow": view.workflow, "state": view.state, "version": view.version,
            "tracks": {p: track(p, t) for p, t in view.tracks.items()}}


def scope(view: InstanceView, event: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """What `{{ }}` references in a definition may name."""
    return {"params": view.params, "data": view.data,
            "instance": {"id": view.id, "workflow": view.workflow, "state": view.state},
            "event": event or {}}


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None
