"""one row per upgrade outcome, however often the drainer retries its batch

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ['customer_external_id', 'offer_id', 'outcome', 'at']


def upgrade() -> None:
    # Rows a retried batch stored twice before this key existed: keep the first.
    op.execute(
        'DELETE FROM upgrade_outcomes WHERE id NOT IN ('
        ' SELECT MIN(id) FROM upgrade_outcomes'
        ' GROUP BY customer_external_id, offer_id, outcome, at)'
    )
    with op.batch_alter_table('upgrade_outcomes', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f('uq_upgrade_outcomes_customer_external_id_offer_id_outcome_at'), _KEY
        )


def downgrade() -> None:
    with op.batch_alter_table('upgrade_outcomes', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_upgrade_outcomes_customer_external_id_offer_id_outcome_at'),
            type_='unique',
        )
