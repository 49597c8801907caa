"""notices: the index by item also holds the kind, the order and the step, so the step an
item was last asked at (every card of a personal page shows it) is read from the index

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_item')
        batch_op.create_index('ix_notices_item_step', ['item_id', 'kind', 'id', 'step_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_item_step')
        batch_op.create_index('ix_notices_item', ['item_id'], unique=False)
