"""Connecting: the engine factory, SQLite's pragmas and BEGIN IMMEDIATE, and `Database`."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from rcmflow.errors import DatabaseError

#: The Alembic revision this code expects; `rcmflow init` upgrades a database to it.
SCHEMA_REVISION = "0010"
#: PostgreSQL advisory lock key that makes migrations one at a time ('rcmm')
MIGRATION_LOCK = 0x72636D6D


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
        # Each thread keeps the connection it writes on: a command's transactions skip
        # the pool's checkout, its pre-ping (a round trip on PostgreSQL) and its reset
        self._kept = threading.local()
        self._all_kept: list[Connection] = []
        self._lock = threading.Lock()

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session to read with; a database failure inside the block becomes one
        `DatabaseError` line, so that readers need not know SQLAlchemy's errors."""
        self._check_once()
        try:
            with self._read() as session:
                yield session
        except DBAPIError as exc:
            raise DatabaseError(self.describe(exc)) from None

    def describe(self, exc: Exception) -> str:
        """A database failure as one line, with the likely remedy."""
        message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if "no such table" in message or "does not exist" in message and "relation" in message:
            return f"{self.display_url} has no rcmflow tables yet: run 'rcmflow init'"
        return f"cannot use the database {self.display_url}: {message}"

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction on this thread's kept connection, committed when the
        block ends without an error (on SQLite it starts with BEGIN IMMEDIATE). A
        failure gives the connection back, so that the next transaction starts afresh."""
        self._check_once()
        conn = getattr(self._kept, "conn", None)
        if conn is not None and conn.in_transaction():  # a write inside a write: a connection of its own
            with self._write_engine.begin() as other:
                yield other
            return
        if conn is None or conn.closed or conn.invalidated:
            conn = self._kept.conn = self._write_engine.connect()
            with self._lock:
                self._all_kept.append(conn)
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._kept.conn = None
            self._release(conn)
            raise

    def _release(self, conn: Connection) -> None:
        with self._lock:
            if conn in self._all_kept:
                self._all_kept.remove(conn)
        conn.close()

    @contextmanager
    def migrating(self) -> Iterator[Connection]:
        """The migration's transaction, holding the write lock from its first statement:
        on SQLite BEGIN IMMEDIATE (a concurrent `init` waits up to the busy timeout), on
        PostgreSQL a transaction advisory lock. Whoever comes second then sees the schema
        the first one committed (READ COMMITTED: the next statement's snapshot)."""
        with self._write_engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            yield conn

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
        if is_newer(revision):
            raise DatabaseError(newer_schema(self.display_url, revision))
        if revision != SCHEMA_REVISION:
            raise DatabaseError(
                f"the database {self.display_url} is at schema {revision}, this rcmflow needs "
                f"{SCHEMA_REVISION}: run 'rcmflow init' to upgrade it")

    def dispose(self) -> None:
        with self._lock:
            kept, self._all_kept = self._all_kept, []
        for conn in kept:
            conn.close()
        self._kept = threading.local()
        self.engine.dispose()


def is_newer(revision: str | None) -> bool:
    """Whether `revision` comes after this code's: revisions are numbered 0001, 0002, …"""
    return bool(revision and revision.isdigit() and SCHEMA_REVISION.isdigit() and int(revision) > int(SCHEMA_REVISION))


def newer_schema(url: str, revision: str | None) -> str:
    return (f"the database {url} was written by a newer rcmflow (schema {revision}); upgrade rcmflow "
            f"(this one knows schemas up to {SCHEMA_REVISION})")


def _first_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", exc) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
