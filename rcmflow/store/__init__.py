"""The database: SQLAlchemy models, the engine factory and a few queries.

Store functions take a session and never commit: the engine owns the transaction
(one `Session.begin()` per command). Times are stored as UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
    TypeDecorator, UniqueConstraint, bindparam, case, cast, create_engine, event, func, insert, inspect, select, text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from rcmflow.errors import DatabaseError

#: The Alembic revision this code expects; `rcmflow init` upgrades a database to it.
SCHEMA_REVISION = "0003"

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
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}


class Instance(Base):
    """One running process, e.g. the consultation on theme 3."""

    __tablename__ = "instances"

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

    tracks: Mapped[list[Track]] = relationship(
        back_populates="instance", order_by="Track.id", lazy="selectin", cascade="all, delete-orphan")


class Track(Base):
    """One participant's own small machine inside an instance."""

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("instance_id", "participant"),)

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
    """One line of history. Rows are only ever inserted."""

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


class SentMessage(Base):
    """One e-mail handed to the SMTP server or written to the outbox folder. Its key
    (outbox action, recipient) makes a retried action skip what it already sent."""

    __tablename__ = "sent_messages"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    instance_id: Mapped[str] = mapped_column(String(100), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))
    #: smtp, or file (an .eml in the outbox folder when no SMTP server is set up)
    transport: Mapped[str] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime]


# --- connecting ------------------------------------------------------------------------


def make_engine(url: str) -> SAEngine:
    """An engine for `url`. On SQLite: WAL mode, foreign keys, and write transactions
    that start with BEGIN IMMEDIATE so concurrent writers queue instead of failing."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"{url!r} is not a database URL; use sqlite:///path/to/rcmflow.db "
            "or postgresql+psycopg://user@host/dbname") from None
    if parsed.drivername == "postgresql" or parsed.drivername == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 60})
            _configure_sqlite(engine)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (ImportError, ArgumentError) as exc:
        raise DatabaseError(f"cannot use {parsed.render_as_string()}: {exc}; for PostgreSQL install rcmflow[postgres]") from None
    return engine


def _configure_sqlite(engine: SAEngine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get("rcmflow_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One database: `reading()` sessions for queries, `writing()` transactions for changes."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(rcmflow_write=True)
        self._schema_checked = False

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def reading(self) -> Session:
        self._check_once()
        return self._read()

    def writing(self):
        """One write transaction on one connection, committed when the block ends
        without an error (on SQLite it starts with BEGIN IMMEDIATE)."""
        self._check_once()
        return self._write_engine.begin()

    def _check_once(self) -> None:
        if not self._schema_checked:
            self.check_schema()
            self._schema_checked = True

    def check_schema(self) -> None:
        """Fail with a clear line unless the database is reachable and up to date."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    raise DatabaseError(f"the database {self.display_url} has no rcmflow tables yet: run 'rcmflow init'")
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            raise DatabaseError(f"cannot open the database {self.display_url}: {_first_line(exc)}") from None
        if revision != SCHEMA_REVISION:
            raise DatabaseError(
                f"the database {self.display_url} is at schema {revision}, this rcmflow needs "
                f"{SCHEMA_REVISION}: run 'rcmflow init' to upgrade it")

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", exc) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


# --- the write path -------------------------------------------------------------------
#
# A transition reads one instance with its tracks and writes it back with one event.
# That path is the engine's hottest, so it works on plain records with prepared Core
# statements on the transaction's connection rather than through the ORM's unit of
# work (about three times faster); the ORM models above remain the schema and serve
# the occasional reads. These functions never commit: the engine owns the transaction.

