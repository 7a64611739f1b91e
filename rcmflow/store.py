"""The database: SQLAlchemy models, the engine factory and a few queries.

Store functions take a session and never commit: the engine owns the transaction
(one `Session.begin()` per command). Times are stored as UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
    TypeDecorator, UniqueConstraint, create_engine, event, inspect, select, text,
)
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from .errors import DatabaseError

#: The Alembic revision this code expects; `rcmflow init` upgrades a database to it.
SCHEMA_REVISION = "0001"

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
    #: finds another version than it read lost a race and is retried
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state_entered_at: Mapped[dt.datetime]
    #: when the current state's timeout fires; None once it has fired or if it has none
    timeout_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    tracks: Mapped[list[Track]] = relationship(
        back_populates="instance", order_by="Track.id", lazy="selectin", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


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
    """The sessions of one database: `writing()` for commands that change state."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(rcmflow_write=True), expire_on_commit=False)
        self._schema_checked = False

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def reading(self) -> Session:
        self._check_once()
        return self._read()

    def writing(self) -> Session:
        self._check_once()
        return self._write()

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


def get_instance(session: Session, instance_id: str) -> Instance | None:
    return session.get(Instance, instance_id)


def instance_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Instance.id).order_by(Instance.created_at, Instance.id)))
