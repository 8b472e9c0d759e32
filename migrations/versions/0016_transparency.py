"""The transparency page of a series: the organizer's own words about the process and the
coming workshops, whether each workshop's participation is shown, and which removals'
reasons are published

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing series publish nothing more than they did.
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("public_process", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("public_coming", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column(
                "public_participation", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("public_reasons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("public_reasons")
        batch.drop_column("public_participation")
        batch.drop_column("public_coming")
        batch.drop_column("public_process")