INSTANCES, TRACKS, EVENTS, OUTBOX = Instance.__table__, Track.__table__, Event.__table__, OutboxItem.__table__


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
    tracks: list[TrackRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaded_data = self.data  # see TrackRecord.data

    def track(self, participant: str) -> TrackRecord | None:
        return next((t for t in self.tracks if t.participant == participant), None)


_INSTANCE_FIELDS = [f.name for f in fields(InstanceRecord) if f.name != "tracks"]
_TRACK_FIELDS = [f.name for f in fields(TrackRecord)]

# Built once: a statement reused with new parameters skips SQLAlchemy's compilation.
_SELECT_INSTANCE = (select(*(INSTANCES.c[f] for f in _INSTANCE_FIELDS))
                    .where(INSTANCES.c.id == bindparam("instance_id")))
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
_INSERT_EVENT = insert(EVENTS).values({c: bindparam(c) for c in _EVENT_COLUMNS})


def load_instance(conn: Connection, instance_id: str) -> InstanceRecord | None:
    row = conn.execute(_SELECT_INSTANCE, {"instance_id": instance_id}).first()
    if row is None:
        return None
    tracks = conn.execute(_SELECT_TRACKS, {"instance_id": instance_id})
    return InstanceRecord(*row, tracks=[TrackRecord(*t) for t in tracks])  # columns in field order


def insert_instance(conn: Connection, record: InstanceRecord) -> None:
    conn.execute(insert(INSTANCES), {f: getattr(record, f) for f in _INSTANCE_FIELDS})
    if record.tracks:
        conn.execute(insert(TRACKS), [
            {"instance_id": record.id, **{f: getattr(t, f) for f in _TRACK_FIELDS if f != "id"}}
            for t in record.tracks])


def save_instance(conn: Connection, record: InstanceRecord, track: TrackRecord | None = None) -> None:
    """Write the instance back, and the one track that moved. The UPDATE holds only if
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
    if track is not None:
        data_changed = track.data is not track.loaded_data
        conn.execute(_UPDATE_TRACK[data_changed], {
            "b_id": track.id, "state": track.state, "updated_at": track.updated_at,
            **({"data": track.data} if data_changed else {})})


def insert_event(conn: Connection, **values: Any) -> int:
    """Append one event to the history; returns its seq."""
    return conn.execute(_INSERT_EVENT, values).inserted_primary_key[0]


# --- the status listing -------------------------------------------------------------
#
# `status` over thousands of instances is the secretariat's most used screen and the
# scripts' favourite query, so the database builds each instance's tracks as one JSON
# object ({"MX": {"state", "due", "overdue"}, ...}) instead of Python looping over
# every track row.


def status_rows(conn: Connection, overdue: Callable[[Any], Any], instance_id: str | None = None,
                brief: bool = False, workflow: str | None = None):
    """(id, workflow, state, version, params, data, created_at, updated_at, timeout_at,
    tracks) per instance, in the order they were started; `tracks` is JSON text.
    `brief` leaves out params, data and times. `overdue(t)` is the SQL condition for
    a track row `t` of the instance to be overdue."""
    # each instance's tracks in creation order (both databases accept this correlated subquery)
    t = (select(TRACKS.c.participant, TRACKS.c.state, TRACKS.c.due, TRACKS.c.reminded_at)
         .where(TRACKS.c.instance_id == INSTANCES.c.id).order_by(TRACKS.c.id)
         .correlate(INSTANCES).subquery("t"))
    if conn.dialect.name == "postgresql":
        reminded = func.to_char(t.c.reminded_at, "YYYY-MM-DD")
        cell = func.json_build_object("state", t.c.state, "due", t.c.due, "overdue", overdue(t), "reminded", reminded)
        tracks = select(cast(func.json_object_agg(t.c.participant, cell), Text))  # text, not decoded
    else:  # SQLite's JSON has no booleans but json('true') and json('false')
        flag = func.json(case((overdue(t), "true"), else_="false"))
        reminded = func.substr(t.c.reminded_at, 1, 10)  # the (UTC) day of the stored time
        cell = func.json_object("state", t.c.state, "due", t.c.due, "overdue", flag, "reminded", reminded)
        tracks = select(func.json_group_object(t.c.participant, cell))
    columns = ["id", "workflow", "state", "version"]
    if not brief:
        columns += ["params", "data", "created_at", "updated_at", "timeout_at"]
    query = (select(*(INSTANCES.c[c] for c in columns), tracks.scalar_subquery().label("tracks"))
             .order_by(INSTANCES.c.created_at, INSTANCES.c.id))
    if instance_id is not None:
        query = query.where(INSTANCES.c.id == instance_id)
    if workflow is not None:
        query = query.where(INSTANCES.c.workflow == workflow)
    return conn.execute(query).all()


def record_reminder(conn: Connection, key: str, instance_id: str, participant: str, event_seq: int,
                    now: dt.datetime) -> None:
    conn.execute(insert(ReminderSent.__table__).values(key=key, instance_id=instance_id, participant=participant,
                                                       event_seq=event_seq, sent_at=now))
    conn.execute(update(TRACKS).where(TRACKS.c.instance_id == instance_id, TRACKS.c.participant == participant)
                 .values(reminded_at=now))


def reminder_keys(conn: Connection, instance_ids: list[str]) -> set[str]:
    rows = conn.execute(select(ReminderSent.key).where(ReminderSent.instance_id.in_(instance_ids)))
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
    conn.execute(insert(Attachment.__table__), values)


def insert_outbox(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    return [conn.execute(insert(OUTBOX), row).inserted_primary_key[0] for row in rows]
