"""Use cases of voting: open, configure, close and reveal rounds; submit a ballot, one's own
or a proxy's.

Layer: services. Closing and voting both run under the workshop's write lock, so a ballot
arriving as the round closes either counts or is refused with "round closed" — never half.
Closing tallies the round once and stores the tally with it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from facilitation.core import ballots, schemas, tally
from facilitation.core.ballots import KEEP, NO_OPINION, REMOVE, Answer, RoundSettings
from facilitation.core.domain import N_, DomainError, Method, RoundState
from facilitation.infrastructure import models
from facilitation.usecases.base import Tx

_CHOICES = {"keep": KEEP, "remove": REMOVE}
_CHOICE_NAMES = {value: name for name, value in _CHOICES.items()}


def open_round(tx: Tx, p: schemas.RoundOpen) -> dict[str, Any]:
    """The facilitator opens a round: keep/remove in the prune step; dots, rating, ranking
    or the impact × uncertainty matrix in the prioritise step."""
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
    open round; it replaces any earlier one. An empty ballot withdraws the vote."""
    assert tx.participant is not None
    participant = tx.participant
    round_ = tx.round(p.round_id)
    method = Method(round_.method)
    entries = {int(k): _answer(method, v) for k, v in p.entries.items()}
    stored = ballots.check_ballot(
        method,
        RoundSettings.from_dict(round_.settings),
        entries,
        tx.ballots.votable(),
        state=RoundState(round_.state),
    )
    answer = {"round_id": round_.id, "entries": entries_out(method, stored)}
    tx.ballots.put(round_, participant.id, stored)  # staged last, once nothing can fail
    tx.change.participants.add(participant.id)
    return answer


_VOTABLE = select(models.Factor.id).where(
    models.Factor.workshop_id == bindparam("workshop_id"), models.Factor.status == "active"
)


class BallotBox:
    """The ballots of one transaction's commands in one workshop, checked one by one and
    written together: a burst of votes costs a few statements per transaction, not several
    per ballot. Whatever else reads or changes ballots or factors in the transaction runs
    after `flush()`, which writes what is staged and forgets what it read."""

    def __init__(self, session: Session, workshop_id: int) -> None:
        self.session = session
        self.workshop_id = workshop_id
        self._staged: dict[int, dict[int, dict[int, Answer]]] = defaultdict(dict)
        self._votable: set[int] | None = None
        # The session holds its objects weakly: kept here, a round is read once per batch.
        self._rounds: dict[int, models.Round] = {}

    def votable(self) -> set[int]:
        """The ids of the factors on the board (active), read once until the next flush."""
        if self._votable is None:
            self._votable = set(self.session.scalars(_VOTABLE, {"workshop_id": self.workshop_id}))
        return self._votable

    def put(self, round_: models.Round, participant_id: int, entries: dict[int, Answer]) -> None:
        """Stage a participant's whole ballot; a later one of theirs replaces it."""
        self._rounds[round_.id] = round_
        self._staged[round_.id][participant_id] = entries

    def flush(self) -> None:
        staged, self._staged = self._staged, defaultdict(dict)
        self._votable = None
        for round_id, by_participant in staged.items():
            write_ballots(self.session, round_id, by_participant)


# Ballots are written with plain table statements, built once: this is the path every vote
# takes, and no ballot object is ever kept in a session to keep in step.
_BALLOTS = models.Base.metadata.tables["ballots"]
_ENTRIES = models.Base.metadata.tables["ballot_entries"]
_EARLIER = select(_BALLOTS.c.id).where(
    _BALLOTS.c.round_id == bindparam("round_id"),
    _BALLOTS.c.participant_id.in_(bindparam("people", expanding=True)),
)
_DELETE_ENTRIES = delete(_ENTRIES).where(_ENTRIES.c.ballot_id.in_(bindparam("ids", expanding=True)))
_DELETE_BALLOTS = delete(_BALLOTS).where(_BALLOTS.c.id.in_(bindparam("ids", expanding=True)))
_INSERT_BALLOTS = insert(_BALLOTS).returning(_BALLOTS.c.id, _BALLOTS.c.participant_id)
_INSERT_ENTRIES = insert(_ENTRIES)
# Participants per statement when many ballots are written at once (a merge in a big room):
# well under the bound parameters SQLite and PostgreSQL take in one statement.
_CHUNK = 500


