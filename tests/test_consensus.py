"""The consensus maths: hand-worked and published examples, NumPy and SciPy as independent
references (property-based), the invariants, and the defined results of degenerate cases."""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from facilitation.core import consensus
from facilitation.core.consensus import Concordance, Rule

DOCS = (Path(__file__).resolve().parent.parent / "docs" / "consensus.md").read_text()

# SciPy's first call in a process can take longer than Hypothesis' default deadline.
reference = settings(deadline=None)

small_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def score_tables(
    draw: st.DrawFn, min_raters: int = 2, min_items: int = 2, max_size: int = 8
) -> list[list[int]]:
    """Each rater's scores for the same items: a few values, so ties are common."""
    raters = draw(st.integers(min_raters, max_size))
    items = draw(st.integers(min_items, max_size))
    row = st.lists(st.integers(0, items), min_size=items, max_size=items)
    return draw(st.lists(row, min_size=raters, max_size=raters))


def as_rankings(table: list[list[int]]) -> list[dict[int, float]]:
    return [{item: float(score) for item, score in enumerate(row)} for row in table]


# --- Median, quartiles, IQR ------------------------------------------------------------------


def test_median_and_quartiles_by_hand() -> None:
    values = [7, 1, 3, 8, 2, 6, 5, 4]
    # Sorted 1..8; the median is between 4 and 5. Type 7 puts Q1 at position 1 + (8 − 1)/4 =
    # 2.75 (counting from 1): 2 + 0.75·(3 − 2) = 2.75; Q3 at position 6.25: 6 + 0.25 = 6.25.
    assert consensus.median(values) == 4.5
    assert consensus.quartiles(values) == (2.75, 6.25)
    assert consensus.iqr(values) == 3.5
    assert consensus.median([3, 1, 2]) == 2.0
    assert consensus.quartiles([4]) == (4.0, 4.0)
    assert consensus.iqr([4]) == 0.0


def test_scale_measures_of_no_values_are_none() -> None:
    assert consensus.median([]) is None
    assert consensus.quartiles([]) is None
    assert consensus.iqr([]) is None
    assert consensus.agreement_within([]) is None


def test_nan_has_no_place_in_an_order() -> None:
    with pytest.raises(ValueError):
        consensus.median([1.0, math.nan])
    with pytest.raises(ValueError):
        consensus.fractional_ranks({"a": math.nan, "b": 1.0})


@reference
@given(st.lists(small_floats, min_size=1, max_size=40))
def test_median_and_quartiles_match_numpy(values: list[float]) -> None:
    q1, q3 = np.percentile(values, [25, 75])  # linear, Hyndman & Fan type 7
    assert consensus.median(values) == pytest.approx(np.median(values), rel=1e-12, abs=1e-9)
    assert consensus.quartiles(values) == pytest.approx((q1, q3), rel=1e-12, abs=1e-9)
    assert consensus.iqr(values) == pytest.approx(q3 - q1, rel=1e-9, abs=1e-9)


@given(st.lists(st.integers(1, 7), min_size=1, max_size=40))
def test_quartiles_of_ratings_equal_numpy_exactly(values: list[int]) -> None:
    # Ratings are integers and quartile positions quarters: no rounding anywhere.
    assert consensus.quartiles(values) == tuple(np.percentile(values, [25, 75]))


# --- Agreement on a scale --------------------------------------------------------------------


def test_agreement_within_by_hand() -> None:
    ratings = [1, 2, 3, 3, 4, 5, 5]
    # Median 3; within ±1 (inclusive) are 2, 3, 3, 4: 4 of 7. Within ±0: the two 3s.
    assert consensus.agreement_within(ratings) == 4 / 7
    assert consensus.agreement_within(ratings, tolerance=0) == 2 / 7
    assert consensus.agreement_within(ratings, tolerance=2) == 1.0
    # An even count: median 2.5, so 2 and 3 (±0.5) and 1.5 away is out.
    assert consensus.agreement_within([1, 2, 3, 4], tolerance=1) == 0.5


def test_agreement_within_counts_decimal_steps_at_the_boundary() -> None:
    # 2.2 − 1.2 is 1.0000000000000002 in binary floating point; it is within ±1.
    assert 2.2 - 1.2 > 1
    assert consensus.agreement_within([1.2, 1.2, 2.2]) == 1.0
    with pytest.raises(ValueError):
        consensus.agreement_within([1, 2], tolerance=-1)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=40), st.integers(0, 8))
def test_agreement_within_is_a_share_growing_with_tolerance(values: list[int], tol: int) -> None:
    share = consensus.agreement_within(values, tol)
    assert share is not None and 0 <= share <= 1
    wider = consensus.agreement_within(values, tol + 1)
    assert wider is not None and wider >= share
    assert consensus.agreement_within(values, 8) == 1.0


