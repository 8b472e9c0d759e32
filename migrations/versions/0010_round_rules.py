"""Each round keeps the consensus rule it was judged by: the rule in force, and the one
declared when it opened, so that a change after the results were seen shows

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("rule", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("declared_rule", sa.JSON(), nullable=True))
    # Rounds held before kept no rule of their own: they were judged by their workshop's.
    op.execute(
        "UPDATE rounds SET rule = (SELECT consensus FROM workshops"
        " WHERE workshops.id = rounds.workshop_id)"
    )
    op.execute("UPDATE rounds SET declared_rule = rule")


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("declared_rule")
        batch.drop_column("rule")
