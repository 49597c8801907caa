"""work platforms: user ids found by mobile, and the platform's id of each message

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('im_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('userid', sa.String(length=100), nullable=False),
    sa.Column('looked_up_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_users')),
    sa.UniqueConstraint('platform', 'account', 'mobile', name=op.f('uq_im_users_platform'))
    )
    with op.batch_alter_table('notice_parts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice_parts', schema=None) as batch_op:
        batch_op.drop_column('ref')
    op.drop_table('im_users')
