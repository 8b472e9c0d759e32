"""What each screen is shown: the room's state (board and phones), the facilitator's console,
a participant's own votes and proposals, and the complete record for exports.

Layer: services (queries). Reads the database; the core computes every aggregate. Views hold
data only — no UI text — so clients render them in their own language.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import domain, models
from ..domain import FactorStatus, Method, RoundState, Step
from .voting import entries_out


def _categories(s: Session, w: models.Workshop) -> list[models.Category]:
    return list(
        s.scalars(
            select(models.Category)
            .where(models.Category.workshop_id == w.id)
            .order_by(models.Category.position)
        )
    )


def _factors(s: Session, w: models.Workshop) -> list[models.Factor]:
    return list(
        s.scalars(
            select(models.Factor)
            .join(models.Category)
            .where(models.Factor.workshop_id == w.id)
            .order_by(models.Category.position, models.Factor.id)
        )
    )


def _rounds(s: Session, w: models.Workshop) -> list[models.Round]:
    return list(
        s.scalars(
            select(models.Round)
            .where(models.Round.workshop_id == w.id)
            .order_by(models.Round.number)
        )
    )


def shown_round(s: Session, w: models.Workshop) -> models.Round | None:
    """The round the room sees in the workshop's current step."""
    rounds = _rounds(s, w)
    index = domain.round_to_show(
        Step(w.step), [(Method(r.method), RoundState(r.state)) for r in rounds]
    )
    return None if index is None else rounds[index]


def histogram(s: Session, round_id: int) -> dict[int, dict[int, int]]:
    """How many ballots of the round gave each value to each factor."""
    rows = s.execute(
        select(models.BallotEntry.factor_id, models.BallotEntry.value, func.count())
        .join(models.Ballot)
        .where(models.Ballot.round_id == round_id)
        .group_by(models.BallotEntry.factor_id, models.BallotEntry.value)
    )
    result: dict[int, dict[int, int]] = defaultdict(dict)
    for factor_id, value, count in rows:
        result[factor_id][value] = count
    return result


def _ballot_count(s: Session, round_id: int) -> int:
    return s.scalar(select(func.count()).where(models.Ballot.round_id == round_id)) or 0


def _joined(s: Session, w: models.Workshop) -> int:
    return (
        s.scalar(
            select(func.count()).where(
                models.Participant.workshop_id == w.id, models.Participant.is_proxy.is_(False)
            )
        )
        or 0
    )


def _round_summary(r: models.Round) -> dict[str, Any]:
    return {
        "id": r.id,
        "number": r.number,
        "method": r.method,
        "state": r.state,
        "settings": r.settings,
    }


def _factor_public(f: models.Factor) -> dict[str, Any]:
    return {
        "id": f.id,
        "category_id": f.category_id,
        "title": f.title,
        "description": f.description,
        "origin": f.origin,
    }


def results(
    s: Session, r: models.Round, factors: list[models.Factor], *, complete: bool = False
) -> dict[str, Any]:
    """A round's results over the factors the room can see: the active ones, and those
    removed since that had votes in it; hidden and proposed factors never appear. `complete`
    (for the record) adds every factor that had votes, whatever became of it since."""
    counts = histogram(s, r.id)
    shown = [
        f
        for f in factors
        if f.status == FactorStatus.ACTIVE
        or (f.id in counts and (complete or f.status == FactorStatus.REMOVED))
    ]
    by_id = {f.id: f for f in shown}
    rows = domain.round_results(Method(r.method), counts, [f.id for f in shown])
    for row in rows:
        factor = by_id[row["factor_id"]]
        row.update(title=factor.title, category_id=factor.category_id, status=factor.status)
    return {
        "round_id": r.id,
        "number": r.number,
        "method": r.method,
        "ballots": _ballot_count(s, r.id),
        "factors": rows,
    }


def room_view(s: Session, w: models.Workshop) -> dict[str, Any]:
    """What the board and the phones see: results only once the round is revealed."""
    factors = _factors(s, w)
    round_ = shown_round(s, w)
    return {
        "version": w.version,
        "workshop": {
            "code": w.code,
            "title": w.title,
            "language": w.language,
            "step": w.step,
            "approval_required": w.approval_required,
        },
        "categories": [{"id": c.id, "name": c.name} for c in _categories(s, w)],
        "factors": [_factor_public(f) for f in factors if f.status == FactorStatus.ACTIVE],
        "round": _round_summary(round_) if round_ else None,
        "participation": {
            "joined": _joined(s, w),
            "voted": _ballot_count(s, round_.id) if round_ else 0,
        },
        "results": results(s, round_, factors)
        if round_ and round_.state == RoundState.REVEALED
        else None,
    }


