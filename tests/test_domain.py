"""The pure core: rules and aggregates, tested directly (property-based where rules have
invariants)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilitation import domain
from facilitation.domain import (
    KEEP,
    REMOVE,
    DomainError,
    FactorStatus,
    Method,
    RoundSettings,
    RoundState,
    SeedFactor,
    Step,
)


def error_code(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value.code


# --- Text -----------------------------------------------------------------------------------


def test_clean_text_normalises_whitespace_and_drops_control_characters() -> None:
    assert domain.clean_title("  Klimat\u0000 \t omställning \n ") == "Klimat omställning"
    assert domain.clean_text("a\n\n\n\n  b ", field="d", max_length=10) == "a\n\nb"
    # Decomposed å (a + combining ring) is stored composed, so equal titles compare equal.
    assert domain.clean_title("a\u030a") == "å"


def test_clean_text_refuses_empty_and_too_long() -> None:
    assert error_code(domain.clean_title, "   ") == "required"
    assert error_code(domain.clean_title, "x" * 201) == "too_long"
    assert domain.clean_text("", field="description", max_length=5, required=False) == ""


def test_join_codes_use_the_unambiguous_alphabet() -> None:
    codes = {domain.new_join_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(len(c) == 6 and set(c) <= set(domain.CODE_ALPHABET) for c in codes)
    assert not set("01IOL") & set(domain.CODE_ALPHABET)
    assert domain.normalise_code(" abc-d ef ") == "ABCDEF"


# --- Categories and seeds -------------------------------------------------------------------


def test_seed_lines_take_a_category_prefix_only_when_it_is_a_category() -> None:
    seeds = domain.parse_seed_lines(
        "Sociala: Urbanisering\n\n- EU: nya regler\n"
        "• Politiska:   Regionalisering\nsociala: Åldrande",
        ["Sociala", "Politiska"],
    )
    assert seeds == [
        SeedFactor("Urbanisering", "Sociala"),
        SeedFactor("EU: nya regler", None),
        SeedFactor("Regionalisering", "Politiska"),
        SeedFactor("Åldrande", "sociala"),
    ]


def test_plan_categories_defaults_to_pestel_in_the_workshop_language() -> None:
    names, placement = domain.plan_categories("sv", None, [])
    assert names == list(domain.CATEGORY_SETS["pestel"]["sv"])
    assert placement == []


def test_plan_categories_finds_names_across_languages_and_adds_the_rest() -> None:
    seeds = [
        SeedFactor("Urbanisering", "Social"),  # English name of "Sociala"
        SeedFactor("Åldrande", "sociala"),
        SeedFactor("Elektrifiering"),  # no category: "Övrigt"
        SeedFactor("Turism", "Besöksnäring"),  # unknown: added
        SeedFactor("Laddinfra", "Övrigt"),
    ]
    names, placement = domain.plan_categories("sv", None, seeds)
    assert names[-2:] == ["Övrigt", "Besöksnäring"]
    assert [names[i] for i in placement] == [
        "Sociala",
        "Sociala",
        "Övrigt",
        "Besöksnäring",
        "Övrigt",
    ]


def test_plan_categories_checks_explicit_names() -> None:
    assert error_code(domain.plan_categories, "en", ["A", "a"], []) == "duplicate_category"
    assert error_code(domain.plan_categories, "en", [], []) == "no_categories"
    assert error_code(domain.plan_categories, "en", [str(i) for i in range(13)], []) == (
        "too_many_categories"
    )
    seeds = [SeedFactor(f"f{i}") for i in range(domain.FACTORS_MAX + 1)]
    assert error_code(domain.plan_categories, "en", None, seeds) == "too_many_factors"


# --- Steps and moderation -------------------------------------------------------------------


@given(st.sampled_from(domain.STEPS), st.sampled_from(domain.STEPS))
def test_any_step_may_follow_any_other_once_no_round_is_open(a: Step, b: Step) -> None:
    if a is b:
        assert error_code(domain.check_step_change, a, b, round_open=False) == "same_step"
    else:
        domain.check_step_change(a, b, round_open=False)
        assert error_code(domain.check_step_change, a, b, round_open=True) == "round_open"


def test_proposals_only_while_completing() -> None:
    domain.check_can_propose(Step.COMPLETE)
    for step in set(domain.STEPS) - {Step.COMPLETE}:
        assert error_code(domain.check_can_propose, step) == "proposals_closed"
    assert error_code(domain.check_proposal_quota, 3, 3) == "proposal_quota"
    assert domain.proposal_status(True) is FactorStatus.PROPOSED
    assert domain.proposal_status(False) is FactorStatus.ACTIVE


@pytest.mark.parametrize(
    ("status", "action", "result"),
    [
        (FactorStatus.PROPOSED, "approve", FactorStatus.ACTIVE),
        (FactorStatus.ACTIVE, "hide", FactorStatus.HIDDEN),
        (FactorStatus.HIDDEN, "remove", FactorStatus.REMOVED),
        (FactorStatus.REMOVED, "restore", FactorStatus.ACTIVE),
        (FactorStatus.HIDDEN, "restore", FactorStatus.ACTIVE),
    ],
)
def test_moderation_moves(status: FactorStatus, action: str, result: FactorStatus) -> None:
    assert domain.moderate(status, action) is result


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (FactorStatus.ACTIVE, "approve"),
        (FactorStatus.ACTIVE, "restore"),
        (FactorStatus.REMOVED, "remove"),
        (FactorStatus.REMOVED, "hide"),
    ],
)
def test_moderation_refuses_what_does_not_apply(status: FactorStatus, action: str) -> None:
    assert error_code(domain.moderate, status, action) == "wrong_status"


# --- Rounds ---------------------------------------------------------------------------------


def test_rounds_open_in_their_step_one_at_a_time_with_factors() -> None:
    domain.check_can_open_round(Step.PRUNE, Method.KEEP_REMOVE, round_open=False, active_factors=1)
    domain.check_can_open_round(Step.PRIORITISE, Method.DOTS, round_open=False, active_factors=1)
    assert (
        error_code(
            domain.check_can_open_round,
            Step.PRUNE,
            Method.DOTS,
            round_open=False,
            active_factors=3,
        )
        == "wrong_step"
    )
    assert (
        error_code(
            domain.check_can_open_round,
            Step.PRUNE,
            Method.KEEP_REMOVE,
            round_open=True,
            active_factors=3,
        )
        == "round_open"
    )
    assert (
        error_code(
            domain.check_can_open_round,
            Step.PRIORITISE,
            Method.DOTS,
            round_open=False,
            active_factors=0,
        )
        == "no_factors"
    )


def test_rounds_go_open_closed_revealed_and_never_back() -> None:
    domain.check_round_transition(RoundState.OPEN, RoundState.CLOSED)
    domain.check_round_transition(RoundState.CLOSED, RoundState.REVEALED)
    check = domain.check_round_transition
    assert error_code(check, RoundState.OPEN, RoundState.REVEALED) == "round_not_closed"
    assert error_code(check, RoundState.CLOSED, RoundState.CLOSED) == "round_not_open"
    assert error_code(check, RoundState.REVEALED, RoundState.CLOSED) == "round_not_open"
    assert error_code(check, RoundState.REVEALED, RoundState.REVEALED) == "round_revealed"


@given(st.integers(min_value=0, max_value=200))
def test_default_budget_is_a_third_of_the_factors_within_3_to_10(n: int) -> None:
    assert 3 <= domain.default_dot_budget(n) <= 10


def test_round_settings_check_budget_and_cap() -> None:
    assert domain.round_settings(Method.DOTS, active_factors=12) == RoundSettings(4, 4)
    assert domain.round_settings(Method.DOTS, active_factors=12, budget=5, cap=2) == (
        RoundSettings(5, 2)
    )
    assert domain.round_settings(Method.KEEP_REMOVE, active_factors=5, budget=5) == (
        RoundSettings()
    )
    settings = domain.round_settings
    assert error_code(settings, Method.DOTS, active_factors=5, budget=0) == "bad_budget"
    assert error_code(settings, Method.DOTS, active_factors=5, budget=101) == "bad_budget"
    assert error_code(settings, Method.DOTS, active_factors=5, budget=5, cap=6) == "bad_cap"
    assert error_code(settings, Method.DOTS, active_factors=5, budget=5, cap=0) == "bad_cap"


def test_the_room_sees_the_open_round_else_the_latest_of_the_step() -> None:
    kr, dots = Method.KEEP_REMOVE, Method.DOTS
    rounds = [(kr, RoundState.REVEALED), (dots, RoundState.CLOSED), (kr, RoundState.REVEALED)]
    assert domain.round_to_show(Step.PRUNE, rounds) == 2
    assert domain.round_to_show(Step.PRIORITISE, rounds) == 1
    assert domain.round_to_show(Step.RESULTS, rounds) == 1
    assert domain.round_to_show(Step.COMPLETE, rounds) is None
    assert domain.round_to_show(Step.RESULTS, rounds[:1]) == 0
    assert domain.round_to_show(Step.PRUNE, [*rounds, (kr, RoundState.OPEN)]) == 3


# --- Ballots --------------------------------------------------------------------------------

DOTS_5_2 = RoundSettings(budget=5, cap=2)
VOTABLE = {1, 2, 3, 4}


def check_dots(entries: dict[int, int], state: RoundState = RoundState.OPEN) -> dict[int, int]:
    return domain.check_ballot(Method.DOTS, DOTS_5_2, entries, VOTABLE, state=state)


@given(st.dictionaries(st.sampled_from(sorted(VOTABLE)), st.integers(-2, 7)))
def test_an_accepted_dot_ballot_respects_budget_and_cap(entries: dict[int, int]) -> None:
    within = all(0 <= v <= 2 for v in entries.values()) and sum(entries.values()) <= 5
    if within:
        stored = check_dots(entries)
        assert stored == {f: v for f, v in entries.items() if v}
        assert sum(stored.values()) <= 5
        assert all(1 <= v <= 2 for v in stored.values())
    else:
        assert error_code(check_dots, entries) in {"bad_dots", "over_cap", "over_budget"}


def test_dot_ballot_errors_name_the_rule() -> None:
    assert error_code(check_dots, {1: 3}) == "over_cap"
    assert error_code(check_dots, {1: 2, 2: 2, 3: 2}) == "over_budget"
    assert error_code(check_dots, {1: -1}) == "bad_dots"
    assert error_code(check_dots, {9: 1}) == "not_votable"
    assert error_code(check_dots, {1: 1}, RoundState.CLOSED) == "round_closed"
    assert check_dots({}) == {}


def test_keep_remove_ballots_take_only_keep_or_remove() -> None:
    settings = RoundSettings()
    check = domain.check_ballot
    stored = check(
        Method.KEEP_REMOVE, settings, {1: KEEP, 2: REMOVE}, VOTABLE, state=RoundState.OPEN
    )
    assert stored == {1: KEEP, 2: REMOVE}
    assert (
        error_code(check, Method.KEEP_REMOVE, settings, {1: 2}, VOTABLE, state=RoundState.OPEN)
        == "bad_choice"
    )


# --- Aggregates -----------------------------------------------------------------------------


@given(st.integers(0, 500), st.integers(0, 500))
def test_agreement_is_the_majority_share(keep: int, remove: int) -> None:
    result = domain.KeepRemoveResult(1, keep, remove)
    if keep + remove == 0:
        assert result.agreement is None and result.majority is None
    else:
        assert result.agreement is not None
        assert 0.5 <= result.agreement <= 1
        assert result.agreement == max(keep, remove) / (keep + remove)
        assert result.majority == (
            "tie" if keep == remove else "keep" if keep > remove else "remove"
        )


def test_keep_remove_results_count_from_the_histogram() -> None:
    histogram = {1: {KEEP: 9, REMOVE: 3}, 2: {REMOVE: 4}}
    rows = [r.as_dict() for r in domain.keep_remove_results(histogram, [1, 2, 3])]
    assert rows == [
        {"factor_id": 1, "keep": 9, "remove": 3, "majority": "keep", "agreement": 0.75},
        {"factor_id": 2, "keep": 0, "remove": 4, "majority": "remove", "agreement": 1.0},
        {"factor_id": 3, "keep": 0, "remove": 0, "majority": None, "agreement": None},
    ]


def test_competition_ranking() -> None:
    assert domain.competition_ranks({1: 10, 2: 7, 3: 7, 4: 3}) == {1: 1, 2: 2, 3: 2, 4: 4}
    assert domain.competition_ranks({}) == {}


def test_dot_results_total_and_rank() -> None:
    # Factor 1: two voters gave 2, one gave 1 → 5 dots from 3 voters.
    histogram = {1: {2: 2, 1: 1}, 2: {3: 1}, 3: {1: 5}}
    rows = domain.dots_results(histogram, [1, 2, 3, 4])
    assert [(r.factor_id, r.dots, r.voters, r.rank) for r in rows] == [
        (1, 5, 3, 1),
        (3, 5, 5, 1),
        (2, 3, 1, 3),
        (4, 0, 0, 4),
    ]


@given(
    st.dictionaries(
        st.integers(1, 30), st.dictionaries(st.integers(1, 5), st.integers(1, 50)), max_size=10
    )
)
def test_dot_totals_add_up_to_the_dots_cast(histogram: dict[int, dict[int, int]]) -> None:
    rows = domain.dots_results(histogram, list(histogram))
    assert sum(r.dots for r in rows) == sum(v * n for h in histogram.values() for v, n in h.items())
    ranks = [r.rank for r in rows]
    assert ranks == sorted(ranks)
