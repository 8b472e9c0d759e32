"""Organizer accounts made by single sign-on (OpenID Connect): the provider's issuer and
subject, unique together

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing accounts are password accounts: both columns stay NULL.
    with op.batch_alter_table("organizers") as batch:
        batch.add_column(sa.Column("oidc_issuer", sa.String(255), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(255), nullable=True))
        batch.create_index(
            "uq_organizers_identity", ["oidc_issuer", "oidc_subject"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("organizers") as batch:
        batch.drop_index("uq_organizers_identity")
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