# --- Ranks -----------------------------------------------------------------------------------


def test_fractional_ranks_share_the_positions_they_span() -> None:
    scores = {"a": 10, "b": 7, "c": 7, "d": 3, "e": 7}
    # 10 is first; the three 7s span positions 2, 3, 4: each gets 3; 3 is fifth.
    assert consensus.fractional_ranks(scores) == {"a": 1, "b": 3, "c": 3, "d": 5, "e": 3}
    assert consensus.fractional_ranks(scores, descending=False) == {
        "a": 5,
        "b": 3,
        "c": 3,
        "d": 1,
        "e": 3,
    }
    assert consensus.fractional_ranks({"x": 1, "y": 1}) == {"x": 1.5, "y": 1.5}
    assert consensus.fractional_ranks({}) == {}


@given(st.dictionaries(st.integers(), st.integers(-5, 5), max_size=30))
def test_fractional_ranks_match_scipy(scores: dict[int, int]) -> None:
    keys = list(scores)
    values = np.array([scores[k] for k in keys], dtype=float)
    descending = consensus.fractional_ranks(scores)
    ascending = consensus.fractional_ranks(scores, descending=False)
    assert [descending[k] for k in keys] == stats.rankdata(-values, method="average").tolist()
    assert [ascending[k] for k in keys] == stats.rankdata(values, method="average").tolist()


def test_partial_ranking_completes_a_top_k() -> None:
    items = ["a", "b", "c", "d", "e"]
    # c first, a second; b, d and e share positions 3, 4, 5: (3 + 4 + 5) / 3 = 4 each.
    assert consensus.partial_ranking(["c", "a"], items) == {
        "a": 2,
        "b": 4,
        "c": 1,
        "d": 4,
        "e": 4,
    }
    assert consensus.partial_ranking([], items) == dict.fromkeys(items, 3.0)
    assert consensus.partial_ranking(items[::-1], items) == {"a": 5, "b": 4, "c": 3, "d": 2, "e": 1}


def test_partial_ranking_refuses_repeats_and_unknown_items() -> None:
    with pytest.raises(ValueError):
        consensus.partial_ranking(["a", "a"], ["a", "b"])
    with pytest.raises(ValueError):
        consensus.partial_ranking(["z"], ["a", "b"])
    with pytest.raises(ValueError):
        consensus.partial_ranking(["a"], ["a", "a"])


