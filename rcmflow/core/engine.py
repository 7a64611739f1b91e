"""The engine: the Python API behind the CLI (start, fire, triggers, status, history, tick).

Every command that changes something is one database transaction: load the
instance, run the trigger through the compiled machine, write the new state, one
history event and the queued actions, all or nothing. The instance row carries a
version; a write that lost a race with another writer is retried from the start,
guards included, so the loser either succeeds on the new state or gets a clear error.
After the commit the dispatcher runs the queued actions and plugins hear `on_event`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.engine import Connection

from rcmflow.config import Config, load_config
from rcmflow.context import INSTANCE_ID, SYSTEM_ACTOR, ActionContext, Attachment, EventView, GuardContext, InstanceView, TrackView
from rcmflow.model.catalog import Catalog, load_catalog
from rcmflow.model.definition import Call, Definition, MachineDef, Reminder, StateDef
from rcmflow.model.refs import render_value
from rcmflow.model.values import PARAM_TYPES, parse_date, parse_datetime, to_json_value
from rcmflow.core.outbox import Dispatcher
from rcmflow.errors import (
    BadInput, Blocked, Conflict, DatabaseError, DefinitionError, Forbidden, InvalidTrigger, NotFound,
)
from rcmflow.log import bound, get_logger
from rcmflow.core.machine import CompiledMachine, Subject, guard_reasons, role_problem
from rcmflow.model.members import Members, load_members
from rcmflow.plugins import Plugins, load_plugins
from rcmflow.store import (
    Database, Event, Instance, InstanceRecord, LostRace, Track, TrackRecord, attachment_rows, insert_attachment, insert_event,
    insert_instance, insert_outbox, load_instance, record_reminder, reminder_keys, save_instance, status_rows,
)


MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
#: how often a command that keeps losing races is tried before the user hears of it
WRITE_ATTEMPTS = 8


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

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "participant": self.participant,
                "track_state": self.track_state, "event_seq": self.event_seq}


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    dest: str
    allowed: bool
    reason: str | None
    roles: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "dest": self.dest, "allowed": self.allowed, "reason": self.reason}


@dataclass
class TickReport:
    now: dt.datetime
    fired: list[FireResult] = field(default_factory=list)
    #: timeouts that are due but whose guards still refuse: (instance, why)
    waiting: list[tuple[str, str]] = field(default_factory=list)
    #: reminders sent: (instance, participant, which reminder)
    reminded: list[tuple[str, str, str]] = field(default_factory=list)
    actions_done: int = 0
    actions_failed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "reminded": [{"id": i, "participant": p, "reminder": r} for i, p, r in self.reminded],
            "fired": [{"id": f.id, "trigger": f.trigger, "source": f.source, "dest": f.dest,
                       "event_seq": f.event_seq} for f in self.fired],
            "waiting": [{"id": i, "reason": r} for i, r in self.waiting],
            "actions_done": self.actions_done, "actions_failed": self.actions_failed,
        }


def instance_json(view: InstanceView) -> dict[str, Any]:
    """The stable `status --json` shape of one instance."""
    return {
        "id": view.id, "workflow": view.workflow, "state": view.state, "version": view.version,
        "tracks": {p: {"state": t.state, "due": t.due.isoformat() if t.due else None, "overdue": t.overdue,
                       "reminded": t.reminded.isoformat() if t.reminded else None}
                   for p, t in view.tracks.items()},
    }


@dataclass
class _Outcome:
    """What one write transaction did, for the work that follows its commit."""

    result: Any
    events: list[int] = field(default_factory=list)
    outbox: list[int] = field(default_factory=list)
    #: the time the transaction acted at (`tick --now` may differ from the clock)
    now: dt.datetime | None = None
    #: how the queued actions went when they were run right after the commit
    actions_done: int = 0
    actions_failed: int = 0


class Engine:
    """rcmflow's API. One Engine serves one home and one database; it keeps no state
    between commands other than caches of what the files say."""

    def __init__(self, home: str | Path | None = None, db: str | None = None, actor: str | None = None, *,
                 config: Config | None = None, plugins: Plugins | None = None,
                 entry_points: bool | None = None, clock: Callable[[], dt.datetime] | None = None):
        self.config = config or load_config(home, db, actor)
        self.plugins = plugins or load_plugins(self.config.home, entry_points)
        members, problems = load_members(self.config.home)
        if problems:
            raise DefinitionError(list(problems))
        self.members: Members = members
        self.db = Database(self.config.db_url)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.dispatcher = Dispatcher(self)
        self._catalog: Catalog | None = None
        self._machines: dict[tuple[str, int, str], CompiledMachine] = {}

    def acting_as(self, actor: str) -> "Engine":
        """The same engine (plugins, definitions, database) for another actor."""
        other = copy.copy(self)
        other.config = replace(self.config, actor=actor)
        other.dispatcher = Dispatcher(other)
        return other

    # --- set-up -------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        return self.config.actor

    @property
    def home(self) -> Path:
        return self.config.home

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.home, self.plugins.registry, self.members)
        return self._catalog

    def definition(self, workflow: str) -> Definition:
        catalog = self.catalog
        if workflow not in catalog.definitions and catalog.problems:
            raise DefinitionError(catalog.problems)
        return catalog.get(workflow)

    def init(self) -> str:
        """Create the schema or upgrade it; returns the database URL shown to users."""
        from rcmflow.store.migrations import upgrade

        try:
            upgrade(self.db)
        except OperationalError as exc:
            raise DatabaseError(f"cannot open the database {self.db.display_url}: {str(exc.orig).splitlines()[0]}") from None
        return self.db.display_url

    def now(self) -> dt.datetime:
        return self.clock()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.config.timezone)

    def close(self) -> None:
        self.db.dispose()

    def _machine(self, definition: Definition, level: str) -> CompiledMachine:
        key = (definition.name, definition.version, level)
        if key not in self._machines:
            mdef = definition.instance if level == "instance" else definition.track
            self._machines[key] = CompiledMachine(mdef)
        return self._machines[key]

    # --- the unit of work ------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], _Outcome], retry_duplicate: bool = False,
               **context: Any) -> _Outcome:
        """Run `work` in one write transaction; retry it from the start when it lost a race.
        `retry_duplicate`: a duplicate key (a concurrent start of the same id) is such a race."""
        log = get_logger()
        with bound(actor=self.actor, **context):
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    with self.db.writing() as conn:
                        outcome = work(conn)
                    break
                except LostRace:
                    # The instance's version moved under us: read again, decide again.
                    log.info("write lost a race; retrying", attempt=attempt)
                except IntegrityError as exc:
                    # A concurrent start took the same id; the next attempt sees it and
                    # says so. Anything else, or a second time, is a fault to show.
                    if attempt > 1 or not retry_duplicate:
                        raise
                    log.info("write lost a race; retrying", attempt=attempt, error=str(exc.orig).splitlines()[0])
                except OperationalError as exc:
                    raise DatabaseError(f"database error on {self.db.display_url}: {str(exc.orig).splitlines()[0]}") from None
            else:
                raise Conflict(f"{context.get('instance', 'the instance')} kept changing while this command ran "
                               f"({WRITE_ATTEMPTS} attempts); try again")
            self._after_commit(outcome)
        return outcome

    def _after_commit(self, outcome: _Outcome) -> None:
        if outcome.outbox:
            outcome.actions_done, outcome.actions_failed = self.dispatcher.run(outcome.outbox, outcome.now)
        if outcome.events:
            self._announce(outcome.events)

    def _announce(self, seqs: list[int]) -> None:
        hook = self.plugins.pm.hook.on_event
        if not hook.get_hookimpls():
            return
        with self.db.reading() as session:
            for seq in seqs:
                event = session.get(Event, seq)
                view = self._instance_view(session.get(Instance, event.instance_id))
                try:
                    hook(event=event_view(event), instance=view, engine=self)
                except Exception:  # the transition is committed; a listener cannot undo it
                    get_logger().exception("an on_event plugin failed", event_seq=seq)

    # --- views -----------------------------------------------------------------------------

    def _typed_params(self, definition: Definition | None, params: dict[str, Any]) -> dict[str, Any]:
        if definition is None:
            return dict(params)
        typed = {}
        for name, value in params.items():
            param = definition.params.get(name)
            typed[name] = PARAM_TYPES[param.type](value) if param and value is not None else value
        return typed

    def _track_view(self, definition: Definition | None, row: InstanceRecord | Instance,
                    track: TrackRecord | Track, today: dt.date) -> TrackView:
        overdue = is_overdue(definition, row.state, track.state, track.due, today)
        reminded = track.reminded_at.date() if track.reminded_at else None
        return TrackView(track.participant, track.state, track.due, overdue, dict(track.data or {}), reminded)

    def _instance_view(self, row: InstanceRecord | Instance, definition: Definition | None = None) -> InstanceView:
        definition = definition or self.catalog.definitions.get(row.workflow)
        today = self.local(self.now()).date()
        return InstanceView(
            id=row.id, workflow=row.workflow, state=row.state, version=row.version,
            params=self._typed_params(definition, row.params), data=dict(row.data or {}),
            tracks={t.participant: self._track_view(definition, row, t, today) for t in row.tracks},
            created_at=row.created_at, updated_at=row.updated_at, timeout_at=row.timeout_at,
        )

    def _load(self, conn: Connection, instance_id: str) -> InstanceRecord:
        row = load_instance(conn, instance_id)
        if row is None:
            known = conn.scalars(select(Instance.id).order_by(Instance.id).limit(12)).all()
            hint = f"; instances: {', '.join(known)}" if known else "; no instance is started yet (rcmflow start WORKFLOW)"
            raise NotFound(f"unknown instance {instance_id!r}{hint}")
        return row

    def _scope(self, view: InstanceView, event: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return {"params": view.params, "data": view.data,
                "instance": {"id": view.id, "workflow": view.workflow, "state": view.state},
                "event": event or {}}

    # --- start --------------------------------------------------------------------------------

    def start(self, workflow: str, instance_id: str | None = None,
              params: dict[str, Any] | None = None) -> InstanceView:
        """Start a new instance of `workflow` and return it. `params` may be strings."""
        definition = self.definition(workflow)
        values = definition.parse_params(params or {})
        if instance_id is not None and not INSTANCE_ID.match(instance_id):
            raise BadInput(f"instance id {instance_id!r} must be lower case letters, digits, '.', '-' or '_' "
                           f"(up to 100), e.g. theme-3")
        scope = {"params": values, "data": {}, "instance": {"workflow": workflow}, "event": {}}
        wanted = instance_id or (str(definition.id_template.render(scope)) if definition.id_template else None)
        if wanted is not None and not INSTANCE_ID.match(wanted):
            raise BadInput(f"the id {wanted!r} made from {definition.path} is not a valid instance id; give --id")

        def work(conn: Connection) -> _Outcome:
            now = self.now()
            new_id = wanted or self._next_id(conn, workflow)
            existing = load_instance(conn, new_id)
            if existing is not None:
                raise BadInput(f"instance {new_id} already exists ({existing.workflow}, state {existing.state}); "
                               f"choose another --id")
            initial = definition.instance.states[definition.instance.initial]
            row = InstanceRecord(
                id=new_id, workflow=workflow, definition_version=definition.version, state=initial.name,
                params={k: to_json_value(v) for k, v in values.items()}, data={}, version=1,
                state_entered_at=now, timeout_at=self._timeout_at(initial, now, scope),
                created_at=now, updated_at=now,
            )
            if definition.track:
                due = definition.track.deadline.render(scope) if definition.track.deadline else None
                row.tracks = [TrackRecord(participant, definition.track.initial, parse_date(due) if due else None,
                                          {}, now) for participant in definition.participants]
            fields = dict(trigger="start", source=None, dest=initial.name, participant=None, note=None)
            effects, changed = self._apply(row, None, definition, list(initial.on_enter), self.actor, now, fields,
                                           {"params": row.params})
            insert_instance(conn, row)
            event = self._record(conn, row, now, self.actor, **fields,
                                 data={"params": row.params, **changed})
            view = self._instance_view(row, definition)
            outbox = self._enqueue(conn, row, event, effects, view)
            return _Outcome(view, [event.seq], outbox, now)

        outcome = self._write(work, retry_duplicate=True, workflow=workflow, trigger="start")
        get_logger().info("instance started", instance=outcome.result.id, workflow=workflow)
        return outcome.result

    def _next_id(self, conn: Connection, workflow: str) -> str:
        count = conn.scalar(select(func.count()).select_from(Instance).where(Instance.workflow == workflow))
        n = (count or 0) + 1
        while conn.scalar(select(Instance.id).where(Instance.id == f"{workflow}-{n}")) is not None:
            n += 1
        return f"{workflow}-{n}"

    def _timeout_at(self, state: StateDef, entered: dt.datetime, scope: dict) -> dt.datetime | None:
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
            moment = moment.replace(tzinfo=self.config.timezone)
        return moment.astimezone(dt.timezone.utc)

    # --- fire -----------------------------------------------------------------------------

    def fire(self, instance_id: str, trigger: str, participant: str | None = None, note: str | None = None,
             values: dict[str, Any] | None = None, attachments: list[str | Path] = ()) -> FireResult:
        """Fire `trigger` on the instance, or on `participant`'s track. One transaction."""
        files = [read_attachment(Path(p)) for p in attachments]
        values = dict(values or {})

        def work(conn: Connection) -> _Outcome:
            row = self._load(conn, instance_id)
            return self._transition(conn, row, trigger, participant, self.actor, note, values, files, self.now())

        return self._write(work, instance=instance_id, trigger=trigger, participant=participant).result

    def _transition(self, conn: Connection, row: InstanceRecord, trigger: str, participant: str | None,
                    actor: str, note: str | None, values: dict[str, Any],
                    files: list[tuple[str, bytes]], now: dt.datetime) -> _Outcome:
        definition = self.definition(row.workflow)
        view = self._instance_view(row, definition)
        level, mdef, state, track = self._level(definition, row, view, trigger, participant)
        transition = next(t for t in mdef.triggers_from(state) if t.trigger == trigger)
        ctx = GuardContext(view, definition, self.members, actor, self.local(now), participant, values, conn, note,
                           self._finder(conn))
        problem = role_problem(transition, ctx)
        if problem:
            raise Forbidden(f"{row.id}: {problem}")
        scope = self._scope(view, {"trigger": trigger, "participant": participant, "actor": actor, "note": note})
        subject = Subject(state, lambda t: guard_reasons(t, ctx, self.plugins.registry, scope))
        if not self._machine(definition, level).fire(subject, trigger):
            where = f"{participant}'s track in {row.id}" if participant else row.id
            raise Blocked(f"{trigger} is blocked on {where}: {'; '.join(subject.reasons)}")

        dest = subject.state
        event_data: dict[str, Any] = {}
        if values:
            event_data["values"] = {k: to_json_value(v) for k, v in values.items()}
        if track is not None:
            track.state = dest
            track.updated_at = now
            if values:
                track.data = {**(track.data or {}), **event_data["values"]}
        else:
            if values:
                row.data = {**(row.data or {}), **event_data["values"]}
            self._enter(row, mdef, state, dest, trigger, now, scope)
        row.updated_at = now
        fields = dict(trigger=trigger, source=state, dest=dest, participant=participant, note=note)
        effects, changed = self._apply(row, track, definition, subject.queued, actor, now, fields, event_data)
        if files:
            event_data["attachments"] = [{"filename": f, "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)}
                                         for f, c in files]
        # The version check: the instance (even when only a track moved) is written
        # only if nobody else wrote it since we read it.
        save_instance(conn, row, track)
        event = self._record(conn, row, now, actor, **fields, data={**event_data, **changed})
        for filename, content in files:
            insert_attachment(conn, event_seq=event.seq, instance_id=row.id, participant=participant,
                              filename=filename, size=len(content),
                              sha256=hashlib.sha256(content).hexdigest(), content=content)
        outbox = self._enqueue(conn, row, event, effects, self._instance_view(row, definition)) if effects else []
        result = FireResult(row.id, row.state, participant, dest if track is not None else None,
                            event.seq, trigger, state, dest)
        get_logger().info("transition", instance=row.id, trigger=trigger, source=state, dest=dest,
                          participant=participant, event_seq=event.seq)
        return _Outcome(result, [event.seq], outbox, now)

    def _level(self, definition: Definition, row: InstanceRecord, view: InstanceView, trigger: str,
               participant: str | None) -> tuple[str, MachineDef, str, TrackRecord | None]:
        """Which machine a trigger runs on, checked: the instance's, or one track's."""
        if participant is None:
            mdef, state = definition.instance, row.state
            if state not in mdef.states:
                raise InvalidTrigger(f"{row.id} is in state {state!r}, which {definition.path} no longer defines")
            if trigger not in {t.trigger for t in mdef.triggers_from(state)}:
                if definition.track and trigger in definition.track.trigger_names():
                    raise BadInput(f"{trigger} is a trigger of each participant's track: add --participant "
                                   f"(one of {', '.join(definition.participants)})")
                raise InvalidTrigger(self._not_possible(row.id, state, trigger, mdef))
            return "instance", mdef, state, None
        if definition.track is None:
            raise BadInput(f"{row.id} has no participants; fire its triggers without --participant")
        track = row.track(participant)
        if track is None:
            raise NotFound(f"{participant!r} has no track in {row.id}; participants: {', '.join(view.tracks)}")
        mdef = definition.track
        if mdef.active_in and row.state not in mdef.active_in:
            raise InvalidTrigger(f"tracks of {row.id} move only while it is in {'|'.join(mdef.active_in)}; "
                                 f"it is {row.state}")
        if trigger not in {t.trigger for t in mdef.triggers_from(track.state)}:
            raise InvalidTrigger(self._not_possible(f"{participant}'s track in {row.id}", track.state, trigger, mdef))
        return "track", mdef, track.state, track

    @staticmethod
    def _not_possible(where: str, state: str, trigger: str, mdef: MachineDef) -> str:
        possible = sorted({t.trigger for t in mdef.triggers_from(state)})
        now = f"possible now: {', '.join(possible)}" if possible else "nothing can be fired from it"
        return f"{trigger!r} is not possible: {where} is in state {state}; {now}"

    def _enter(self, row: InstanceRecord, mdef: MachineDef, source: str, dest: str, trigger: str,
               now: dt.datetime, scope: dict) -> None:
        """Move the instance row to `dest` and work out when its timeout falls.

        A timeout fires once per entry into its state: if its trigger loops back
        into the same state, it is not armed again."""
        state = mdef.states[dest]
        if dest != source:
            row.state = dest
            row.state_entered_at = now
            row.timeout_at = self._timeout_at(state, now, scope)
        elif state.timeout and state.timeout.trigger == trigger:
            row.timeout_at = None

    def _record(self, conn: Connection, row: InstanceRecord, now: dt.datetime, actor: str,
                **fields: Any) -> EventView:
        seq = insert_event(conn, at=now, actor=actor, instance_id=row.id, **fields)
        return EventView(seq=seq, at=now, actor=actor, instance_id=row.id, **fields)

    def _apply(self, row: InstanceRecord, track: TrackRecord | None, definition: Definition, calls: list[Call],
               actor: str, now: dt.datetime, fields: dict[str, Any], event_data: dict[str, Any],
               ) -> tuple[list[Call], dict[str, Any]]:
        """Run the in-transaction actions on the instance's (and the moving track's)
        data before anything is written, so that state, data and event go out
        together. Returns the actions left for the outbox, and what changed, for the
        event: {"set": …} for the instance, {"track_set": …} for the track."""
        registry = self.plugins.registry.actions
        effects = [c for c in calls if not registry[c.name].in_transaction]
        inline = [c for c in calls if registry[c.name].in_transaction]
        if not inline:
            return effects, {}
        view = self._instance_view(row, definition)
        # Not written yet, so it has no seq; actions see what it will record.
        event = EventView(seq=0, at=now, actor=actor, instance_id=row.id, data=dict(event_data), **fields)
        scope = self._scope(view, {**fields, "actor": actor})
        data = copy.deepcopy(row.data or {})
        track_data = copy.deepcopy(track.data or {}) if track is not None else None
        for call in inline:
            ctx = self.action_context(view, event, definition, f"{row.id}-{call.name}")
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

    def _enqueue(self, conn: Connection, row: InstanceRecord, event: EventView, calls: list[Call],
                 view: InstanceView) -> list[int]:
        """Write each effect to the outbox, in the transition's transaction."""
        if not calls:
            return []
        scope = self._scope(view, {"trigger": event.trigger, "participant": event.participant,
                                   "actor": event.actor, "note": event.note, "seq": event.seq})
        return insert_outbox(conn, [
            dict(instance_id=row.id, event_seq=event.seq, action=call.name, args=render_value(call.args, scope),
                 status="pending", attempts=0, next_attempt_at=event.at, created_at=event.at)
            for call in calls])

    def action_context(self, view: InstanceView, event: EventView, definition: Definition,
                       key: str) -> ActionContext:
        return ActionContext(
            instance=view, event=event, definition=definition, members=self.members, config=self.config,
            home=self.home, now=self.now(), idempotency_key=key, data=dict(view.data),
            log=get_logger(instance=view.id, action_key=key), engine=self,
        )

    # --- notes in the history -------------------------------------------------------------

    def record(self, instance_id: str, kind: str, note: str | None = None, data: dict[str, Any] | None = None,
               participant: str | None = None, actor: str | None = None) -> EventView:
        """Add an event that changes no state (a document built, a reminder sent) to the
        history, so that it shows who did what and when. It leaves the version alone:
        recording never makes a concurrent transition lose its race."""

        def work(conn: Connection) -> _Outcome:
            row = self._load(conn, instance_id)
            if participant is not None and row.track(participant) is None:
                raise NotFound(f"{participant!r} has no track in {row.id}")
            now = self.now()
            event = self._record(conn, row, now, actor or self.actor, trigger=kind, source=row.state,
                                 dest=row.state, participant=participant, note=note, data=data or {})
            return _Outcome(event, [event.seq], [], now)

        return self._write(work, instance=instance_id, trigger=kind).result

    # --- reading -------------------------------------------------------------------------------

    def triggers(self, instance_id: str, participant: str | None = None,
                 check_roles: bool = True) -> list[TriggerOption]:
        """The triggers of the current state, each allowed or blocked, with the reason.
        With `check_roles=False`: what the process itself waits for, whoever fires it."""
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            row = self._load(conn, instance_id)
            definition = self.definition(row.workflow)
            view = self._instance_view(row, definition)
            if participant is None:
                mdef, state, inactive = definition.instance, row.state, None
            else:
                if definition.track is None:
                    raise BadInput(f"{row.id} has no participants; list its triggers without --participant")
                if participant not in view.tracks:
                    raise NotFound(f"{participant!r} has no track in {row.id}; participants: {', '.join(view.tracks)}")
                mdef, state = definition.track, view.tracks[participant].state
                active = mdef.active_in
                inactive = (f"tracks move only while {row.id} is in {'|'.join(active)}; it is {row.state}"
                            if active and row.state not in active else None)
            ctx = GuardContext(view, definition, self.members, self.actor, self.local(self.now()),
                               participant, {}, conn, finder=self._finder(conn))
            scope = self._scope(view, {"participant": participant, "actor": self.actor})
            options = []
            for t in mdef.triggers_from(state):
                reasons = [inactive] if inactive else [r for r in [check_roles and role_problem(t, ctx)] if r]
                if not reasons:
                    reasons = guard_reasons(t, ctx, self.plugins.registry, scope)
                options.append(TriggerOption(t.trigger, t.dest, not reasons, "; ".join(reasons) or None, t.roles))
            return options

    def _finder(self, conn: Connection) -> Callable[[str | None, dict[str, Any]], list[InstanceView]]:
        """`GuardContext.instances`, on the guard's own connection."""

        def find(workflow: str | None, params: dict[str, Any]) -> list[InstanceView]:
            query = select(Instance.id).order_by(Instance.id)
            if workflow is not None:
                query = query.where(Instance.workflow == workflow)
            views = [self._instance_view(load_instance(conn, i)) for i in conn.scalars(query).all()]
            # YAML and the command line give strings; the views hold typed values.
            return [v for v in views if all(str(v.params.get(k)) == str(x) for k, x in params.items())]

        return find

    def attachments(self, instance_id: str, participant: str | None = None) -> list[Attachment]:
        """The files attached to an instance (one participant's, if given), oldest first."""
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            self._load(conn, instance_id)
            return [Attachment(**row) for row in attachment_rows(conn, instance_id, participant)]

    def get(self, instance_id: str) -> InstanceView:
        with self.db.reading() as session, session.begin():
            return self._instance_view(self._load(session.connection(), instance_id))

    def status(self, instance_id: str | None = None, workflow: str | None = None) -> list[InstanceView]:
        """Every instance (or one, or those of one workflow) with its tracks, due dates
        and overdue marks (the tracks' data is left out), in the order they were started."""
        if workflow is not None:
            self.definition(workflow)  # an unknown name is an error, not an empty list
        views = []
        for row in self._status_rows(instance_id, workflow=workflow):
            tracks = {p: TrackView(p, t["state"], _date(t["due"]), t["overdue"], reminded=_date(t["reminded"]))
                      for p, t in json.loads(row.tracks or "{}").items()}
            views.append(InstanceView(
                id=row.id, workflow=row.workflow, state=row.state, version=row.version, params=row.params or {},
                data=row.data or {}, tracks=tracks, created_at=row.created_at, updated_at=row.updated_at,
                timeout_at=row.timeout_at))
        return views

    def status_json(self, instance_id: str | None = None) -> str:
        """`status --json` as text: {"instances": [{"id", "workflow", "state", "version",
        "tracks": {"MX": {"state", "due", "overdue"}, …}}]}. The database builds the
        tracks' JSON; it is passed through, not decoded, which keeps thousands fast."""
        parts = []
        for row in self._status_rows(instance_id, brief=True):
            head = json.dumps({"id": row.id, "workflow": row.workflow, "state": row.state,
                               "version": row.version}, ensure_ascii=False)
            parts.append(f'{head[:-1]}, "tracks": {row.tracks or "{}"}}}')
        return '{"instances": [' + ", ".join(parts) + "]}"

    def _status_rows(self, instance_id: str | None, brief: bool = False, workflow: str | None = None):
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            if instance_id is not None:
                self._load(conn, instance_id)
            return status_rows(conn, self._overdue_condition(), instance_id, brief, workflow)

    def _overdue_condition(self) -> Callable[[Any], Any]:
        """`is_overdue` as SQL, for a track row `t` of the outer instance row."""
        today = self.local(self.now()).date()

        def condition(t):
            per_workflow = [
                and_(Instance.workflow == name,
                     Instance.state.in_(d.track.active_in) if d.track.active_in else true(),
                     t.c.state.not_in(d.track.deadline_met) if d.track.deadline_met else true())
                for name, d in self.catalog.definitions.items() if d.track is not None
            ]
            return and_(t.c.due.is_not(None), t.c.due < today, or_(false(), *per_workflow))

        return condition

    def waiting_for(self, view: InstanceView) -> str:
        """In words, what the next step of an open instance waits for (from its guards)."""
        options = self.triggers(view.id, check_roles=False)
        ready = [o.trigger for o in options if o.allowed]
        blocked = [f"{o.trigger}: {o.reason}" for o in options if not o.allowed]
        if not options:
            return "finished"
        can = f"can fire now: {', '.join(ready)}" if ready else ""
        return "; ".join(blocked + ([can] if can else []))

    def is_final(self, view: InstanceView) -> bool:
        """Whether the instance has reached a final state of its workflow."""
        definition = self.catalog.definitions.get(view.workflow)
        state = definition.instance.states.get(view.state) if definition else None
        return bool(state and state.final)

    def history(self, instance_id: str) -> list[EventView]:
        with self.db.reading() as session, session.begin():
            self._load(session.connection(), instance_id)
            rows = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))
            return [event_view(e) for e in rows]

    # --- tick ----------------------------------------------------------------------------------

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        """Fire due timeouts and run due actions. Safe to run as often as cron likes:
        each timeout fires once, each action runs until it has succeeded."""
        now = now or self.now()
        report = TickReport(now)
        with self.db.reading() as session, session.begin():
            due = session.scalars(select(Instance.id).where(Instance.timeout_at <= now)
                                  .order_by(Instance.timeout_at, Instance.id)).all()
        for instance_id in due:
            try:
                outcome = self._fire_timeout(instance_id, now)
            except Blocked as exc:
                report.waiting.append((instance_id, str(exc)))
                continue
            if outcome.result is not None:
                report.fired.append(outcome.result)
                report.actions_done += outcome.actions_done
                report.actions_failed += outcome.actions_failed
        for instance_id, participant, reminder, key in self._due_reminders(now):
            try:
                outcome = self._remind(instance_id, participant, reminder, key, now)
            except IntegrityError:  # another tick sent this one a moment ago
                continue
            if outcome.result is not None:
                report.reminded.append((instance_id, participant, reminder.describe()))
                report.actions_done += outcome.actions_done
                report.actions_failed += outcome.actions_failed
        done, failed = self.dispatcher.run_due(now)
        report.actions_done += done
        report.actions_failed += failed
        return report

    def _due_reminders(self, now: dt.datetime):
        """(instance, participant, reminder, key) for every reminder due and not yet sent."""
        today = self.local(now).date()
        for name, definition in self.catalog.definitions.items():
            track_def = definition.track
            if track_def is None or not track_def.reminders:
                continue
            views = [v for v in self.status(workflow=name) if not self.is_final(v)
                     and (not track_def.active_in or v.state in track_def.active_in)]
            if not views:
                continue
            with self.db.reading() as session, session.begin():
                sent = reminder_keys(session.connection(), [v.id for v in views])
            for view in views:
                for participant, track in view.tracks.items():
                    if track.due is None or track.state in track_def.deadline_met:
                        continue
                    for index, reminder in enumerate(track_def.reminders):
                        occurrence = reminder_occurrence(reminder, track.due, today)
                        key = f"{view.id}:{participant}:{index}:{occurrence}"
                        if occurrence and key not in sent:
                            yield view.id, participant, reminder, key

    def _remind(self, instance_id: str, participant: str, reminder: Reminder, key: str,
                now: dt.datetime) -> _Outcome:
        """One reminder, in one transaction: its key (so it is sent once), an event in the
        history, and its actions in the outbox. It changes no state, so no version."""

        def work(conn: Connection) -> _Outcome:
            row = self._load(conn, instance_id)
            definition = self.definition(row.workflow)
            track = row.track(participant)
            if track is None or track.state in definition.track.deadline_met:
                return _Outcome(None)  # answered since we looked
            note = f"reminder: {reminder.describe()} ({track.due.isoformat()})"
            event = self._record(conn, row, now, SYSTEM_ACTOR, trigger="remind", source=track.state,
                                 dest=track.state, participant=participant, note=note, data={"reminder": key})
            record_reminder(conn, key, row.id, participant, event.seq, now)
            outbox = self._enqueue(conn, row, event, list(reminder.actions), self._instance_view(row, definition))
            return _Outcome(event, [event.seq], outbox, now)

        return self._write(work, instance=instance_id, trigger="remind", participant=participant)

    def _fire_timeout(self, instance_id: str, now: dt.datetime) -> _Outcome:
        def work(conn: Connection) -> _Outcome:
            row = load_instance(conn, instance_id)
            # Someone (another tick, a user) may have moved it since we looked.
            if row is None or row.timeout_at is None or row.timeout_at > now:
                return _Outcome(None)
            definition = self.definition(row.workflow)
            timeout = definition.instance.states[row.state].timeout
            return self._transition(conn, row, timeout.trigger, None, SYSTEM_ACTOR,
                                    "timeout", {}, [], now)

        return self._write(work, instance=instance_id, trigger="timeout")


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def select_tracks(views: list[InstanceView], participants: tuple[str, ...] = (),
                  overdue_only: bool = False) -> list[InstanceView]:
    """Keep only the given participants' tracks, or only overdue ones; instances left
    without a track drop out when a filter is given."""
    if not participants and not overdue_only:
        return views
    kept = []
    for view in views:
        tracks = {p: t for p, t in view.tracks.items()
                  if (not participants or p in participants) and (t.overdue or not overdue_only)}
        if tracks:
            kept.append(replace(view, tracks=tracks))
    return kept


