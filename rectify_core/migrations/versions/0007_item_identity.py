"""item identity: items not in the latest sheet, withdrawn or merged

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listed', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('former_no', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_items_merged_into_items'), 'items', ['merged_into'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_items_merged_into_items'), type_='foreignkey')
        batch_op.drop_column('merged_into')
        batch_op.drop_column('former_no')
        batch_op.drop_column('listed')
