"""Alembic environment: runs on the connection rcmflow hands over."""

from alembic import context

from rcmflow.store.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    raise SystemExit("run migrations through 'rcmflow init', which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
