"""the units keep their people: a directory in the database (rectify people, /admin/people)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from rectify_core.ledger.columns import UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'directory_people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=200), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=True),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('mobile', sa.String(length=20), nullable=True),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('supervisor', sa.String(length=100), nullable=True),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('directory_people', schema=None) as batch_op:
        batch_op.create_index('ix_directory_people_unit_id', ['unit_id'], unique=False)


def downgrade() -> None:
    op.drop_table('directory_people')
