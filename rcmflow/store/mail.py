"""The mailroom's statements: messages read from the mailbox and their attachments.

Each takes the open connection of the caller's transaction and never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from rcmflow.store.models import LEDGER, MAIL, MAIL_FILES

#: the columns a listing shows (everything but the raw message)
LISTED = [c for c in MAIL.c if c.name != "raw"]


def known_uids(conn: Connection, source: str) -> set[str]:
    """The keys of the messages of `source` already stored."""
    return set(conn.scalars(select(MAIL.c.uid).where(MAIL.c.source == source)))


def has_fingerprint(conn: Connection, fingerprint: str) -> bool:
    return conn.scalar(select(MAIL.c.id).where(MAIL.c.fingerprint == fingerprint)) is not None


def insert_message(conn: Connection, message: dict[str, Any], files: list[dict[str, Any]]) -> int:
    """Store one message and its attachments; an IntegrityError if it is stored already."""
    message_id = conn.execute(insert(MAIL), message).inserted_primary_key[0]
    if files:
        conn.execute(insert(MAIL_FILES), [{**f, "message": message_id} for f in files])
    return message_id


def select_messages(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    query = select(*LISTED).order_by(MAIL.c.id)
    if status:
        query = query.where(MAIL.c.status == status)
    return [dict(row._mapping) for row in conn.execute(query)]


def select_message(conn: Connection, message_id: int, for_update: bool = False) -> dict[str, Any] | None:
    query = select(MAIL).where(MAIL.c.id == message_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def select_files(conn: Connection, message_ids: list[int], content: bool = False) -> list[dict[str, Any]]:
    columns = [c for c in MAIL_FILES.c if content or c.name != "content"]
    rows = conn.execute(select(*columns).where(MAIL_FILES.c.message.in_(message_ids)).order_by(MAIL_FILES.c.id))
    return [dict(row._mapping) for row in rows]


def update_message(conn: Connection, message_id: int, **values: Any) -> None:
    conn.execute(update(MAIL).where(MAIL.c.id == message_id).values(**values))


def sent_messages(conn: Connection) -> list[dict[str, Any]]:
    """What the notify action marked for each message it sent: Message-ID, instance,
    recipient, participant and template."""
    return [dict(data or {}) for data in conn.scalars(select(LEDGER.c.data).where(LEDGER.c.action == "notify")
                                                       .order_by(LEDGER.c.id))]


def select_senders(conn: Connection) -> list[dict[str, Any]]:
    """Who wrote each message and what it was, oldest first: what tells a failing address."""
    rows = conn.execute(select(MAIL.c.id, MAIL.c.kind, MAIL.c.sender, MAIL.c.data, MAIL.c.received_at)
                        .where(MAIL.c.kind.in_(("bounce", "reply", "auto_reply"))).order_by(MAIL.c.id))
    return [dict(row._mapping) for row in rows]
