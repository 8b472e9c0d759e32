"""Use cases of voting: open, close and reveal a round; submit a ballot.

Layer: services. Closing and voting both run under the workshop's write lock, so a ballot
arriving as the round closes either counts or is refused with "round closed" — never half.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select

from .. import domain, models, schemas
from ..domain import KEEP, N_, REMOVE, DomainError, Method, RoundState
from .base import Tx

_CHOICES = {"keep": KEEP, "remove": REMOVE}
_CHOICE_NAMES = {value: name for name, value in _CHOICES.items()}


def open_round(tx: Tx, p: schemas.RoundOpen) -> dict[str, Any]:
    """The facilitator opens a round of keep/remove (prune step) or dot voting (prioritise)."""
    active = tx.count_active_factors()
    domain.check_can_open_round(
        tx.step, p.method, round_open=tx.open_round() is not None, active_factors=active
    )
    settings = domain.round_settings(p.method, active_factors=active, budget=p.budget, cap=p.cap)
    number = (
        tx.session.scalar(
            select(func.max(models.Round.number)).where(models.Round.workshop_id == tx.workshop.id)
        )
        or 0
    ) + 1
    round_ = models.Round(
        workshop_id=tx.workshop.id,
        number=number,
        method=p.method.value,
        state=RoundState.OPEN.value,
        settings=settings.as_dict(),
    )
    tx.session.add(round_)
    tx.session.flush()
    tx.log("round.opened", round=number, method=p.method.value, settings=settings.as_dict())
    return {"round_id": round_.id, "number": number, "settings": settings.as_dict()}


def close_round(tx: Tx, p: schemas.RoundRef) -> dict[str, Any]:
    """The facilitator closes the open round: no more ballots are accepted."""
    return _advance(tx, p.round_id, RoundState.CLOSED, "round.closed")


def reveal_round(tx: Tx, p: schemas.RoundRef) -> dict[str, Any]:
    """The facilitator reveals a closed round's results to the board and the phones."""
    return _advance(tx, p.round_id, RoundState.REVEALED, "round.revealed")


def _advance(tx: Tx, round_id: int, target: RoundState, action: str) -> dict[str, Any]:
    round_ = tx.round(round_id)
    domain.check_round_transition(RoundState(round_.state), target)
    round_.state = target.value
    if target is RoundState.CLOSED:
        round_.closed_at = models.utcnow()
    else:
        round_.revealed_at = models.utcnow()
    tx.log(action, round=round_.number)
    return {"round_id": round_.id, "state": round_.state}


def submit_ballot(tx: Tx, p: schemas.BallotSubmit) -> dict[str, Any]:
    """A participant submits their whole ballot for the open round; it replaces any earlier
    one. An empty ballot withdraws the vote."""
    assert tx.participant is not None
    round_ = tx.round(p.round_id)
    method = Method(round_.method)
    entries = {int(k): _value(method, v) for k, v in p.entries.items()}
    votable = set(
        tx.session.scalars(
            select(models.Factor.id).where(
                models.Factor.workshop_id == tx.workshop.id, models.Factor.status == "active"
            )
        )
    )
    stored = domain.check_ballot(
        method,
        domain.RoundSettings(**round_.settings),
        entries,
        votable,
        state=RoundState(round_.state),
    )
    ballot = tx.session.scalars(
        select(models.Ballot).where(
            models.Ballot.round_id == round_.id,
            models.Ballot.participant_id == tx.participant.id,
        )
    ).one_or_none()
    if ballot is not None:
        tx.session.execute(
            delete(models.BallotEntry).where(models.BallotEntry.ballot_id == ballot.id)
        )
        if not stored:
            tx.session.delete(ballot)
        else:
            ballot.submitted_at = models.utcnow()
    elif stored:
        ballot = models.Ballot(round_id=round_.id, participant_id=tx.participant.id)
        tx.session.add(ballot)
        tx.session.flush()
    if stored:
        assert ballot is not None
        tx.session.execute(
            insert(models.BallotEntry),
            [{"ballot_id": ballot.id, "factor_id": f, "value": v} for f, v in stored.items()],
        )
    tx.change.participants.add(tx.participant.id)
    return {"round_id": round_.id, "entries": entries_out(method, stored)}


def _value(method: Method, value: int | str) -> int:
    """A ballot entry as stored: dots as a number, keep/remove as KEEP or REMOVE."""
    if method is Method.KEEP_REMOVE and isinstance(value, str):
        return _CHOICES[value]
    if method is Method.DOTS and isinstance(value, int):
        return value
    if method is Method.KEEP_REMOVE:
        raise DomainError("bad_choice", N_("Choose keep or remove."))
    raise DomainError("bad_dots", N_("Dots are whole numbers."))


def entries_out(method: Method, entries: dict[int, int]) -> dict[str, int | str]:
    """A ballot's entries as clients send them (factor ids as keys)."""
    if method is Method.KEEP_REMOVE:
        return {str(f): _CHOICE_NAMES[v] for f, v in entries.items()}
    return {str(f): v for f, v in entries.items()}