def is_overdue(definition: Definition | None, instance_state: str, track_state: str,
               due: dt.date | None, today: dt.date) -> bool:
    """A track is overdue once its due date is over, while its instance still waits
    for it (a track-active state) and it has not reached a state that meets the deadline."""
    if due is None or today <= due or definition is None or definition.track is None:
        return False
    track = definition.track
    if track.active_in and instance_state not in track.active_in:
        return False
    return track_state not in track.deadline_met


def reminder_occurrence(reminder: Reminder, due: dt.date, today: dt.date) -> str | None:
    """Which sending of `reminder` is due today, as part of its key, or None. A reminder
    `before` the deadline is due from that day until the deadline; one `every` N days
    after it, once per period (a tick that missed days sends the latest, not a burst)."""
    if reminder.before is not None:
        if due - reminder.before <= today <= due:
            return f"before-{reminder.before.days}d:{due.isoformat()}"
        return None
    if today > due:
        period = (today - due - dt.timedelta(days=1)) // reminder.every
        return f"every-{reminder.every.days}d:{due.isoformat()}:{period}"
    return None


def event_view(event: Event) -> EventView:
    return EventView(seq=event.seq, at=event.at, actor=event.actor, instance_id=event.instance_id,
                     trigger=event.trigger, source=event.source, dest=event.dest,
                     participant=event.participant, note=event.note, data=dict(event.data or {}))


def read_attachment(path: Path) -> tuple[str, bytes]:
    """Read a file given with `--attach`; unreadable or oversized files are refused."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read attachment {str(path)!r}: {exc.strerror or exc}") from None
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise BadInput(f"attachment {path.name} is {len(content) // (1024 * 1024)} MiB; "
                       f"the limit is {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB")
    return path.name, content
