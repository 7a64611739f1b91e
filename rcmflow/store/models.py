"""The schema as typed SQLAlchemy models: what the Alembic migrations create.

Times are stored as UTC (`UTCDateTime`). Constraint names follow PostgreSQL's own
defaults (`instances_pkey`, `tracks_instance_id_fkey`, `tracks_instance_id_participant_key`)
and indexes SQLAlchemy's (`ix_instances_workflow`), so giving the metadata a naming
convention changed no name an existing database already has.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text,
    TypeDecorator, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Names for constraints and indexes, so that migrations can refer to them on every
#: backend (SQLite's batch mode needs names to drop or alter a constraint).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}

# SQLite's INTEGER PRIMARY KEY autoincrements; elsewhere a BIGINT identity.
SequenceId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("rcmflow stores only time-zone-aware datetimes")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return value.replace(tzinfo=dt.timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}


class Instance(Base):
    """One running process, e.g. the consultation on theme 3."""

    __tablename__ = "instances"
    #: the order `status` lists them in, walked without a sort (migration 0008)
    __table_args__ = (Index("ix_instances_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(100), index=True)
    definition_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    #: bumped by every change to the instance or one of its tracks; a write that
    #: finds another version than it read lost a race and is retried (`save_instance`)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state_entered_at: Mapped[dt.datetime]
    #: when the current state's timeout fires; None once it has fired or if it has none
    timeout_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    #: the definition the instance runs on (`definitions.digest`), whatever its file says now
    definition_hash: Mapped[str | None] = mapped_column(String(64))

    tracks: Mapped[list[Track]] = relationship(
        back_populates="instance", order_by="Track.id", lazy="selectin", cascade="all, delete-orphan")


class Track(Base):
    """One participant's own small machine inside an instance."""

    __tablename__ = "tracks"
    #: an instance's tracks in the order they were made, read without a sort (migration 0008)
    # ix_tracks_states answers the matrix's counts (tracks per instance and state) from the index alone
    __table_args__ = (UniqueConstraint("instance_id", "participant"), Index("ix_tracks_instance", "instance_id", "id"),
                      Index("ix_tracks_states", "instance_id", "state"))

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    participant: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(100))
    due: Mapped[dt.date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]
    #: when the participant was last reminded of its deadline
    reminded_at: Mapped[dt.datetime | None]

    instance: Mapped[Instance] = relationship(back_populates="tracks")


class Event(Base):
    """One line of history. Rows are only ever inserted, each linked to the one before."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_instance_seq", "instance_id", "seq"),)

    seq: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    participant: Mapped[str | None] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(100))
    dest: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    #: the hash of the event before it in seq order, and its own over its content and
    #: that one: the history as a chain that shows an edit, a deletion, a reordering
    #: (`store.chain`)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxItem(Base):
    """An action a transition asked for, run after its commit until it succeeds."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(100))
    args: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: pending, running, done or failed
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]


class Attachment(Base):
    """A file sent with a transition (`fire --attach`), kept in the database."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq", ondelete="CASCADE"), index=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    participant: Mapped[str | None] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ReminderSent(Base):
    """One reminder of one track's deadline; its key makes `tick` send it once."""

    __tablename__ = "reminders_sent"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    participant: Mapped[str] = mapped_column(String(20))
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq", ondelete="CASCADE"))
    sent_at: Mapped[dt.datetime]


class LedgerEntry(Base):
    """Something an action has done, under a key of its own choosing (`ctx.ledger`):
    the record that lets a retried action skip what it already did. `notify` keeps
    one row per message sent, keyed by outbox action and recipient."""

    __tablename__ = "action_ledger"
    __table_args__ = (UniqueConstraint("action", "key"),)

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    #: the registered name of the action that keeps the row (notify, feed, …)
    action: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300))
    #: what the action wants to remember about it (a Message-ID, a file, …)
    data: Mapped[dict[str, Any]]
    at: Mapped[dt.datetime]


class StoredDefinition(Base):
    """The text of a definition that an instance started or was migrated on: an instance
    runs on it until it is migrated, whatever happens to the file."""

    __tablename__ = "definitions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(100), index=True)
    #: the file's `version:`, the label users know it by
    version: Mapped[int]
    path: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[dt.datetime]


class MailMessage(Base):
    """A message read from the mailroom's mailbox, kept whole (`raw`) once per
    Message-ID, with what rcmflow made of it and what the secretariat decided."""

    __tablename__ = "mail_messages"
    __table_args__ = (UniqueConstraint("source", "uid"), UniqueConstraint("fingerprint"))

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    #: the mailbox it came from ("maildir:/path", "imap:user@host/INBOX") and its key there
    source: Mapped[str] = mapped_column(String(300))
    uid: Mapped[str] = mapped_column(String(300))
    #: the SHA-256 of its Message-ID (of its bytes when it has none): one row per message
    fingerprint: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    #: reply, auto_reply, bounce, malformed or oversized
    kind: Mapped[str] = mapped_column(String(20))
    #: proposed, held, accepted, rejected or noted (an auto-reply or a bounce, recorded)
    status: Mapped[str] = mapped_column(String(20), index=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"))
    participant: Mapped[str | None] = mapped_column(String(20))
    #: why it is held, or how it was matched, in words
    reason: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    #: the Authentication-Results header, as the receiving server wrote it
    authentication: Mapped[str | None] = mapped_column(Text)
    #: what else was read: the return date of an auto-reply, the addresses of a bounce, …
    data: Mapped[dict[str, Any]]
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: the event that accepted it, or that recorded it on a track
    event_seq: Mapped[int | None] = mapped_column(ForeignKey("events.seq", ondelete="SET NULL"))
    #: who accepted, assigned or rejected it, and the note of a rejection
    decided_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class MailAttachment(Base):
    """A file attached to a mailroom message; `content` is None when the limits refused it."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    message: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: why the limits refused it (type or size), or None
    refused: Mapped[str | None] = mapped_column(Text)


INSTANCES, TRACKS, EVENTS, OUTBOX = Instance.__table__, Track.__table__, Event.__table__, OutboxItem.__table__
ATTACHMENTS, REMINDERS, LEDGER = Attachment.__table__, ReminderSent.__table__, LedgerEntry.__table__
DEFINITIONS = StoredDefinition.__table__


MAIL, MAIL_FILES = MailMessage.__table__, MailAttachment.__table__


class Property(Base):
    """What a database says about itself, one value a key: `namespace`, its own random
    name (made by migration 0009), which keeps its calendar's UIDs apart from another's."""

    __tablename__ = "properties"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