def phone_view(room: dict[str, Any]) -> dict[str, Any]:
    """The room's view as phones get it: without the live participation counts, so that a
    vote elsewhere in the room does not send every phone a message."""
    return {k: v for k, v in room.items() if k != "participation"}


def console_view(s: Session, w: models.Workshop, room: dict[str, Any]) -> dict[str, Any]:
    """The room's view plus what only the facilitator sees: every factor with its status and
    removal reason, every round, and the results of a closed round before it is revealed."""
    factors = _factors(s, w)
    proposers = {
        p.id: p
        for p in s.scalars(
            select(models.Participant).where(
                models.Participant.id.in_({f.proposed_by_id for f in factors if f.proposed_by_id})
            )
        )
    }
    round_ = shown_round(s, w)
    view = dict(room)
    view["factors"] = [
        {
            **_factor_public(f),
            "status": f.status,
            "removal_reason": f.removal_reason,
            "proposed_by": _proposer(proposers.get(f.proposed_by_id or 0)),
        }
        for f in factors
    ]
    view["rounds"] = [_round_summary(r) for r in _rounds(s, w)]
    if round_ and round_.state != RoundState.OPEN:
        view["results"] = results(s, round_, factors)
    return view


def _proposer(p: models.Participant | None) -> dict[str, Any] | None:
    return {"number": p.number, "nickname": p.nickname} if p else None


def personal_views(
    s: Session, w: models.Workshop, participant_ids: set[int]
) -> dict[int, dict[str, Any]]:
    """The personal views of these participants of the workshop, by participant id."""
    people = s.scalars(
        select(models.Participant).where(
            models.Participant.id.in_(participant_ids), models.Participant.workshop_id == w.id
        )
    )
    return {p.id: personal_view(s, w, p) for p in people}


def personal_view(s: Session, w: models.Workshop, p: models.Participant) -> dict[str, Any]:
    """A participant's own: their number and nickname, their ballot in the round shown, and
    the factors they proposed with what became of them."""
    round_ = shown_round(s, w)
    ballot = None
    if round_ is not None:
        rows = s.execute(
            select(models.BallotEntry.factor_id, models.BallotEntry.value)
            .join(models.Ballot)
            .where(models.Ballot.round_id == round_.id, models.Ballot.participant_id == p.id)
        ).all()
        ballot = {
            "round_id": round_.id,
            "entries": entries_out(Method(round_.method), {f: v for f, v in rows}),
        }
    proposals = s.scalars(
        select(models.Factor).where(models.Factor.proposed_by_id == p.id).order_by(models.Factor.id)
    )
    return {
        "version": w.version,
        "participant": {"number": p.number, "nickname": p.nickname},
        "ballot": ballot,
        "proposals": [
            {
                "id": f.id,
                "title": f.title,
                "category_id": f.category_id,
                "status": f.status,
                "removal_reason": f.removal_reason,
            }
            for f in proposals
        ],
    }


def record(s: Session, w: models.Workshop) -> dict[str, Any]:
    """The complete workshop for exports: factors with their fate and every round's results.
    No participant identifiers, cookies, secrets or nicknames."""
    factors = _factors(s, w)
    categories = {c.id: c.name for c in _categories(s, w)}
    rounds = [r for r in _rounds(s, w) if r.state != RoundState.OPEN]
    return {
        "workshop": {
            "code": w.code,
            "title": w.title,
            "language": w.language,
            "step": w.step,
            "created_at": w.created_at.isoformat() + "Z",
            "participants": _joined(s, w),
        },
        "categories": list(categories.values()),
        "factors": [
            {
                "id": f.id,
                "category": categories[f.category_id],
                "title": f.title,
                "description": f.description,
                "origin": f.origin,
                "status": f.status,
                "removal_reason": f.removal_reason,
            }
            for f in factors
        ],
        "rounds": [{**_round_summary(r), **results(s, r, factors, complete=True)} for r in rounds],
    }
