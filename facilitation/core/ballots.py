"""The rules of voting: which rounds a workshop holds, their settings, what a ballot may
hold, and how a merge moves votes from a duplicate to the factor it merges into.

Layer: pure core. Imports only the standard library and domain.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import asdict, dataclass, fields
from typing import Any

from facilitation.core.domain import N_, DomainError, Method, RoundState, Step

# How a ballot entry holds an answer: one number, or (impact, uncertainty) for the matrix.
Answer = int | tuple[int, int]

# Keep/remove choices, and a rating's "no opinion", as stored in a ballot entry.
KEEP, REMOVE = 1, 0
NO_OPINION = 0
# The words clients use for keep and remove.
CHOICES = {"keep": KEEP, "remove": REMOVE}
CHOICE_NAMES = {value: name for name, value in CHOICES.items()}

BUDGET_MAX = 100
# A points round shares out 100 points: the budget is fixed, so shares read as percentages.
POINTS_BUDGET = 100
SCALE_DEFAULT, SCALE_MIN, SCALE_MAX = 5, 3, 10
TOP_K_DEFAULT = 5

# The step in which each method's rounds are held.
METHOD_STEP: dict[Method, Step] = {
    Method.KEEP_REMOVE: Step.PRUNE,
    Method.DOTS: Step.PRIORITISE,
    Method.POINTS: Step.PRIORITISE,
    Method.RATING: Step.PRIORITISE,
    Method.RANKING: Step.PRIORITISE,
    Method.MATRIX: Step.PRIORITISE,
}
PRIORITISING = frozenset(m for m, step in METHOD_STEP.items() if step is Step.PRIORITISE)

# Which round a step shows: an open round always; otherwise the latest round of the first of
# these groups of methods that has one.
SHOWN_METHODS: dict[Step, tuple[frozenset[Method], ...]] = {
    Step.PREPARE: (),
    Step.COMPLETE: (),
    Step.PRUNE: (frozenset({Method.KEEP_REMOVE}),),
    Step.PRIORITISE: (PRIORITISING,),
    Step.RESULTS: (PRIORITISING, frozenset({Method.KEEP_REMOVE})),
    Step.CLOSED: (PRIORITISING, frozenset({Method.KEEP_REMOVE})),
}


def round_to_show(step: Step, rounds: Sequence[tuple[Method, RoundState]]) -> int | None:
    """The index, in `rounds` (oldest first), of the round the room sees in `step`."""
    for i, (_, state) in enumerate(rounds):
        if state is RoundState.OPEN:
            return i
    for group in SHOWN_METHODS[step]:
        for i in range(len(rounds) - 1, -1, -1):
            if rounds[i][0] in group:
                return i
    return None


def previous_round(rounds: Sequence[tuple[Method, RoundState]], index: int) -> int | None:
    """The round before `index` of the same method (the one a Delphi round revises)."""
    method = rounds[index][0]
    for i in range(index - 1, -1, -1):
        if rounds[i][0] is method:
            return i
    return None


def results_seen(state: RoundState, settings: Mapping[str, Any]) -> bool:
    """Whether anyone has seen a round's results: once it closed (the facilitator's console
    shows them), or while it is open with its results live."""
    return state is not RoundState.OPEN or bool(settings.get("live"))


# --- Settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundSettings:
    """A round's settings: budget and cap for dots and points (whose cap may be None: no
    cap), the top of the scale for ratings and the matrix (which runs from 1), how many
    factors a ranking orders, and whether the room sees the results live, before they are
    revealed. Against anchoring: whether each phone shows the factors in an order of its own
    (`shuffle`), and whether nobody may vote on a factor they proposed (`no_own_votes`).

    A round stored before a setting existed has no key for it and reads as off, which is
    what it was; a new round is shuffled unless the facilitator says not (`round_settings`)."""

    budget: int | None = None
    cap: int | None = None
    scale: int | None = None
    top_k: int | None = None
    live: bool = False
    shuffle: bool = False
    no_own_votes: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


DOT_BUDGET_MIN, DOT_BUDGET_MAX, DOT_CAP_MAX = 3, 10, 3


def default_dot_budget(active_factors: int) -> int:
    """A common rule of thumb: about a third of the factors in the round, at least 3 and at
    most 10, but never more dots than factors (two factors get two dots, one gets one)."""
    third = max(DOT_BUDGET_MIN, min(DOT_BUDGET_MAX, round(active_factors / 3)))
    return max(1, min(third, active_factors))


def default_dot_cap(budget: int) -> int:
    """A cap below the budget, so that nobody puts every dot on one factor: at most 3, and
    one less than the budget (a budget of one dot can only be capped at one)."""
    return max(1, min(DOT_CAP_MAX, budget - 1))


def round_settings(
    method: Method,
    *,
    active_factors: int,
    budget: int | None = None,
    cap: int | None = None,
    scale: int | None = None,
    top_k: int | None = None,
    live: bool = False,
    shuffle: bool = True,
    no_own_votes: bool = False,
) -> RoundSettings:
    """Settings for a new round of `method`, with defaults filled in and limits checked.
    Settings that do not belong to the method are ignored. Every phone has its own order
    unless `shuffle` is off; proposers vote on their own factors unless `no_own_votes`."""
    common = {"live": live, "shuffle": shuffle, "no_own_votes": no_own_votes}
    if method is Method.DOTS:
        budget = default_dot_budget(active_factors) if budget is None else budget
        if not 1 <= budget <= BUDGET_MAX:
            raise DomainError(
                "bad_budget", N_("The budget must be between 1 and %(max)s dots."), max=BUDGET_MAX
            )
        cap = default_dot_cap(budget) if cap is None else cap
        if not 1 <= cap <= budget:
            raise DomainError(
                "bad_cap",
                N_("The cap per factor must be between 1 and the budget (%(budget)s)."),
                budget=budget,
            )
        return RoundSettings(budget=budget, cap=cap, **common)
    if method is Method.POINTS:
        if budget is not None and budget != POINTS_BUDGET:
            raise DomainError(
                "bad_budget",
                N_("A points round always shares out %(budget)s points."),
                budget=POINTS_BUDGET,
            )
        # No cap unless the facilitator sets one: anyone may put all their points on one.
        if cap is not None and not 1 <= cap <= POINTS_BUDGET:
            raise DomainError(
                "bad_cap",
                N_("The cap per factor must be between 1 and the budget (%(budget)s)."),
                budget=POINTS_BUDGET,
            )
        return RoundSettings(budget=POINTS_BUDGET, cap=cap, **common)
    if method in (Method.RATING, Method.MATRIX):
        scale = SCALE_DEFAULT if scale is None else scale
        if not SCALE_MIN <= scale <= SCALE_MAX:
            raise DomainError(
                "bad_scale",
                N_("The scale must run from 1 to a number between %(min)s and %(max)s."),
                min=SCALE_MIN,
                max=SCALE_MAX,
            )
        return RoundSettings(scale=scale, **common)
    if method is Method.RANKING:
        top_k = min(TOP_K_DEFAULT, active_factors) if top_k is None else top_k
        if not 1 <= top_k <= active_factors:
            raise DomainError(
                "bad_top_k",
                N_("Rank between 1 and %(max)s factors (all on the board)."),
                max=active_factors,
            )
        return RoundSettings(top_k=top_k, **common)
    return RoundSettings(**common)


def check_can_open_round(
    step: Step, method: Method, *, round_open: bool, active_factors: int
) -> None:
    """A round opens in its method's step, one at a time, with something to vote on."""
    if round_open:
        raise DomainError("round_open", N_("Another round is already open."))
    if METHOD_STEP[method] is not step:
        raise DomainError(
            "wrong_step", N_("This kind of round belongs to another step of the workshop.")
        )
    if active_factors == 0:
        raise DomainError("no_factors", N_("There are no factors to vote on."))


