"""Organizers and their sessions, series of workshops with a factor library, and the link of
each workshop factor to its library entry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("login", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizers")),
        sa.UniqueConstraint("login", name=op.f("uq_organizers_login")),
    )
    op.create_table(
        "organizer_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizers.id"],
            name=op.f("fk_organizer_sessions_organizer_id_organizers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizer_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_organizer_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_organizer_sessions_organizer_id"), "organizer_sessions", ["organizer_id"]
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("follow_code", sa.String(length=32), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("final", sa.JSON(), nullable=True),
        sa.Column("concluded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organizers.id"], name=op.f("fk_series_owner_id_organizers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("follow_code", name=op.f("uq_series_follow_code")),
    )
    op.create_index(op.f("ix_series_owner_id"), "series", ["owner_id"])
    op.create_table(
        "series_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["organizers.id"],
            name=op.f("fk_series_members_organizer_id_organizers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_members_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_members")),
        sa.UniqueConstraint(
            "series_id", "organizer_id", name=op.f("uq_series_members_series_id_organizer_id")
        ),
    )
    op.create_index(
        op.f("ix_series_members_organizer_id"), "series_members", ["organizer_id"]
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_invitations_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_series_id"), "invitations", ["series_id"])
    op.create_table(
        "library_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_library_categories_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_categories")),
        sa.UniqueConstraint(
            "series_id", "position", name=op.f("uq_library_categories_series_id_position")
        ),
    )
    op.create_table(
        "series_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_log_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_log")),
    )
    op.create_index(op.f("ix_series_log_series_id"), "series_log", ["series_id"])

    with op.batch_alter_table("workshops") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stakeholder", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_workshops_series_id_series"),
            "series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            batch.f("fk_workshops_owner_id_organizers"),
            "organizers",
            ["owner_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_workshops_series_id"), ["series_id"])

    # After workshops: a library factor may name the workshop it was promoted from.
    op.create_table(
        "library_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("promoted_from_workshop_id", sa.Integer(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["library_categories.id"],
            name=op.f("fk_library_factors_category_id_library_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["promoted_from_workshop_id"],
            ["workshops.id"],
            name=op.f("fk_library_factors_promoted_from_workshop_id_workshops"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_library_factors_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_factors")),
    )
    op.create_index(op.f("ix_library_factors_series_id"), "library_factors", ["series_id"])
    op.create_table(
        "console_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["organizer_sessions.id"],
            name=op.f("fk_console_grants_session_id_organizer_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_console_grants_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_grants")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_console_grants_key_hash")),
    )
    op.create_index(op.f("ix_console_grants_session_id"), "console_grants", ["session_id"])
    op.create_index(op.f("ix_console_grants_workshop_id"), "console_grants", ["workshop_id"])

    with op.batch_alter_table("factors") as batch:
        batch.add_column(sa.Column("library_factor_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_factors_library_factor_id_library_factors"),
            "library_factors",
            ["library_factor_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_factors_library_factor_id"), ["library_factor_id"])


def downgrade() -> None:
    with op.batch_alter_table("factors") as batch:
        batch.drop_index(batch.f("ix_factors_library_factor_id"))
        batch.drop_constraint(
            batch.f("fk_factors_library_factor_id_library_factors"), type_="foreignkey"
        )
        batch.drop_column("evidence")
        batch.drop_column("library_factor_id")
    op.drop_index(op.f("ix_console_grants_workshop_id"), table_name="console_grants")
    op.drop_index(op.f("ix_console_grants_session_id"), table_name="console_grants")
    op.drop_table("console_grants")
    op.drop_index(op.f("ix_library_factors_series_id"), table_name="library_factors")
    op.drop_table("library_factors")
    with op.batch_alter_table("workshops") as batch:
        batch.drop_index(batch.f("ix_workshops_series_id"))
        batch.drop_constraint(batch.f("fk_workshops_owner_id_organizers"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_workshops_series_id_series"), type_="foreignkey")
        batch.drop_column("owner_id")
        batch.drop_column("stakeholder")
        batch.drop_column("series_id")
    op.drop_index(op.f("ix_series_log_series_id"), table_name="series_log")
    op.drop_table("series_log")
    op.drop_table("library_categories")
    op.drop_index(op.f("ix_invitations_series_id"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index(op.f("ix_series_members_organizer_id"), table_name="series_members")
    op.drop_table("series_members")
    op.drop_index(op.f("ix_series_owner_id"), table_name="series")
    op.drop_table("series")
    op.drop_index(op.f("ix_organizer_sessions_organizer_id"), table_name="organizer_sessions")
    op.drop_table("organizer_sessions")
    op.drop_table("organizers")
