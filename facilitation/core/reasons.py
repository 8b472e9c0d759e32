"""Reasons from the edges (issue #17): whose answer lay outside the middle half of the group,
when they may tell the group why, and what becomes of what they say.

Layer: pure core. Imports the standard library and the core's own rules (ballots.py for the
rounds the room sees, domain.py for errors and the enums). As in Real-Time Delphi (Gordon &
Pease 2006), an answer outside the interquartile range of a revealed round is flagged to the
one who gave it (nobody else learns of it) and their reason goes to the group anonymously.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from facilitation.core import ballots, domain
from facilitation.core.ballots import NO_OPINION, Answer
from facilitation.core.domain import N_, DomainError, Method, RoundState, Step

# A reason is short: a sentence or two beside the group's result, readable on a board.
REASON_TEXT_MAX = 280

# The methods whose rows carry quartiles (tally.py): the answers have a middle half.
QUARTILE_METHODS = frozenset({Method.RATING, Method.POINTS, Method.MATRIX})


class ReasonStatus(StrEnum):
    """A reason waits for the facilitator (when the workshop asks for approval), is shown
    beside the group's result, or was hidden by the facilitator."""

    PENDING = "pending"
    SHOWN = "shown"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class Outlying:
    """One axis on which an answer lay outside the middle half: `value` for a rating or
    points, `impact` or `uncertainty` for the matrix; the answer and the group's quartiles."""

    axis: str
    answer: int
    q1: float
    q3: float

    def as_dict(self) -> dict[str, Any]:
        """As the phone's own view carries it (queries/views.Outlying)."""
        return {"axis": self.axis, "answer": self.answer, "q1": self.q1, "q3": self.q3}


def _outside_of(axis: str, answer: int, summary: Mapping[str, Any]) -> list[Outlying]:
    """The answer, if it lies below `summary`'s q1 or above its q3 (a bound is inside)."""
    q1, q3 = summary.get("q1"), summary.get("q3")
    if q1 is None or q3 is None or q1 <= answer <= q3:
        return []
    return [Outlying(axis, answer, q1, q3)]


def outside(method: Method, answer: Answer | None, row: Mapping[str, Any]) -> list[Outlying]:
    """Where one answer on a factor lay outside the middle half of the group's answers in
    the factor's tally row: below its first quartile or above its third (on a bound is
    inside). A matrix answer is outside when either axis is. "No opinion", no answer and
    methods without quartiles are never outside."""
    if answer is None or method not in QUARTILE_METHODS:
        return []
    if method is Method.MATRIX:
        if not isinstance(answer, tuple):
            return []
        impact, uncertainty = answer
        return _outside_of("impact", impact, row.get("impact") or {}) + _outside_of(
            "uncertainty", uncertainty, row.get("uncertainty") or {}
        )
    if not isinstance(answer, int) or (method is Method.RATING and answer == NO_OPINION):
        return []
    return _outside_of("value", answer, row)


def outside_on(
    method: Method, entries: Mapping[int, Answer] | None, rows: Sequence[Mapping[str, Any]]
) -> dict[int, list[Outlying]]:
    """Every factor of a tally (`rows`) on which one ballot (`entries`, None without a
    ballot) lay outside the middle half, by factor id. A points ballot's factors without
    points count as 0, as they do in the tally."""
    if entries is None or method not in QUARTILE_METHODS:
        return {}
    found: dict[int, list[Outlying]] = {}
    for row in rows:
        factor_id = row["factor_id"]
        answer = entries.get(factor_id, 0 if method is Method.POINTS else None)
        axes = outside(method, answer, row)
        if axes:
            found[factor_id] = axes
    return found


def reason_round(step: Step, rounds: Sequence[tuple[Method, RoundState]]) -> int | None:
    """The index, in `rounds` (oldest first), of the round reasons may now be given on: the
    round the room sees, from its reveal, and then while the round that revises it is open
    (the group reads the reasons as it answers again). None once that round closes, or
    when the round has no quartiles."""
    shown = ballots.round_to_show(step, rounds)
    if shown is None:
        return None
    method, state = rounds[shown]
    if state is RoundState.OPEN:
        before = ballots.previous_round(rounds, shown)
        if before is None:
            return None
        shown, (method, state) = before, rounds[before]
    if state is not RoundState.REVEALED or method not in QUARTILE_METHODS:
        return None
    return shown


def check_reason_round(open_for_reasons: bool) -> None:
    """Reasons go to the round whose window is open, and to no other."""
    if not open_for_reasons:
        raise DomainError(
            "reasons_closed",
            N_(
                "Reasons can be given from a round's reveal until the next round closes, "
                "on the latest revealed round only."
            ),
        )


def check_outside(axes: Sequence[Outlying]) -> None:
    """Only an answer outside the middle half is asked for a reason (the server decides)."""
    if not axes:
        raise DomainError(
            "not_outside",
            N_("Your answer on this factor lay within the middle half of the group."),
        )


def reason_status(approval_required: bool, *, hidden_before: bool = False) -> ReasonStatus:
    """What a new reason becomes: shown at once, or waiting for the facilitator when the
    workshop asks for approval. One that replaces a reason the facilitator hid waits too:
    the facilitator has judged this person's reason on this factor once already."""
    if approval_required or hidden_before:
        return ReasonStatus.PENDING
    return ReasonStatus.SHOWN


_REASON_MODERATION: dict[str, tuple[frozenset[ReasonStatus], ReasonStatus]] = {
    "approve": (frozenset({ReasonStatus.PENDING, ReasonStatus.HIDDEN}), ReasonStatus.SHOWN),
    "hide": (frozenset({ReasonStatus.PENDING, ReasonStatus.SHOWN}), ReasonStatus.HIDDEN),
}


def moderate_reason(status: ReasonStatus, action: str) -> ReasonStatus:
    """The status a reason gets from the facilitator's action, or an error."""
    refusal = N_("This reason is %(status)s; it cannot be changed that way.")
    return domain.transition(_REASON_MODERATION, status, action, refusal)