def check_round_transition(state: RoundState, target: RoundState) -> None:
    """Rounds go open → closed → revealed, never back."""
    if target is RoundState.CLOSED and state is not RoundState.OPEN:
        raise DomainError("round_not_open", N_("The round is not open."))
    if target is RoundState.REVEALED and state is RoundState.OPEN:
        raise DomainError("round_not_closed", N_("Close the round before revealing it."))
    if target is RoundState.REVEALED and state is RoundState.REVEALED:
        raise DomainError("round_revealed", N_("The round's results are already shown."))


def check_live_change(state: RoundState) -> None:
    """Live results can be switched on or off until the results are revealed to everyone."""
    if state is RoundState.REVEALED:
        raise DomainError("round_revealed", N_("The round's results are already shown."))


# --- Ballots -----------------------------------------------------------------------------


def check_ballot(
    method: Method,
    settings: RoundSettings,
    entries: Mapping[int, Answer],
    votable: set[int],
    *,
    state: RoundState,
    own: Set[int] = frozenset(),
) -> dict[int, Answer]:
    """A whole ballot as stored: only while the round is open, only on factors on the board,
    not on the voter's `own` proposals when the round says nobody votes on theirs, and within
    the method's rules. Zero dots (or points) are dropped, so an empty ballot means "no
    vote"."""
    if state is not RoundState.OPEN:
        raise DomainError("round_closed", N_("The round is closed."))
    if set(entries) - votable:
        raise DomainError("not_votable", N_("You can only vote on the factors on the board."))
    if settings.no_own_votes and not own.isdisjoint(entries):
        raise DomainError(
            "own_proposal", N_("In this round, others decide on the factors you proposed.")
        )
    check = _CHECKS[method]
    return check(settings, entries)


