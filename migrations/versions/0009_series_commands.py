"""Series and library commands answered once: the answer to each (series, organizer,
command id) is kept, so that a form sent twice is applied once

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizers.id"],
            name=op.f("fk_series_commands_organizer_id_organizers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_commands_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_commands")),
        sa.UniqueConstraint(
            "series_id",
            "organizer_id",
            "command_id",
            name=op.f("uq_series_commands_series_id_organizer_id_command_id"),
        ),
    )
    op.create_index(
        op.f("ix_series_commands_organizer_id"), "series_commands", ["organizer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_series_commands_organizer_id"), table_name="series_commands")
    op.drop_table("series_commands")
