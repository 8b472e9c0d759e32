"""The combination of workshops (facilitation/core/combined.py): the worked example of
docs/consensus.md, and the invariants the method promises, property-based."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facilitation.core import combined
from facilitation.core.combined import ABSENT, KEPT, MERGED, REMOVED, Outcome, combine

DOC = (Path(__file__).resolve().parent.parent / "docs" / "consensus.md").read_text()


def test_the_worked_example_in_the_docs() -> None:
    block = re.search(r"```json combined-example\n(.*?)```", DOC, re.S)
    assert block, "docs/consensus.md lost its worked example"
    example = json.loads(block.group(1))
    workshops = {
        w: {f: Outcome(status, score) for f, (status, score) in outcomes.items()}
        for w, outcomes in example["workshops"].items()
    }
    picture = combine(example["factors"], workshops)
    expected = example["expected"]
    assert [c.key for c in picture.factors] == expected["order"]
    for c in picture.factors:
        assert c.priority == pytest.approx(expected["priority"][c.key], abs=1e-6), c.key
        assert c.rank == expected["rank"][c.key]
        assert c.agreement == expected["agreement"][c.key]
        for w, cell in c.cells.items():
            assert cell.priority == pytest.approx(expected["cells"][w][c.key], abs=1e-6)
    assert picture.concordance.w == pytest.approx(expected["kendall_w"], abs=1e-6)
    assert picture.similarity[("A", "B")] == pytest.approx(expected["spearman"], abs=1e-6)


def test_what_has_no_priority() -> None:
    picture = combine(
        ["a", "b", "c", "d"],
        {
            "W": {
                "a": Outcome(KEPT, 3),
                "b": Outcome(KEPT),  # kept, never prioritised
                "c": Outcome(MERGED),
            },
        },
    )
    by = {c.key: c for c in picture.factors}
    assert by["a"].priority == 1.0 and by["a"].rank == 1  # alone in the order
    assert by["b"].priority is None and by["b"].rank is None and by["b"].kept == 1
    assert by["c"].priority is None and by["c"].kept == 0
    assert by["d"].cells["W"].status == ABSENT and by["d"].agreement is None
    assert not by["d"].kept_overall and by["b"].kept_overall
    assert picture.concordance.w is None  # one workshop: nothing to compare
    with pytest.raises(ValueError):
        Outcome("gone")


def test_a_tie_with_the_last_is_among_the_last() -> None:
    """Many factors without dots share the mean of their places as priority, but they are
    in the bottom third: a group that put a factor first and one that gave it nothing
    differ."""
    factors = [f"f{i}" for i in range(9)]
    first = {f: Outcome(KEPT, 0) for f in factors} | {"f0": Outcome(KEPT, 5)}
    second = {f: Outcome(KEPT, 9 - i) for i, f in enumerate(factors)}
    picture = combine(factors, {"A": first, "B": second})
    f8 = next(c for c in picture.factors if c.key == "f8")
    assert f8.cells["A"].priority == pytest.approx(3.5 / 8)  # mean of places 2–9: 5.5
    assert f8.cells["A"].tier == combined.LOW and f8.cells["B"].tier == combined.LOW
    f1 = next(c for c in picture.factors if c.key == "f1")
    assert f1.cells["B"].tier == combined.HIGH and f1.agreement == combined.DIFFER


FACTORS = [f"f{i}" for i in range(6)]


@st.composite
def workshops(draw: st.DrawFn, min_size: int = 1) -> dict[str, dict[str, Outcome]]:
    """Up to five workshops, each with any outcome for any factor."""
    outcome = st.one_of(
        st.builds(Outcome, st.just(KEPT), st.integers(0, 20).map(float), st.booleans()),
        st.builds(Outcome, st.sampled_from([REMOVED, MERGED, ABSENT, KEPT])),
    )
    count = draw(st.integers(min_size, 5))
    return {f"w{i}": draw(st.dictionaries(st.sampled_from(FACTORS), outcome)) for i in range(count)}


@settings(max_examples=200, deadline=None)
@given(workshops())
def test_priorities_lie_between_0_and_1_and_span_each_order(
    drawn: dict[str, dict[str, Outcome]],
) -> None:
    picture = combine(FACTORS, drawn)
    for w in drawn:
        cells = [c.cells[w] for c in picture.factors]
        ordered = [c.priority for c in cells if c.place is not None]
        assert all(0 <= p <= 1 for c in cells if (p := c.priority) is not None)
        # An untied first has 1 and an untied last 0; ties share the mean of their places.
        if len(ordered) > 1 and ordered.count(max(ordered)) == 1:
            assert max(ordered) == 1
        if len(ordered) > 1 and ordered.count(min(ordered)) == 1:
            assert min(ordered) == 0
    for c in picture.factors:
        given_ = [p for cell in c.cells.values() if (p := cell.priority) is not None]
        if given_:
            assert min(given_) - 1e-12 <= c.priority <= max(given_) + 1e-12  # type: ignore[operator]
        assert (c.rank is None) == (c.priority is None)


@settings(max_examples=200, deadline=None)
@given(workshops(), st.randoms(use_true_random=False))
def test_the_order_of_the_workshops_does_not_matter(
    drawn: dict[str, dict[str, Outcome]], random: object
) -> None:
    keys = list(drawn)
    random.shuffle(keys)  # type: ignore[attr-defined]
    first = combined.as_dict(combine(FACTORS, drawn))["factors"]
    second = combined.as_dict(combine(FACTORS, {k: drawn[k] for k in keys}))["factors"]
    summary = lambda rows: {r["key"]: (r["priority"], r["rank"], r["agreement"]) for r in rows}  # noqa: E731
    assert summary(first) == summary(second)


@settings(max_examples=200, deadline=None)
@given(workshops(), st.sampled_from(["w0"]))
def test_only_each_workshops_order_counts(drawn: dict[str, dict[str, Outcome]], w: str) -> None:
    """Any strictly increasing change of one workshop's scores (squares of shifted scores,
    here) changes nothing: methods with different scales combine on one footing."""
    changed = {
        **drawn,
        w: {
            f: Outcome(o.status, None if o.score is None else (o.score + 1) ** 2 * 7, o.consensus)
            for f, o in drawn[w].items()
        },
    }
    before = combined.as_dict(combine(FACTORS, drawn))
    after = combined.as_dict(combine(FACTORS, changed))
    assert before == after


@settings(max_examples=200, deadline=None)
@given(workshops())
def test_every_workshop_weighs_the_same_so_copies_change_nothing(
    drawn: dict[str, dict[str, Outcome]],
) -> None:
    doubled = {**drawn, **{f"{w}-copy": o for w, o in drawn.items()}}
    once = {c.key: (c.priority, c.rank) for c in combine(FACTORS, drawn).factors}
    twice = {c.key: (c.priority, c.rank) for c in combine(FACTORS, doubled).factors}
    for key, (priority, rank) in once.items():
        assert rank == twice[key][1]
        assert priority == twice[key][0] or math.isclose(priority, twice[key][0])  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(workshops())
def test_a_factor_no_workshop_puts_lower_never_ranks_lower(
    drawn: dict[str, dict[str, Outcome]],
) -> None:
    picture = combine(FACTORS, drawn)
    for a in picture.factors:
        for b in picture.factors:
            if a.rank is None or b.rank is None:
                continue
            pa = {w: c.priority for w, c in a.cells.items() if c.priority is not None}
            pb = {w: c.priority for w, c in b.cells.items() if c.priority is not None}
            if pa.keys() == pb.keys() and all(pa[w] >= pb[w] for w in pa):
                assert a.rank <= b.rank, (a, b)


@settings(max_examples=100, deadline=None)
@given(st.permutations(FACTORS), st.integers(2, 5))
def test_groups_with_one_order_agree_completely(order: list[str], count: int) -> None:
    same = {f: Outcome(KEPT, float(len(order) - i)) for i, f in enumerate(order)}
    picture = combine(FACTORS, {f"w{i}": same for i in range(count)})
    assert picture.concordance.w == 1
    assert all(c.agreement == combined.AGREE for c in picture.factors)
    assert all(rho == 1 for rho in picture.similarity.values())
    assert [c.key for c in picture.factors] == order


def test_a_workshop_that_only_pruned_gives_no_priorities() -> None:
    """Issue #18, 19: with no revealed prioritisation round a workshop has no order, so a
    factor it removed is not "priority 0 – ranked first" but unranked, as the docs say."""
    picture = combine(
        ["x", "y"],
        {"W": {"x": Outcome(REMOVED), "y": Outcome(KEPT)}},
    )
    by = {c.key: c for c in picture.factors}
    assert by["x"].priority is None and by["x"].rank is None and by["x"].coverage == 0
    assert by["x"].cells["W"].status == REMOVED and by["x"].cells["W"].tier is None
    assert by["x"].removed == 1 and not by["x"].kept_overall
    assert by["y"].priority is None and by["y"].rank is None
    assert picture.concordance.w is None


def test_only_prioritising_workshops_are_raters() -> None:
    """Issue #18, 20: a third workshop still at keep/remove, having removed one factor, must
    not shrink Kendall's W of the two that prioritised to that one factor."""
    factors = [f"f{i}" for i in range(20)]
    a = {f: Outcome(KEPT, 20 - i) for i, f in enumerate(factors)}
    b = {f: Outcome(KEPT, (20 - i) if i % 4 else i) for i, f in enumerate(factors)}
    two = combine(factors, {"A": a, "B": b})
    three = combine(factors, {"A": a, "B": b, "C": {"f3": Outcome(REMOVED)}})
    assert two.concordance.w is not None and two.concordance.items == 20
    assert three.concordance.w == pytest.approx(two.concordance.w)
    assert three.concordance.items == 20
    assert [c.priority for c in three.factors] == [c.priority for c in two.factors]
