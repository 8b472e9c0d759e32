"""A verdict per factor — in, out, none, divided or too few answers — and the round's, under
each preset of the rule: the worked examples of docs/consensus.md, the rules they rest on,
and properties over random ballots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from facilitation.core import consensus, tally
from facilitation.core.ballots import CHOICES, NO_OPINION, RoundSettings
from facilitation.core.consensus import Answers, Rule
from facilitation.core.domain import Method

DOCS = (Path(__file__).parent.parent / "docs" / "consensus.md").read_text(encoding="utf-8")
EXAMPLES = json.loads(re.search(r"```json verdict-examples\n(.*?)```", DOCS, re.S)[1])  # type: ignore[index]


def _answer(value: Any) -> int:
    if value == "no_opinion":
        return NO_OPINION
    return CHOICES[value] if isinstance(value, str) else int(value)


def tallied(example: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    answers: dict[str, list[Any]] = example["answers"]
    count = len(next(iter(answers.values())))
    ballots = [
        {f: _answer(column[i]) for f, column in answers.items() if column[i] is not None}
        for i in range(count)
    ]
    settings = RoundSettings(scale=example.get("scale"))
    return tally.tally(Method(example["method"]), settings, list(answers), ballots, previous)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e['method']}-{e['rule']}")
def test_the_documented_examples(example: dict[str, Any]) -> None:
    rule = Rule.from_dict(example["rule"])
    results = tallied(example)
    assert tally.factor_verdicts(results, rule) == example["verdicts"]
    verdict = tally.judge(results, rule)
    assert verdict.reached == example["reached"]
    assert list(verdict.too_few) == example["too_few"]
    assert list(verdict.divided) == example["divided"]


CHANGE_EXAMPLES = json.loads(re.search(r"```json change-examples\n(.*?)```", DOCS, re.S)[1])  # type: ignore[index]


@pytest.mark.parametrize("example", CHANGE_EXAMPLES, ids=lambda e: f"{e['method']}-{e['next']}")
def test_the_documented_changes_and_next_steps(example: dict[str, Any]) -> None:
    """Each round tallied against the one before, as the service does with stored tallies."""
    rule = Rule.from_dict(example["rule"])
    results = None
    for answers in example["rounds"]:
        round_ = {**example, "answers": answers}
        previous = json.loads(json.dumps(results)) if results else None  # as stored
        results = tallied(round_, previous)
    assert results is not None
    changes = {row["factor_id"]: row["change"] for row in results["factors"]}
    assert changes == pytest.approx(example["change"], abs=1e-12)
    assert tally.factor_verdicts(results, rule) == example["verdicts"]
    said = tally.recommendation(results, rule, rounds=len(example["rounds"]))
    assert (said.next, list(said.moving)) == (example["next"], example["moving"])


def test_the_reported_case_two_phones_one_answering_a_quarter_is_no_consensus() -> None:
    """Two phones, one of which rated 3 of 12 factors: the board said "consensus" because
    the factors nobody else answered were left out."""
    factors = list(range(12))
    ballots = [dict.fromkeys(factors, 4), dict.fromkeys(factors[:3], 4)]
    results = tally.tally(Method.RATING, RoundSettings(scale=5), factors, ballots)
    verdict = tally.judge(results, Rule())
    assert not verdict.reached
    assert set(verdict.too_few) == set(factors)  # two opinions are fewer than three
    lenient = Rule(min_answers=1)
    verdicts = tally.factor_verdicts(results, lenient)
    # Answered by both: judged. By one of two (50 % < 70 %): too few, and named.
    assert [verdicts[f] for f in factors[:3]] == ["in"] * 3
    assert [verdicts[f] for f in factors[3:]] == ["too_few"] * 9
    assert list(tally.judge(results, lenient).too_few) == factors[3:]


def test_no_opinion_is_a_response_but_never_a_statistic() -> None:
    ballots = [{1: 5}, {1: 5}, {1: 5}, {1: NO_OPINION}, {1: NO_OPINION}, {1: NO_OPINION}]
    row = tally.tally(Method.RATING, RoundSettings(scale=5), [1], ballots)["factors"][0]
    assert (row["responses"], row["opinions"], row["no_opinion"]) == (6, 3, 3)
    assert (row["median"], row["mean"], row["agreement"]) == (5, 5, 1.0)
    assert row["distribution"] == [0, 0, 0, 0, 3]


def test_no_opinion_leaves_a_rating_ballot_out_of_w_instead_of_ranking_the_factor_last() -> None:
    agreed = [{1: 5, 2: 3, 3: 1}] * 3
    # Read as 0, "no opinion" on factor 1 would rank it last, against everyone else's first.
    unsure = [{1: NO_OPINION, 2: 3, 3: 1}] * 3
    results = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2, 3], agreed + unsure)
    assert results["concordance"]["raters"] == 3
    assert results["concordance"]["w"] == pytest.approx(1.0)


def test_a_factor_nobody_rated_has_no_score_and_no_rank() -> None:
    ballots = [{1: 4, 2: 2}, {1: 5, 2: 1}]
    for method, settings, answers in [
        (Method.RATING, RoundSettings(scale=5), ballots),
        (Method.MATRIX, RoundSettings(scale=5), [{1: (4, 2), 2: (2, 2)}] * 2),
    ]:
        results = tally.tally(method, settings, [1, 2, 3], answers)
        assert "3" not in results["scores"]
        last = results["factors"][-1]
        assert (last["factor_id"], last["rank"]) == (3, None)


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        # 70 % in the top third and under 15 % in the bottom: in.
        ([7, 7, 7, 7, 7, 7, 7, 5, 5, 1], "in"),
        # 15 % in the bottom third is not under 15 %.
        ([7] * 14 + [5] * 3 + [1] * 3, "none"),
        ([1, 1, 1, 1, 1, 1, 1, 5, 5, 9], "out"),
        ([8] * 69 + [5] * 31, "none"),  # 69 % is short of 70 %
    ],
)
def test_the_core_outcome_set_rule_on_a_1_to_9_scale(answers: list[int], verdict: str) -> None:
    results = tally.tally(Method.RATING, RoundSettings(scale=9), [1], [{1: a} for a in answers])
    assert tally.factor_verdicts(results, Rule(preset="cos")) == {1: verdict}


def test_thirds_of_the_scales() -> None:
    def thirds(scale: int) -> dict[str, list[int]]:
        sides = {v: consensus.third((v - 1) / (scale - 1)) for v in range(1, scale + 1)}
        return {
            side: [v for v, s in sides.items() if s == wanted]
            for side, wanted in (("in", "in"), ("out", "out"))
        }

    assert thirds(9) == {"in": [7, 8, 9], "out": [1, 2, 3]}
    assert thirds(5) == {"in": [4, 5], "out": [1, 2]}
    assert thirds(4) == {"in": [3, 4], "out": [1, 2]}
    assert thirds(7) == {"in": [5, 6, 7], "out": [1, 2, 3]}


def test_a_ranking_reads_places_in_thirds_with_the_unranked_at_the_bottom() -> None:
    # Six factors, the top two ranked: places 1 and 2 are the top third; the unranked share
    # places 3–6 (4.5 each), the bottom third.
    ballots = [{1: 1, 2: 2}] * 4
    results = tally.tally(Method.RANKING, RoundSettings(top_k=2), list(range(1, 7)), ballots)
    rows = {row["factor_id"]: row for row in results["factors"]}
    assert (rows[1]["high"], rows[1]["low"]) == (4, 0)
    assert (rows[6]["high"], rows[6]["low"]) == (0, 4)
    verdicts = tally.factor_verdicts(results, Rule())
    assert verdicts == {1: "in", 2: "in", 3: "out", 4: "out", 5: "out", 6: "out"}


def test_dots_are_never_divided_and_a_factor_with_few_ballots_holds_w_back() -> None:
    ballots = [{1: 2, 2: 1}, {1: 2, 2: 1}, {3: 3}, {3: 3}]
    results = tally.tally(Method.DOTS, RoundSettings(budget=3, cap=3), [1, 2, 3], ballots)
    assert not any(row["divided"] for row in results["factors"])
    few = tally.tally(Method.DOTS, RoundSettings(budget=3, cap=3), [1, 2], [{1: 2, 2: 1}] * 2)
    assert few["concordance"]["w"] == pytest.approx(1.0)
    verdict = tally.judge(few, Rule())
    assert not verdict.reached and set(verdict.too_few) == {1, 2}
    assert tally.judge(few, Rule(min_answers=2)).reached


def test_the_matrix_is_divided_when_either_axis_is() -> None:
    # Impact agreed (4), uncertainty in two camps (1 and 5).
    ballots = [{1: (4, 1)}] * 3 + [{1: (4, 5)}] * 3
    results = tally.tally(Method.MATRIX, RoundSettings(scale=5), [1], ballots)
    assert tally.factor_verdicts(results, Rule()) == {1: "divided"}


def test_a_stored_tally_without_the_new_figures_reads_as_too_few() -> None:
    legacy = {
        "method": "keep_remove",
        "ballots": 4,
        "factors": [{"factor_id": 1, "keep": 4, "remove": 0, "votes": 4, "agreement": 1.0}],
        "concordance": None,
    }
    assert tally.factor_verdicts(legacy, Rule()) == {1: "too_few"}


# --- Properties over random ballots ----------------------------------------------------------

ratings = st.lists(st.integers(0, 5), min_size=0, max_size=30)
rules = st.builds(
    Rule,
    agreement=st.floats(0.5, 1),
    preset=st.sampled_from(consensus.PRESETS),
    iqr=st.floats(0, 4),
    min_share=st.floats(0, 1),
    min_answers=st.integers(1, 10),
)


@given(ratings, st.integers(0, 10), rules)
def test_a_verdict_in_or_out_always_rests_on_enough_undivided_answers(
    answers: list[int], unanswered: int, rule: Rule
) -> None:
    ballots = [{1: a} for a in answers] + [{2: 3}] * unanswered
    results = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2], ballots)
    row = next(r for r in results["factors"] if r["factor_id"] == 1)
    verdict = tally.factor_verdicts(results, rule)[1]
    if verdict in consensus.AGREED:
        assert row["responses"] >= rule.min_share * len(ballots) - 1e-9
        assert row["opinions"] >= rule.min_answers
        smaller = min(row["high"], row["low"])
        assert smaller < row["opinions"] / 3
        # In means the top side outweighs the bottom; out, the reverse.
        assert (row["high"] > row["low"]) == (verdict == "in")
    if row["opinions"] < rule.min_answers:
        assert verdict == "too_few"


@given(st.lists(st.sampled_from(["keep", "remove"]), min_size=1, max_size=40))
def test_split_keep_remove_votes_are_divided_and_never_consensus(votes: list[str]) -> None:
    ballots = [{1: CHOICES[v]} for v in votes]
    results = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1], ballots)
    verdict = tally.factor_verdicts(results, Rule(min_answers=1, agreement=0.5))[1]
    keep, remove = votes.count("keep"), votes.count("remove")
    assert (verdict == "divided") == (3 * min(keep, remove) >= len(votes))


@given(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.integers(0, 5), rules)
def test_factor_verdict_is_one_of_five(
    high: int, low: int, middle: int, no_opinion: int, rule: Rule
) -> None:
    opinions = high + low + middle
    answers = Answers(
        responses=opinions + no_opinion,
        opinions=opinions,
        high=high,
        low=low,
        agreement=max(high, low) / opinions if opinions else None,
        lean=consensus.IN if high > low else consensus.OUT if low > high else None,
        divided=consensus.is_divided(high, low, opinions),
    )
    verdict = consensus.factor_verdict(answers, opinions + no_opinion, rule)
    assert verdict in {"in", "out", "none", "divided", "too_few"}


def test_a_factor_everyone_ranked_in_the_middle_is_judged_not_too_few() -> None:
    # Seven factors fully ranked the same way: factor 4 sits in the middle third for all.
    ballots = [{f: f for f in range(1, 8)}] * 4
    results = tally.tally(Method.RANKING, RoundSettings(top_k=7), list(range(1, 8)), ballots)
    row = next(r for r in results["factors"] if r["factor_id"] == 4)
    assert (row["opinions"], row["high"], row["low"]) == (4, 0, 0)
    assert tally.factor_verdicts(results, Rule())[4] == "none"


# A rating round's W against SciPy: complete ballots only, and "no opinion" never a 0.
complete_ratings = st.lists(
    st.lists(st.integers(1, 5), min_size=3, max_size=3).filter(lambda row: len(set(row)) > 1),
    min_size=2,
    max_size=12,
)


@given(complete_ratings, st.integers(0, 4))
def test_a_rating_rounds_w_is_friedmans_test_over_the_complete_ballots(
    table: list[list[int]], unsure: int
) -> None:
    ballots = [dict(enumerate(row, start=1)) for row in table]
    # Ballots with a "no opinion" or a gap are left out, whatever else they say.
    ballots += [{1: NO_OPINION, 2: 5, 3: 1}] * unsure + [{2: 4, 3: 2}] * unsure
    results = tally.tally(Method.RATING, RoundSettings(scale=5), [1, 2, 3], ballots)
    concordance = results["concordance"]
    assert concordance["raters"] == len(table)
    friedman = stats.friedmanchisquare(*zip(*table, strict=True))
    assert concordance["chi_square"] == pytest.approx(friedman.statistic, rel=1e-9, abs=1e-12)
    assert concordance["p_value"] == pytest.approx(friedman.pvalue, rel=1e-7, abs=1e-12)
