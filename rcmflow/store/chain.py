"""The hash chain of the history: how an event's hash is made, and how the chain is
appended to and read back.

Every event stores the hash of the event before it (`prev_hash`) and its own
(`hash`): SHA-256 over a canonical JSON encoding of its content and `prev_hash`.
There is one chain over all events, in `seq` order, so that a deleted event, a
deleted instance (its events go with it) or a reordering breaks it; the first
event follows `GENESIS`.

The encoding is part of the stored data: events hashed under version 1 are
verified under version 1 forever. Change it only with a new version number and a
migration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterator, NamedTuple

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from rcmflow.store.models import EVENTS

#: what the first event follows
GENESIS = "0" * 64
#: the version of the encoding, hashed with every event
ENCODING = 1
#: PostgreSQL advisory lock key that makes appends to the chain one at a time ('rcmf')
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
    """The last event of the chain: its seq and hash (0 and GENESIS when there is none)."""

    seq: int
    hash: str


_LAST = select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)


def head(conn: Connection) -> Head:
    row = conn.execute(_LAST).first()
    return Head(0, GENESIS) if row is None else Head(row.seq, row.hash)


def lock_chain(conn: Connection) -> None:
    """Make this transaction the only one appending until it ends. SQLite needs
    nothing: a write transaction starts with BEGIN IMMEDIATE and holds the database's
    write lock. PostgreSQL takes a transaction advisory lock; under READ COMMITTED,
    the next statement (the read of the head) sees what the previous holder committed."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def chained(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """`values` of a new event with its link to the chain, under the chain's lock."""
    lock_chain(conn)
    prev = head(conn).hash
    return {**values, "prev_hash": prev, "hash": event_hash(prev, values)}


_ROWS = (select(EVENTS.c.seq, *(EVENTS.c[name] for name in HASHED), EVENTS.c.prev_hash, EVENTS.c.hash)
         .where(EVENTS.c.seq > bindparam("after")).order_by(EVENTS.c.seq).limit(bindparam("batch")))


def chain_rows(conn: Connection, batch: int = 5000) -> Iterator[Any]:
    """Every event with what its hash covers, in seq order, read in batches."""
    after = -(2 ** 62)
    while True:
        rows = conn.execute(_ROWS, {"after": after, "batch": batch}).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq
