"""Instances and their tracks as plain records, and the prepared Core statements
of the write path: load, insert and save an instance, append an event, queue
outbox rows, keep attachments and the reminders sent.

These functions take the transaction's connection and never commit: the engine
owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from rcmflow.store.chain import chained, instance_head
from rcmflow.store.models import (
    ATTACHMENTS, DEFINITIONS, EVENTS, INSTANCES, OUTBOX, REMINDERS, TRACKS, Attachment, Event,
)

# A transition reads one instance with its tracks and writes it back with one event.
# That path is the engine's hottest, so it works on plain records with prepared Core
# statements on the transaction's connection rather than through the ORM's unit of
# work (about three times faster); the ORM models (store.models) remain the schema and
# serve the occasional reads.


class LostRace(Exception):
    """The instance changed between our read and our write; the engine retries."""


@dataclass
class TrackRecord:
    participant: str
    state: str
    due: dt.date | None
    data: dict[str, Any]  # assign a new dict to change it: saving writes data only if it is not the one loaded
    updated_at: dt.datetime
    id: int | None = None
    reminded_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.loaded_data = self.data


@dataclass
class InstanceRecord:
    """One instance row and its tracks, as a command reads and changes them."""

    id: str
    workflow: str
    definition_version: int
    state: str
    params: dict[str, Any]
    data: dict[str, Any]
    version: int
    state_entered_at: dt.datetime
    timeout_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    definition_hash: str | None = None
    tracks: list[TrackRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaded_data = self.data  # see TrackRecord.data
        #: whether this transaction holds the instance's row (PostgreSQL): read for update, or inserted
        self.locked = False
        #: inserted by this transaction: it has no event yet
        self.fresh = False

    def track(self, participant: str) -> TrackRecord | None:
        return next((t for t in self.tracks if t.participant == participant), None)


_INSTANCE_FIELDS = [f.name for f in fields(InstanceRecord) if f.name != "tracks"]
_TRACK_FIELDS = [f.name for f in fields(TrackRecord)]

# Built once: a statement reused with new parameters skips SQLAlchemy's compilation.
_SELECT_INSTANCE = (select(*(INSTANCES.c[f] for f in _INSTANCE_FIELDS))
                    .where(INSTANCES.c.id == bindparam("instance_id")))
# A writer locks the instance row as it reads it (PostgreSQL; SQLite's BEGIN IMMEDIATE
# already holds the database's write lock): writers of one instance queue instead of
# racing, and the one that waited reads what the other committed.
_SELECT_INSTANCE_FOR_UPDATE = _SELECT_INSTANCE.with_for_update()
_SELECT_TRACKS = (select(*(TRACKS.c[f] for f in _TRACK_FIELDS))
                  .where(TRACKS.c.instance_id == bindparam("instance_id")).order_by(TRACKS.c.id))


def _update(table, where, columns):
    return update(table).where(*where).values({c: bindparam(c) for c in columns})


_INSTANCE_WHERE = (INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.version == bindparam("b_version"))
_INSTANCE_COLUMNS = ("state", "version", "state_entered_at", "timeout_at", "updated_at")
# (without data, with data): most transitions leave the JSON data alone, so they skip writing it
_UPDATE_INSTANCE = (_update(INSTANCES, _INSTANCE_WHERE, _INSTANCE_COLUMNS),
                    _update(INSTANCES, _INSTANCE_WHERE, _INSTANCE_COLUMNS + ("data",)))
_TRACK_WHERE = (TRACKS.c.id == bindparam("b_id"),)
_UPDATE_TRACK = (_update(TRACKS, _TRACK_WHERE, ("state", "updated_at")),
                 _update(TRACKS, _TRACK_WHERE, ("state", "updated_at", "data")))
_EVENT_COLUMNS = ("at", "actor", "instance_id", "participant", "trigger", "source", "dest", "note", "data")
_INSERT_EVENT = insert(EVENTS).values({c: bindparam(c) for c in _EVENT_COLUMNS + ("prev_hash", "hash")})
_INSERT_EVENTS = _INSERT_EVENT.returning(EVENTS.c.seq, sort_by_parameter_order=True)


_PEEK = select(INSTANCES.c.workflow, INSTANCES.c.state).where(INSTANCES.c.id == bindparam("instance_id"))


def peek_instance(conn: Connection, instance_id: str) -> tuple[str, str] | None:
    """(workflow, state) of the instance, or None: whether it exists, without its tracks."""
    row = conn.execute(_PEEK, {"instance_id": instance_id}).first()
    return None if row is None else (row.workflow, row.state)


def load_instance(conn: Connection, instance_id: str, for_update: bool = False) -> InstanceRecord | None:
    """The instance and its tracks; `for_update`: lock its row until the transaction ends
    (on PostgreSQL), for a command that will write it back."""
    lock = for_update and conn.dialect.name == "postgresql"
    row = conn.execute(_SELECT_INSTANCE_FOR_UPDATE if lock else _SELECT_INSTANCE, {"instance_id": instance_id}).first()
    if row is None:
        return None
    tracks = conn.execute(_SELECT_TRACKS, {"instance_id": instance_id})
    record = InstanceRecord(*row, tracks=[TrackRecord(*t) for t in tracks])  # columns in field order
    record.locked = lock
    return record


_INSERT_INSTANCE = insert(INSTANCES).values({f: bindparam(f) for f in _INSTANCE_FIELDS})
_INSERT_TRACK = insert(TRACKS).values({f: bindparam(f) for f in ("instance_id", *_TRACK_FIELDS) if f != "id"})


def insert_instance(conn: Connection, record: InstanceRecord) -> None:
    insert_instances(conn, [record])


def insert_instances(conn: Connection, records: list[InstanceRecord]) -> None:
    """New instances and their tracks, each table in one batch (executemany)."""
    if not records:
        return
    for record in records:
        record.locked = record.fresh = True  # nobody sees it before we commit; a second insert of its id waits
    conn.execute(_INSERT_INSTANCE, [{f: getattr(r, f) for f in _INSTANCE_FIELDS} for r in records])
    tracks = [{"instance_id": r.id, **{f: getattr(t, f) for f in _TRACK_FIELDS if f != "id"}}
              for r in records for t in r.tracks]
    if tracks:
        conn.execute(_INSERT_TRACK, tracks)


def save_instance(conn: Connection, record: InstanceRecord, *tracks: TrackRecord) -> None:
    """Write the instance back, and the tracks that moved. The UPDATE holds only if
    nobody changed the instance since we read it; otherwise `LostRace`."""
    data_changed = record.data is not record.loaded_data
    written = conn.execute(_UPDATE_INSTANCE[data_changed], {
        "b_id": record.id, "b_version": record.version, "version": record.version + 1,
        "state": record.state, "state_entered_at": record.state_entered_at, "timeout_at": record.timeout_at,
        "updated_at": record.updated_at, **({"data": record.data} if data_changed else {}),
    }).rowcount
    if written != 1:
        raise LostRace(record.id)
    record.version += 1
    for with_data in (False, True):  # one batch each: the tracks whose data changed, and the others
        rows = [{"b_id": t.id, "state": t.state, "updated_at": t.updated_at, **({"data": t.data} if with_data else {})}
                for t in tracks if (t.data is not t.loaded_data) == with_data]
        if rows:
            conn.execute(_UPDATE_TRACK[with_data], rows)


def last_event(conn: Connection, record: InstanceRecord) -> tuple[str, dt.datetime | None]:
    """The hash and time of the instance's last event, with its chain held for this
    transaction until it commits (see `chain.instance_head`)."""
    found = instance_head(conn, record.id, record.locked, record.fresh)
    record.locked = conn.dialect.name == "postgresql" or record.locked
    record.fresh = False
    return found


def insert_events(conn: Connection, prev: str, rows: list[dict[str, Any]]) -> list[int]:
    """Append events to their instance's chain, the first after the event whose hash is
    `prev` (`last_event`), in one statement; their seqs, in order."""
    chain = []
    for values in rows:
        chain.append(chained(prev, values))
        prev = chain[-1]["hash"]
    if len(chain) == 1:
        return [conn.execute(_INSERT_EVENT, chain[0]).inserted_primary_key[0]]
    return list(conn.execute(_INSERT_EVENTS, chain).scalars())


# --- reminders, attachments, the outbox ---------------------------------------------


def record_reminder(conn: Connection, key: str, instance_id: str, participant: str, event_seq: int,
                    now: dt.datetime) -> None:
    conn.execute(insert(REMINDERS).values(key=key, instance_id=instance_id, participant=participant,
                                          event_seq=event_seq, sent_at=now))
    conn.execute(update(TRACKS).where(TRACKS.c.instance_id == instance_id, TRACKS.c.participant == participant)
                 .values(reminded_at=now))


_REMINDER_KEYS = select(REMINDERS.c.key).where(REMINDERS.c.instance_id == bindparam("instance_id"))


def reminder_keys(conn: Connection, instance_id: str) -> set[str]:
    """The keys of the reminders sent on one instance."""
    return set(conn.scalars(_REMINDER_KEYS, {"instance_id": instance_id}))


def workflow_reminder_keys(conn: Connection, workflows: list[str]) -> set[str]:
    """The keys of the reminders sent on every instance of `workflows`: a join by
    workflow, not one parameter per instance (SQLite allows 32,766 in a statement, and
    a tick may look at more open instances than that)."""
    rows = conn.execute(select(REMINDERS.c.key).join(INSTANCES, INSTANCES.c.id == REMINDERS.c.instance_id)
                        .where(INSTANCES.c.workflow.in_(sorted(set(workflows)))))
    return {key for (key,) in rows}


def attachment_rows(conn: Connection, instance_id: str, participant: str | None = None) -> list[dict[str, Any]]:
    """The attachments of an instance with the time of their event, oldest first."""
    query = (select(Attachment.filename, Attachment.size, Attachment.sha256, Attachment.content,
                    Attachment.participant, Attachment.event_seq, Event.at)
             .join(Event, Event.seq == Attachment.event_seq)
             .where(Attachment.instance_id == instance_id).order_by(Attachment.event_seq, Attachment.id))
    if participant is not None:
        query = query.where(Attachment.participant == participant)
    return [dict(row._mapping) for row in conn.execute(query)]


def insert_attachment(conn: Connection, **values: Any) -> None:
    conn.execute(insert(ATTACHMENTS), values)


def insert_outbox(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    return [conn.execute(insert(OUTBOX), row).inserted_primary_key[0] for row in rows]


_SELECT_DEFINITION = select(DEFINITIONS).where(DEFINITIONS.c.digest == bindparam("digest"))


def stored_definition(conn: Connection, digest: str) -> dict[str, Any] | None:
    """The definition kept under `digest`: workflow, version, path and text."""
    row = conn.execute(_SELECT_DEFINITION, {"digest": digest}).mappings().first()
    return None if row is None else dict(row)


def store_definition(conn: Connection, digest: str, workflow: str, version: int, path: str, text: str,
                     now: dt.datetime) -> None:
    """Keep a definition's text under its digest, once (a second writer of the same
    text does nothing: the text is the same by its digest)."""
    values = {"digest": digest, "workflow": workflow, "version": version, "path": path, "text": text,
              "stored_at": now}
    if conn.dialect.name in ("postgresql", "sqlite"):
        dialect = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
        conn.execute(dialect.insert(DEFINITIONS).on_conflict_do_nothing(index_elements=["digest"]), values)
    elif stored_definition(conn, digest) is None:  # a backend without ON CONFLICT: look first
        conn.execute(insert(DEFINITIONS), values)


def pin_unpinned(conn: Connection, workflow: str, digest: str) -> int:
    """Pin the instances of `workflow` that run on no stored definition yet (started
    before definitions were kept) to `digest`; how many there were."""
    return conn.execute(update(INSTANCES).where(INSTANCES.c.workflow == workflow,
                                                INSTANCES.c.definition_hash.is_(None))
                        .values(definition_hash=digest)).rowcount


def save_migrated(conn: Connection, record: InstanceRecord) -> None:
    """Write an instance moved to another definition: its state, its pin and every track's
    state, under the same version check as `save_instance`."""
    written = conn.execute(update(INSTANCES).where(INSTANCES.c.id == record.id,
                                                   INSTANCES.c.version == record.version).values(
        state=record.state, definition_hash=record.definition_hash, version=record.version + 1,
        timeout_at=record.timeout_at, updated_at=record.updated_at)).rowcount
    if written != 1:
        raise LostRace(record.id)
    record.version += 1
    for track in record.tracks:
        conn.execute(update(TRACKS).where(TRACKS.c.id == track.id).values(state=track.state,
                                                                          updated_at=track.updated_at))


def save_dues(conn: Connection, record: InstanceRecord, tracks: list[TrackRecord]) -> None:
    """Write moved deadlines: the tracks' due days, and the instance's params and timeout
    (for the whole step), under the version check of `save_instance`."""
    written = conn.execute(update(INSTANCES).where(INSTANCES.c.id == record.id,
                                                   INSTANCES.c.version == record.version).values(
        params=record.params, timeout_at=record.timeout_at, version=record.version + 1,
        updated_at=record.updated_at)).rowcount
    if written != 1:
        raise LostRace(record.id)
    record.version += 1
    for track in tracks:
        conn.execute(update(TRACKS).where(TRACKS.c.id == track.id).values(due=track.due, updated_at=track.updated_at))
