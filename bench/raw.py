"""The baselines: what each measured rcmflow operation must do at least, written on the
raw driver (the standard library's sqlite3, or psycopg), on the same database file and
pragmas. They write rows rcmflow accepts, hash chain included (`rcmflow history verify`
passes over them), so that the floor does the same work, not less."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from rcmflow.store.chain import GENESIS, event_hash

UTC = dt.timezone.utc
EVENT_COLUMNS = ("at", "actor", "instance_id", "participant", "trigger", "source", "dest", "note", "data",
                 "prev_hash", "hash")


def stored(moment: dt.datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite: naive UTC text."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Raw:
    """One connection kept open, like a long-running writer would; `mark` is the
    driver's parameter style."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            self.mark, self.begin = "%s", "BEGIN"
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=60)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark, self.begin = "?", "BEGIN IMMEDIATE"
        self.cur = self.conn.cursor()

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def execute(self, text: str, params: tuple = ()) -> Any:
        self.cur.execute(self.sql(text), params)
        return self.cur

    def close(self) -> None:
        self.conn.close()

    def _event(self, now: dt.datetime, prev: str, **fields: Any) -> tuple:
        values = {"at": now, "note": None, "data": {}, **fields}
        digest = event_hash(prev, values)
        at = self.stamp(now)
        return (at, values["actor"], values["instance_id"], values["participant"], values["trigger"],
                values["source"], values["dest"], None, json.dumps(values["data"]), prev, digest)

    def stamp(self, moment: dt.datetime) -> Any:
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive if self.postgres else stored(moment)

    def _head(self, instance_id: str) -> str:
        """The instance's last event, to chain the next one to. The caller holds the
        instance's row (FOR UPDATE; SQLite: BEGIN IMMEDIATE); on PostgreSQL the chain's
        lock is held shared, as rcmflow holds it, so `history head` sees whole commits."""
        if self.postgres:
            self.execute("SELECT pg_advisory_xact_lock_shared(1919118694)")  # rcmflow's chain lock ('rcmf')
        row = self.execute("SELECT hash FROM events WHERE instance_id = ? ORDER BY seq DESC LIMIT 1",
                           (instance_id,)).fetchone()
        return row[0] if row else GENESIS

    def move(self, instance_id: str, moves: list[tuple[str, str, str, str]], actor: str) -> None:
        """One transaction: read the instance and the moving tracks, a version-checked
        UPDATE of the instance, one UPDATE per track and one chained event per move.
        `moves`: (participant, trigger, source, dest)."""
        now = dt.datetime.now(UTC)
        self.execute(self.begin)
        lock = " FOR UPDATE" if self.postgres else ""
        version, = self.execute(f"SELECT version FROM instances WHERE id = ?{lock}", (instance_id,)).fetchone()
        places = ", ".join([self.mark] * len(moves))
        states = dict(self.execute(f"SELECT participant, state FROM tracks WHERE instance_id = ? "
                                   f"AND participant IN ({places})", (instance_id, *[m[0] for m in moves])).fetchall())
        stamp = self.stamp(now)
        if self.execute("UPDATE instances SET version = ?, updated_at = ? WHERE id = ? AND version = ?",
                        (version + 1, stamp, instance_id, version)).rowcount != 1:
            raise RuntimeError(f"version check failed on {instance_id}")
        self.cur.executemany(self.sql("UPDATE tracks SET state = ?, updated_at = ? WHERE instance_id = ? "
                                      "AND participant = ?"), [(m[3], stamp, instance_id, m[0]) for m in moves])
        prev, rows = self._head(instance_id), []
        for participant, trigger, source, dest in moves:
            if states[participant] != source:
                raise RuntimeError(f"{instance_id}/{participant} is {states[participant]}, not {source}")
            rows.append(self._event(now, prev, actor=actor, instance_id=instance_id, participant=participant,
                                    trigger=trigger, source=source, dest=dest))
            prev = rows[-1][-1]
        self._insert_events(rows)
        self.execute("COMMIT")

    def _insert_events(self, rows: list[tuple]) -> None:
        places = ", ".join([self.mark] * len(EVENT_COLUMNS))
        self.cur.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({places})", rows)

    def start(self, instance_id: str, workflow: str, participants: list[str], params: dict, due: dt.date,
              actor: str) -> int:
        """One instance, its tracks and its start event, batched in one commit; the rows written."""
        now = dt.datetime.now(UTC)
        stamp = self.stamp(now)
        self.execute(self.begin)
        self.execute("INSERT INTO instances (id, workflow, definition_version, state, params, data, version, "
                     "state_entered_at, timeout_at, created_at, updated_at) VALUES (?, ?, 1, 'planned', ?, '{}', 1, "
                     "?, NULL, ?, ?)", (instance_id, workflow, json.dumps(params), stamp, stamp, stamp))
        self.cur.executemany(self.sql("INSERT INTO tracks (instance_id, participant, state, due, data, updated_at) "
                                      "VALUES (?, ?, 'requested', ?, '{}', ?)"),
                             [(instance_id, p, due.isoformat(), stamp) for p in participants])
        prev = self._head(instance_id)
        self._insert_events([self._event(now, prev, actor=actor, instance_id=instance_id, participant=None,
                                         trigger="start", source=None, dest="planned", data={"params": params})])
        self.execute("COMMIT")
        return 2 + len(participants)

    def counts(self) -> list[tuple]:
        """Tracks per instance and state: the matrix's counts, from a covering index."""
        return self.execute("SELECT instance_id, state, count(*) FROM tracks GROUP BY instance_id, state").fetchall()
