"""properties: what a database says about itself, and its namespace

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A key/value table, and in it `namespace`: a random name made once per database, so
that the calendar of a test database and the real one never share an event UID.
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    properties = op.create_table('properties',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('properties_pkey'))
    )
    op.bulk_insert(properties, [{'key': 'namespace', 'value': uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table('properties')
