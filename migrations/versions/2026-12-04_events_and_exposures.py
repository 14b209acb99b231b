"""events and exposures

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:58:44.923483
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('session_id', sa.String(length=128), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=True),
    sa.Column('order_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_type_at'), ['type', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_unit_at'), ['unit', 'at'], unique=False)

    op.create_table('exposures',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=128), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=32), nullable=False),
    sa.Column('skus', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_exposures'))
    )
    with op.batch_alter_table('exposures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exposures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exposures_unit_at'), ['unit', 'at'], unique=False)

    op.create_table('event_lines',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.event_id'], name=op.f('fk_event_lines_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'line_no', name=op.f('pk_event_lines'))
    )


def downgrade() -> None:
    op.drop_table('event_lines')
    with op.batch_alter_table('exposures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exposures_unit_at'))
        batch_op.drop_index(batch_op.f('ix_exposures_at'))

    op.drop_table('exposures')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_unit_at'))
        batch_op.drop_index(batch_op.f('ix_events_type_at'))

    op.drop_table('events')
