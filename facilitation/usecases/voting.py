"""Use cases of voting: open, configure, close and reveal rounds; submit a ballot, one's own
or a proxy's.

Layer: use cases. Closing and voting both run under the workshop's write lock, so a ballot
arriving as the round closes either counts or is refused with "round closed" — never half.
Closing tallies the round once and stores the tally with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from facilitation.core import ballots, schemas
from facilitation.core.ballots import CHOICES, NO_OPINION, Answer
from facilitation.core.consensus import Rule
from facilitation.core.domain import N_, DomainError, Method, RoundState
from facilitation.infrastructure import models
from facilitation.queries.ballots import entries_out, tally_round
from facilitation.usecases.base import Tx


def open_round(tx: Tx, p: schemas.RoundOpen) -> dict[str, Any]:
    """The facilitator opens a round: keep/remove in the prune step; dots, 100 points,
    rating, ranking or the impact × uncertainty matrix in the prioritise step."""
    active = tx.count_active_factors()
    ballots.check_can_open_round(
        tx.step, p.method, round_open=tx.open_round() is not None, active_factors=active
    )
    settings = ballots.round_settings(
        p.method,
        active_factors=active,
        budget=p.budget,
        cap=p.cap,
        scale=p.scale,
        top_k=p.top_k,
        live=p.live,
        shuffle=p.shuffle,
        no_own_votes=p.no_own_votes,
    )
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
    # The rule is declared before anyone answers, and kept with the round.
    round_.rule = round_.declared_rule = Rule.from_dict(tx.workshop.consensus or {}).as_dict()
    tx.session.add(round_)
    tx.session.flush()
    tx.log("round.opened", round=number, method=p.method.value, settings=settings.as_dict())
    return {"round_id": round_.id, "number": number, "settings": settings.as_dict()}


def configure_round(tx: Tx, p: schemas.RoundConfigure) -> dict[str, Any]:
    """The facilitator lets the room see a round's results live, before revealing them, or
    hides them again."""
    round_ = tx.round(p.round_id)
    ballots.check_live_change(RoundState(round_.state))
    round_.settings = {**round_.settings, "live": p.live}
    tx.log("round.configured", round=round_.number, live=p.live)
    return {"round_id": round_.id, "settings": round_.settings}


def close_round(tx: Tx, p: schemas.RoundRef) -> dict[str, Any]:
    """The facilitator closes the open round: no more ballots; the round is tallied."""
    round_ = tx.round(p.round_id)
    ballots.check_round_transition(RoundState(round_.state), RoundState.CLOSED)
    round_.state = RoundState.CLOSED.value
    round_.closed_at = models.utcnow()
    round_.results = tally_round(tx.session, tx.workshop, round_)
    tx.log("round.closed", round=round_.number)
    return {"round_id": round_.id, "state": round_.state}


def reveal_round(tx: Tx, p: schemas.RoundRef) -> dict[str, Any]:
    """The facilitator reveals a closed round's results to the board and the phones."""
    round_ = tx.round(p.round_id)
    ballots.check_round_transition(RoundState(round_.state), RoundState.REVEALED)
    round_.state = RoundState.REVEALED.value
    round_.revealed_at = models.utcnow()
    tx.log("round.revealed", round=round_.number)
    return {"round_id": round_.id, "state": round_.state}


def submit_ballot(tx: Tx, p: schemas.BallotSubmit) -> dict[str, Any]:
    """A participant (or the facilitator, for a proxy) submits their whole ballot for the
    open round; it replaces any earlier one. An empty ballot withdraws the vote. In a round
    where nobody votes on their own proposal, the factors this participant proposed are
    refused (a proxy's, for the proxy)."""
    assert tx.participant is not None
    participant = tx.participant
    if tx.workshop.group_required and participant.group_id is None and not participant.is_proxy:
        raise DomainError("group_required", N_("Choose the group you belong to."))
    rules = tx.ballots.rules(p.round_id)
    entries = {int(k): _answer(rules.method, v) for k, v in p.entries.items()}
    stored = ballots.check_ballot(
        rules.method,
        rules.settings,
        entries,
        tx.ballots.votable(),
        state=rules.state,
        own=tx.ballots.proposed_by(participant.id) if rules.settings.no_own_votes else frozenset(),
    )
    answer = {"round_id": rules.round_id, "entries": entries_out(rules.method, stored)}
    tx.ballots.put(rules.round_id, participant.id, stored)  # staged last, once nothing can fail
    tx.change.participants.add(participant.id)
    tx.change.voted = True
    return answer


def _answer(method: Method, value: Any) -> Answer:
    """A ballot entry as the core takes it, from what a client sent."""
    if method is Method.KEEP_REMOVE and isinstance(value, str) and value in CHOICES:
        return CHOICES[value]
    if method is Method.RATING and value == "no_opinion":
        return NO_OPINION
    if method is Method.MATRIX and isinstance(value, list):
        return tuple(value)  # the core checks that it is a pair
    # A stored 0 means "no opinion"; a client says that in words, so a 0 is no rating.
    if method is Method.RATING and value == NO_OPINION:
        raise DomainError(*_WRONG_KIND[method])
    if isinstance(value, int) and method in _NUMBERS:
        return value
    raise DomainError(*_WRONG_KIND[method])


# Methods whose answers are one whole number.
_NUMBERS = (Method.DOTS, Method.POINTS, Method.RATING, Method.RANKING)

_WRONG_KIND = {
    Method.KEEP_REMOVE: ("bad_choice", N_("Choose keep or remove.")),
    Method.DOTS: ("bad_dots", N_("Dots are whole numbers.")),
    Method.POINTS: ("bad_points", N_("Points are whole numbers.")),
    Method.RATING: ("bad_rating", N_("Rate on the scale, or say you have no opinion.")),
    Method.RANKING: ("bad_ranking", N_("Give each ranked factor its own place: 1, 2, 3 …")),
    Method.MATRIX: ("bad_matrix", N_("Give both impact and uncertainty.")),
}
