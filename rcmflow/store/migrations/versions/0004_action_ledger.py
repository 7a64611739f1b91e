"""action ledger: sent_messages become ledger rows of the notify action

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Every row of sent_messages becomes a row of action_ledger with action 'notify', the
same key (outbox action and recipient, which notify still makes the same way), the
time it was sent, and the rest as data: so a notification retried after the upgrade
still skips whoever it already reached.
"""
from alembic import op
import sqlalchemy as sa
import rcmflow.store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The tables as this revision knows them, whatever the models say later. Times are
# copied as stored (naive UTC), so plain DateTime.
SENT_COLUMNS = ("outbox_id", "instance_id", "recipient", "language", "subject", "message_id", "transport", "path")
sent_messages = sa.table(
    'sent_messages', sa.column('key', sa.String), sa.column('sent_at', sa.DateTime),
    *(sa.column(name, sa.Integer if name == "outbox_id" else sa.String) for name in SENT_COLUMNS))
action_ledger = sa.table(
    'action_ledger', sa.column('action', sa.String), sa.column('key', sa.String), sa.column('data', sa.JSON),
    sa.column('at', sa.DateTime))


def upgrade() -> None:
    op.create_table('action_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', rcmflow.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('action_ledger_pkey')),
    sa.UniqueConstraint('action', 'key', name=op.f('action_ledger_action_key_key'))
    )
    rows = op.get_bind().execute(sa.select(sent_messages).order_by(sent_messages.c.sent_at, sent_messages.c.key))
    entries = [{"action": "notify", "key": row.key, "at": row.sent_at,
                "data": {name: getattr(row, name) for name in SENT_COLUMNS}} for row in rows]
    if entries:
        op.bulk_insert(action_ledger, entries)
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_messages_outbox_id'))
        batch_op.drop_index(batch_op.f('ix_sent_messages_instance_id'))

    op.drop_table('sent_messages')


def downgrade() -> None:
    op.create_table('sent_messages',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('instance_id', sa.String(length=100), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('transport', sa.String(length=10), nullable=False),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('sent_at', rcmflow.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('sent_messages_outbox_id_fkey'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('sent_messages_pkey'))
    )
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_messages_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_messages_outbox_id'), ['outbox_id'], unique=False)
    bind = op.get_bind()
    outboxes = {i for (i,) in bind.execute(sa.text("SELECT id FROM outbox"))}
    rows = bind.execute(sa.select(action_ledger).where(action_ledger.c.action == 'notify'))
    entries = []
    for row in rows:  # only what this revision's table can hold: an outbox since deleted is NULL
        data = {name: row.data.get(name) for name in SENT_COLUMNS}
        if data["outbox_id"] not in outboxes:
            data["outbox_id"] = None
        if len(row.key) <= 200 and all(data[n] is not None for n in SENT_COLUMNS if n not in ("outbox_id", "path")):
            entries.append({"key": row.key, "sent_at": row.at, **data})
    if entries:
        op.bulk_insert(sent_messages, entries)
    op.drop_table('action_ledger')
