"""One transition inside a write transaction: decide it through the compiled machine,
then write the new state, one history event and the queued actions together.

Every function here takes the open connection: the unit of work frames the
transaction around them and they never commit.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from rcmflow.context import INSTANCE_ID, ActionContext, EventView, GuardContext, InstanceView
from rcmflow.core import inputs, views
from rcmflow.core.batch import Batch, Decided, FireResult, enqueue, record, record_many  # noqa: F401 (used from here)
from rcmflow.core.machine import Subject
from rcmflow.core.policy import decide, role_problem
from rcmflow.core.runtime import Runtime
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import AlreadyExists, BadInput, Blocked, Forbidden, InvalidTrigger, NotFound
from rcmflow.language import _
from rcmflow.model.definition import Call, Definition, MachineDef, StateDef
from rcmflow.model.refs import render_value
from rcmflow.model.values import parse_date, parse_datetime, to_json_value
from rcmflow.store.models import Instance
from rcmflow.store.records import (
    InstanceRecord, TrackRecord, insert_instance, load_instance, peek_instance, store_definition,
)


@dataclass(frozen=True)
class Move:
    """A transition a command asks for: what, on whose track, by whom, with what."""

    trigger: str
    participant: str | None
    actor: str
    note: str | None
    values: dict[str, Any]
    files: list[tuple[str, bytes]]
    now: dt.datetime


#: builds the context an action runs with: (view, event, definition, idempotency key)
Contexts = Callable[[InstanceView, EventView, Definition, str], ActionContext]


def load(conn: Connection, instance_id: str, for_update: bool = False) -> InstanceRecord:
    """The instance, or a NotFound that lists what exists; `for_update`: see `load_instance`."""
    row = load_instance(conn, instance_id, for_update)
    if row is None:
        known = conn.scalars(select(Instance.id).order_by(Instance.id).limit(12)).all()
        hint = (_("instances: {known}").format(known=", ".join(known)) if known
                else _("no instance is started yet (rcmflow start WORKFLOW)"))
        raise NotFound(_("unknown instance {id!r}; {hint}").format(id=instance_id, hint=hint))
    return row


def view_of(rt: Runtime, row: InstanceRecord, definition: Definition | None = None,
            now: dt.datetime | None = None) -> InstanceView:
    definition = definition or rt.shown_definition(row.workflow, row.definition_hash)
    return views.instance_view(row, definition, rt.today(now))


def guard_context(rt: Runtime, conn: Connection, view: InstanceView, definition: Definition, actor: str,
                  now: dt.datetime, participant: str | None = None, given: dict[str, Any] | None = None,
                  note: str | None = None) -> GuardContext:
    return GuardContext(view, definition, rt.members, actor, rt.local(now), participant, given or {}, conn, note,
                        finder(rt, conn))


def finder(rt: Runtime, conn: Connection):
    """`GuardContext.instances`, read on the guard's own connection."""

    def find(workflow: str | None, params: dict[str, Any]) -> list[InstanceView]:
        query = select(Instance.id).order_by(Instance.id)
        if workflow is not None:
            query = query.where(Instance.workflow == workflow)
        found = [view_of(rt, load_instance(conn, i)) for i in conn.scalars(query).all()]
        # YAML and the command line give strings; the views hold typed values.
        return [v for v in found if all(str(v.params.get(k)) == str(x) for k, x in params.items())]

    return find


def start_id(definition: Definition, instance_id: str | None, values: dict[str, Any]) -> str | None:
    """The id asked for, or the one the definition's id template makes; None: numbered."""
    if instance_id is not None and not INSTANCE_ID.match(instance_id):
        raise BadInput(_("instance id {id!r} must be lower case letters, digits, '.', '-' or '_' "
                         "(up to 100), e.g. theme-3").format(id=instance_id))
    scope = {"params": values, "data": {}, "instance": {"workflow": definition.name}, "event": {}}
    wanted = instance_id or (str(definition.id_template.render(scope)) if definition.id_template else None)
    if wanted is not None and not INSTANCE_ID.match(wanted):
        raise BadInput(_("the id {id!r} made from {path} is not a valid instance id; give --id").format(
            id=wanted, path=definition.path))
    return wanted