def write_ballots(
    session: Session, round_id: int, by_participant: dict[int, dict[int, Answer]]
) -> None:
    """Store participants' whole ballots in a round, replacing what each had there; an
    empty ballot deletes theirs. A few statements for any number of ballots."""
    people = list(by_participant)
    now = models.utcnow()
    for start in range(0, len(people), _CHUNK):
        chunk = people[start : start + _CHUNK]
        earlier = session.scalars(_EARLIER, {"round_id": round_id, "people": chunk}).all()
        if earlier:
            session.execute(_DELETE_ENTRIES, {"ids": earlier})
            session.execute(_DELETE_BALLOTS, {"ids": earlier})
        filled = [p for p in chunk if by_participant[p]]
        if not filled:
            continue
        ids = session.execute(
            _INSERT_BALLOTS,
            [{"round_id": round_id, "participant_id": p, "submitted_at": now} for p in filled],
        ).all()
        session.execute(
            _INSERT_ENTRIES,
            [
                {"ballot_id": ballot_id, "factor_id": f, **_columns(v)}
                for ballot_id, participant_id in ids
                for f, v in by_participant[participant_id].items()
            ],
        )


def _columns(answer: Answer) -> dict[str, int | None]:
    if isinstance(answer, tuple):
        return {"value": answer[0], "value2": answer[1]}
    return {"value": answer, "value2": None}


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
        .where(models.Factor.workshop_id == workshop.id, models.Factor.status == "active")
        .order_by(models.Factor.id)
    ).all()
    return tally.tally(
        Method(round_.method),
        RoundSettings.from_dict(round_.settings),
        list(factor_ids),
        list(read_ballots(session, round_.id).values()),
        previous_scores,
    )


def _answer(method: Method, value: Any) -> Answer:
    """A ballot entry as the core takes it, from what a client sent."""
    if method is Method.KEEP_REMOVE and isinstance(value, str) and value in _CHOICES:
        return _CHOICES[value]
    if method is Method.RATING and value == "no_opinion":
        return NO_OPINION
    if method is Method.MATRIX and isinstance(value, list):
        return tuple(value)  # the core checks that it is a pair
    # A stored 0 means "no opinion"; a client says that in words, so a 0 is no rating.
    if method is Method.RATING and value == NO_OPINION:
        raise DomainError(*_WRONG_KIND[method])
    if isinstance(value, int) and method in (Method.DOTS, Method.RATING, Method.RANKING):
        return value
    raise DomainError(*_WRONG_KIND[method])


_WRONG_KIND = {
    Method.KEEP_REMOVE: ("bad_choice", N_("Choose keep or remove.")),
    Method.DOTS: ("bad_dots", N_("Dots are whole numbers.")),
    Method.RATING: ("bad_rating", N_("Rate on the scale, or say you have no opinion.")),
    Method.RANKING: ("bad_ranking", N_("Give each ranked factor its own place: 1, 2, 3 …")),
    Method.MATRIX: ("bad_matrix", N_("Give both impact and uncertainty.")),
}


def entries_out(method: Method, entries: dict[int, Answer]) -> dict[str, Any]:
    """A ballot's entries as clients send them (factor ids as keys)."""
    if method is Method.KEEP_REMOVE:
        return {str(f): _CHOICE_NAMES[v] for f, v in entries.items() if isinstance(v, int)}
    if method is Method.RATING:
        return {str(f): "no_opinion" if v == NO_OPINION else v for f, v in entries.items()}
    if method is Method.MATRIX:
        return {str(f): list(v) if isinstance(v, tuple) else v for f, v in entries.items()}
    return {str(f): v for f, v in entries.items()}
