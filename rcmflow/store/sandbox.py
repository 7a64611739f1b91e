"""A throw-away copy of a database, for a what-if to play on: the original is only read.

SQLite: the file is copied with SQLite's online backup API (a consistent copy even
while others write) into a temporary folder outside the home. PostgreSQL: a temporary
schema in the same database, made by the migrations, then given every row and the
positions of the sequences; it is dropped at the end.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from rcmflow.store.database import Database
from rcmflow.store.models import Base


@contextmanager
def sandbox(source: Database) -> Iterator[str]:
    """The URL of a copy of `source`, removed when the block ends."""
    source.check_schema()
    if source.engine.dialect.name == "sqlite":
        with _sqlite_copy(source) as url:
            yield url
    else:
        with _postgres_copy(source) as url:
            yield url


@contextmanager
def _sqlite_copy(source: Database) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="rcmflow-whatif-"))
    try:
        target = folder / "whatif.db"
        original = sqlite3.connect(f"file:{source.engine.url.database}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            original.backup(copy)
        finally:
            copy.close()
            original.close()
        yield f"sqlite:///{target}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _postgres_copy(source: Database) -> Iterator[str]:
    from rcmflow.store.migrations import upgrade

    schema = f"rcmflow_whatif_{uuid.uuid4().hex[:12]}"
    # a throw-away copy needs no commit to wait for the disk
    url = make_url(source.url).update_query_dict({"options": f"-csearch_path={schema} -csynchronous_commit=off"})
    with source.engine.connect() as conn:
        original = conn.execute(text("SELECT current_schema()")).scalar()
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.commit()
    try:
        copy = Database(url.render_as_string(hide_password=False))
        try:
            upgrade(copy)
        finally:
            copy.dispose()
        with source.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):  # what the migrations wrote (the namespace)
                conn.execute(text(f'DELETE FROM "{schema}"."{table.name}"'))
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f'INSERT INTO "{schema}"."{table.name}" SELECT * FROM "{original}"."{table.name}"'))
            sequences = conn.execute(text("SELECT sequencename, last_value FROM pg_sequences "
                                          "WHERE schemaname = :schema AND last_value IS NOT NULL"),
                                     {"schema": original}).all()
            for name, last_value in sequences:
                conn.execute(text("SELECT setval(:sequence, :value)"),
                             {"sequence": f'"{schema}"."{name}"', "value": last_value})
        yield url.render_as_string(hide_password=False)
    finally:
        with source.engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.commit()
