"""The pure rules of voting: rounds and their settings, what a ballot may hold for each
method, and how a merge moves votes (property-based where the rules have invariants)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from conftest import error_code
from hypothesis import given
from hypothesis import strategies as st

from facilitation.core import ballots, schemas
from facilitation.core.ballots import KEEP, NO_OPINION, REMOVE, Answer, RoundSettings
from facilitation.core.domain import Method, RoundState, Step

OPEN = RoundState.OPEN
VOTABLE = {1, 2, 3, 4}


# --- Rounds ------------------------------------------------------------------------------


def test_rounds_open_in_their_step_one_at_a_time_with_factors() -> None:
    check = ballots.check_can_open_round
    check(Step.PRUNE, Method.KEEP_REMOVE, round_open=False, active_factors=1)
    for method in (Method.DOTS, Method.RATING, Method.RANKING, Method.MATRIX):
        check(Step.PRIORITISE, method, round_open=False, active_factors=1)
        assert error_code(check, Step.PRUNE, method, round_open=False, active_factors=3) == (
            "wrong_step"
        )
    assert error_code(check, Step.PRUNE, Method.KEEP_REMOVE, round_open=True, active_factors=3) == (
        "round_open"
    )
    assert error_code(check, Step.PRIORITISE, Method.DOTS, round_open=False, active_factors=0) == (
        "no_factors"
    )


def test_rounds_go_open_closed_revealed_and_never_back() -> None:
    ballots.check_round_transition(RoundState.OPEN, RoundState.CLOSED)
    ballots.check_round_transition(RoundState.CLOSED, RoundState.REVEALED)
    check = ballots.check_round_transition
    assert error_code(check, RoundState.OPEN, RoundState.REVEALED) == "round_not_closed"
    assert error_code(check, RoundState.CLOSED, RoundState.CLOSED) == "round_not_open"
    assert error_code(check, RoundState.REVEALED, RoundState.CLOSED) == "round_not_open"
    assert error_code(check, RoundState.REVEALED, RoundState.REVEALED) == "round_revealed"
    ballots.check_live_change(RoundState.OPEN)
    ballots.check_live_change(RoundState.CLOSED)
    assert error_code(ballots.check_live_change, RoundState.REVEALED) == "round_revealed"


@given(st.integers(min_value=1, max_value=200))
def test_default_budget_is_a_third_of_the_factors_within_3_to_10(n: int) -> None:
    budget = ballots.default_dot_budget(n)
    assert min(3, n) <= budget <= 10
    assert budget <= n  # never more dots than factors to put them on
    if 9 <= n <= 30:
        assert budget == round(n / 3)
    cap = ballots.default_dot_cap(budget)
    assert 1 <= cap <= 3
    assert cap < budget or budget == 1  # below the budget: no one puts every dot on one factor
    assert cap * n >= budget  # every dot can be spent


def test_default_budget_and_cap_follow_the_factors_in_the_round() -> None:
    """Issue #18, item 7: the defaults a facilitator need not think about."""
    defaults = {
        n: (b := ballots.default_dot_budget(n), ballots.default_dot_cap(b))
        for n in (1, 2, 3, 9, 12, 15, 24, 40)
    }
    assert defaults == {
        1: (1, 1),
        2: (2, 1),
        3: (3, 2),
        9: (3, 2),
        12: (4, 3),
        15: (5, 3),
        24: (8, 3),
        40: (10, 3),
    }
    settings = ballots.round_settings
    assert settings(Method.DOTS, active_factors=15) == RoundSettings(budget=5, cap=3, shuffle=True)
    # A budget given without a cap gets a cap below it.
    assert settings(Method.DOTS, active_factors=15, budget=2) == RoundSettings(
        budget=2, cap=1, shuffle=True
    )


