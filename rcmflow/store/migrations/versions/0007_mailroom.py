"""mailroom: the messages read from the mailbox, and their attachments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('mail_messages',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('uid', sa.String(length=300), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=True),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('instance_id', sa.String(length=100), nullable=True),
    sa.Column('participant', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('authentication', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('event_seq', _ID, nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['event_seq'], ['events.seq'], name=op.f('mail_messages_event_seq_fkey'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name=op.f('mail_messages_instance_id_fkey'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('mail_messages_pkey')),
    sa.UniqueConstraint('fingerprint', name=op.f('mail_messages_fingerprint_key')),
    sa.UniqueConstraint('source', 'uid', name=op.f('mail_messages_source_uid_key'))
    )
    op.create_index(op.f('ix_mail_messages_status'), 'mail_messages', ['status'], unique=False)
    op.create_table('mail_attachments',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('message', _ID, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('refused', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message'], ['mail_messages.id'], name=op.f('mail_attachments_message_fkey'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('mail_attachments_pkey'))
    )
    op.create_index(op.f('ix_mail_attachments_message'), 'mail_attachments', ['message'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mail_attachments_message'), table_name='mail_attachments')
    op.drop_table('mail_attachments')
    op.drop_index(op.f('ix_mail_messages_status'), table_name='mail_messages')
    op.drop_table('mail_messages')
