"""event chain: every event carries the hash of the one before it and its own

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Adds events.prev_hash and events.hash and computes the chain over the events that
exist, in seq order, with the encoding of `rcmflow.store.chain` (version 1). The
columns are added with an empty default rather than altered to NOT NULL afterwards:
on SQLite that alteration copies and drops the table, and dropping events would
cascade to the outbox, the attachments and the reminders.
"""
from alembic import op
import sqlalchemy as sa

from rcmflow.store.chain import GENESIS, HASHED, event_hash


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The table as this revision knows it. Times are read as stored (naive UTC).
events = sa.table(
    'events', sa.column('seq', sa.BigInteger), sa.column('at', sa.DateTime), sa.column('data', sa.JSON),
    *(sa.column(name, sa.String) for name in HASHED if name not in ('at', 'data')),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String))


def upgrade() -> None:
    op.add_column('events', sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default=''))
    op.add_column('events', sa.Column('hash', sa.String(length=64), nullable=False, server_default=''))
    _chain_existing_events()
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('events', 'prev_hash', server_default=None)
        op.alter_column('events', 'hash', server_default=None)


def _chain_existing_events(batch: int = 5000) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(events.c.seq, *(events.c[name] for name in HASHED)).order_by(events.c.seq))
    update = (sa.update(events).where(events.c.seq == sa.bindparam('b_seq'))
              .values(prev_hash=sa.bindparam('prev_hash'), hash=sa.bindparam('hash')))
    prev, pending = GENESIS, []
    for row in rows.all():
        digest = event_hash(prev, dict(row._mapping))
        pending.append({'b_seq': row.seq, 'prev_hash': prev, 'hash': digest})
        prev = digest
        if len(pending) >= batch:
            bind.execute(update, pending)
            pending = []
    if pending:
        bind.execute(update, pending)


def downgrade() -> None:
    op.drop_column('events', 'hash')
    op.drop_column('events', 'prev_hash')