def test_round_settings_fill_defaults_and_check_limits() -> None:
    settings = ballots.round_settings
    # A new round is shuffled unless the facilitator says not (tested below).
    made = partial(RoundSettings, shuffle=True)
    assert settings(Method.DOTS, active_factors=12) == made(budget=4, cap=3)
    assert settings(Method.DOTS, active_factors=12, budget=5, cap=2) == made(5, 2)
    assert settings(Method.KEEP_REMOVE, active_factors=5, budget=5) == made()
    assert settings(Method.RATING, active_factors=5) == made(scale=5)
    assert settings(Method.MATRIX, active_factors=5, scale=9, live=True) == (
        made(scale=9, live=True)
    )
    assert settings(Method.RANKING, active_factors=12) == made(top_k=5)
    assert settings(Method.RANKING, active_factors=3) == made(top_k=3)
    assert error_code(settings, Method.DOTS, active_factors=5, budget=0) == "bad_budget"
    assert error_code(settings, Method.DOTS, active_factors=5, budget=101) == "bad_budget"
    assert error_code(settings, Method.DOTS, active_factors=5, budget=5, cap=6) == "bad_cap"
    assert error_code(settings, Method.RATING, active_factors=5, scale=2) == "bad_scale"
    assert error_code(settings, Method.RATING, active_factors=5, scale=11) == "bad_scale"
    assert error_code(settings, Method.RANKING, active_factors=5, top_k=6) == "bad_top_k"
    assert error_code(settings, Method.RANKING, active_factors=5, top_k=0) == "bad_top_k"


def test_settings_survive_storage() -> None:
    settings = RoundSettings(budget=5, cap=2, live=True)
    assert settings.as_dict() == {
        "budget": 5,
        "cap": 2,
        "live": True,
        "shuffle": False,
        "no_own_votes": False,
    }
    assert RoundSettings.from_dict({**settings.as_dict(), "unknown": 1}) == settings


def test_the_room_sees_the_open_round_else_the_latest_of_the_step() -> None:
    kr, dots, rating = Method.KEEP_REMOVE, Method.DOTS, Method.RATING
    revealed, closed = RoundState.REVEALED, RoundState.CLOSED
    rounds = [(kr, revealed), (dots, closed), (kr, revealed), (rating, revealed)]
    assert ballots.round_to_show(Step.PRUNE, rounds) == 2
    assert ballots.round_to_show(Step.PRIORITISE, rounds) == 3
    assert ballots.round_to_show(Step.RESULTS, rounds) == 3
    assert ballots.round_to_show(Step.COMPLETE, rounds) is None
    assert ballots.round_to_show(Step.RESULTS, rounds[:1]) == 0
    assert ballots.round_to_show(Step.PRUNE, [*rounds, (kr, RoundState.OPEN)]) == 4


def test_a_delphi_round_revises_the_previous_round_of_its_method() -> None:
    kr, rating = Method.KEEP_REMOVE, Method.RATING
    rounds = [(rating, RoundState.REVEALED), (kr, RoundState.REVEALED), (rating, OPEN)]
    assert ballots.previous_round(rounds, 2) == 0
    assert ballots.previous_round(rounds, 1) is None


# --- Ballots -----------------------------------------------------------------------------


def check(method: Method, settings: RoundSettings, entries: dict[int, Answer]) -> dict[int, Answer]:
    return ballots.check_ballot(method, settings, entries, VOTABLE, state=OPEN)


DOTS_5_2 = RoundSettings(budget=5, cap=2)


@given(st.dictionaries(st.sampled_from(sorted(VOTABLE)), st.integers(-2, 7)))
def test_an_accepted_dot_ballot_respects_budget_and_cap(entries: dict[int, int]) -> None:
    within = all(0 <= v <= 2 for v in entries.values()) and sum(entries.values()) <= 5
    if within:
        stored = check(Method.DOTS, DOTS_5_2, dict(entries))
        assert stored == {f: v for f, v in entries.items() if v}
    else:
        assert error_code(check, Method.DOTS, DOTS_5_2, entries) in {
            "bad_dots",
            "over_cap",
            "over_budget",
        }


def test_ballots_only_while_open_and_only_on_the_board() -> None:
    assert error_code(check, Method.DOTS, DOTS_5_2, {9: 1}) == "not_votable"
    closed = ballots.check_ballot
    assert (
        error_code(closed, Method.DOTS, DOTS_5_2, {1: 1}, VOTABLE, state=RoundState.CLOSED)
        == "round_closed"
    )
    assert check(Method.DOTS, DOTS_5_2, {}) == {}


