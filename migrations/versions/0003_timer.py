"""The facilitator's countdown

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:50:44.615605
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timer_ends_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.drop_column("timer_ends_at")
