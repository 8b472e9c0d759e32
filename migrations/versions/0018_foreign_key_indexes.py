"""Every reference indexed: a participant's ballots and proposals, a factor's log entries
and reasons, and the rest were found by scanning the whole table (every workshop ever held)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# (table, column): each gets the index `ix_<table>_<column>` (the models' naming convention).
REFERENCES = [
    ("ballots", "participant_id"),
    ("factors", "category_id"),
    ("factors", "merged_into_id"),
    ("factors", "proposed_by_id"),
    ("library_factors", "category_id"),
    ("library_factors", "promoted_from_workshop_id"),
    ("log_entries", "factor_id"),
    ("participants", "group_id"),
    ("reasons", "factor_id"),
    ("reasons", "participant_id"),
    ("workshops", "owner_id"),
]


def upgrade() -> None:
    for table, column in REFERENCES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in REFERENCES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
