"""units: a short name and the office that signs for each; accounts for the clerk's pages

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('office', sa.String(length=200), nullable=True))
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('password', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_accounts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('login', name=op.f('uq_accounts_login'))
    )


def downgrade() -> None:
    op.drop_table('accounts')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('office')
        batch_op.drop_column('short_name')
