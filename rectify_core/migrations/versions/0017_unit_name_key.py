"""each unit's name spelling aside, kept and indexed: a county import finds its unit
through the index, not by folding every unit's name

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from rectify_core.identity import unit_key

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=True))
    connection = op.get_bind()
    units = sa.table('units', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                     sa.column('name_key', sa.String()))
    keys = [{"unit": uid, "key": unit_key(name)} for uid, name in connection.execute(sa.select(units.c.id, units.c.name))]
    if keys:
        connection.execute(units.update().where(units.c.id == sa.bindparam("unit")).values(name_key=sa.bindparam("key")),
                           keys)
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index('ix_units_name_key', ['name_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index('ix_units_name_key')
        batch_op.drop_column('name_key')
