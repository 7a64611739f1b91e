"""The schema comes from Alembic migrations, and the models never drift from them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rcmflow.migrations import head_revision
from rcmflow.store import SCHEMA_REVISION, Base


def test_the_code_expects_the_newest_migration():
    assert SCHEMA_REVISION == head_revision()


def test_the_models_match_the_migrations(engine, db_url):
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    db.dispose()
    assert diff == []
    assert version == SCHEMA_REVISION


def test_init_keeps_existing_data(engine):
    engine.start("thematic-consultation", params={"theme": "2", "deadline": "2030-01-01"})
    engine.init()
    assert [v.id for v in engine.status()] == ["theme-2"]


def test_an_old_schema_asks_for_init(engine, db_url, rcmflow):
    db = sa.create_engine(db_url)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    db.dispose()
    result = rcmflow("status")
    assert result.exit_code == 1
    assert "is at schema 0000, this rcmflow needs 0001: run 'rcmflow init' to upgrade it" in result.stderr
