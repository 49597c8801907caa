"""结果考评: a period's scores frozen for the record

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'score_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('frozen_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('frozen_by', sa.String(length=100), nullable=True),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('replaced_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_score_snapshots')),
    )
    with op.batch_alter_table('score_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_snapshots_period'), ['period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('score_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_snapshots_period'))
    op.drop_table('score_snapshots')