@given(st.integers(0, 30).flatmap(lambda n: st.tuples(st.just(n), st.permutations(range(n)))))
def test_partial_ranking_ranks_sum_as_a_full_ranking(case: tuple[int, list[int]]) -> None:
    n, shuffled = case
    for k in (0, n // 3, n):
        ranks = consensus.partial_ranking(shuffled[:k], range(n))
        assert sum(ranks.values()) == n * (n + 1) / 2
        assert [ranks[i] for i in shuffled[:k]] == list(range(1, k + 1))
        assert len({ranks[i] for i in shuffled[k:]}) <= 1
        assert all(ranks[i] > k for i in shuffled[k:])


# --- Kendall's W -----------------------------------------------------------------------------


def test_kendall_w_on_a_published_example_without_ties() -> None:
    # Eight judges rank eight wines (R. E. Quandt's Winetaster, tasting of 16 January 1995,
    # http://liquidasset.com/report-15.html, which reports W = 0.2932 and p = 0.0216).
    wines = "ABCDEFGH"
    judges = [
        [3, 1, 7, 4, 5, 8, 6, 2],  # Dick
        [3, 1, 7, 2, 5, 8, 6, 4],  # Frank
        [7, 2, 8, 3, 1, 6, 5, 4],  # Bob
        [4, 6, 3, 2, 8, 7, 5, 1],  # Ken
        [5, 4, 6, 1, 3, 8, 7, 2],  # John
        [7, 6, 8, 4, 3, 1, 2, 5],  # Orley
        [8, 4, 7, 1, 2, 5, 3, 6],  # Burt
        [3, 8, 4, 5, 2, 6, 7, 1],  # Norton
    ]
    # Rank sums 40 32 50 22 29 49 41 25 around R̄ = m(n + 1)/2 = 8·9/2 = 36:
    # S = 4² + 4² + 14² + 14² + 7² + 13² + 5² + 11² = 788.
    # W = 12S / (m²(n³ − n)) = 9456 / (64·504) = 9456 / 32256 = 197/672 ≈ 0.293155.
    # χ² = m(n − 1)W = 56·197/672 = 197/12 ≈ 16.4167 on 7 df: p ≈ 0.02157.
    rankings = [dict(zip(wines, row, strict=True)) for row in judges]
    result = consensus.kendall_w(rankings, list(wines))
    assert result.w == 197 / 672
    assert round(result.w, 4) == 0.2932
    assert result.chi_square == pytest.approx(197 / 12, rel=1e-15)
    assert result.df == 7
    assert result.p_value is not None and round(result.p_value, 4) == 0.0216
    assert (result.raters, result.items) == (8, 8)


def test_kendall_w_on_a_published_example_with_many_ties() -> None:
    # The `anxiety` data of R's irr package: 3 raters score 20 subjects on 1–6; the DescTools
    # documentation of KendallW(anxiety, correct=TRUE) gives W = 0.5396569. Scores are ranked
    # per rater (ties averaged), which kendall_w does itself.
    raters = [
        [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
        [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
        [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
    ]
    # Tie groups (how often each score occurs) and T_j = Σ(t³ − t):
    #   rater 1: 1×2, 2×6, 3×5, 4×2, 5×4, 6×1 → 6 + 210 + 120 + 6 + 60 = 402
    #   rater 2: 1×1, 2×5, 3×8, 4×4, 6×2      → 120 + 504 + 60 + 6     = 690
    #   rater 3: 1×7, 2×5, 3×5, 4×2, 6×1      → 336 + 120 + 120 + 6    = 582
    # Rank sums: 31.5 34.5 46 52.5 36.5 44 13.5 47.5 32 20 13.5 40.5 27 43 13.5 13.5 17.5 31
    # 35 37.5 around R̄ = 3·21/2 = 31.5, so S = 3004.
    # W = 12·3004 / (3²(20³ − 20) − 3(402 + 690 + 582)) = 36048 / (71820 − 5022)
    #   = 36048 / 66798 ≈ 0.5396569; χ² = 3·19·W ≈ 30.7604 on 19 df.
    rankings = [dict(enumerate(row)) for row in raters]
    result = consensus.kendall_w(rankings, list(range(20)))
    assert result.w == 36048 / 66798
    assert round(result.w, 7) == 0.5396569
    assert result.chi_square == pytest.approx(57 * 36048 / 66798, rel=1e-15)
    assert result.p_value == pytest.approx(stats.chi2.sf(57 * 36048 / 66798, 19), rel=1e-10)


def test_kendall_w_tie_correction_worked_in_full() -> None:
    # Three raters, four items (1 = best).
    #            a    b    c    d     tie groups      T_j = Σ(t³ − t)
    #   rater 1: 1    2    3    4     none            0
    #   rater 2: 1    2.5  2.5  4     {b, c}          2³ − 2 = 6
    #   rater 3: 1.5  1.5  3.5  3.5   {a, b}, {c, d}  6 + 6 = 12
    #   sum R_i: 3.5  6    9    11.5  (R̄ = 3·5/2 = 7.5)
    # S = 4² + 1.5² + 1.5² + 4² = 36.5
    # corrected:   W = 12·36.5 / (3²(4³ − 4) − 3·18) = 438 / (540 − 54) = 438/486 = 73/81
    # uncorrected it would be 438/540 ≈ 0.811: ties, left uncorrected, understate agreement.
    # χ² = m(n − 1)W = 9·73/81 = 73/9 on 3 df.
    rankings = [
        {"a": 1, "b": 2, "c": 3, "d": 4},
        {"a": 1, "b": 2.5, "c": 2.5, "d": 4},
        {"a": 1.5, "b": 1.5, "c": 3.5, "d": 3.5},
    ]
    result = consensus.kendall_w(rankings, ["a", "b", "c", "d"])
    assert result.w == 73 / 81
    assert result.chi_square == 73 / 9
    assert result.df == 3
    assert result.p_value == pytest.approx(stats.chi2.sf(73 / 9, 3), rel=1e-12)


def test_kendall_w_reads_only_each_raters_order() -> None:
    items = ["a", "b", "c"]
    ranks = [{"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 1, "c": 3}]
    # Any values in the same order give the same ranks, so the same W.
    scores = [{"a": 10, "b": 20, "c": 35}, {"a": 0.5, "b": -4, "c": 7}]
    assert consensus.kendall_w(ranks, items) == consensus.kendall_w(scores, items)
    # Keys beyond the items are not part of the ranking.
    extra = [{**r, "z": 0} for r in ranks]
    assert consensus.kendall_w(extra, items) == consensus.kendall_w(ranks, items)


def test_kendall_w_of_opposite_orders_is_zero() -> None:
    result = consensus.kendall_w([{"a": 1, "b": 2, "c": 3}, {"a": 3, "b": 2, "c": 1}], "abc")
    assert (result.w, result.chi_square, result.p_value) == (0.0, 0.0, 1.0)


def test_kendall_w_degenerate_cases_have_no_w() -> None:
    one_rater = consensus.kendall_w([{"a": 1, "b": 2}], ["a", "b"])
    assert one_rater == Concordance(None, None, 1, None, raters=1, items=2)
    no_raters = consensus.kendall_w([], ["a", "b", "c"])
    assert no_raters == Concordance(None, None, 2, None, raters=0, items=3)
    one_item = consensus.kendall_w([{"a": 1}, {"a": 1}], ["a"])
    assert one_item == Concordance(None, None, 0, None, raters=2, items=1)
    assert consensus.kendall_w([], []).df == 0
    # Every rater ties everything (e.g. nobody used a dot): nothing to agree on.
    all_tied = consensus.kendall_w([{"a": 0, "b": 0}, {"a": 3, "b": 3}], ["a", "b"])
    assert all_tied == Concordance(None, None, 1, None, raters=2, items=2)
    assert all_tied.as_dict() == {
        "w": None,
        "chi_square": None,
        "df": 1,
        "p_value": None,
        "raters": 2,
        "items": 2,
    }


def test_kendall_w_refuses_incomplete_rankings() -> None:
    with pytest.raises(ValueError, match="rater 1"):
        consensus.kendall_w([{"a": 1, "b": 2}, {"a": 1}], ["a", "b"])
    with pytest.raises(ValueError):
        consensus.kendall_w([{"a": 1}], ["a", "a"])


def test_a_rater_who_ties_everything_dilutes_w_by_their_share() -> None:
    # Three raters agree perfectly; a fourth ties everything: S = 3²·(n³ − n)/12 and the
    # denominator 4·3·(n³ − n), so W = 3/4.
    agreeing = {"a": 1, "b": 2, "c": 3, "d": 4}
    blank = dict.fromkeys("abcd", 0)
    assert consensus.kendall_w([agreeing] * 3 + [blank], "abcd").w == 0.75


@reference
@given(score_tables(min_items=3))
def test_kendall_w_matches_scipys_friedman_test(table: list[list[int]]) -> None:
    result = consensus.kendall_w(as_rankings(table), list(range(len(table[0]))))
    if all(len(set(row)) == 1 for row in table):
        assert result.w is None  # SciPy divides by zero here
        return
    m, n = len(table), len(table[0])
    # friedmanchisquare takes one sample per item, each holding the raters' scores (blocks).
    friedman = stats.friedmanchisquare(*np.array(table, dtype=float).T)
    assert result.w == pytest.approx(friedman.statistic / (m * (n - 1)), rel=1e-9, abs=1e-12)
    assert result.chi_square == pytest.approx(friedman.statistic, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(friedman.pvalue, rel=1e-9, abs=1e-15)


@given(score_tables(max_size=12))
def test_kendall_w_lies_between_zero_and_one(table: list[list[int]]) -> None:
    result = consensus.kendall_w(as_rankings(table), list(range(len(table[0]))))
    assume(result.w is not None)
    assert result.w is not None and result.p_value is not None
    assert 0 <= result.w <= 1
    assert 0 <= result.p_value <= 1


@given(st.integers(2, 12), st.integers(2, 15).flatmap(lambda n: st.permutations(range(n))))
def test_kendall_w_is_one_when_all_raters_agree(raters: int, order: list[int]) -> None:
    ranking = {item: float(place) for place, item in enumerate(order, start=1)}
    result = consensus.kendall_w([ranking] * raters, order)
    assert result.w == 1.0
    assert result.chi_square == raters * (len(order) - 1)


# --- The chi-square tail ---------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=700))
def test_chi2_sf_matches_closed_forms(x: float) -> None:
    # For 1, 2 and 4 degrees of freedom the tail has a closed form in the standard library.
    assert consensus.chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-12)
    assert consensus.chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
    assert consensus.chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-12)


def test_chi2_sf_at_textbook_critical_values() -> None:
    assert consensus.chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    assert consensus.chi2_sf(14.067140449340169, 7) == pytest.approx(0.05, rel=1e-12)
    assert consensus.chi2_sf(6.6348966010212145, 1) == pytest.approx(0.01, rel=1e-12)


@reference
@given(
    st.integers(1, 1000).flatmap(
        lambda df: st.tuples(st.just(df), st.floats(min_value=0, max_value=4 * df + 100))
    )
)
def test_chi2_sf_matches_scipy(case: tuple[int, float]) -> None:
    df, x = case
    expected = stats.chi2.sf(x, df)
    assume(expected > 1e-290)  # beyond, both are lost in underflow
    assert consensus.chi2_sf(x, df) == pytest.approx(expected, rel=1e-10)


def test_chi2_sf_edges() -> None:
    assert consensus.chi2_sf(0, 3) == 1.0
    assert consensus.chi2_sf(-1, 3) == 1.0
    assert consensus.chi2_sf(math.inf, 3) == 0.0
    assert 0 <= consensus.chi2_sf(1e6, 3) < 1e-300
    with pytest.raises(ValueError):
        consensus.chi2_sf(1, 0)
    with pytest.raises(ValueError):
        consensus.chi2_sf(math.nan, 1)


# --- Spearman's stability --------------------------------------------------------------------


def test_spearman_by_hand() -> None:
    before = {1: 10, 2: 20, 3: 30, 4: 40}
    after = {1: 1, 2: 3, 3: 2, 4: 4}
    # Ranks 4 3 2 1 against 4 2 3 1: Σd² = 2, ρ = 1 − 6·2 / (4·(4² − 1)) = 1 − 12/60 = 0.8.
    assert consensus.spearman(before, after) == pytest.approx(0.8, rel=1e-15)
    # Only the keys in both count: a factor added or removed between rounds is left out.
    assert consensus.spearman({**before, 9: 0}, {**after, 8: 5}) == consensus.spearman(
        before, after
    )


def test_distribution_change_by_hand() -> None:
    # Ratings 1–5: 10 answers then 8. Shares 0.1 0.2 0.4 0.3 0 → 0 0.125 0.5 0.25 0.125;
    # |differences| 0.1 0.075 0.1 0.05 0.125 sum to 0.45, half of it 0.225.
    assert consensus.distribution_change([1, 2, 4, 3, 0], [0, 1, 4, 2, 1]) == 0.225
    # Keep/remove 8/2 → 6/4: a fifth of the answers moved.
    assert consensus.distribution_change([8, 2], [6, 4]) == pytest.approx(0.2, abs=1e-15)
    # Only the shares count: twice the answers in the same proportions is no change.
    assert consensus.distribution_change([1, 2, 3], [2, 4, 6]) == 0.0
    # Every answer moved to another category.
    assert consensus.distribution_change([5, 0, 0], [0, 3, 4]) == 1.0


def test_distribution_change_without_anything_to_compare_is_none() -> None:
    assert consensus.distribution_change([], []) is None
    assert consensus.distribution_change([0, 0], [1, 2]) is None
    assert consensus.distribution_change([1, 2], [0, 0]) is None
    # Different categories (a scale of 5 points, then of 7) do not compare.
    assert consensus.distribution_change([1, 1, 1, 1, 1], [1] * 7) is None


@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=9).flatmap(
        lambda a: st.tuples(
            st.just(a), st.lists(st.integers(0, 30), min_size=len(a), max_size=len(a))
        )
    )
)
def test_distribution_change_matches_numpy(pair: tuple[list[int], list[int]]) -> None:
    before, after = pair
    assume(sum(before) and sum(after))
    p, q = np.array(before) / sum(before), np.array(after) / sum(after)
    expected = 0.5 * np.abs(p - q).sum()
    moved = consensus.distribution_change(before, after)
    assert moved == pytest.approx(expected, abs=1e-12)
    assert moved is not None and 0 <= moved <= 1
    assert consensus.distribution_change(after, before) == moved


def test_spearman_degenerate_cases_have_no_value() -> None:
    assert consensus.spearman({}, {}) is None
    assert consensus.spearman({1: 1.0}, {1: 2.0}) is None
    assert consensus.spearman({1: 1.0, 2: 2.0}, {3: 1.0, 4: 2.0}) is None
    assert consensus.spearman({1: 5.0, 2: 5.0}, {1: 1.0, 2: 2.0}) is None


@reference
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=2, max_size=30))
def test_spearman_matches_scipy(pairs: list[tuple[int, int]]) -> None:
    a = {i: float(x) for i, (x, _) in enumerate(pairs)}
    b = {i: float(y) for i, (_, y) in enumerate(pairs)}
    rho = consensus.spearman(a, b)
    if len(set(a.values())) == 1 or len(set(b.values())) == 1:
        assert rho is None  # SciPy warns and returns NaN here
        return
    assert rho is not None and -1 <= rho <= 1
    expected = stats.spearmanr(list(a.values()), list(b.values())).statistic
    assert rho == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(st.lists(st.floats(-100, 100), min_size=2, max_size=40, unique=True))
def test_spearman_of_the_same_order_is_exactly_one(scores: list[float]) -> None:
    a = dict(enumerate(scores))
    places = {v: place for place, v in enumerate(sorted(scores))}
    same_order = {k: places[v] ** 2 for k, v in a.items()}
    assert consensus.spearman(a, a) == 1.0
    assert consensus.spearman(a, same_order) == 1.0
    assert consensus.spearman(a, {k: -v for k, v in a.items()}) == -1.0


# --- From votes to concordance: the pipeline the docs describe -------------------------------


def test_dot_votes_become_ranks_with_unvoted_factors_tied_at_the_bottom() -> None:
    factors = ["a", "b", "c", "d", "e"]
    dots = [{"a": 3, "b": 1}, {"a": 2, "b": 2}, {"a": 4}]
    rankings = [consensus.fractional_ranks({f: d.get(f, 0) for f in factors}) for d in dots]
    assert rankings[0] == {"a": 1, "b": 2, "c": 4, "d": 4, "e": 4}
    assert rankings[1] == {"a": 1.5, "b": 1.5, "c": 4, "d": 4, "e": 4}
    assert rankings[2] == {"a": 1, "b": 3.5, "c": 3.5, "d": 3.5, "e": 3.5}
    result = consensus.kendall_w(rankings, factors)
    # Rank sums 3.5, 7, 11.5, 11.5, 11.5 around R̄ = 3·6/2 = 9:
    # S = (−5.5)² + (−2)² + 3·2.5² = 30.25 + 4 + 18.75 = 53.
    # Ties: {c, d, e} → 24; {a, b} and {c, d, e} → 6 + 24; {b, c, d, e} → 60; in all 114.
    # W = 12·53 / (3²(5³ − 5) − 3·114) = 636 / (1080 − 342) = 636/738 = 106/123 ≈ 0.862.
    assert result.w == 106 / 123


def test_a_top_k_ranking_is_completed_before_concordance() -> None:
    factors = ["a", "b", "c", "d"]
    rankings = [consensus.partial_ranking(top, factors) for top in (["a", "b"], ["a"], ["b", "a"])]
    assert rankings[1] == {"a": 1, "b": 3, "c": 3, "d": 3}
    result = consensus.kendall_w(rankings, factors)
    assert result.w is not None and 0 < result.w < 1


# --- The rule and its verdicts ---------------------------------------------------------------


def test_rule_defaults_and_round_trip() -> None:
    rule = Rule()
    assert rule.as_dict() == {
        "preset": "agreement",
        "agreement": 0.75,
        "iqr": 1.0,
        "kendall_w": 0.7,
        "min_share": 0.7,
        "min_answers": 3,
        "every_group": False,
        "stable_change": 0.15,
        "max_rounds": None,
    }
    assert Rule.from_dict({}) == rule
    assert Rule.from_dict(rule.as_dict()) == rule
    custom = Rule.from_dict({"agreement": 1, "kendall_w": 0.5, "colour": "blue"})
    assert custom == Rule(agreement=1.0, kendall_w=0.5)
    assert isinstance(custom.agreement, float)
    assert Rule.from_dict({"agreement": 0.5, "kendall_w": 1}) == Rule(0.5, 1.0)
    assert Rule.from_dict({"preset": "cos", "min_answers": 5, "min_share": 0}) == Rule(
        preset="cos", min_answers=5, min_share=0.0
    )
    assert Rule.from_dict({"every_group": True}) == Rule(every_group=True)


@pytest.mark.parametrize(
    "settings_",
    [
        {"agreement": 0.49},
        {"agreement": 1.01},
        {"agreement": math.nan},
        {"agreement": "0.8"},
        {"agreement": None},
        {"agreement": True},
        {"kendall_w": 0},
        {"kendall_w": -0.1},
        {"kendall_w": 1.5},
        {"kendall_w": [0.7]},
        {"preset": "majority"},
        {"preset": 1},
        {"iqr": -1},
        {"iqr": 11},
        {"min_share": 1.5},
        {"min_share": math.nan},
        {"min_answers": 0},
        {"min_answers": 2.5},
        {"min_answers": True},
        {"min_answers": 10**6},
        {"every_group": 1},
        {"every_group": "yes"},
        {"stable_change": -0.01},
        {"stable_change": 1.5},
        {"stable_change": math.nan},
        {"stable_change": "15 %"},
        {"stable_change": True},
        {"max_rounds": 51},
        {"max_rounds": -1},
        {"max_rounds": 2.5},
        {"max_rounds": True},
        {"max_rounds": "3"},
    ],
)
def test_rule_from_dict_refuses_thresholds_out_of_range(settings_: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Rule.from_dict(settings_)


def test_rule_stopping_settings_round_trip() -> None:
    rule = Rule.from_dict({"stable_change": 0, "max_rounds": 3})
    assert (rule.stable_change, rule.max_rounds) == (0.0, 3)
    assert isinstance(rule.stable_change, float)
    assert Rule.from_dict(rule.as_dict()) == rule
    assert Rule.from_dict({"stable_change": 1, "max_rounds": 50}).as_dict()["max_rounds"] == 50
    # 0 and null both say "no maximum"; a rule stored before these settings takes the defaults.
    assert Rule.from_dict({"max_rounds": 0}).max_rounds is None
    assert Rule.from_dict({"max_rounds": None}).max_rounds is None
    old = {"preset": "agreement", "agreement": 0.75, "iqr": 1.0, "kendall_w": 0.7}
    assert Rule.from_dict(old) == Rule()


def test_rule_cannot_be_built_out_of_range() -> None:
    with pytest.raises(ValueError):
        Rule(agreement=0.4)
    with pytest.raises(ValueError):
        Rule(kendall_w=0)


def test_per_factor_verdict() -> None:
    rule = Rule()
    verdicts = {1: "in", 2: "too_few", 3: "out", 4: "in"}
    agreements = {1: 0.8, 2: None, 3: 0.75, 4: 0.9}
    held = consensus.per_factor_verdict(verdicts, agreements, rule, ballots=12)
    assert held.as_dict() == {
        "reached": False,
        "progress": 0.75,
        "measure": "agreement",
        "value": 0.75,
        "threshold": 0.75,
        "factors_meeting": 3,
        "factors": 4,
        "too_few": [2],
        "divided": [],
        "small_panel": False,
        "groups_behind": [],
    }
    met = consensus.per_factor_verdict({1: "in", 3: "out"}, agreements, rule, ballots=9)
    assert (met.reached, met.progress, met.small_panel) == (True, 1.0, True)
    split = consensus.per_factor_verdict(
        {1: "in", 2: "divided", 3: "none"}, {1: 1.0, 2: 1.0, 3: 0.5}, rule, ballots=10
    )
    assert (split.reached, split.factors_meeting, split.divided, split.value) == (
        False,
        1,
        (2,),
        0.5,
    )


def test_per_factor_verdict_with_no_factors() -> None:
    verdict = consensus.per_factor_verdict({}, {}, Rule(), ballots=0)
    assert not verdict.reached
    assert verdict.progress == 0.0
    assert verdict.value is None
    assert (verdict.factors_meeting, verdict.factors) == (0, 0)


def concordance_of(w: float | None) -> Concordance:
    return Concordance(w, None, 3, None, raters=5, items=4)


def test_concordance_verdict() -> None:
    rule = Rule()
    met = consensus.concordance_verdict(concordance_of(0.7), rule, ballots=10)
    assert met.as_dict() == {
        "reached": True,
        "progress": 1.0,
        "measure": "kendall_w",
        "value": 0.7,
        "threshold": 0.7,
        "factors_meeting": None,
        "factors": None,
        "too_few": [],
        "divided": [],
        "small_panel": False,
        "groups_behind": [],
    }
    halfway = consensus.concordance_verdict(concordance_of(0.35), rule)
    assert (halfway.reached, halfway.progress) == (False, pytest.approx(0.5))
    nothing = consensus.concordance_verdict(concordance_of(None), rule)
    assert (nothing.reached, nothing.progress, nothing.value) == (False, 0.0, None)
    zero = consensus.concordance_verdict(concordance_of(0.0), rule)
    assert (zero.reached, zero.progress) == (False, 0.0)
    # Strong agreement among too few ballots is no verdict, and the meter stops short.
    few = consensus.concordance_verdict(concordance_of(1.0), rule, {1: "too_few"}, ballots=2)
    assert (few.reached, few.too_few, few.small_panel) == (False, (1,), True)
    assert few.progress < 1


@given(st.floats(min_value=1e-6, max_value=1.0))
def test_a_meter_is_never_full_for_a_w_just_below_the_threshold(threshold: float) -> None:
    just_below = math.nextafter(threshold, 0)
    verdict = consensus.concordance_verdict(concordance_of(just_below), Rule(kendall_w=threshold))
    assert not verdict.reached
    assert verdict.progress < 1.0


thresholds = st.floats(min_value=0.5, max_value=1.0)
shares = st.floats(min_value=0.0, max_value=1.0)
verdict_names = st.sampled_from(["in", "out", "none", "divided", "too_few"])


@given(st.dictionaries(st.integers(0, 30), verdict_names, max_size=20), thresholds)
def test_per_factor_progress_is_full_exactly_when_reached(
    verdicts: dict[int, str], threshold: float
) -> None:
    agreements = dict.fromkeys(verdicts, 0.8)
    verdict = consensus.per_factor_verdict(
        verdicts, agreements, Rule(agreement=threshold), ballots=len(verdicts)
    )
    assert 0 <= verdict.progress <= 1
    assert (verdict.progress == 1.0) == verdict.reached
    assert verdict.reached == (bool(verdicts) and set(verdicts.values()) <= {"in", "out"})


@given(st.none() | shares, st.floats(min_value=1e-6, max_value=1.0), st.booleans())
def test_concordance_progress_is_full_exactly_when_reached(
    w: float | None, threshold: float, too_few: bool
) -> None:
    verdicts = {1: "too_few" if too_few else "in"}
    verdict = consensus.concordance_verdict(
        concordance_of(w), Rule(kendall_w=threshold), verdicts, ballots=5
    )
    assert 0 <= verdict.progress <= 1
    assert (verdict.progress == 1.0) == verdict.reached


# --- The documentation -----------------------------------------------------------------------


def test_every_public_name_is_documented() -> None:
    public = {
        name
        for name, value in vars(consensus).items()
        if (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == consensus.__name__
        and not name.startswith("_")
    }
    assert {"kendall_w", "Rule", "per_factor_verdict"} <= public
    documented = set(re.findall(r"`(\w+)", DOCS))
    assert public - documented == set()


# --- When to stop ----------------------------------------------------------------------------


def test_recommend_stops_when_the_rule_is_met() -> None:
    # Consensus comes first, whatever else holds: moving factors, the maximum reached.
    said = consensus.recommend(True, {}, Rule(max_rounds=2), rounds=2)
    assert said.next == consensus.STOP_CONSENSUS
    moving = consensus.recommend(True, {1: 0.5, 2: None}, Rule(max_rounds=1), rounds=3)
    assert (moving.next, moving.moving, moving.unmeasured) == ("stop_consensus", (1,), (2,))


def test_recommend_stops_when_every_unsettled_factor_is_stable() -> None:
    rule = Rule()
    said = consensus.recommend(False, {1: 0.0, 2: 0.15, 3: 0.1}, rule, rounds=2)
    assert said.as_dict() == {
        "next": "stop_stable",
        "moving": [],
        "unmeasured": [],
        "threshold": 0.15,
        "rounds": 2,
        "max_rounds": None,
    }
    # 0.15 is within the threshold up to binary rounding (0.35 − 0.2 = 0.15000000000000002).
    assert consensus.recommend(False, {1: 0.35 - 0.2}, rule, rounds=2).next == "stop_stable"
    # Stable comes before the maximum: it says more about the result.
    assert consensus.recommend(False, {1: 0.1}, Rule(max_rounds=2), rounds=2).next == (
        "stop_stable"
    )
    # The threshold is the rule's.
    assert consensus.recommend(False, {1: 0.1}, Rule(stable_change=0.05), rounds=2).moving == (1,)


def test_recommend_never_calls_a_round_without_comparison_stable() -> None:
    rule = Rule()
    first = consensus.recommend(False, {1: None, 2: None}, rule, rounds=1)
    assert (first.next, first.unmeasured) == ("continue", (1, 2))
    # A factor new this round keeps the others' stability from counting.
    new = consensus.recommend(False, {1: 0.0, 2: None}, rule, rounds=2)
    assert (new.next, new.moving, new.unmeasured) == ("continue", (), (2,))
    # Nothing unsettled to compare, yet no consensus (no factors): not stable either.
    assert consensus.recommend(False, {}, rule, rounds=2).next == "continue"


def test_recommend_stops_at_the_maximum_declared() -> None:
    rule = Rule(max_rounds=3)
    assert consensus.recommend(False, {1: 0.4}, rule, rounds=2).next == "continue"
    at_most = consensus.recommend(False, {1: 0.4, 2: 0.05}, rule, rounds=3)
    assert (at_most.next, at_most.moving, at_most.max_rounds) == ("stop_max_rounds", (1,), 3)
    assert consensus.recommend(False, {1: None}, rule, rounds=4).next == "stop_max_rounds"
    # No maximum: go on as long as answers move.
    assert consensus.recommend(False, {1: 0.4}, Rule(), rounds=50).next == "continue"


def test_recommend_names_the_factors_still_moving() -> None:
    said = consensus.recommend(False, {1: 0.16, 2: 0.15, 3: 0.9, 4: None}, Rule(), rounds=3)
    assert (said.next, said.moving, said.unmeasured) == ("continue", (1, 3), (4,))
