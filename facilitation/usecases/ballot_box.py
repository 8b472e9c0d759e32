"""Ballots staged and written together: the path every vote takes.

Layer: use cases. Ballots are written with plain table statements, so no ballot object is
ever kept in a session to keep in step. Imports the core and the models only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facilitation.core.ballots import Answer, RoundSettings
from facilitation.core.domain import N_, DomainError, Method, RoundState
from facilitation.infrastructure import models

_VOTABLE = select(models.Factor.id, models.Factor.proposed_by_id).where(
    models.Factor.workshop_id == bindparam("workshop_id"), models.Factor.status == "active"
)
_ROUNDS = models.Base.metadata.tables["rounds"]
_RULES = select(_ROUNDS.c.workshop_id, _ROUNDS.c.method, _ROUNDS.c.state, _ROUNDS.c.settings).where(
    _ROUNDS.c.id == bindparam("round_id")
)


def unknown_round() -> DomainError:
    return DomainError("unknown_round", N_("There is no such round."))


@dataclass(frozen=True)
class BallotRules:
    """What a round checks a ballot against: its method, its state and its settings."""

    round_id: int
    method: Method
    state: RoundState
    settings: RoundSettings


@dataclass
class Checks:
    """What a workshop's ballots are checked against, as read: the factors on the board
    (with who proposed them) and the rules of the rounds voted in. Only commands that are
    not staged change these, and every command raises the workshop's version: read at one
    version, they hold until a command that is not a ballot (`CommandRunner` keeps them from
    one batch to the next on that ground)."""

    votable: set[int] | None = None
    proposed: dict[int, set[int]] = field(default_factory=dict)
    rules: dict[int, BallotRules] = field(default_factory=dict)


class BallotBox:
    """The ballots of one transaction's commands in one workshop, checked one by one and
    written together: a burst of votes costs a few statements per transaction, not several
    per ballot. Whatever else reads or changes ballots, factors or rounds in the transaction
    runs after `flush()`, which writes what is staged and forgets what it read.

    `checks`, when given, is what the ballots were checked against when the workshop was
    at the version it is at now: nothing of it is read again."""

    def __init__(self, session: Session, workshop_id: int, checks: Checks | None = None) -> None:
        self.session = session
        self.workshop_id = workshop_id
        self.checks = checks or Checks()
        self._staged: dict[int, dict[int, dict[int, Answer]]] = defaultdict(dict)

    def rules(self, round_id: int) -> BallotRules:
        """The rules of this workshop's round `round_id` (or an error), read once until the
        next flush: a plain row, as no ballot needs the round as an object."""
        rules = self.checks.rules.get(round_id)
        if rules is None:
            row = self.session.execute(_RULES, {"round_id": round_id}).one_or_none()
            if row is None or row.workshop_id != self.workshop_id:
                raise unknown_round()
            rules = self.checks.rules[round_id] = BallotRules(
                round_id,
                Method(row.method),
                RoundState(row.state),
                RoundSettings.from_dict(row.settings),
            )
        return rules

    def votable(self) -> set[int]:
        """The ids of the factors on the board (active), read once until the next flush."""
        checks = self.checks
        if checks.votable is None:
            votable: set[int] = set()
            proposed: dict[int, set[int]] = defaultdict(set)
            for factor_id, proposer in self.session.execute(
                _VOTABLE, {"workshop_id": self.workshop_id}
            ):
                votable.add(factor_id)
                if proposer is not None:
                    proposed[proposer].add(factor_id)
            checks.votable, checks.proposed = votable, dict(proposed)
        return checks.votable

    def proposed_by(self, participant_id: int) -> frozenset[int]:
        """The factors on the board that this participant proposed, read with `votable`."""
        self.votable()
        return frozenset(self.checks.proposed.get(participant_id, ()))

    def put(self, round_id: int, participant_id: int, entries: dict[int, Answer]) -> None:
        """Stage a participant's whole ballot; a later one of theirs replaces it."""
        self._staged[round_id][participant_id] = entries

    def write(self) -> None:
        """Write the ballots staged."""
        staged, self._staged = self._staged, defaultdict(dict)
        for round_id, by_participant in staged.items():
            write_ballots(self.session, round_id, by_participant)

    def flush(self) -> None:
        """Before a command that may read or change ballots, factors or rounds: write the
        ballots staged and forget what was read."""
        self.write()
        self.checks = Checks()


