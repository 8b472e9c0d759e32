"""The pure core's workshop rules: text, categories, steps and moderation."""

from __future__ import annotations

import pytest
from conftest import error_code
from hypothesis import given
from hypothesis import strategies as st

from facilitation.core import domain
from facilitation.core.domain import FactorStatus, SeedFactor, Step

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


def test_participants_proposals_leave_the_facilitator_room() -> None:
    """Proposals stop at their share of the workshop, well below its limit: the facilitator
    keeps FACILITATOR_RESERVE places, and proposals waiting for approval are bounded."""
    assert domain.PROPOSALS_MAX <= domain.FACTORS_MAX - 2 * domain.FACILITATOR_RESERVE
    room = {"factors": 0, "proposals": 0, "pending": 0}
    domain.check_proposal_room(**room)
    last = domain.FACTORS_MAX - domain.FACILITATOR_RESERVE - 1
    domain.check_proposal_room(**{**room, "factors": last})
    full = {"factors": last + 1, "proposals": domain.PROPOSALS_MAX - 1}
    assert error_code(domain.check_proposal_room, **{**room, **full}) == "proposals_full"
    many = {"factors": domain.PROPOSALS_MAX, "proposals": domain.PROPOSALS_MAX}
    assert error_code(domain.check_proposal_room, **{**room, **many}) == "proposals_full"
    waiting = {"factors": 60, "proposals": 55, "pending": domain.PENDING_MAX}
    assert error_code(domain.check_proposal_room, **waiting) == "proposals_waiting"
    domain.check_proposal_room(**{**waiting, "pending": domain.PENDING_MAX - 1})


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


def test_a_duplicate_merges_into_a_factor_on_the_board() -> None:
    domain.check_merge(FactorStatus.PROPOSED, FactorStatus.ACTIVE, same=False)
    domain.check_merge(FactorStatus.HIDDEN, FactorStatus.ACTIVE, same=False)
    check = domain.check_merge
    assert error_code(check, FactorStatus.ACTIVE, FactorStatus.ACTIVE, same=True) == "merge_self"
    assert error_code(check, FactorStatus.ACTIVE, FactorStatus.REMOVED, same=False) == (
        "merge_target"
    )
    assert error_code(check, FactorStatus.MERGED, FactorStatus.ACTIVE, same=False) == (
        "wrong_status"
    )
