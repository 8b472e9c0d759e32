"""Use cases of reasons from the edges: a participant gives (or changes) a reason for an
answer outside the middle half of a revealed round; the facilitator approves or hides it.

Layer: use cases. The rules are the core's (core/reasons.py): the server decides who is
outside, from the round's stored tally and the sender's own ballot, never the phone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from facilitation.core import domain, reasons, schemas
from facilitation.core.domain import N_, DomainError, FactorStatus, Method, RoundState
from facilitation.core.reasons import ReasonStatus
from facilitation.infrastructure import models
from facilitation.queries.ballots import read_ballot
from facilitation.usecases.base import Tx


def _open_for_reasons(tx: Tx, round_: models.Round) -> bool:
    """Whether `round_` is the one reasons may now be given on (core/reasons.reason_round)."""
    rounds = list(
        tx.session.scalars(
            select(models.Round)
            .where(models.Round.workshop_id == tx.workshop.id)
            .order_by(models.Round.number)
        )
    )
    index = reasons.reason_round(tx.step, [(Method(r.method), RoundState(r.state)) for r in rounds])
    return index is not None and rounds[index].id == round_.id


def _row(round_: models.Round, factor: models.Factor) -> dict[str, Any]:
    """The factor's row in the round's stored tally, if the room saw it there."""
    rows = (round_.results or {}).get("factors", [])
    row = next((r for r in rows if r["factor_id"] == factor.id), None)
    if row is None or factor.status in (FactorStatus.HIDDEN, FactorStatus.PROPOSED):
        raise DomainError("unknown_factor", N_("There is no such factor."))
    return dict(row)


def submit(tx: Tx, p: schemas.ReasonSubmit) -> dict[str, Any]:
    """A participant whose answer on a factor lay outside the middle half of the group in
    the latest revealed round tells the group why, anonymously; a second reason on the same
    factor and round replaces the first. Shown at once, or once the facilitator approves it
    when the workshop asks for approval."""
    assert tx.participant is not None
    round_ = tx.round(p.round_id)
    reasons.check_reason_round(_open_for_reasons(tx, round_))
    factor = tx.factor(p.factor_id)
    row = _row(round_, factor)
    method = Method(round_.method)
    entries = read_ballot(tx.session, round_.id, tx.participant.id)
    reasons.check_outside(reasons.outside_on(method, entries, [row]).get(factor.id, []))
    text = domain.clean_text(p.text, field="reason", max_length=reasons.REASON_TEXT_MAX)
    reason = tx.session.scalars(
        select(models.Reason).where(
            models.Reason.round_id == round_.id,
            models.Reason.factor_id == factor.id,
            models.Reason.participant_id == tx.participant.id,
        )
    ).one_or_none()
    status = reasons.reason_status(
        tx.workshop.approval_required,
        hidden_before=reason is not None and reason.status == ReasonStatus.HIDDEN,
    ).value
    if reason is None:
        reason = models.Reason(
            workshop_id=tx.workshop.id,
            round_id=round_.id,
            factor_id=factor.id,
            participant_id=tx.participant.id,
            text=text,
            status=status,
        )
        tx.session.add(reason)
    else:
        reason.text, reason.status, reason.created_at = text, status, models.utcnow()
    tx.session.flush()
    # The log says that a reason came, never its text or who gave it.
    tx.log("reason.given", factor, reason_id=reason.id, round=round_.number, status=status)
    tx.change.participants.add(tx.participant.id)
    return {"reason_id": reason.id, "status": status}


_LOGGED_AS = {"approve": "reason.approved", "hide": "reason.hidden"}


def _moderate(tx: Tx, reason_id: int, action: str) -> dict[str, Any]:
    """Apply the facilitator's `action` to a reason of this workshop, logged."""
    reason = tx.session.get(models.Reason, reason_id)
    if reason is None or reason.workshop_id != tx.workshop.id:
        raise DomainError("unknown_reason", N_("There is no such reason."))
    reason.status = reasons.moderate_reason(ReasonStatus(reason.status), action).value
    tx.log(_LOGGED_AS[action], tx.factor(reason.factor_id), reason_id=reason.id)
    # Whoever gave it sees its fate on their phone.
    if reason.participant_id is not None:
        tx.change.participants.add(reason.participant_id)
    return {"reason_id": reason.id, "status": reason.status}


def approve(tx: Tx, p: schemas.ReasonRef) -> dict[str, Any]:
    """The facilitator shows a reason that waits (or was hidden) beside the group's result."""
    return _moderate(tx, p.reason_id, "approve")


def hide(tx: Tx, p: schemas.ReasonRef) -> dict[str, Any]:
    """The facilitator hides a reason from the room (one that breaks the rules or could
    tell who gave it)."""
    return _moderate(tx, p.reason_id, "hide")
