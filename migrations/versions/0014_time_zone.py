"""A workshop's time zone: the IANA name its exports write times in (Europe/Stockholm
unless the facilitator sets another)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.add_column(
            sa.Column(
                "time_zone",
                sa.String(length=64),
                nullable=False,
                server_default="Europe/Stockholm",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.drop_column("time_zone")