def next_id(conn: Connection, workflow: str) -> str:
    count = conn.scalar(select(func.count()).select_from(Instance).where(Instance.workflow == workflow))
    n = (count or 0) + 1
    while conn.scalar(select(Instance.id).where(Instance.id == f"{workflow}-{n}")) is not None:
        n += 1
    return f"{workflow}-{n}"


def start(rt: Runtime, conn: Connection, definition: Definition, wanted: str | None, values: dict[str, Any],
          now: dt.datetime, contexts: Contexts) -> Outcome:
    """Write a new instance in its initial state, its tracks, its first event and actions."""
    new_id = wanted or next_id(conn, definition.name)
    existing = peek_instance(conn, new_id)
    if existing is not None:
        raise AlreadyExists(_("instance {id} already exists ({workflow}, state {state}); choose another --id").format(
            id=new_id, workflow=existing[0], state=existing[1]))
    initial = definition.instance.states[definition.instance.initial]
    scope = {"params": values, "data": {}, "instance": {"workflow": definition.name}, "event": {}}
    row = InstanceRecord(
        id=new_id, workflow=definition.name, definition_version=definition.version, state=initial.name,
        params={k: to_json_value(v) for k, v in values.items()}, data={}, version=1,
        state_entered_at=now, timeout_at=timeout_at(rt, initial, now, scope),
        created_at=now, updated_at=now, definition_hash=definition.digest or None,
    )
    if definition.track:
        due = definition.track.deadline.render(scope) if definition.track.deadline else None
        row.tracks = [TrackRecord(participant, definition.track.initial, parse_date(due) if due else None,
                                  {}, now) for participant in definition.participants]
    fields = dict(trigger="start", source=None, dest=initial.name, participant=None, note=None)
    effects, changed = apply_inline(rt, row, None, definition, list(initial.on_enter), rt.actor, now, fields,
                                    {"params": row.params}, contexts)
    pin(conn, definition, now)
    insert_instance(conn, row)
    event = record(conn, row, now, rt.actor, **fields, data={"params": row.params, **changed})
    view = view_of(rt, row, definition, now)
    outbox = enqueue(conn, row, event, effects, view)
    return Outcome(view, [event.seq], outbox, now)


def pin(conn: Connection, definition: Definition, now: dt.datetime) -> None:
    """Keep the definition's text, so that instances on it run on it whatever the file becomes."""
    if definition.digest:
        store_definition(conn, definition.digest, definition.name, definition.version, definition.path,
                         definition.text, now)


def fire(rt: Runtime, conn: Connection, row: InstanceRecord, move: Move, contexts: Contexts,
         batch: "Batch | None" = None) -> Outcome | None:
    """Run `move` on the instance (or one of its tracks) and write what it did; with
    `batch`, leave the writing to `batch.write` (several moves in one go)."""
    definition = rt.definition_of(row.workflow, row.definition_hash)
    view = view_of(rt, row, definition, move.now)
    level, mdef, state, track = _level(definition, row, view, move.trigger, move.participant)
    first = next(t for t in mdef.triggers_from(state) if t.trigger == move.trigger)
    ctx = guard_context(rt, conn, view, definition, move.actor, move.now, move.participant, move.values, move.note)
    scope = views.scope(view, {"trigger": move.trigger, "participant": move.participant,
                               "actor": move.actor, "note": move.note})
    role = role_problem(first, ctx)
    if role:
        raise Forbidden(f"{row.id}: {role}")
    typed = inputs.check(rt, definition, first, move.values, row.params)
    if typed != move.values:  # the guards see what will be recorded
        move = replace(move, values=typed)
        ctx = guard_context(rt, conn, view, definition, move.actor, move.now, move.participant, typed, move.note)
    # The machine asks for each transition it tries (the same decision `triggers` shows);
    # it passes its own compiled copy of the transition, equal to ours.
    subject = Subject(state, lambda t: decide(t, ctx, rt.plugins.registry, scope, check_roles=False).reasons)
    if not rt.machine(definition, level).fire(subject, move.trigger):
        where = _("{participant}'s track in {instance}").format(participant=move.participant, instance=row.id) \
            if move.participant else row.id
        raise Blocked(_("{trigger} is blocked on {where}: {reasons}").format(
            trigger=move.trigger, where=where, reasons="; ".join(subject.reasons)))
    decided = _decided(rt, row, track, definition, mdef, state, subject, move, scope, contexts)
    if batch is not None:
        batch.moves.append(decided)
        return None
    return Batch([decided]).write(rt, conn, row)[0]


