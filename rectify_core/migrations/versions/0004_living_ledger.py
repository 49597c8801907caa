"""living ledger: round keys, import batches, pinned fields, progress, person units

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import rectify_core.ledger.columns
from rectify_core.identity import round_key

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('source_name', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('report_date', sa.Date(), nullable=True),
    sa.Column('at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('round_created', sa.Boolean(), nullable=False),
    sa.Column('round_before', sa.JSON(), nullable=False),
    sa.Column('created', sa.JSON(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('undone_at', rectify_core.ledger.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_import_batches_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('rounds') as batch:
        batch.add_column(sa.Column('key', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('first_responsible', sa.String(length=100), nullable=True))
    conn = op.get_bind()
    rounds = sa.table('rounds', sa.column('id', sa.Integer), sa.column('unit_id', sa.Integer),
                      sa.column('key', sa.String), sa.column('inspector', sa.String),
                      sa.column('feedback_date', sa.Date), sa.column('name', sa.String))
    seen: set[tuple[int, str]] = set()
    for rid, unit_id, inspector, feedback, name in conn.execute(sa.select(
            rounds.c.id, rounds.c.unit_id, rounds.c.inspector, rounds.c.feedback_date, rounds.c.name)
            .order_by(rounds.c.id)).all():
        key = round_key(inspector, feedback, name)
        if (unit_id, key) in seen:  # two old rounds of one inspection: the later keeps its own key
            key = f"{key}#{rid}"
        seen.add((unit_id, key))
        conn.execute(rounds.update().where(rounds.c.id == rid).values(key=key))
    with op.batch_alter_table('rounds') as batch:
        batch.alter_column('key', existing_type=sa.String(length=500), nullable=False)
        batch.drop_constraint('uq_rounds_unit_id', type_='unique')
        batch.create_unique_constraint(op.f('uq_rounds_unit_id'), ['unit_id', 'key'])
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('done_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('progress', sa.Text(), nullable=True))
        batch.add_column(sa.Column('progress_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('pinned', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('extra', sa.JSON(), nullable=True))
    op.execute("UPDATE items SET pinned = '{}', extra = '{}'")
    # a closure recorded in rectify was a person's work: pin it
    op.execute("UPDATE items SET pinned = '{\"status\": \"closed\"}' WHERE closure_id IN "
               "(SELECT id FROM closures WHERE evidence_recorded AND reopened_at IS NULL)")
    op.execute("UPDATE items SET pinned = '{\"status\": \"reopened\", \"deadline\": \"reopened\"}' "
               "WHERE rebound_count > 0 AND closure_id IS NULL")
    with op.batch_alter_table('items') as batch:
        batch.alter_column('pinned', existing_type=sa.JSON(), nullable=False)
        batch.alter_column('extra', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_events_batch_id_import_batches'), 'import_batches', ['batch_id'], ['id'])
        batch.create_index(batch.f('ix_events_batch_id'), ['batch_id'], unique=False)
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('recipient_unit', sa.String(length=200), server_default='', nullable=False))
        batch.add_column(sa.Column('kind', sa.String(length=10), server_default='item', nullable=False))
        batch.create_index('ix_notices_recipient', ['recipient_unit', 'recipient', 'state'], unique=False)
        batch.create_index('ix_notices_claimed_by', ['claimed_by'], unique=False)
    op.execute("UPDATE notices SET kind = 'lookback' WHERE lookback_id IS NOT NULL")
    op.execute("UPDATE notices SET kind = 'admin' WHERE role = 'admin'")
    # the unit of each existing notice's recipient: its item's unit
    op.execute("UPDATE notices SET recipient_unit = (SELECT units.name FROM rounds JOIN units "
               "ON rounds.unit_id = units.id WHERE rounds.id = notices.round_id)")
    with op.batch_alter_table('lookback_sweeps') as batch:
        batch.add_column(sa.Column('unit', sa.String(length=200), server_default='', nullable=False))
        batch.drop_constraint('uq_lookback_sweeps_run_on', type_='unique')
        batch.create_unique_constraint(op.f('uq_lookback_sweeps_run_on'), ['run_on', 'unit'])


def downgrade() -> None:
    with op.batch_alter_table('lookback_sweeps') as batch:
        batch.drop_constraint('uq_lookback_sweeps_run_on', type_='unique')
        batch.create_unique_constraint(op.f('uq_lookback_sweeps_run_on'), ['run_on'])
        batch.drop_column('unit')
    with op.batch_alter_table('notices') as batch:
        batch.drop_index('ix_notices_claimed_by')
        batch.drop_index('ix_notices_recipient')
        batch.drop_column('kind')
        batch.drop_column('recipient_unit')
    with op.batch_alter_table('events') as batch:
        batch.drop_index(batch.f('ix_events_batch_id'))
        batch.drop_constraint(op.f('fk_events_batch_id_import_batches'), type_='foreignkey')
        batch.drop_column('batch_id')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('extra')
        batch.drop_column('pinned')
        batch.drop_column('progress_on')
        batch.drop_column('progress')
        batch.drop_column('done_on')
    with op.batch_alter_table('rounds') as batch:
        batch.drop_constraint('uq_rounds_unit_id', type_='unique')
        batch.create_unique_constraint(op.f('uq_rounds_unit_id'), ['unit_id', 'name'])
        batch.drop_column('first_responsible')
        batch.drop_column('key')
    op.drop_table('import_batches')
