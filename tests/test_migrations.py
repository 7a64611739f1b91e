"""The schema comes from Alembic migrations, and the models never drift from them."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rcmflow.store.migrations import head_revision
from rcmflow.store.database import SCHEMA_REVISION
from rcmflow.store.models import Base


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
    assert f"is at schema 0000, this rcmflow needs {SCHEMA_REVISION}: run 'rcmflow init' to upgrade it" in result.stderr


def test_init_upgrades_a_database_of_the_first_schema(home, db_url, make_engine):
    from alembic import command

    from rcmflow.store.migrations import alembic_config
    from rcmflow.store.database import Database

    old = Database(db_url)
    with old.engine.begin() as conn:
        command.upgrade(alembic_config(old, conn), "0001")
        conn.execute(sa.text("INSERT INTO instances (id, workflow, definition_version, state, params, data, version, "
                             "state_entered_at, created_at, updated_at) VALUES ('theme-1', 'thematic-consultation', "
                             "1, 'planned', '{\"theme\": 1}', '{}', 1, '2017-03-29 09:00:00', "
                             "'2017-03-29 09:00:00', '2017-03-29 09:00:00')"))
    old.dispose()
    engine = make_engine()
    engine.init()
    assert [v.id for v in engine.status()] == ["theme-1"]
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        assert sa.inspect(conn).has_table("action_ledger")
        assert not sa.inspect(conn).has_table("sent_messages")  # its rows are ledger rows now
    db.dispose()


def test_constraints_have_the_names_of_the_models(engine, db_url):
    # The naming convention gives PostgreSQL's own default names, so databases made
    # before it existed already have them; new migrations can rely on them everywhere.
    db = sa.create_engine(db_url)
    with db.connect() as conn:
        found = sa.inspect(conn)
        for table in Base.metadata.sorted_tables:
            assert found.get_pk_constraint(table.name)["name"] == table.primary_key.name
            assert ({fk["name"] for fk in found.get_foreign_keys(table.name)}
                    == {fk.name for fk in table.foreign_key_constraints})
            assert ({uq["name"] for uq in found.get_unique_constraints(table.name)}
                    == {c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)})
    db.dispose()
    assert Base.metadata.tables["tracks"].primary_key.name == "tracks_pkey"


def test_the_ledger_migration_goes_down_and_up_again(engine, consultation, db_url):
    # Opening the consultation notified every member (as .eml files: no SMTP here).
    from alembic import command

    from rcmflow.store.database import Database
    from rcmflow.store.migrations import alembic_config

    def table(name: str) -> list[dict]:
        with db.engine.connect() as conn:
            return sorted((dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))),
                          key=lambda r: r["key"])

    db = Database(db_url)
    # the messages sent (not the first message of each conversation, which 0003 cannot keep)
    ledger = [{k: r[k] for k in ("action", "key", "at")} | {"data": r["data"]} for r in table("action_ledger")
              if not r["key"].startswith("thread:")]
    assert ledger and {r["action"] for r in ledger} == {"notify"}
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(db, conn), "0003")
    sent = table("sent_messages")
    assert [r["key"] for r in sent] == [r["key"] for r in ledger]
    assert {r["transport"] for r in sent} == {"file"} and all(r["message_id"] for r in sent)
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(db, conn), "head")
    again = [{k: r[k] for k in ("action", "key", "at")} | {"data": r["data"]} for r in table("action_ledger")
             if not r["key"].startswith("thread:")]
    db.dispose()
    # sent_messages had no column for what the mailroom matches replies by: that much is lost going down
    assert [kept(r) for r in again] == [kept(r) for r in ledger]
    assert all("participant" in (json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]) for r in ledger)


def kept(row: dict) -> dict:
    data = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
    return {**row, "data": {k: v for k, v in data.items() if k not in ("participant", "template")}}
