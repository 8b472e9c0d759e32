"""voting methods, merges, proxies and consensus

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 08:20:51.488778
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballot_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value2", sa.Integer(), nullable=True))

    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_factors_merged_into_id_factors"),
            "factors",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("results", sa.JSON(), nullable=True))

    with op.batch_alter_table("workshops", schema=None) as batch_op:
        # Existing workshops get the default rule ({} means the defaults).
        batch_op.add_column(
            sa.Column("consensus", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.drop_column("consensus")

    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("results")

    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_factors_merged_into_id_factors"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")

    with op.batch_alter_table("ballot_entries", schema=None) as batch_op:
        batch_op.drop_column("value2")
