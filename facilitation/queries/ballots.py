"""A round's ballots as they were cast, and what they add up to.

Layer: queries (the read side). Imports the core and the models; shared by the screens,
the exports and the use cases that read ballots (a merge moves them, a close stores the
tally).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.core import tally
from facilitation.core.ballots import CHOICE_NAMES, NO_OPINION, Answer, RoundSettings
from facilitation.core.domain import Method, RoundState
from facilitation.infrastructure import models


def read_ballots(session: Session, round_id: int) -> dict[int, dict[int, Answer]]:
    """Every ballot of a round, by participant id."""
    rows = session.execute(
        select(
            models.Ballot.participant_id,
            models.BallotEntry.factor_id,
            models.BallotEntry.value,
            models.BallotEntry.value2,
        )
        .join(models.BallotEntry)
        .where(models.Ballot.round_id == round_id)
    )
    result: dict[int, dict[int, Answer]] = defaultdict(dict)
    for participant_id, factor_id, value, value2 in rows:
        result[participant_id][factor_id] = value if value2 is None else (value, value2)
    return result


def read_ballot(session: Session, round_id: int, participant_id: int) -> dict[int, Answer] | None:
    """One participant's ballot in a round (empty if it holds nothing), or None without one."""
    rows = session.execute(
        select(models.BallotEntry.factor_id, models.BallotEntry.value, models.BallotEntry.value2)
        .select_from(models.Ballot)
        .outerjoin(models.BallotEntry)
        .where(models.Ballot.round_id == round_id, models.Ballot.participant_id == participant_id)
    ).all()
    if not rows:
        return None
    return {
        factor_id: value if value2 is None else (value, value2)
        for factor_id, value, value2 in rows
        if factor_id is not None
    }


def tally_round(
    session: Session, workshop: models.Workshop, round_: models.Round
) -> dict[str, Any]:
    """The round's tally over the factors on the board now, compared with the previous
    round of the same method."""
    previous = session.scalars(
        select(models.Round)
        .where(
            models.Round.workshop_id == workshop.id,
            models.Round.method == round_.method,
            models.Round.number < round_.number,
            # The round the group saw: a closed round nobody was shown is no starting point.
            models.Round.state == RoundState.REVEALED.value,
            models.Round.results.is_not(None),
        )
        .order_by(models.Round.number.desc())
        .limit(1)
    ).one_or_none()
    previous_scores = (
        {int(f): s for f, s in previous.results["scores"].items()}
        if previous is not None and previous.results
        else None
    )
    factor_ids = session.scalars(
        select(models.Factor.id)
        .join(models.Category)
        .where(models.Factor.workshop_id == workshop.id, models.Factor.status == "active")
        .order_by(models.Category.position, models.Factor.id)  # the board's order
    ).all()
    return tally.tally(
        Method(round_.method),
        RoundSettings.from_dict(round_.settings),
        list(factor_ids),
        list(read_ballots(session, round_.id).values()),
        previous_scores,
    )


def entries_out(method: Method, entries: dict[int, Answer]) -> dict[str, Any]:
    """A ballot's entries as clients send them (factor ids as keys)."""
    if method is Method.KEEP_REMOVE:
        return {str(f): CHOICE_NAMES[v] for f, v in entries.items() if isinstance(v, int)}
    if method is Method.RATING:
        return {str(f): "no_opinion" if v == NO_OPINION else v for f, v in entries.items()}
    if method is Method.MATRIX:
        return {str(f): list(v) if isinstance(v, tuple) else v for f, v in entries.items()}
    return {str(f): v for f, v in entries.items()}
