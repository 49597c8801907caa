"""the clerk's pages write: accounts carry their user's name and can be disabled; every
write made through the web is journalled (admin_actions)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from rectify_core.ledger.columns import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('disabled_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'admin_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('login', sa.String(length=64), nullable=False),
        sa.Column('unit', sa.Text(), nullable=False),
        sa.Column('what', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('admin_actions', schema=None) as batch_op:
        batch_op.create_index('ix_admin_actions_unit_at', ['unit', 'at'], unique=False)
        batch_op.create_index('ix_admin_actions_login', ['login'], unique=False)


def downgrade() -> None:
    op.drop_table('admin_actions')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('name')
