"""The operators' entry point: whether the database answers, and the retention of old
workshops.

Layer: use cases. Imports the database and the use cases' modules; never Flask or Socket.IO.
The edges reach it as `services.operations`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from facilitation.infrastructure.db import lock_workshop
from facilitation.usecases import retention
from facilitation.usecases.base import Change, SeriesChange
from facilitation.usecases.commands import Desk


class Operations(Desk):
    """What operators run: health checks and the retention command."""

    def check_database(self) -> None:
        """Raises SQLAlchemy's error if the database does not answer a query."""
        with self.db.read() as s:
            s.execute(text("SELECT 1"))

    def apply_retention(self, cutoff: datetime, action: str, *, dry_run: bool = False) -> int:
        """Anonymise or delete every closed workshop unchanged since before `cutoff`; returns
        how many (with `dry_run`, how many would be). One transaction per workshop, each
        checked again under its lock, so a workshop reopened meanwhile is left alone."""
        with self.db.read() as s:
            codes = retention.due(s, cutoff, action)
        if dry_run:
            return len(codes)
        done = 0
        for code in codes:
            with self.db.write() as s:
                workshop = lock_workshop(s, code)
                if workshop is None or not retention.is_due(workshop, cutoff, action):
                    continue
                workshop_id, series_id = workshop.id, workshop.series_id
                if action == retention.DELETE:
                    retention.remove(s, workshop)
                else:
                    retention.anonymise(s, workshop)
            self.publisher.publish(Change(workshop_id))
            if action == retention.DELETE and series_id is not None:
                # Its series' follow pages: once deleted, only this says where it was.
                self.publisher.publish(SeriesChange(0, series_id=series_id))
            done += 1
        return done
