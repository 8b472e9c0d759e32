"""What the pages of a series read: its workshops.

Layer: queries (the read side). Imports the models only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.infrastructure import models


def series_workshops(s: Session, series: models.Series) -> list[models.Workshop]:
    """The series' workshops, in the order they were made."""
    return list(
        s.scalars(
            select(models.Workshop)
            .where(models.Workshop.series_id == series.id)
            .order_by(models.Workshop.created_at, models.Workshop.id)
        )
    )
