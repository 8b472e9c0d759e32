"""Stakeholder groups in the pure core: which groups' figures may be shown, each group's own
tally, and the rule "consensus in every group"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facilitation.core import consensus, tally
from facilitation.core.ballots import KEEP, REMOVE, RoundSettings
from facilitation.core.consensus import DIVIDED, IN, NONE, OUT, TOO_FEW, Rule
from facilitation.core.domain import Method


@pytest.mark.parametrize(
    ("overall", "groups", "expected"),
    [
        (IN, [IN, IN], IN),
        (OUT, [OUT], OUT),
        (IN, [], IN),  # nobody said which group they are in
        (IN, [IN, NONE], NONE),
        (IN, [IN, OUT], NONE),
        (IN, [IN, DIVIDED], DIVIDED),
        (IN, [DIVIDED, TOO_FEW], TOO_FEW),
        (NONE, [IN, IN], NONE),  # the room's own verdict comes first
        (DIVIDED, [IN], DIVIDED),
        (TOO_FEW, [IN], TOO_FEW),
    ],
)
def test_in_every_group(overall: str, groups: list[str], expected: str) -> None:
    assert consensus.in_every_group(overall, groups) == expected


@pytest.mark.parametrize(
    ("sizes", "total", "shown"),
    [
        ({"a": 5, "b": 4}, 9, {"a", "b"}),
        ({"a": 5, "b": 2}, 7, set()),  # the room less a would be b's two answers
        ({"a": 5, "b": 2}, 10, {"a"}),  # b is held back; the rest is five people
        ({"a": 5, "b": 4}, 10, {"a"}),  # one person without a group: b goes too
        ({"a": 5, "b": 4, "c": 1}, 10, {"a"}),  # the rest would be c's one answer
        ({"a": 5, "b": 4, "c": 3}, 12, {"a", "b", "c"}),
        ({"a": 3, "b": 3}, 8, {"b"}),  # of two as small, the first by name goes
        ({"a": 4}, 5, set()),  # a alone would leave one person
        ({"a": 4}, 7, {"a"}),
        ({}, 4, set()),
    ],
)
def test_shown_groups_never_leave_one_or_two_people_to_subtraction(
    sizes: dict[str, int], total: int, shown: set[str]
) -> None:
    assert consensus.shown_groups(sizes, total) == shown


@given(st.lists(st.integers(min_value=0, max_value=12), max_size=6), st.integers(0, 12))
def test_shown_groups_leave_no_group_and_no_rest_below_three(
    sizes_: list[int], unassigned: int
) -> None:
    sizes = dict(enumerate(sizes_))
    total = sum(sizes_) + unassigned
    shown = consensus.shown_groups(sizes, total)
    assert all(sizes[g] >= consensus.GROUP_MIN for g in shown)
    rest = total - sum(sizes[g] for g in shown)
    assert shown == set() or rest == 0 or rest >= consensus.GROUP_MIN


KEEP_ALL = {1: KEEP, 2: KEEP}


def _room() -> tuple[list[dict[int, int]], dict[int, list[dict[int, int]]]]:
    """Companies (group 1) keep both factors; partners (group 2) keep 1 and split on 2."""
    companies = [KEEP_ALL] * 4
    partners = [KEEP_ALL, KEEP_ALL, {1: KEEP, 2: REMOVE}, {1: KEEP, 2: REMOVE}]
    return companies + partners, {1: companies, 2: partners}


def test_each_group_gets_its_own_rows() -> None:
    ballots, groups = _room()
    result = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1, 2], ballots, groups=groups)
    assert result["ballots"] == 8
    by_group = {g["group_id"]: g for g in result["groups"]}
    assert by_group[1]["ballots"] == 4 and not by_group[1]["withheld"]
    assert [r["keep"] for r in by_group[2]["factors"]] == [4, 2]
    # The room: 6 of 8 keep factor 2, which meets 75 %.
    assert tally.factor_verdicts(result, Rule()) == {1: IN, 2: IN}
    judged = tally.judge(result, Rule())
    assert judged.reached and judged.groups_behind == ()


def test_in_every_group_holds_the_room_back_where_a_group_disagrees() -> None:
    ballots, groups = _room()
    result = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1, 2], ballots, groups=groups)
    rule = Rule(every_group=True)
    assert tally.group_verdicts(result, rule) == {1: {1: IN, 2: IN}, 2: {1: IN, 2: DIVIDED}}
    assert tally.factor_verdicts(result, rule) == {1: IN, 2: DIVIDED}
    judged = tally.judge(result, rule)
    assert not judged.reached and judged.groups_behind == (2,)
    assert judged.divided == (2,)


def test_a_group_too_small_to_show_is_withheld_and_has_too_few_answers() -> None:
    big, small, without_group = [KEEP_ALL] * 5, [KEEP_ALL] * 2, [KEEP_ALL] * 3
    result = tally.tally(
        Method.KEEP_REMOVE,
        RoundSettings(),
        [1, 2],
        big + small + without_group,
        groups={1: big, 2: small},
    )
    withheld = result["groups"][1]
    assert withheld == {"group_id": 2, "withheld": True}  # no figure of any kind
    assert tally.judge(result, Rule()).reached
    strict = tally.judge(result, Rule(every_group=True))
    assert not strict.reached and strict.groups_behind == (2,)
    assert tally.factor_verdicts(result, Rule(every_group=True)) == {1: TOO_FEW, 2: TOO_FEW}


def test_in_every_group_asks_every_group_for_its_concordance() -> None:
    agreeing = [{1: 1, 2: 2, 3: 3}] * 3
    reversed_ = [{1: 3, 2: 2, 3: 1}] * 3
    result = tally.tally(
        Method.RANKING,
        RoundSettings(top_k=3),
        [1, 2, 3],
        agreeing * 3 + reversed_,
        groups={1: agreeing * 3, 2: reversed_},
    )
    # Nine of twelve agree: W over the room is 0.25 ... and each group alone agrees fully.
    groups = tally.judge_groups(result, Rule(kendall_w=0.2))
    assert all(judged is not None and judged.reached for judged in groups.values())
    assert tally.judge(result, Rule(kendall_w=0.2, every_group=True)).reached
    assert not tally.judge(result, Rule(kendall_w=0.3, every_group=True)).reached


def test_a_tally_stored_before_groups_reads_as_one_without_them() -> None:
    result = tally.tally(Method.KEEP_REMOVE, RoundSettings(), [1], [{1: KEEP}] * 4)
    del result["groups"]
    assert tally.judge(result, Rule(every_group=True)).reached
    assert tally.group_verdicts(result, Rule()) == {}


def test_a_groups_change_is_against_its_own_previous_figures() -> None:
    first_a, first_b = [{1: KEEP}] * 4, [{1: REMOVE}] * 4
    first = tally.tally(
        Method.KEEP_REMOVE, RoundSettings(), [1], first_a + first_b, groups={1: first_a, 2: first_b}
    )
    # Group 2 comes round to keep; group 1 stays where it was.
    again = tally.tally(
        Method.KEEP_REMOVE,
        RoundSettings(),
        [1],
        first_a + first_a,
        first,
        groups={1: first_a, 2: first_a},
    )
    changes = {g["group_id"]: g["factors"][0]["change"] for g in again["groups"]}
    assert changes == {1: 0.0, 2: 1.0}
    assert again["factors"][0]["change"] == 0.5
    # A group held back before has nothing to compare with.
    small = [{1: KEEP}] * 2
    held = tally.tally(
        Method.KEEP_REMOVE,
        RoundSettings(),
        [1],
        first_a + small + first_a,  # four more without a group
        groups={1: first_a, 3: small},
    )
    later = tally.tally(
        Method.KEEP_REMOVE,
        RoundSettings(),
        [1],
        first_a + first_a,
        held,
        groups={1: first_a, 3: first_a},
    )
    assert {g["group_id"]: g["factors"][0]["change"] for g in later["groups"]} == {1: 0.0, 3: None}