def fire_tracks(rt: Runtime, conn: Connection, row: InstanceRecord, move: Move, participants: list[str] | None,
                all_in: str | None, contexts: Contexts) -> Outcome:
    """`move` on several tracks of one instance, in the caller's one transaction: one event
    per track, all or nothing (the first refusal, which names its country, undoes the rest).
    Each move is decided on the state the ones before it left; their rows are written
    together (one version check, the tracks and the events each in one batch)."""
    if all_in is not None:
        participants = [t.participant for t in row.tracks if t.state == all_in]
        if not participants:
            states = sorted({t.state for t in row.tracks}) or [_("none")]
            raise BadInput(_("no track of {instance} is in state {state!r}; its tracks are in: {states}").format(
                instance=row.id, state=all_in, states=", ".join(states)))
    chosen = list(dict.fromkeys(participants or []))
    batch = Batch([])
    for participant in chosen:
        try:
            fire(rt, conn, row, replace(move, participant=participant), contexts, batch)
        except (Blocked, Forbidden, InvalidTrigger, BadInput, NotFound) as exc:
            raise type(exc)(f"{participant}: {exc}; none of the {len(chosen)} tracks moved") from None
    outcomes = batch.write(rt, conn, row)
    return Outcome([o.result for o in outcomes], [e for o in outcomes for e in o.events],
                   [i for o in outcomes for i in o.outbox], move.now)


def _decided(rt: Runtime, row: InstanceRecord, track: TrackRecord | None, definition: Definition,
             mdef: MachineDef, state: str, subject: Subject, move: Move, scope: dict[str, Any],
             contexts: Contexts) -> Decided:
    """Apply a decided move to the records in memory: state, data, timeout, inline actions."""
    dest, now = subject.state, move.now
    event_data: dict[str, Any] = {}
    if move.values:
        event_data["values"] = {k: to_json_value(v) for k, v in move.values.items()}
    if track is not None:
        if late(rt, track, mdef, state, dest, now):
            event_data["late"] = {"due": track.due.isoformat()}
        track.state, track.updated_at = dest, now
        if move.values:
            track.data = {**(track.data or {}), **event_data["values"]}
    else:
        if move.values:
            row.data = {**(row.data or {}), **event_data["values"]}
        enter(rt, row, mdef, state, dest, move.trigger, now, scope)
    row.updated_at = now
    fields = dict(trigger=move.trigger, source=state, dest=dest, participant=move.participant, note=move.note)
    effects, changed = apply_inline(rt, row, track, definition, subject.queued, move.actor, now, fields, event_data,
                                    contexts)
    if move.files:
        event_data["attachments"] = [{"filename": f, "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)}
                                     for f, c in move.files]
    view = view_of(rt, row, definition, now) if effects else None
    return Decided(track, definition, move, fields, {**event_data, **changed}, effects, view)


def late(rt: Runtime, track: TrackRecord, mdef: MachineDef, source: str, dest: str, now: dt.datetime) -> bool:
    """Whether this move does what the deadline asked, after the deadline's day."""
    met = getattr(mdef, "deadline_met", ())
    return (track.due is not None and dest in met and source not in met
            and rt.today(now) > track.due)


def _level(definition: Definition, row: InstanceRecord, view: InstanceView, trigger: str,
           participant: str | None) -> tuple[str, MachineDef, str, TrackRecord | None]:
    """Which machine a trigger runs on, checked: the instance's, or one track's."""
    if participant is None:
        mdef, state = definition.instance, row.state
        if state not in mdef.states:
            raise InvalidTrigger(_("{instance} is in state {state!r}, which {path} no longer defines").format(
                instance=row.id, state=state, path=definition.path))
        if trigger not in {t.trigger for t in mdef.triggers_from(state)}:
            if definition.track and trigger in definition.track.trigger_names():
                raise BadInput(_("{trigger} is a trigger of each participant's track: add --participant "
                                 "(one of {known})").format(trigger=trigger, known=", ".join(definition.participants)))
            raise InvalidTrigger(not_possible(row.id, state, trigger, mdef))
        return "instance", mdef, state, None
    if definition.track is None:
        raise BadInput(_("{instance} has no participants; fire its triggers without --participant").format(
            instance=row.id))
    track = row.track(participant)
    if track is None:
        raise NotFound(_("{participant} has no track in {instance}; participants: {known}").format(
            participant=repr(participant), instance=row.id, known=", ".join(view.tracks)))
    mdef = definition.track
    if not mdef.moves_in(row.state):
        raise InvalidTrigger(_("tracks of {instance} move only while it is in {states}; it is {state}").format(
            instance=row.id, states="|".join(mdef.active_in), state=row.state))
    if trigger not in {t.trigger for t in mdef.triggers_from(track.state)}:
        where = _("{participant}'s track in {instance}").format(participant=participant, instance=row.id)
        raise InvalidTrigger(not_possible(where, track.state, trigger, mdef))
    return "track", mdef, track.state, track


def not_possible(where: str, state: str, trigger: str, mdef: MachineDef) -> str:
    possible = sorted({t.trigger for t in mdef.triggers_from(state)})
    now = _("possible now: {triggers}").format(triggers=", ".join(possible)) if possible \
        else _("nothing can be fired from it")
    return _("{trigger!r} is not possible: {where} is in state {state}; {now}").format(
        trigger=trigger, where=where, state=state, now=now)


def enter(rt: Runtime, row: InstanceRecord, mdef: MachineDef, source: str, dest: str, trigger: str,
          now: dt.datetime, scope: dict) -> None:
    """Move the instance row to `dest` and work out when its timeout falls.

    A timeout fires once per entry into its state: if its trigger loops back
    into the same state, it is not armed again."""
    state = mdef.states[dest]
    if dest != source:
        row.state = dest
        row.state_entered_at = now
        row.timeout_at = timeout_at(rt, state, now, scope)
    elif state.timeout and state.timeout.trigger == trigger:
        row.timeout_at = None


def timeout_at(rt: Runtime, state: StateDef, entered: dt.datetime, scope: dict) -> dt.datetime | None:
    """When the timeout of `state`, entered at `entered`, falls (UTC), or None."""
    timeout = state.timeout
    if timeout is None:
        return None
    if timeout.after is not None:
        return entered + timeout.after
    value = timeout.at.render(scope)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value)
        moment = parse_date(text) if len(text) == 10 else parse_datetime(text)
    if not isinstance(moment, dt.datetime):  # a date: the timeout falls when that day is over
        moment = dt.datetime.combine(moment + dt.timedelta(days=1), dt.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=rt.config.timezone)
    return moment.astimezone(dt.timezone.utc)


