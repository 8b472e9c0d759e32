"""Stakeholder groups: a workshop's groups, the one each participant picked, and whether a
phone must pick one and the room sees the groups side by side

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participant_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_participant_groups_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_groups")),
    )
    op.create_index(
        op.f("ix_participant_groups_workshop_id"), "participant_groups", ["workshop_id"]
    )
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_participants_group_id_participant_groups"),
            "participant_groups",
            ["group_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Existing workshops have no groups; were some added, picking one would be optional.
    with op.batch_alter_table("workshops") as batch:
        batch.add_column(
            sa.Column("group_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("groups_shown", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.drop_column("groups_shown")
        batch.drop_column("group_required")
    with op.batch_alter_table("participants") as batch:
        batch.drop_constraint(
            batch.f("fk_participants_group_id_participant_groups"), type_="foreignkey"
        )
        batch.drop_column("group_id")
    op.drop_index(op.f("ix_participant_groups_workshop_id"), table_name="participant_groups")
    op.drop_table("participant_groups")
