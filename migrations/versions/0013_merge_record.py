"""Undoable merges: a merged factor keeps what the merge changed (its former status, the
round and the ballots before and after), so that the facilitator can undo the merge

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("factors") as batch:
        batch.add_column(sa.Column("merge_record", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("factors") as batch:
        batch.drop_column("merge_record")
