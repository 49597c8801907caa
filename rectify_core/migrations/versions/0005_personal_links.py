"""personal links: acknowledgements, extension and closure requests, uploads, revocations,
the holders index (who owns or leads which item), and app settings

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns
from rectify_core.ledger.holders import rows

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('acknowledged_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('acknowledged_by', sa.String(length=100), nullable=True))
    op.create_table('item_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_unit', sa.String(length=200), nullable=False),
    sa.Column('requested_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_requests_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_requests'))
    )
    op.create_index(op.f('ix_item_requests_item_id'), 'item_requests', ['item_id'], unique=False)
    op.create_index(op.f('ix_item_requests_state'), 'item_requests', ['state'], unique=False)
    op.create_table('uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_uploads_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )
    op.create_index(op.f('ix_uploads_item_id'), 'uploads', ['item_id'], unique=False)
    op.create_table('link_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_revocations')),
    sa.UniqueConstraint('unit', 'name', name=op.f('uq_link_revocations_unit'))
    )


    op.create_table('item_holders',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_holders_item_id_items')),
    sa.PrimaryKeyConstraint('item_id', 'role', 'name', name=op.f('pk_item_holders'))
    )
    op.create_index(op.f('ix_item_holders_name'), 'item_holders', ['name'], unique=False)
    op.create_table('app_settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_settings'))
    )
    conn = op.get_bind()
    items = sa.table('items', sa.column('id', sa.Integer), sa.column('owner', sa.String),
                     sa.column('leader', sa.String))
    holders = sa.table('item_holders', sa.column('item_id', sa.Integer), sa.column('role', sa.String),
                       sa.column('name', sa.String))
    pending: list[dict[str, object]] = []
    for item_id, owner, leader in conn.execute(sa.select(items.c.id, items.c.owner, items.c.leader)).all():
        pending += rows(item_id, owner, leader)
        if len(pending) >= 5000:
            conn.execute(holders.insert(), pending)
            pending = []
    if pending:
        conn.execute(holders.insert(), pending)


def downgrade() -> None:
    op.drop_table('app_settings')
    op.drop_index(op.f('ix_item_holders_name'), table_name='item_holders')
    op.drop_table('item_holders')
    op.drop_table('link_revocations')
    op.drop_index(op.f('ix_uploads_item_id'), table_name='uploads')
    op.drop_table('uploads')
    op.drop_index(op.f('ix_item_requests_state'), table_name='item_requests')
    op.drop_index(op.f('ix_item_requests_item_id'), table_name='item_requests')
    op.drop_table('item_requests')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('acknowledged_by')
        batch.drop_column('acknowledged_on')
