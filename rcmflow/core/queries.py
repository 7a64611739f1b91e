"""Reading: one instance, the status of all, the history and its check, the attachments, and the
triggers of a state with why each is allowed or blocked. Each in one read transaction."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Iterator

from sqlalchemy import select

from rcmflow.context import Attachment, ChainHead, EventView, HistoryCheck, InstanceView
from rcmflow.core import opening, verify, views
from rcmflow.core.policy import decide
from rcmflow.core.runtime import Runtime
from rcmflow.core.transition import guard_context, load, view_of
from rcmflow.errors import BadInput, NotFound
from rcmflow.language import _
from rcmflow.store.database import Database
from rcmflow.store.models import Event
from rcmflow.store.records import attachment_rows
from rcmflow.store.status import status_rows, track_counts


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    dest: str
    allowed: bool
    reason: str | None
    roles: tuple[str, ...] = ()
    #: the names `--set` may give (None: any)
    inputs: tuple[str, ...] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "dest": self.dest, "allowed": self.allowed, "reason": self.reason,
                "inputs": None if self.inputs is None else list(self.inputs)}


class Queries:
    def __init__(self, rt: Runtime, db: Database):
        self.rt, self.db = rt, db

    def get(self, instance_id: str) -> InstanceView:
        with self.db.reading() as session, session.begin():
            return view_of(self.rt, load(session.connection(), instance_id))

    def triggers(self, instance_id: str, participant: str | None = None,
                 check_roles: bool = True) -> list[TriggerOption]:
        rt = self.rt
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            row = load(conn, instance_id)
            definition = rt.definition_of(row.workflow, row.definition_hash)
            view = view_of(rt, row, definition)
            if participant is None:
                mdef, state, inactive = definition.instance, row.state, None
            else:
                if definition.track is None:
                    raise BadInput(_("{instance} has no participants; list its triggers without --participant").format(
                        instance=row.id))
                if participant not in view.tracks:
                    raise NotFound(_("{participant} has no track in {instance}; participants: {known}").format(
                        participant=repr(participant), instance=row.id, known=", ".join(view.tracks)))
                mdef, state = definition.track, view.tracks[participant].state
                inactive = (_("tracks move only while {instance} is in {states}; it is {state}").format(
                    instance=row.id, states="|".join(mdef.active_in), state=row.state)
                    if not mdef.moves_in(row.state) else None)
            ctx = guard_context(rt, conn, view, definition, rt.actor, rt.now(), participant)
            scope = views.scope(view, {"participant": participant, "actor": rt.actor})
            options = []
            for t in mdef.triggers_from(state):
                reasons = [inactive] if inactive else decide(t, ctx, rt.plugins.registry, scope, check_roles).reasons
                if not reasons and participant is None:  # what fire would refuse after deciding
                    late = opening.late_opening(rt, definition, row.id, t.trigger, state, t.dest,
                                                {"params": row.params, "data": row.data}, ctx.now, brief=True)
                    reasons = [late] if late else []
                inputs = None if t.inputs is None else tuple(p.name for p in t.inputs)
                options.append(TriggerOption(t.trigger, t.dest, not reasons, "; ".join(reasons) or None, t.roles,
                                             inputs))
            return options

    def status(self, instance_id: str | None = None, workflow: str | None = None) -> list[InstanceView]:
        if workflow is not None:
            self.rt.definition(workflow)  # an unknown name is an error, not an empty list
        with self._status_rows(instance_id, workflow=workflow) as rows:
            return [views.status_view(row, self.rt.shown_definition(row.workflow, row.definition_hash))
                    for row in rows]

    def counts(self, workflow: str | None = None) -> dict[str, dict[str, int]]:
        """How many tracks of each instance are in each state ({instance: {state: n}}),
        without reading the tracks themselves: what the matrix's summary row, the page
        and a summary listing show."""
        if workflow is not None:
            self.rt.definition(workflow)  # an unknown name is an error, not an empty result
        found: dict[str, dict[str, int]] = {}
        with self.db.reading() as session, session.begin():
            for instance_id, state, n in track_counts(session.connection(), workflow):
                found.setdefault(instance_id, {})[state] = n
        return found

    def status_json(self, instance_id: str | None = None) -> Iterator[str]:
        """`status --json` in pieces, each written as its rows are read: the database
        builds the tracks' JSON, passed through, not decoded; memory stays the same at
        any number of instances. An unknown instance raises before the first piece."""
        with self._status_rows(instance_id, brief=True) as rows:
            yield '{"instances": ['
            sep = ""
            for row in rows:
                head = json.dumps({"id": row.id, "workflow": row.workflow, "state": row.state,
                                   "version": row.version}, ensure_ascii=False)
                yield f'{sep}{head[:-1]}, "tracks": {row.tracks or "{}"}}}'
                sep = ", "
            yield "]}"

    @contextmanager
    def _status_rows(self, instance_id: str | None, brief: bool = False, workflow: str | None = None):
        overdue = views.overdue_condition(self.rt.catalog.definitions, self.rt.today())
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            if instance_id is not None:
                load(conn, instance_id)
            yield status_rows(conn, overdue, instance_id, brief, workflow)

    def history(self, instance_id: str) -> list[EventView]:
        with self.db.reading() as session, session.begin():
            load(session.connection(), instance_id)
            rows = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))
            return [views.event_view(e) for e in rows]

    def verify_history(self, instance_id: str | None = None, head: str | ChainHead | None = None) -> HistoryCheck:
        recorded = verify.parse_head(head) if head is not None else None
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            if instance_id is not None:
                load(conn, instance_id)
            return verify.verify(conn, instance_id, recorded)

    def history_head(self) -> ChainHead:
        with self.db.reading() as session, session.begin():
            return verify.current_head(session.connection())

    def attachments(self, instance_id: str, participant: str | None = None) -> list[Attachment]:
        with self.db.reading() as session, session.begin():
            conn = session.connection()
            load(conn, instance_id)
            return [Attachment(**row) for row in attachment_rows(conn, instance_id, participant)]

    def is_final(self, view: InstanceView) -> bool:
        definition = self.rt.shown_definition(view.workflow, view.definition_hash)
        state = definition.instance.states.get(view.state) if definition else None
        return bool(state and state.final)

    def waiting_for(self, view: InstanceView) -> str:
        options = self.triggers(view.id, check_roles=False)
        ready = [o.trigger for o in options if o.allowed]
        blocked = [f"{o.trigger}: {o.reason}" for o in options if not o.allowed]
        if not options:
            return _("finished")
        can = _("can fire now: {triggers}").format(triggers=", ".join(ready)) if ready else ""
        return "; ".join(blocked + ([can] if can else []))


def select_tracks(found: list[InstanceView], participants: tuple[str, ...] = (),
                  overdue_only: bool = False) -> list[InstanceView]:
    """Keep only the given participants' tracks, or only overdue ones; instances left
    without a track drop out when a filter is given."""
    if not participants and not overdue_only:
        return found
    kept = []
    for view in found:
        tracks = {p: t for p, t in view.tracks.items()
                  if (not participants or p in participants) and (t.overdue or not overdue_only)}
        if tracks:
            kept.append(replace(view, tracks=tracks))
    return kept
