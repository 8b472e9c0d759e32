"""Ballots staged and written together: the path every vote takes.

Layer: use cases. Ballots are written with plain table statements, so no ballot object is
ever kept in a session to keep in step. Imports the core and the models only.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from facilitation.core.ballots import Answer
from facilitation.infrastructure import models

_VOTABLE = select(models.Factor.id, models.Factor.proposed_by_id).where(
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
        self._proposed: dict[int, set[int]] = defaultdict(set)
        # The session holds its objects weakly: kept here, a round is read once per batch.
        self._rounds: dict[int, models.Round] = {}

    def votable(self) -> set[int]:
        """The ids of the factors on the board (active), read once until the next flush."""
        if self._votable is None:
            self._votable, self._proposed = set(), defaultdict(set)
            for factor_id, proposer in self.session.execute(
                _VOTABLE, {"workshop_id": self.workshop_id}
            ):
                self._votable.add(factor_id)
                if proposer is not None:
                    self._proposed[proposer].add(factor_id)
        return self._votable

    def proposed_by(self, participant_id: int) -> frozenset[int]:
        """The factors on the board that this participant proposed, read with `votable`."""
        self.votable()
        return frozenset(self._proposed.get(participant_id, ()))

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
