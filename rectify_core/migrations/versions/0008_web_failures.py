"""web failures: the rate limit every worker of rectify web shares

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_failures'))
    )
    with op.batch_alter_table('web_failures', schema=None) as batch_op:
        batch_op.create_index('ix_web_failures_client_at', ['client', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_web_failures_client_at')
    op.drop_table('web_failures')
