"""Definitions that change while instances run on them.

Every instance is pinned to the text of the definition it started on (`definitions`
table, by SHA-256 of the file), so an edited file never changes what a running
instance is. `drift` says which running instances are on an older text and which of
them the new one would strand; `migrate` moves an instance to the file's current
text, mapping the states that were renamed, as one event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from rcmflow.core.runtime import Runtime
from rcmflow.core.transition import pin, record
from rcmflow.core.unit_of_work import Outcome
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.definition import Definition
from rcmflow.store.models import Instance
from rcmflow.store.records import InstanceRecord, load_instance, pin_unpinned, save_migrated


@dataclass(frozen=True)
class Drift:
    """A running instance on another text of its workflow than the file's."""

    instance: str
    workflow: str
    running: str
    current: str
    #: its states that the file's definition no longer has: "state x", "MX's track state y"
    stranded: tuple[str, ...] = ()

    def describe(self) -> str:
        where = dict(instance=self.instance, workflow=self.workflow, running=self.running, current=self.current)
        if self.stranded:
            return _("{instance} runs on {workflow} {running}; the file is {current}: migrating would strand "
                     "{stranded} (give --map OLD=NEW)").format(stranded=", ".join(self.stranded), **where)
        return _("{instance} runs on {workflow} {running}; the file is {current}: "
                 "'rcmflow migrate {instance}' can move it").format(**where)


@dataclass
class Migration:
    instance: str
    source: str
    dest: str
    #: (what, old, new) for every state that changed name
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    event_seq: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.instance, "from": self.source, "to": self.dest, "event_seq": self.event_seq,
                "renamed": [{"where": w, "old": o, "new": n} for w, o, n in self.renamed]}


def pin_all(rt: Runtime, conn: Connection, now: dt.datetime) -> int:
    """Pin the instances started before definitions were kept to their file as it is."""
    pinned = 0
    for definition in rt.catalog.definitions.values():
        pin(conn, definition, now)
        pinned += pin_unpinned(conn, definition.name, definition.digest)
    return pinned


def drift(rt: Runtime, conn: Connection) -> list[Drift]:
    """Every running instance whose pinned definition is not its file's current one."""
    found = []
    for definition in rt.catalog.definitions.values():
        rows = conn.execute(select(Instance.id, Instance.state, Instance.definition_hash)
                            .where(Instance.workflow == definition.name,
                                   Instance.definition_hash != definition.digest)
                            .order_by(Instance.created_at, Instance.id)).all()
        for row in rows:
            old = rt.shown_definition(definition.name, row.definition_hash)
            state = old.instance.states.get(row.state) if old else None
            if state is not None and state.final:
                continue  # finished: nothing runs on it any more
            states = _states(load_instance(conn, row.id))
            stranded = tuple(f"{what} {name!r}" for what, name in states if not _has(definition, what, name))
            found.append(Drift(row.id, definition.name, old.label if old else f"({row.definition_hash[:8]})",
                               definition.label, stranded))
    return found


def _states(row: InstanceRecord) -> list[tuple[str, str]]:
    """(where, state) for the instance and each of its tracks."""
    return [("state", row.state)] + [(f"{t.participant}'s track state", t.state) for t in row.tracks]


def _has(definition: Definition, what: str, state: str) -> bool:
    machine = definition.instance if what == "state" else definition.track
    return machine is not None and state in machine.states


def parse_map(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--map OLD=NEW` pairs as a dict; a malformed one is one line."""
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise BadInput(_("--map {pair}: write OLD=NEW, e.g. --map collecting=collecting_input").format(
                pair=repr(pair)))
        mapping[old.strip()] = new.strip()
    return mapping


def migrate(rt: Runtime, conn: Connection, row: InstanceRecord, mapping: dict[str, str], actor: str,
            now: dt.datetime, dry_run: bool = False) -> Outcome:
    """Move one instance (locked and loaded by the caller) to its file's current definition."""
    old = rt.definition_of(row.workflow, row.definition_hash)
    new = rt.definition(row.workflow)
    if old.digest == new.digest:
        return Outcome(Migration(row.id, old.label, new.label))
    result = Migration(row.id, old.label, new.label)
    for what, state in _states(row):
        target = mapping.get(state, state)
        if not _has(new, what, target):
            machine = new.instance if what == "state" else new.track
            valid = ", ".join(machine.states) if machine else "none"
            raise BadInput(_("{instance}: its {what} {state} is not in {workflow} {label}; give --map {name}=NEW "
                             "(states: {valid}); nothing was migrated").format(
                instance=row.id, what=what, state=repr(state), workflow=new.name, label=new.label, name=state,
                valid=valid))
        if target != state:
            result.renamed.append((what, state, target))
    if dry_run:
        return Outcome(result)
    source = row.state
    row.state = mapping.get(row.state, row.state)
    for track in row.tracks:
        if mapping.get(track.state, track.state) != track.state:
            track.state, track.updated_at = mapping[track.state], now
    row.definition_hash, row.updated_at = new.digest, now
    pin(conn, new, now)
    save_migrated(conn, row)
    data = {"from": {"version": old.version, "digest": old.digest}, "to": {"version": new.version, "digest": new.digest},
            "renamed": [{"where": w, "old": o, "new": n} for w, o, n in result.renamed]}
    event = record(conn, row, now, actor, trigger="migrate", source=source, dest=row.state, participant=None,
                   note=f"migrated from {old.label} to {new.label}", data=data)
    result.event_seq = event.seq
    return Outcome(result, [event.seq], [], now)