def apply_inline(rt: Runtime, row: InstanceRecord, track: TrackRecord | None, definition: Definition,
                 calls: list[Call], actor: str, now: dt.datetime, fields: dict[str, Any],
                 event_data: dict[str, Any], contexts: Contexts) -> tuple[list[Call], dict[str, Any]]:
    """Run the in-transaction actions on the instance's (and the moving track's) data
    before anything is written, so that state, data and event go out together. Returns
    the actions left for the outbox, and what changed, for the event: {"set": …} for
    the instance, {"track_set": …} for the track."""
    registry = rt.plugins.registry.actions
    effects = [c for c in calls if not registry[c.name].in_transaction]
    inline = [c for c in calls if registry[c.name].in_transaction]
    if not inline:
        return effects, {}
    view = view_of(rt, row, definition, now)
    # Not written yet, so it has no seq; actions see what it will record.
    event = EventView(seq=0, at=now, actor=actor, instance_id=row.id, data=dict(event_data), **fields)
    scope = views.scope(view, {**fields, "actor": actor})
    data = copy.deepcopy(row.data or {})
    track_data = copy.deepcopy(track.data or {}) if track is not None else None
    for call in inline:
        ctx = contexts(view, event, definition, f"{row.id}-{call.name}")
        ctx.data, ctx.track_data = data, track_data
        registry[call.name].function(ctx, render_value(call.args, scope))
    changes = {}
    for key, holder, new in (("set", row, data), ("track_set", track, track_data)):
        if holder is None:
            continue
        old = holder.data or {}
        changed = {k: to_json_value(v) for k, v in new.items() if old.get(k) != v}
        if changed:
            holder.data = new
            changes[key] = changed
    return effects, changes
