"""The hash chains of the history: how an event's hash is made, and how a chain is
appended to and read back.

Every event stores the hash of the event before it (`prev_hash`) and its own
(`hash`): SHA-256 over a canonical JSON encoding of its content and `prev_hash`.
Each instance has a chain of its own, in `seq` order, the first event following
`GENESIS`: a deleted, edited, inserted or reordered event breaks its instance's
chain, and writers of different instances never wait for each other (a writer holds
its instance's row, which orders the writers of one chain). What ties the chains
together is the head (`checkpoint`): the last seq and one hash over every instance's
last event up to it. Recorded outside the database, it catches what no link can: a
chain rewritten from its first event, a whole instance deleted, events cut off the end.

The encoding is part of the stored data: events hashed under version 1 are
verified under version 1 forever. Change it only with a new version number and a
migration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable, Iterator, NamedTuple

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection

from rcmflow.store.models import EVENTS, INSTANCES

#: what the first event follows
GENESIS = "0" * 64
#: the version of the encoding, hashed with every event
ENCODING = 1
#: PostgreSQL advisory lock key ('rcmf'): every writer of an event holds it shared, and
#: reading the head takes it alone, so the head sees no event that commits after it
CHAIN_LOCK = 0x72636D66

HASHED = ("at", "actor", "instance_id", "participant", "trigger", "source", "dest", "note", "data")


def utc_text(moment: dt.datetime) -> str:
    """A time as hashed: UTC, to the microsecond, one fixed form (naive means UTC,
    as the migrations read the stored times)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def encode(prev_hash: str, at: dt.datetime, actor: str, instance_id: str, participant: str | None, trigger: str,
           source: str | None, dest: str, note: str | None, data: Any) -> bytes:
    """The bytes an event's hash is taken over: its fields and the previous hash as one
    JSON object with sorted keys, no spaces, ASCII only (non-ASCII as \\u escapes)."""
    return _ENCODE({"v": ENCODING, "prev": prev_hash, "at": utc_text(at), "actor": actor, "instance_id": instance_id,
                    "participant": participant, "trigger": trigger, "source": source, "dest": dest, "note": note,
                    "data": data}).encode("ascii")


def canonical(prev_hash: str, values: Any, roundtrip: bool = True) -> bytes:
    """`encode` for a mapping of the HASHED fields. With `roundtrip`, `data` goes
    through JSON first, so that what is hashed is what the database will give back
    (tuples become lists, keys become strings); data read back has made that trip."""
    data = values.get("data") or {}
    fields = [values.get(name) for name in HASHED[:-1]]
    return encode(prev_hash, *fields, json.loads(json.dumps(data)) if roundtrip else data)


def event_hash(prev_hash: str, values: Any, roundtrip: bool = True) -> str:
    """The hash of an event (`values`: a mapping of at least the HASHED fields)."""
    return hashlib.sha256(canonical(prev_hash, values, roundtrip)).hexdigest()


def stored_hash(row: Any) -> str:
    """The hash a row of `chain_rows` should have, from its content and its prev_hash."""
    return hashlib.sha256(encode(row[-2], *row[1:-2])).hexdigest()


class Head(NamedTuple):
    """The head of the history: the last seq and the checkpoint of every chain up to it
    (0 and GENESIS when there is no event)."""

    seq: int
    hash: str


def checkpoint(heads: Iterable[tuple[str, str]]) -> str:
    """One hash over the last event of every instance: (instance_id, hash) pairs."""
    digest = hashlib.sha256()
    for instance_id, last in sorted(heads):
        digest.update(f"{instance_id}:{last}\n".encode())
    return digest.hexdigest()


_LASTS = select(func.max(EVENTS.c.seq).label("seq")).group_by(EVENTS.c.instance_id).subquery("lasts")
_LAST_OF_EACH = select(EVENTS.c.instance_id, EVENTS.c.hash, EVENTS.c.seq).join(_LASTS, _LASTS.c.seq == EVENTS.c.seq)


def head(conn: Connection) -> Head:
    """The head now; on PostgreSQL it waits for the events being written to commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    rows = conn.execute(_LAST_OF_EACH).all()
    if not rows:
        return Head(0, GENESIS)
    return Head(max(row.seq for row in rows), checkpoint((row.instance_id, row.hash) for row in rows))


_LOCK_INSTANCE = select(INSTANCES.c.id).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update()
_SHARE_CHAIN = text("SELECT pg_advisory_xact_lock_shared(:key)")
_LAST = (select(EVENTS.c.hash, EVENTS.c.at).where(EVENTS.c.instance_id == bindparam("instance_id"))
         .order_by(EVENTS.c.seq.desc()).limit(1))


def instance_head(conn: Connection, instance_id: str, locked: bool, fresh: bool = False
                  ) -> tuple[str, dt.datetime | None]:
    """The hash and the time of the instance's last event (GENESIS and None before its
    first; `fresh`: the instance was inserted by this transaction), to append the next
    one to. The instance's writers must come one at a time: SQLite's BEGIN IMMEDIATE
    holds the database; on PostgreSQL the instance's row is locked (`locked`: the
    caller holds it already), and the chain's lock is held shared."""
    if conn.dialect.name == "postgresql":
        if not locked:
            conn.execute(_LOCK_INSTANCE, {"instance_id": instance_id})
        conn.execute(_SHARE_CHAIN, {"key": CHAIN_LOCK})
    row = None if fresh else conn.execute(_LAST, {"instance_id": instance_id}).first()
    return (GENESIS, None) if row is None else (row.hash, row.at)


def chained(prev: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` of a new event with its link to `prev`, the hash of its instance's last event."""
    return {**values, "prev_hash": prev, "hash": event_hash(prev, values)}


_ROWS = select(EVENTS.c.seq, *(EVENTS.c[name] for name in HASHED), EVENTS.c.prev_hash, EVENTS.c.hash) \
    .order_by(EVENTS.c.seq)


def chain_rows(conn: Connection, batch: int = 5000) -> Iterator[Any]:
    """Every event with what its hash covers, in seq order (every chain at once), read
    in batches by one statement: one snapshot, in which no chain misses a link that a
    writer committed while it was read (writers of different instances commit in any
    order of seq)."""
    yield from conn.execution_options(yield_per=batch).execute(_ROWS)