# Ballots are written with plain table statements, built once: this is the path every vote
# takes, and no ballot object is ever kept in a session to keep in step.
_BALLOTS = models.Base.metadata.tables["ballots"]
_ENTRIES = models.Base.metadata.tables["ballot_entries"]
_EARLIER = select(_BALLOTS.c.id, _BALLOTS.c.participant_id).where(
    _BALLOTS.c.round_id == bindparam("round_id"),
    _BALLOTS.c.participant_id.in_(bindparam("people", expanding=True)),
)
_DELETE_ENTRIES = delete(_ENTRIES).where(_ENTRIES.c.ballot_id.in_(bindparam("ids", expanding=True)))
_DELETE_BALLOTS = delete(_BALLOTS).where(_BALLOTS.c.id.in_(bindparam("ids", expanding=True)))
_RESUBMITTED = (
    update(_BALLOTS)
    .where(_BALLOTS.c.id.in_(bindparam("ids", expanding=True)))
    .values(submitted_at=bindparam("now"))
)
# A participant's first ballot in a round is inserted; one who has a ballot there already is
# left out by the conflict (one ballot a participant a round) and has theirs replaced.
_FIRST_BALLOTS = {
    name: dialect.insert(_BALLOTS)
    .on_conflict_do_nothing(index_elements=["round_id", "participant_id"])
    .returning(_BALLOTS.c.participant_id, _BALLOTS.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_ENTRIES = insert(_ENTRIES)
# Participants per statement when many ballots are written at once (a merge in a big room):
# well under the bound parameters SQLite and PostgreSQL take in one statement.
_CHUNK = 500


def write_ballots(
    session: Session, round_id: int, by_participant: dict[int, dict[int, Answer]]
) -> None:
    """Store participants' whole ballots in a round, replacing what each had there; an
    empty ballot deletes theirs. A few statements for any number of ballots: two when each
    is a participant's first in the round, as in a vote."""
    people = list(by_participant)
    now = models.utcnow()
    first_ballots = _FIRST_BALLOTS[session.get_bind().dialect.name]
    for start in range(0, len(people), _CHUNK):
        chunk = people[start : start + _CHUNK]
        filled = [p for p in chunk if by_participant[p]]
        ids: dict[int, int] = {}
        if filled:
            rows = session.execute(
                first_ballots,
                [{"round_id": round_id, "participant_id": p, "submitted_at": now} for p in filled],
            )
            ids.update({person: ballot for person, ballot in rows})
        again = [p for p in chunk if p not in ids]
        if again:
            earlier = session.execute(_EARLIER, {"round_id": round_id, "people": again}).all()
            if earlier:
                session.execute(_DELETE_ENTRIES, {"ids": [ballot for ballot, _ in earlier]})
            kept = {person: ballot for ballot, person in earlier if by_participant[person]}
            withdrawn = [ballot for ballot, person in earlier if not by_participant[person]]
            if withdrawn:
                session.execute(_DELETE_BALLOTS, {"ids": withdrawn})
            if kept:
                session.execute(_RESUBMITTED, {"ids": list(kept.values()), "now": now})
                ids.update(kept)
        if ids:
            session.execute(
                _INSERT_ENTRIES,
                [
                    {"ballot_id": ballot, "factor_id": f, **_columns(v)}
                    for person, ballot in ids.items()
                    for f, v in by_participant[person].items()
                ],
            )


def _columns(answer: Answer) -> dict[str, int | None]:
    if isinstance(answer, tuple):
        return {"value": answer[0], "value2": answer[1]}
    return {"value": answer, "value2": None}
