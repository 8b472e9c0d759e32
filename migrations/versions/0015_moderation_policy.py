"""A workshop's moderation policy: the facilitator's own words on what is moderated and how,
which phones can read

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing workshops have no policy.
    with op.batch_alter_table("workshops") as batch:
        batch.add_column(sa.Column("moderation_policy", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.drop_column("moderation_policy")
