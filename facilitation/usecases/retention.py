"""Keeping workshops no longer than needed: after RETENTION_DAYS, a closed workshop is
anonymised (what could tell who took part goes; the results stay) or deleted.

Layer: use cases. Run by `python -m facilitation retention`, which a scheduler can start.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from facilitation.core.domain import Step
from facilitation.infrastructure import models
from facilitation.usecases.participants import new_token
from facilitation.usecases.workshops import deletion

ANONYMISE = "anonymise"
DELETE = "delete"
ACTIONS = (ANONYMISE, DELETE)


def is_due(workshop: models.Workshop, cutoff: datetime, action: str) -> bool:
    """Closed, unchanged since before `cutoff`, and (to anonymise) not anonymised yet."""
    if workshop.step != Step.CLOSED.value or workshop.updated_at >= cutoff:
        return False
    return action == DELETE or workshop.anonymised_at is None


def due(session: Session, cutoff: datetime, action: str) -> list[str]:
    """The codes of the workshops the action is due for, oldest first."""
    query = select(models.Workshop.code).where(
        models.Workshop.step == Step.CLOSED.value, models.Workshop.updated_at < cutoff
    )
    if action == ANONYMISE:
        query = query.where(models.Workshop.anonymised_at.is_(None))
    return list(session.scalars(query.order_by(models.Workshop.updated_at)))


def anonymise(session: Session, workshop: models.Workshop) -> None:
    """Nicknames and proxies' labels go, each participant's cookie id is replaced by one no
    browser holds, reasons lose their link to whoever gave them (with it, a reason's words
    could be read beside that person's ballots), and the stored command answers go. What
    stays: the factors, the ballots under participant numbers, the results, the reasons'
    texts and the audit log (which never names anyone)."""
    participants = session.scalars(
        select(models.Participant).where(models.Participant.workshop_id == workshop.id)
    )
    for participant in participants:
        participant.nickname = None
        participant.token = new_token()
    session.execute(
        update(models.Reason)
        .where(models.Reason.workshop_id == workshop.id)
        .values(participant_id=None)
    )
    session.execute(
        delete(models.CommandRecord).where(models.CommandRecord.workshop_id == workshop.id)
    )
    workshop.anonymised_at = models.utcnow()
    session.add(
        models.LogEntry(workshop_id=workshop.id, actor="retention", action="workshop.anonymised")
    )


def remove(session: Session, workshop: models.Workshop) -> None:
    """Delete the workshop with all its data, leaving the line that says so."""
    session.add(deletion(session, workshop, actor="retention"))
    session.delete(workshop)
