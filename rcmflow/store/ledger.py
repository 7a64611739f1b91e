"""The action ledger's statements: what actions have done, under keys of their own.

One row per (action, key), with the data the action wants to remember. A key longer
than the column is kept as its SHA-256, so that any key an action makes up fits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select
from sqlalchemy.engine import Connection

from rcmflow.store.models import LEDGER

KEY_WIDTH = LEDGER.c.key.type.length

_SELECT = select(LEDGER.c.data).where(LEDGER.c.action == bindparam("action"), LEDGER.c.key == bindparam("key"))
_DELETE = delete(LEDGER).where(LEDGER.c.action == bindparam("action"), LEDGER.c.key == bindparam("key"))
_INSERT = insert(LEDGER).values(action=bindparam("action"), key=bindparam("key"), data=bindparam("data"),
                                at=bindparam("at"))


def stored_key(key: str) -> str:
    """The key as the ledger keeps it: itself, or its hash when it is too long."""
    if len(key) <= KEY_WIDTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def ledger_get(conn: Connection, action: str, key: str) -> dict[str, Any] | None:
    """The data marked under `key` by `action`, or None if it never was."""
    row = conn.execute(_SELECT, {"action": action, "key": stored_key(key)}).first()
    return None if row is None else dict(row.data or {})


def ledger_insert(conn: Connection, action: str, key: str, data: dict[str, Any], at: dt.datetime) -> None:
    """Mark `key` done for `action`; an IntegrityError if it already is."""
    conn.execute(_INSERT, {"action": action, "key": stored_key(key), "data": data, "at": at})


def ledger_put(conn: Connection, action: str, key: str, data: dict[str, Any], at: dt.datetime) -> None:
    """Set `key` of `action` to `data`, replacing what an earlier put kept there."""
    conn.execute(_DELETE, {"action": action, "key": stored_key(key)})
    ledger_insert(conn, action, key, data, at)


def ledger_rows(conn: Connection, prefixes: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, key, data) of every row whose key starts with one of `prefixes`, oldest first."""
    query = select(LEDGER.c.action, LEDGER.c.key, LEDGER.c.data).where(
        or_(*(LEDGER.c.key.startswith(prefix, autoescape=True) for prefix in prefixes))).order_by(LEDGER.c.id)
    return [(row.action, row.key, dict(row.data or {})) for row in conn.execute(query)]
