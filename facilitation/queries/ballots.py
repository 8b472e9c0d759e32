"""A round's ballots as they were cast, and what they add up to.

Layer: queries (the read side). Imports the core and the models; shared by the screens,
the exports and the use cases that read ballots (a merge moves them, a close stores the
tally).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
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
    round of the same method: its tally as stored when it closed."""
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
    ballots = read_ballots(session, round_.id)
    people = _joined_by(session, workshop, round_)
    by_group: dict[int, list[dict[int, Answer]]] = defaultdict(list)
    for participant_id, ballot in ballots.items():
        if (group := people.get(participant_id)) is not None:
            by_group[group].append(ballot)
    factor_ids = session.scalars(
        select(models.Factor.id)
        .join(models.Category)
        .where(models.Factor.workshop_id == workshop.id, models.Factor.status == "active")
        .order_by(models.Category.position, models.Factor.id)  # the board's order
    ).all()
    tallied = tally.tally(
        Method(round_.method),
        RoundSettings.from_dict(round_.settings),
        list(factor_ids),
        list(ballots.values()),
        previous.results if previous is not None else None,
        groups=by_group,
        barred=_barred(session, workshop, round_, ballots.keys(), people),
    )
    tallied["participation"] = tally.participation(
        people, ballots.keys(), _answered_before(session, workshop, round_)
    )
    return tallied


def _barred(
    session: Session,
    workshop: models.Workshop,
    round_: models.Round,
    voters: Iterable[int],
    people: dict[int, int | None],
) -> dict[int | None, dict[int, int]]:
    """In a round where nobody votes on their own proposal, the ballots that could not answer
    each factor: its proposer's, if they cast one; for the room (None) and their group."""
    if not RoundSettings.from_dict(round_.settings).no_own_votes:
        return {}
    proposers = session.execute(
        select(models.Factor.id, models.Factor.proposed_by_id).where(
            models.Factor.workshop_id == workshop.id, models.Factor.proposed_by_id.is_not(None)
        )
    )
    voted = set(voters)
    barred: dict[int | None, dict[int, int]] = defaultdict(dict)
    for factor_id, proposer in proposers:
        if proposer in voted:
            barred[None][factor_id] = 1
            if (group := people.get(proposer)) is not None:
                barred[group][factor_id] = 1
    return barred


def _joined_by(
    session: Session, workshop: models.Workshop, round_: models.Round
) -> dict[int, int | None]:
    """Everyone who had joined the workshop by the round's end (by now, while it is open),
    proxies included, with the group they are in (or None), by participant id."""
    end = round_.closed_at or models.utcnow()
    rows = session.execute(
        select(models.Participant.id, models.Participant.group_id).where(
            models.Participant.workshop_id == workshop.id, models.Participant.joined_at <= end
        )
    )
    return {participant_id: group_id for participant_id, group_id in rows}


def _answered_before(
    session: Session, workshop: models.Workshop, round_: models.Round
) -> list[int] | None:
    """Who answered the round just before this one, whatever its method (None for the
    first round)."""
    before = session.scalar(
        select(models.Round.id).where(
            models.Round.workshop_id == workshop.id, models.Round.number == round_.number - 1
        )
    )
    if before is None:
        return None
    return list(
        session.scalars(
            select(models.Ballot.participant_id).where(models.Ballot.round_id == before)
        )
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