def test_dot_ballot_errors_name_the_rule() -> None:
    assert error_code(check, Method.DOTS, DOTS_5_2, {1: 3}) == "over_cap"
    assert error_code(check, Method.DOTS, DOTS_5_2, {1: 2, 2: 2, 3: 2}) == "over_budget"
    assert error_code(check, Method.DOTS, DOTS_5_2, {1: -1}) == "bad_dots"
    assert error_code(check, Method.DOTS, DOTS_5_2, {1: (1, 1)}) == "bad_dots"


def test_keep_remove_takes_only_keep_or_remove() -> None:
    settings = RoundSettings()
    assert check(Method.KEEP_REMOVE, settings, {1: KEEP, 2: REMOVE}) == {1: KEEP, 2: REMOVE}
    assert error_code(check, Method.KEEP_REMOVE, settings, {1: 2}) == "bad_choice"


def test_ratings_run_from_1_to_the_scale_or_no_opinion() -> None:
    scale7 = RoundSettings(scale=7)
    assert check(Method.RATING, scale7, {1: 7, 2: 1, 3: NO_OPINION}) == {1: 7, 2: 1, 3: 0}
    for bad in (8, -1, (1, 2)):
        assert error_code(check, Method.RATING, scale7, {1: bad}) == "bad_rating"


@given(st.permutations([1, 2, 3, 4]), st.integers(0, 4))
def test_a_ranking_gives_places_1_to_k_without_ties(order: list[int], k: int) -> None:
    ranked = {f: place for place, f in enumerate(order[:k], start=1)}
    assert check(Method.RANKING, RoundSettings(top_k=4), ranked) == ranked  # type: ignore[arg-type]
    if k >= 2:
        tied = dict(ranked) | {order[1]: 1}
        assert error_code(check, Method.RANKING, RoundSettings(top_k=4), tied) == "bad_ranking"
        fewer = RoundSettings(top_k=k - 1)
        assert error_code(check, Method.RANKING, fewer, ranked) == "over_top_k"


def test_ranking_errors() -> None:
    top3 = RoundSettings(top_k=3)
    assert error_code(check, Method.RANKING, top3, {1: 1, 2: 3}) == "bad_ranking"  # a gap
    assert error_code(check, Method.RANKING, top3, {1: 0}) == "bad_ranking"
    assert error_code(check, Method.RANKING, top3, {1: 1, 2: 2, 3: 3, 4: 4}) == "over_top_k"


def test_the_matrix_takes_impact_and_uncertainty_on_the_scale() -> None:
    scale5 = RoundSettings(scale=5)
    assert check(Method.MATRIX, scale5, {1: (5, 1), 2: (3, 3)}) == {1: (5, 1), 2: (3, 3)}
    for bad in (3, (6, 1), (1,), (1, 2, 3), (0, 2)):
        assert error_code(check, Method.MATRIX, scale5, {1: bad}) == "bad_matrix"  # type: ignore[dict-item]


# --- Merging -----------------------------------------------------------------------------


@given(
    st.dictionaries(st.sampled_from([1, 2, 3, 4]), st.integers(0, 3)).filter(
        lambda e: sum(e.values()) <= 6
    )
)
def test_a_merge_never_exceeds_budget_or_cap(entries: dict[int, int]) -> None:
    settings = RoundSettings(budget=6, cap=3)
    merged = ballots.merge_entries(Method.DOTS, settings, entries, source=2, target=1)
    assert 2 not in merged
    assert sum(merged.values()) <= sum(entries.values())  # type: ignore[arg-type]
    assert all(v <= 3 for v in merged.values())  # type: ignore[operator]
    if 2 in entries:
        assert merged[1] == min(entries.get(1, 0) + entries[2], 3)
    # What merging leaves is a valid ballot again.
    check(Method.DOTS, settings, {f: v for f, v in merged.items() if f != 2})


