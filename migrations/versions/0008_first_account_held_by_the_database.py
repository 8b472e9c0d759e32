"""The first-run page's account marked, under a unique index: the database holds that there
is only one, however many first-run pages post at once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE, also on SQLite: recreating the table there would cascade the
    # deletion of the old one to every login.
    op.add_column("organizers", sa.Column("first_run", sa.Boolean(), nullable=True))
    op.create_index("uq_organizers_first_run", "organizers", ["first_run"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_organizers_first_run", table_name="organizers")
    op.drop_column("organizers", "first_run")
