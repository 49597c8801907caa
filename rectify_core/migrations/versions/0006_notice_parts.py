"""notice parts: the journal of messages that went, marked sent in bulk later

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=30), nullable=False),
    sa.Column('sent_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notices', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_parts'))
    )


def downgrade() -> None:
    op.drop_table('notice_parts')
