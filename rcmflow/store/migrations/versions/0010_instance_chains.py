"""instance chains: the history is one hash chain per instance; an index for the counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Until now every event followed the one before it in seq order, whatever its instance,
so every writer on PostgreSQL waited for one lock. Now each event follows the last
event of its own instance (the first follows GENESIS), and `history head` ties the
chains together. The encoding of an event is unchanged (version 1); only the links are
recomputed, instance by instance in seq order. The old chain is checked first: a
history that no longer verifies is not relinked (that would hide what broke it), and
the migration stops with the first event that does not hold.

It also adds ix_tracks_states (instance_id, state): the matrix's counts, tracks per
instance and state, are read from that index alone.
"""
from alembic import op
import sqlalchemy as sa

from rcmflow.errors import DatabaseError
from rcmflow.store.chain import GENESIS, HASHED, event_hash


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# The table as this revision knows it. Times are read as stored (naive UTC).
events = sa.table(
    'events', sa.column('seq', sa.BigInteger), sa.column('at', sa.DateTime), sa.column('data', sa.JSON),
    *(sa.column(name, sa.String) for name in HASHED if name not in ('at', 'data')),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String))

_COLUMNS = (events.c.seq, *(events.c[name] for name in HASHED), events.c.prev_hash, events.c.hash)


def upgrade() -> None:
    _check(sa.select(*_COLUMNS).order_by(events.c.seq), lambda row: None)
    _relink(sa.select(*_COLUMNS).order_by(events.c.instance_id, events.c.seq), lambda row: row.instance_id)
    op.create_index('ix_tracks_states', 'tracks', ['instance_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_tracks_states', table_name='tracks')
    _check(sa.select(*_COLUMNS).order_by(events.c.instance_id, events.c.seq), lambda row: row.instance_id)
    _relink(sa.select(*_COLUMNS).order_by(events.c.seq), lambda row: None)


def _check(query, chain_of) -> None:
    """Stop on the first event whose link or hash does not hold in the chains as they are."""
    prev, chain = GENESIS, object()
    for row in op.get_bind().execute(query):
        if chain_of(row) != chain:
            prev, chain = GENESIS, chain_of(row)
        if row.prev_hash != prev or event_hash(prev, dict(row._mapping)) != row.hash:
            raise DatabaseError(f"event seq {row.seq} does not verify: run 'rcmflow history verify' with the "
                               f"rcmflow that wrote this database and restore the history before upgrading (schema 0010 "
                                f"relinks it, which would hide what broke it)")
        prev = row.hash


def _relink(query, chain_of, batch: int = 5000) -> None:
    bind = op.get_bind()
    update = (sa.update(events).where(events.c.seq == sa.bindparam('b_seq'))
              .values(prev_hash=sa.bindparam('prev_hash'), hash=sa.bindparam('hash')))
    prev, chain, pending = GENESIS, object(), []
    for row in bind.execute(query).all():
        if chain_of(row) != chain:
            prev, chain = GENESIS, chain_of(row)
        digest = event_hash(prev, dict(row._mapping))
        if (prev, digest) != (row.prev_hash, row.hash):
            pending.append({'b_seq': row.seq, 'prev_hash': prev, 'hash': digest})
        prev = digest
        if len(pending) >= batch:
            bind.execute(update, pending)
            pending = []
    if pending:
        bind.execute(update, pending)