@given(
    st.permutations([1, 2, 3, 4]),
    st.integers(1, 4),
    st.sampled_from([1, 2, 3, 4]),
    st.sampled_from([1, 2, 3, 4]),
)
def test_a_merged_ranking_stays_a_ranking(
    order: list[int], k: int, source: int, target: int
) -> None:
    if source == target:
        return
    ranked: dict[int, Answer] = {f: place for place, f in enumerate(order[:k], start=1)}
    merged = ballots.merge_entries(Method.RANKING, RoundSettings(top_k=4), ranked, source, target)
    assert source not in merged
    assert sorted(merged.values()) == list(range(1, len(merged) + 1))  # type: ignore[type-var]
    if source in ranked and target in ranked:
        # The target keeps the better of the two places.
        better = min(ranked[source], ranked[target])  # type: ignore[type-var]
        ahead = sum(1 for f, p in ranked.items() if p < better and f not in (source, target))  # type: ignore[operator]
        assert merged[target] == ahead + 1
    check(Method.RANKING, RoundSettings(top_k=4), merged)


def test_an_answer_on_the_target_stands_and_one_on_the_source_moves() -> None:
    scale = RoundSettings(scale=5)
    merge = ballots.merge_entries
    assert merge(Method.RATING, scale, {1: 4, 2: 2}, source=2, target=1) == {1: 4}
    assert merge(Method.RATING, scale, {2: 2, 3: 5}, source=2, target=1) == {1: 2, 3: 5}
    assert merge(Method.KEEP_REMOVE, RoundSettings(), {2: REMOVE}, 2, 1) == {1: REMOVE}
    assert merge(Method.MATRIX, scale, {2: (4, 1)}, 2, 1) == {1: (4, 1)}
    assert merge(Method.MATRIX, scale, {3: (4, 1)}, 2, 1) == {3: (4, 1)}  # untouched


# --- Against anchoring -------------------------------------------------------------------


def test_a_new_round_is_shuffled_and_lets_proposers_vote_unless_said() -> None:
    for method in Method:
        made = ballots.round_settings(method, active_factors=6)
        assert (made.shuffle, made.no_own_votes) == (True, False), method
        chosen = ballots.round_settings(method, active_factors=6, shuffle=False, no_own_votes=True)
        assert (chosen.shuffle, chosen.no_own_votes) == (False, True), method
        assert RoundSettings.from_dict(chosen.as_dict()) == chosen
    opened = schemas.RoundOpen(command_id="c1", method=Method.DOTS)
    assert (opened.shuffle, opened.no_own_votes) == (True, False)
    # A round stored before the settings existed was neither, and reads so.
    stored = RoundSettings.from_dict({"budget": 4, "cap": 4, "live": False})
    assert (stored.shuffle, stored.no_own_votes) == (False, False)


OTHERS_DECIDE = {
    Method.KEEP_REMOVE: (RoundSettings(no_own_votes=True), KEEP),
    Method.DOTS: (RoundSettings(budget=5, cap=2, no_own_votes=True), 1),
    Method.POINTS: (RoundSettings(budget=100, no_own_votes=True), 30),
    Method.RATING: (RoundSettings(scale=5, no_own_votes=True), 4),
    Method.RANKING: (RoundSettings(top_k=3, no_own_votes=True), 1),
    Method.MATRIX: (RoundSettings(scale=5, no_own_votes=True), (4, 2)),
}


def test_nobody_votes_on_their_own_proposal_when_the_round_says_so() -> None:
    for method, (settings, answer) in OTHERS_DECIDE.items():
        vote = ballots.check_ballot
        assert (
            error_code(vote, method, settings, {2: answer}, VOTABLE, state=OPEN, own={2, 9})
            == "own_proposal"
        ), method
        # Another's factor is fine; so is one's own when the round allows it.
        assert vote(method, settings, {1: answer}, VOTABLE, state=OPEN, own={2}) == {1: answer}
        allowed = replace(settings, no_own_votes=False)
        assert vote(method, allowed, {2: answer}, VOTABLE, state=OPEN, own={2}) == {2: answer}


def test_a_merge_into_ones_own_proposal_gives_the_answer_back() -> None:
    merge = ballots.merge_entries
    dots = RoundSettings(budget=5, cap=2, no_own_votes=True)
    assert merge(Method.DOTS, dots, {2: 2, 3: 1}, 2, 1, own_target=True) == {3: 1}
    ranking = RoundSettings(top_k=3, no_own_votes=True)
    assert merge(Method.RANKING, ranking, {3: 1, 2: 2, 4: 3}, 2, 1, own_target=True) == {
        3: 1,
        4: 2,
    }
    # Where proposers may vote on theirs, the answer moves as any other.
    allowed = replace(dots, no_own_votes=False)
    assert merge(Method.DOTS, allowed, {2: 2}, 2, 1, own_target=True) == {1: 2}


