"""What the screens and the record show of reasons from the edges (core/reasons.py): the
shown reasons beside the results the room sees, every reason the console moderates, where a
phone's own answers lay outside the middle half, and every reason for the exports. Never
who gave a reason: participants' ids are read only to find one phone's own.

Layer: queries (the read side). Reads the database; the core decides who is outside.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.core import reasons
from facilitation.core.ballots import Answer
from facilitation.core.domain import Method, RoundState
from facilitation.infrastructure import models
from facilitation.queries.views import (
    ConsoleReason,
    Outlying,
    Outside,
    OutsideFactor,
    OwnReason,
    RecordReason,
    RoomView,
    SharedReason,
)


def _reasons_on(
    s: Session, w: models.Workshop, round_ids: list[int], *, pending: bool = False
) -> list[models.Reason]:
    """The workshop's reasons on these rounds, and with `pending` every reason waiting for
    the facilitator besides, oldest first."""
    on_rounds = models.Reason.round_id.in_(round_ids)
    condition = on_rounds | (models.Reason.status == reasons.ReasonStatus.PENDING.value)
    return list(
        s.scalars(
            select(models.Reason)
            .where(models.Reason.workshop_id == w.id, condition if pending else on_rounds)
            .order_by(models.Reason.id)
        )
    )


def _shared_reason(r: models.Reason, numbers: dict[int, int]) -> SharedReason:
    """A reason as the room reads it: its round, its factor and its text."""
    return {
        "round_id": r.round_id,
        "number": numbers[r.round_id],
        "factor_id": r.factor_id,
        "text": r.text,
    }


def room_reasons(
    s: Session,
    w: models.Workshop,
    rounds: list[models.Round],
    seen: list[models.Round],
    factors: list[models.Factor],
) -> list[SharedReason]:
    """The reasons the room reads beside the results it sees: shown ones only, on factors
    it sees, with nothing of who gave them."""
    ids = [r.id for r in seen if r.state == RoundState.REVEALED]
    if not ids:
        return []
    numbers = {r.id: r.number for r in rounds}
    unseen = {f.id for f in factors if f.status in ("hidden", "proposed")}
    return [
        _shared_reason(r, numbers)
        for r in _reasons_on(s, w, ids)
        if r.status == reasons.ReasonStatus.SHOWN and r.factor_id not in unseen
    ]


def console_reasons(
    s: Session, w: models.Workshop, rounds: list[models.Round], room: RoomView
) -> list[ConsoleReason]:
    """Every reason on the rounds the room sees, whatever its status, and every reason
    waiting for the facilitator: what the console moderates."""
    seen = [v["round_id"] for v in (room["results"], room["previous"]) if v is not None]
    numbers = {r.id: r.number for r in rounds}
    return [
        {**_shared_reason(r, numbers), "id": r.id, "status": r.status}
        for r in _reasons_on(s, w, seen, pending=True)
    ]


def outside_views(
    s: Session,
    round_: models.Round,
    answers: dict[int, dict[int, Answer]],
    participant_ids: list[int],
) -> dict[int, Outside]:
    """Where each participant's answers lay outside the middle half of `round_`, the round
    reasons may now be given on, with their own reasons there: from the round's stored
    tally and the ballots already read, and two queries for the whole batch (the factors
    the room no longer sees, and the batch's reasons)."""
    unseen = set(
        s.scalars(
            select(models.Factor.id).where(
                models.Factor.workshop_id == round_.workshop_id,
                models.Factor.status.in_(("hidden", "proposed")),
            )
        )
    )
    rows = [r for r in (round_.results or {}).get("factors", []) if r["factor_id"] not in unseen]
    own: dict[tuple[int, int], OwnReason] = {
        (r.participant_id or 0, r.factor_id): {"id": r.id, "text": r.text, "status": r.status}
        for r in s.scalars(
            select(models.Reason).where(
                models.Reason.round_id == round_.id,
                models.Reason.participant_id.in_(participant_ids),
            )
        )
    }
    method = Method(round_.method)
    views: dict[int, Outside] = {}
    for p in participant_ids:
        found = reasons.outside_on(method, answers.get(p), rows)
        if not found:
            continue
        factors: list[OutsideFactor] = [
            {
                "factor_id": factor_id,
                "axes": [cast(Outlying, a.as_dict()) for a in axes],
                "reason": own.get((p, factor_id)),
            }
            for factor_id, axes in found.items()
        ]
        views[p] = {
            "round_id": round_.id,
            "number": round_.number,
            "method": round_.method,
            "factors": factors,
        }
    return views


def record_reasons(
    s: Session, w: models.Workshop, rounds: list[models.Round], factors: list[models.Factor]
) -> list[RecordReason]:
    """Every reason given in the workshop, whatever became of it, for the facilitator's
    record: by round, then factor; never who gave it."""
    numbers = {r.id: r.number for r in rounds}
    titles = {f.id: f.title for f in factors}
    given = s.scalars(select(models.Reason).where(models.Reason.workshop_id == w.id))
    return [
        {
            "round": numbers[r.round_id],
            "round_id": r.round_id,
            "factor_id": r.factor_id,
            "factor": titles[r.factor_id],
            "text": r.text,
            "status": r.status,
            "created_at": r.created_at.isoformat() + "Z",
        }
        for r in sorted(given, key=lambda r: (numbers[r.round_id], r.factor_id, r.id))
    ]