def _ints(entries: Mapping[int, Answer], error: DomainError) -> dict[int, int]:
    """The entries, if every answer is one whole number; else `error`."""
    if not all(isinstance(v, int) for v in entries.values()):
        raise error
    return {f: v for f, v in entries.items() if isinstance(v, int)}


def _keep_remove(_: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    if any(value not in (KEEP, REMOVE) for value in entries.values()):
        raise DomainError("bad_choice", N_("Choose keep or remove."))
    return dict(entries)


def _dots(settings: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    assert settings.budget is not None and settings.cap is not None
    dots = _ints(entries, DomainError("bad_dots", N_("Dots are whole numbers.")))
    if any(value < 0 for value in dots.values()):
        raise DomainError("bad_dots", N_("Dots cannot be negative."))
    if any(value > settings.cap for value in dots.values()):
        raise DomainError("over_cap", N_("At most %(cap)s dots on one factor."), cap=settings.cap)
    if sum(dots.values()) > settings.budget:
        raise DomainError(
            "over_budget", N_("You have %(budget)s dots in all."), budget=settings.budget
        )
    return {factor: value for factor, value in dots.items() if value > 0}


def _points(settings: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    budget = settings.budget or POINTS_BUDGET
    cap = settings.cap or budget
    points = _ints(entries, DomainError("bad_points", N_("Points are whole numbers.")))
    if any(value < 0 for value in points.values()):
        raise DomainError("bad_points", N_("Points cannot be negative."))
    if any(value > cap for value in points.values()):
        raise DomainError("over_cap", N_("At most %(cap)s points on one factor."), cap=cap)
    # Spending less than the whole budget is allowed: what is left simply goes unspent.
    if sum(points.values()) > budget:
        raise DomainError("over_budget", N_("You have %(budget)s points in all."), budget=budget)
    return {factor: value for factor, value in points.items() if value > 0}


def _rating(settings: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    assert settings.scale is not None
    error = DomainError(
        "bad_rating",
        N_("Rate from 1 to %(scale)s, or say you have no opinion."),
        scale=settings.scale,
    )
    ratings = _ints(entries, error)
    if any(not NO_OPINION <= value <= settings.scale for value in ratings.values()):
        raise error
    return dict(ratings)


def _ranking(settings: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    assert settings.top_k is not None
    error = DomainError("bad_ranking", N_("Give each ranked factor its own place: 1, 2, 3 …"))
    ranks = _ints(entries, error)
    if sorted(ranks.values()) != list(range(1, len(ranks) + 1)):
        raise error
    if len(ranks) > settings.top_k:
        raise DomainError("over_top_k", N_("Rank at most %(top_k)s factors."), top_k=settings.top_k)
    return dict(ranks)


def _matrix(settings: RoundSettings, entries: Mapping[int, Answer]) -> dict[int, Answer]:
    assert settings.scale is not None
    scale = settings.scale
    for value in entries.values():
        if not (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, int) and 1 <= v <= scale for v in value)
        ):
            raise DomainError(
                "bad_matrix",
                N_("Give both impact and uncertainty, from 1 to %(scale)s."),
                scale=scale,
            )
    return dict(entries)


_CHECKS = {
    Method.KEEP_REMOVE: _keep_remove,
    Method.DOTS: _dots,
    Method.POINTS: _points,
    Method.RATING: _rating,
    Method.RANKING: _ranking,
    Method.MATRIX: _matrix,
}


def merge_entries(
    method: Method,
    settings: RoundSettings,
    entries: Mapping[int, Answer],
    source: int,
    target: int,
    *,
    own_target: bool = False,
) -> dict[int, Answer]:
    """One participant's ballot after `source` merged into `target`.

    The participant's own answer on the target stands; an answer they gave only on the
    source moves to the target. Dots and points add up, capped at the cap per factor (the
    excess goes back to the participant's budget, so no budget is ever exceeded); a ranking
    keeps the better of the two places and closes the gap. Nobody ends up counted twice.
    When the target is the participant's own proposal (`own_target`) and the round says
    nobody votes on theirs, the answer on the source goes back instead (a ranking closes
    the gap), so no merge puts a vote where the voter could not.
    """
    if source not in entries:
        return dict(entries)
    result = dict(entries)
    moved = result.pop(source)
    held = result.get(target)
    if own_target and settings.no_own_votes:
        result.pop(target, None)
        if method is Method.RANKING:
            order = sorted(result, key=lambda f: result[f])
            result = {f: place for place, f in enumerate(order, start=1)}
        return result
    if method in (Method.DOTS, Method.POINTS):
        cap = settings.cap or settings.budget
        assert cap is not None and isinstance(moved, int)
        result[target] = min((held if isinstance(held, int) else 0) + moved, cap)
    elif method is Method.RANKING:
        assert isinstance(moved, int)
        result[target] = min(held, moved) if isinstance(held, int) else moved
        order = sorted(result, key=lambda f: result[f])
        result = {f: place for place, f in enumerate(order, start=1)}
    else:
        result.setdefault(target, moved)
    return result


def unmerge_entries(
    before: Mapping[int, Answer], after: Mapping[int, Answer], current: Mapping[int, Answer]
) -> dict[int, Answer] | None:
    """One participant's ballot after a merge is undone: as it was before the merge (`before`)
    if it is still what the merge made of it (`after`); None, to leave it alone, if the
    participant has voted again since (their latest ballot stands: they gave it knowing the
    merge) or another change has touched it."""
    return dict(before) if dict(current) == dict(after) else None


def answers_to_json(entries: Mapping[int, Answer]) -> dict[str, Any]:
    """A ballot's entries as JSON can hold them (keys as text, a matrix answer as a list)."""
    return {str(f): list(a) if isinstance(a, tuple) else a for f, a in entries.items()}


def answers_from_json(data: Mapping[str, Any]) -> dict[int, Answer]:
    """The entries `answers_to_json` wrote."""
    return {int(f): tuple(a) if isinstance(a, list) else int(a) for f, a in data.items()}
