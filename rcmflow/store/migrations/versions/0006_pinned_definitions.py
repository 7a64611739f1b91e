"""pinned definitions: the text of each definition an instance runs on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Instances started before this revision have no pinned definition yet; `rcmflow init`
pins each of them to its workflow file as it is when the upgrade runs.
"""
from alembic import op
import sqlalchemy as sa
import rcmflow.store.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('definitions',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('workflow', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('stored_at', rcmflow.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('definitions_pkey'))
    )
    with op.batch_alter_table('definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definitions_workflow'), ['workflow'], unique=False)
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies the table, and dropping the old instances
    # table would cascade to every track, event and outbox row (SQLite >= 3.35 drops a column).
    op.drop_column('instances', 'definition_hash')
    with op.batch_alter_table('definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definitions_workflow'))
    op.drop_table('definitions')
