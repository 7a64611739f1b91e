"""Alembic migrations: `rcmflow init` runs them; every schema change is a new version."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from rcmflow.errors import DatabaseError
from rcmflow.store.database import Database, newer_schema

HERE = Path(__file__).parent


def alembic_config(database: Database, connection=None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory(str(HERE)).get_current_head()


def upgrade(database: Database) -> None:
    """Create the schema, or bring an older one up to date. Safe to run again, and at
    the same time: a second `init` waits for the first, then finds the schema at head."""
    try:
        with database.migrating() as connection:
            command.upgrade(alembic_config(database, connection), "head")
    except CommandError as exc:  # "Can't locate revision identified by '0042'"
        if "Can't locate revision" not in str(exc):
            raise
        raise DatabaseError(newer_schema(database.display_url, current_revision(database))) from None


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