# --- 100 points --------------------------------------------------------------------------

POINTS = RoundSettings(budget=100)
POINTS_CAPPED = RoundSettings(budget=100, cap=40)


def test_a_points_round_has_100_points_and_an_optional_cap() -> None:
    made = partial(ballots.round_settings, Method.POINTS, active_factors=4, shuffle=False)
    assert made() == POINTS
    assert made(cap=40) == POINTS_CAPPED
    assert ballots.round_settings(Method.POINTS, active_factors=4, budget=100).budget == 100
    assert error_code(ballots.round_settings, Method.POINTS, active_factors=4, cap=0) == "bad_cap"
    assert error_code(ballots.round_settings, Method.POINTS, active_factors=4, cap=101) == "bad_cap"
    assert (
        error_code(ballots.round_settings, Method.POINTS, active_factors=4, budget=50)
        == "bad_budget"
    )
    assert ballots.METHOD_STEP[Method.POINTS] is Step.PRIORITISE
    assert RoundSettings.from_dict(POINTS.as_dict()) == POINTS


def test_a_points_ballot_may_spend_less_than_100_and_drops_zeros() -> None:
    assert check(Method.POINTS, POINTS, {1: 100}) == {1: 100}
    assert check(Method.POINTS, POINTS, {1: 30, 2: 0, 3: 7}) == {1: 30, 3: 7}
    assert check(Method.POINTS, POINTS, {}) == {}


def test_points_ballot_errors_name_the_rule() -> None:
    assert error_code(check, Method.POINTS, POINTS, {1: 60, 2: 41}) == "over_budget"
    assert error_code(check, Method.POINTS, POINTS_CAPPED, {1: 41}) == "over_cap"
    assert error_code(check, Method.POINTS, POINTS, {1: -10}) == "bad_points"
    assert error_code(check, Method.POINTS, POINTS, {1: (10, 10)}) == "bad_points"
    assert error_code(check, Method.POINTS, POINTS, {9: 10}) == "not_votable"


@given(st.dictionaries(st.sampled_from(sorted(VOTABLE)), st.integers(-5, 60)))
def test_an_accepted_points_ballot_respects_budget_and_cap(entries: dict[int, int]) -> None:
    within = all(0 <= v <= 40 for v in entries.values()) and sum(entries.values()) <= 100
    if within:
        stored = check(Method.POINTS, POINTS_CAPPED, dict(entries))
        assert stored == {f: v for f, v in entries.items() if v}
    else:
        assert error_code(check, Method.POINTS, POINTS_CAPPED, entries) in {
            "bad_points",
            "over_cap",
            "over_budget",
        }


@given(
    st.dictionaries(st.sampled_from([1, 2, 3, 4]), st.integers(0, 40)).filter(
        lambda e: sum(e.values()) <= 100
    ),
    st.sampled_from([POINTS, POINTS_CAPPED]),
)
def test_a_points_merge_adds_up_within_the_cap(
    entries: dict[int, int], settings: RoundSettings
) -> None:
    merged = ballots.merge_entries(Method.POINTS, settings, entries, source=2, target=1)
    assert 2 not in merged
    assert sum(merged.values()) <= sum(entries.values())  # type: ignore[arg-type]
    cap = settings.cap or 100
    if 2 in entries:
        assert merged[1] == min(entries.get(1, 0) + entries[2], cap)
    check(Method.POINTS, settings, {f: v for f, v in merged.items() if v})


def test_a_points_merge_is_capped() -> None:
    merge = ballots.merge_entries
    assert merge(Method.POINTS, POINTS_CAPPED, {1: 30, 2: 30, 3: 40}, 2, 1) == {1: 40, 3: 40}
    assert merge(Method.POINTS, POINTS, {1: 30, 2: 70}, 2, 1) == {1: 100}
    assert merge(Method.POINTS, POINTS, {3: 30, 2: 70}, 2, 1) == {3: 30, 1: 70}
