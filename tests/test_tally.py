"""What ballots add up to, per method: rows, group order, concordance, stability, and the
consensus rule's verdict (the maths itself is tested in test_consensus.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilitation.core import tally
from facilitation.core.ballots import KEEP, NO_OPINION, REMOVE, RoundSettings
from facilitation.core.consensus import Rule
from facilitation.core.domain import Method

IDS = [1, 2, 3, 4]


def rows(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["factor_id"]: row for row in result["factors"]}


def test_keep_remove_counts_the_majority_and_its_share() -> None:
    ballots = [{1: KEEP, 2: REMOVE}, {1: KEEP, 2: REMOVE}, {1: KEEP}, {1: REMOVE, 2: KEEP}]
    result = tally.tally(Method.KEEP_REMOVE, RoundSettings(), IDS, ballots)
    by_factor = rows(result)
    assert by_factor[1] | {} == {
        "factor_id": 1,
        "keep": 3,
        "remove": 1,
        "votes": 4,
        "majority": "keep",
        "agreement": 0.75,
        # What a verdict reads: keep is the top side, remove the bottom.
        "responses": 4,
        "opinions": 4,
        "high": 3,
        "low": 1,
        "lean": "in",
        "divided": False,
        # No previous round to compare with.
        "change": None,
    }
    # One against two is two camps.
    assert (by_factor[2]["lean"], by_factor[2]["divided"]) == ("out", True)
    assert (by_factor[2]["majority"], by_factor[2]["agreement"]) == ("remove", 2 / 3)
    assert (by_factor[3]["majority"], by_factor[3]["agreement"]) == (None, None)
    assert [row["factor_id"] for row in result["factors"]] == IDS  # the board's order
    assert result["concordance"] is None and result["ballots"] == 4


def test_keep_remove_ties() -> None:
    result = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1], [{1: KEEP}, {1: REMOVE}])
    assert rows(result)[1]["majority"] == "tie" and rows(result)[1]["agreement"] == 0.5


def test_dots_total_rank_and_concordance() -> None:
    ballots = [{1: 2, 2: 1}, {1: 2, 3: 1}, {1: 1, 2: 2}]
    result = tally.tally(Method.DOTS, RoundSettings(budget=3, cap=2), IDS, ballots)
    assert [(r["factor_id"], r["dots"], r["voters"], r["rank"]) for r in result["factors"]] == [
        (1, 5, 3, 1),
        (2, 3, 2, 2),
        (3, 1, 1, 3),
        (4, 0, 0, 4),
    ]
    assert result["concordance"]["raters"] == 3 and 0 < result["concordance"]["w"] < 1
    same = tally.tally(Method.DOTS, RoundSettings(budget=3, cap=3), IDS, [{1: 2, 2: 1}] * 4)
    assert same["concordance"]["w"] == pytest.approx(1.0)


@given(st.lists(st.dictionaries(st.sampled_from(IDS), st.integers(1, 3), max_size=4), max_size=12))
def test_dot_totals_add_up_to_the_dots_cast(ballots: list[dict[int, int]]) -> None:
    result = tally.tally(Method.DOTS, RoundSettings(budget=12, cap=3), IDS, ballots)
    assert sum(r["dots"] for r in result["factors"]) == sum(sum(b.values()) for b in ballots)
    ranks = [r["rank"] for r in result["factors"]]
    assert ranks == sorted(ranks)
    w = result["concordance"]["w"]
    assert w is None or -1e-9 <= w <= 1 + 1e-9


def test_ratings_summarise_each_factor_and_count_no_opinion_apart() -> None:
    ballots = [{1: 5, 2: 1}, {1: 4, 2: NO_OPINION}, {1: 4, 2: 2}, {1: 2, 2: 3}]
    result = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2, 3], ballots)
    first = rows(result)[1]
    assert first["distribution"] == [0, 1, 0, 2, 1]
    assert (first["answers"], first["no_opinion"], first["median"]) == (4, 0, 4.0)
    assert (first["q1"], first["q3"], first["iqr"]) == (3.5, 4.25, 0.75)  # numpy's type 7
    assert first["agreement"] == 0.75  # 5, 4, 4 are within ±1 of 4; 2 is not
    second = rows(result)[2]
    assert (second["answers"], second["no_opinion"], second["median"]) == (3, 1, 2.0)
    unrated = rows(result)[3]
    assert (unrated["answers"], unrated["median"], unrated["agreement"]) == (0, None, None)
    assert [r["factor_id"] for r in result["factors"]] == [1, 2, 3]  # by mean, unrated last


def test_rankings_are_completed_and_concordant() -> None:
    # Top 2 of 4; unranked factors share the places 3 and 4 (3.5 each).
    ballots = [{1: 1, 2: 2}, {1: 1, 2: 2}, {2: 1, 1: 2}]
    result = tally.tally(Method.RANKING, RoundSettings(top_k=2), IDS, ballots)
    by_factor = rows(result)
    assert by_factor[1]["mean_rank"] == pytest.approx(4 / 3)
    assert by_factor[3]["mean_rank"] == pytest.approx(3.5)
    assert (by_factor[1]["ranked_by"], by_factor[4]["ranked_by"]) == (3, 0)
    assert [r["factor_id"] for r in result["factors"]][:2] == [1, 2]
    assert result["concordance"]["w"] > 0.7
    # A factor removed since a ballot was cast no longer counts; the others move up.
    pruned = tally.tally(Method.RANKING, RoundSettings(top_k=2), [2, 3, 4], ballots)
    assert rows(pruned)[2]["mean_rank"] == pytest.approx(1.0)


def test_the_matrix_places_factors_in_quadrants() -> None:
    ballots = [{1: (5, 1), 2: (5, 5), 3: (1, 5)}, {1: (4, 2), 2: (4, 4), 3: (2, 4)}]
    result = tally.tally(Method.MATRIX, RoundSettings(scale=5), IDS, ballots)
    by_factor = rows(result)
    assert by_factor[1]["quadrant"] == "key_trend"
    assert by_factor[2]["quadrant"] == "critical_uncertainty"
    assert by_factor[3]["quadrant"] == "weak_signal"
    assert by_factor[4]["quadrant"] is None and by_factor[4]["agreement"] is None
    assert by_factor[1]["impact"]["median"] == 4.5 and by_factor[1]["uncertainty"]["q1"] == 1.25
    assert tally.quadrant(3, 3, 5) == "minor_trend"  # the middle of the scale counts as low


def test_stability_compares_the_group_order_with_the_previous_round() -> None:
    first = tally.tally(Method.DOTS, RoundSettings(budget=3, cap=3), IDS, [{1: 3}, {2: 2, 3: 1}])
    again = tally.tally(
        Method.DOTS, RoundSettings(budget=3, cap=3), IDS, [{1: 3}, {2: 2, 3: 1}], first
    )
    assert again["stability"] == pytest.approx(1.0)
    assert first["stability"] is None


def test_the_verdict_follows_the_rule_without_changing_the_tally() -> None:
    # Factor 2: 1 1 4 4 5 5 5, median 4, 5 of 7 within one step (71 %).
    ballots = [{1: 4, 2: v} for v in (1, 1, 4, 4)] + [{1: 5, 2: 5}] * 3
    result = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2], ballots)
    strict = tally.judge(result, Rule())
    assert (strict.reached, strict.factors_meeting, strict.factors) == (False, 1, 2)
    assert strict.progress == 0.5
    lenient = tally.judge(result, Rule(agreement=0.5))
    assert lenient.reached and lenient.progress == 1.0
    ranked = tally.tally(Method.RANKING, RoundSettings(top_k=2), IDS, [{1: 1, 2: 2}] * 3)
    assert tally.judge(ranked, Rule()).reached
    assert tally.judge(ranked, Rule()).measure == "kendall_w"


def test_nobody_voting_gives_defined_empty_results() -> None:
    for method, settings in [
        (Method.KEEP_REMOVE, RoundSettings()),
        (Method.DOTS, RoundSettings(budget=3, cap=3)),
        (Method.POINTS, RoundSettings(budget=100)),
        (Method.RATING, RoundSettings(scale=5)),
        (Method.RANKING, RoundSettings(top_k=2)),
        (Method.MATRIX, RoundSettings(scale=5)),
    ]:
        result = tally.tally(method, settings, IDS, [])
        assert result["ballots"] == 0 and len(result["factors"]) == 4
        verdict = tally.judge(result, Rule())
        assert not verdict.reached and verdict.progress == 0


def test_a_ballot_without_an_order_does_not_lower_concordance() -> None:
    agreed = [{1: 5, 2: 3, 3: 1}] * 3
    blank = [{1: NO_OPINION, 2: NO_OPINION, 3: NO_OPINION}]
    with_blank = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2, 3], agreed + blank)
    assert with_blank["concordance"]["w"] == pytest.approx(1.0)
    assert with_blank["concordance"]["raters"] == 3


# --- 100 points --------------------------------------------------------------------------

POINTS = RoundSettings(budget=100)


def test_points_total_share_voters_and_spread_per_participant() -> None:
    # The third ballot spends 80 of its 100 points: what was given counts, no more.
    ballots = [{1: 60, 2: 40}, {1: 50, 2: 30, 3: 20}, {2: 70, 3: 10}]
    result = tally.tally(Method.POINTS, POINTS, IDS, ballots)
    assert [(r["factor_id"], r["points"], r["voters"], r["rank"]) for r in result["factors"]] == [
        (2, 140, 3, 1),
        (1, 110, 2, 2),
        (3, 30, 2, 3),
        (4, 0, 0, 4),
    ]
    by_factor = rows(result)
    assert [by_factor[f]["share"] for f in IDS] == pytest.approx(
        [110 / 280, 140 / 280, 30 / 280, 0]
    )
    # Every ballot counts on every factor, 0 where it gave none: [0, 50, 60] for factor 1.
    first = by_factor[1]
    assert (first["median"], first["q1"], first["q3"], first["iqr"]) == (50, 25, 55, 30)
    assert first["mean"] == pytest.approx(110 / 3)
    assert (by_factor[4]["median"], by_factor[4]["iqr"], by_factor[4]["mean"]) == (0, 0, 0)
    assert result["scores"] == {"1": 110.0, "2": 140.0, "3": 30.0, "4": 0.0}


def test_points_ties_share_a_rank() -> None:
    result = tally.tally(Method.POINTS, POINTS, IDS, [{1: 50, 2: 50}, {3: 40, 4: 40}])
    assert [(r["factor_id"], r["rank"]) for r in result["factors"]] == [
        (1, 1),
        (2, 1),
        (3, 3),
        (4, 3),
    ]


def test_points_concordance_is_kendalls_w_over_the_implied_ranks() -> None:
    agreed = tally.tally(Method.POINTS, POINTS, IDS, [{1: 70, 2: 20, 3: 10}] * 3)
    assert agreed["concordance"]["w"] == pytest.approx(1.0)
    assert agreed["concordance"]["raters"] == 3
    assert tally.judge(agreed, Rule()).measure == "kendall_w"
    assert tally.judge(agreed, Rule()).reached
    opposed = tally.tally(Method.POINTS, POINTS, IDS, [{1: 70, 2: 30}, {2: 30, 1: 70}, {3: 100}])
    assert opposed["concordance"]["w"] < 1
    assert not tally.judge(opposed, Rule()).reached
    # A ballot that gives every factor the same says nothing about the order: left out.
    even = tally.tally(
        Method.POINTS, POINTS, IDS, [{1: 70, 2: 20, 3: 10}] * 2 + [{f: 25 for f in IDS}]
    )
    assert even["concordance"]["raters"] == 2


def test_nobody_giving_points_leaves_shares_and_spread_undefined() -> None:
    result = tally.tally(Method.POINTS, POINTS, IDS, [])
    assert all(
        (r["points"], r["share"], r["voters"], r["median"], r["iqr"], r["mean"])
        == (0, None, 0, None, None, None)
        for r in result["factors"]
    )
    assert result["concordance"]["w"] is None


@given(st.lists(st.dictionaries(st.sampled_from(IDS), st.integers(1, 40), max_size=4), max_size=12))
def test_points_and_shares_add_up(ballots: list[dict[int, int]]) -> None:
    result = tally.tally(Method.POINTS, POINTS, IDS, ballots)
    given_points = sum(sum(b.values()) for b in ballots)
    assert sum(r["points"] for r in result["factors"]) == given_points
    shares = [r["share"] for r in result["factors"]]
    if given_points:
        assert sum(shares) == pytest.approx(1.0)
    else:
        assert shares == [None] * len(IDS)
    # The same ballots as dots imply the same ranks, so the same concordance.
    dots = tally.tally(Method.DOTS, RoundSettings(budget=160, cap=40), IDS, ballots)
    assert result["concordance"] == dots["concordance"]


# --- How far each factor's answers moved since the previous round ---------------------------


def stored(result: dict[str, Any]) -> dict[str, Any]:
    """A tally as the round keeps it: through JSON, factor ids as text in the scores."""
    return json.loads(json.dumps(result))


def changes(result: dict[str, Any]) -> dict[int, float | None]:
    return {row["factor_id"]: row["change"] for row in result["factors"]}


def test_change_of_ratings_compares_the_distributions_over_the_scale() -> None:
    scale = RoundSettings(scale=5)
    # Factor 1: 1 2 2 3 → 2 2 3 3: shares .25 .5 .25 → 0 .5 .5: half of .25 + .25 = .25.
    # Factor 2: the same answers, one more "no opinion" (left out): no change.
    first = tally.tally(
        Method.RATING, scale, [1, 2], [{1: 1, 2: 4}, {1: 2, 2: 4}, {1: 2, 2: 5}, {1: 3, 2: 5}]
    )
    again = tally.tally(
        Method.RATING,
        scale,
        [1, 2, 3],
        [{1: 2, 2: 4}, {1: 2, 2: 4}, {1: 3, 2: 5}, {1: 3, 2: 5}, {2: NO_OPINION, 3: 4}],
        stored(first),
    )
    # Factor 3 is new this round: nothing to compare with.
    assert changes(again) == {1: 0.25, 2: 0.0, 3: None}
    assert all(change is None for change in changes(first).values())


def test_change_of_keep_remove_dots_points_and_rankings() -> None:
    kr = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1], [{1: KEEP}] * 8 + [{1: REMOVE}] * 2)
    kr2 = tally.tally(
        Method.KEEP_REMOVE, RoundSettings(), [1], [{1: KEEP}] * 6 + [{1: REMOVE}] * 4, stored(kr)
    )
    assert changes(kr2)[1] == pytest.approx(0.2, abs=1e-15)
    # Dots: given any / none. Factor 1 from 2 of 4 ballots to 3 of 4: a quarter moved.
    budget = RoundSettings(budget=3, cap=3)
    dots = tally.tally(Method.DOTS, budget, [1, 2], [{1: 3}, {1: 3}, {2: 3}, {2: 3}])
    dots2 = tally.tally(
        Method.DOTS, budget, [1, 2], [{1: 3}, {1: 1, 2: 2}, {1: 2, 2: 1}, {2: 3}], stored(dots)
    )
    assert changes(dots2) == {1: 0.25, 2: 0.25}
    points = RoundSettings(budget=100, cap=100)
    given = tally.tally(Method.POINTS, points, [1, 2], [{1: 100}, {2: 100}])
    assert changes(
        tally.tally(Method.POINTS, points, [1, 2], [{1: 50, 2: 50}] * 2, stored(given))
    ) == {
        1: 0.5,
        2: 0.5,
    }
    # Rankings of four: places in the top, middle and bottom third. Factor 1 first on every
    # ballot, then last on one of two: half moved from the top third to the bottom.
    top = RoundSettings(top_k=4)
    ranked = tally.tally(Method.RANKING, top, IDS, [{1: 1, 2: 2, 3: 3, 4: 4}] * 2)
    again = tally.tally(
        Method.RANKING,
        top,
        IDS,
        [{1: 1, 2: 2, 3: 3, 4: 4}, {2: 1, 3: 2, 4: 3, 1: 4}],
        stored(ranked),
    )
    assert changes(again)[1] == 0.5


def test_change_of_the_matrix_is_the_larger_of_its_axes() -> None:
    scale = RoundSettings(scale=5)
    first = tally.tally(Method.MATRIX, scale, [1], [{1: (4, 2)}, {1: (4, 2)}])
    # Impact unchanged; uncertainty half moved from 2 to 5.
    again = tally.tally(Method.MATRIX, scale, [1], [{1: (4, 2)}, {1: (4, 5)}], stored(first))
    assert changes(again) == {1: 0.5}
    assert again["factors"][0]["impact"]["distribution"] == [0, 0, 0, 2, 0]


def test_nothing_to_compare_gives_no_change() -> None:
    scale = RoundSettings(scale=5)
    # Nobody rated the factor before; or nobody rates it now.
    empty = tally.tally(Method.RATING, scale, [1, 2], [{2: 3}])
    again = tally.tally(Method.RATING, scale, [1, 2], [{1: 3}], stored(empty))
    assert changes(again) == {1: None, 2: None}
    # No ballots at all in either round.
    nothing = tally.tally(Method.RATING, scale, [1], [])
    assert changes(tally.tally(Method.RATING, scale, [1], [], stored(nothing))) == {1: None}
    # Another scale: the categories differ.
    nine = tally.tally(Method.RATING, RoundSettings(scale=9), [1], [{1: 3}])
    assert changes(tally.tally(Method.RATING, scale, [1], [{1: 3}], stored(nine))) == {1: None}
    # Another method is no previous round of this one.
    kept = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1], [{1: KEEP}])
    assert changes(
        tally.tally(Method.DOTS, RoundSettings(budget=1, cap=1), [1], [{1: 1}], stored(kept))
    ) == {1: None}


def test_a_tally_stored_before_rows_carried_the_figures_gives_no_change() -> None:
    scale = RoundSettings(scale=5)
    old = stored(tally.tally(Method.MATRIX, scale, [1], [{1: (4, 2)}]))
    for axis in ("impact", "uncertainty"):
        del old["factors"][0][axis]["distribution"]
    assert changes(tally.tally(Method.MATRIX, scale, [1], [{1: (4, 2)}], old)) == {1: None}
    old_dots = stored(tally.tally(Method.DOTS, RoundSettings(budget=1, cap=1), [1], [{1: 1}]))
    for key in ("responses", "opinions", "high", "low"):
        del old_dots["factors"][0][key]
    del old_dots["scores"]
    again = tally.tally(Method.DOTS, RoundSettings(budget=1, cap=1), [1], [{1: 1}], old_dots)
    assert changes(again) == {1: None} and again["stability"] is None
    # Rows stored with nothing but the factor: still no figure, no error.
    bare = {"method": "rating", "factors": [{"factor_id": 1}], "scores": {}}
    assert changes(tally.tally(Method.RATING, scale, [1], [{1: 3}], bare)) == {1: None}


def test_the_recommendation_reads_the_unsettled_factors() -> None:
    scale = RoundSettings(scale=5)
    agreed = [{1: 4, 2: v} for v in (1, 5, 1, 5, 3, 3)]
    first = tally.tally(Method.RATING, scale, [1, 2], agreed)
    again = tally.tally(Method.RATING, scale, [1, 2], agreed, stored(first))
    # Factor 1 is in; factor 2 is not settled and did not move: stable.
    assert tally.factor_verdicts(again, Rule()) == {1: "in", 2: "divided"}
    said = tally.recommendation(again, Rule(), rounds=2)
    assert (said.next, said.moving) == ("stop_stable", ())
    assert tally.recommendation(first, Rule(), rounds=1).next == "continue"
    assert tally.recommendation(first, Rule(max_rounds=1), rounds=1).next == "stop_max_rounds"
    # A rule on the whole order counts every factor: one that moved keeps the round going.
    budget = RoundSettings(budget=3, cap=3)
    dots = tally.tally(Method.DOTS, budget, [1, 2], [{1: 3}, {2: 3}])
    dots2 = tally.tally(Method.DOTS, budget, [1, 2], [{1: 3}, {1: 3}], stored(dots))
    moved = tally.recommendation(dots2, Rule(), rounds=2)
    assert (moved.next, set(moved.moving)) == ("continue", {1, 2})
