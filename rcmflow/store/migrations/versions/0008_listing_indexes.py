"""listing indexes: instances in the order they were started, each one's tracks in theirs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`status` lists the instances by (created_at, id): with this index the database walks
them in that order and the listing streams from its first row instead of sorting
every instance first; (instance_id, id) gives each instance's tracks in the order they
were made without a sort per instance.
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_instances_created', 'instances', ['created_at', 'id'])
    op.create_index('ix_tracks_instance', 'tracks', ['instance_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_tracks_instance', table_name='tracks')
    op.drop_index('ix_instances_created', table_name='instances')
