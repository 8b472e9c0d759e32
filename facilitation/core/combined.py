"""The combined picture of a series: each workshop's result for every library factor, put on
one scale, and what the workshops say together (docs/consensus.md, "Across workshops").

Layer: pure core. Imports only the standard library and the core's maths (consensus.py for
ranks, medians, Kendall's W and Spearman; tally.py for the competition ranking). Plain data
in, plain data out; the services gather each workshop's outcome, the exports and pages show
the result.

The method, in short: within a workshop, a factor's **priority** is its place in the group's
order of the factors it kept and prioritised, scaled from 1 (first) to 0 (last); a factor
the group removed counts 0. Across workshops, a factor's priority is the mean of the
priorities it got, every workshop weighing the same, whatever its size: a room of eighty
companies does not outvote eight regional partners.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

from facilitation.core import consensus
from facilitation.core.consensus import Concordance
from facilitation.core.tally import competition_ranks

# What became of a library factor in one workshop.
KEPT = "kept"  # on the board at the end (prioritised, or not)
REMOVED = "removed"  # the group voted it out
MERGED = "merged"  # merged into another factor: its votes went there
ABSENT = "absent"  # the workshop did not have it (it joined the library later)
HIDDEN = "hidden"  # not on the board, but not decided either (hidden, awaiting approval)
STATUSES = (KEPT, REMOVED, MERGED, ABSENT, HIDDEN)

# Thirds of a workshop's order.
HIGH, MEDIUM, LOW = "high", "medium", "low"
# Removed counts as the bottom third: a group that removed a factor and one that put it
# last agree about it.
_TIER_ORDER = {REMOVED: 1, LOW: 1, MEDIUM: 2, HIGH: 3}

# How the workshops' priorities for a factor compare.
AGREE, PARTLY, DIFFER = "agree", "partly", "differ"


@dataclass(frozen=True)
class Outcome:
    """One library factor in one workshop, as the workshop left it: its status, the group's
    score in the workshop's latest revealed prioritisation round (any method's score: only
    the order matters; None when the factor was not in that round), and whether that round
    reached consensus on it (None when unknown)."""

    status: str
    score: float | None = None
    consensus: bool | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


@dataclass(frozen=True)
class Placed:
    """A factor in one workshop, on the common scale: `priority` 1 (first) to 0 (last or
    removed), None when the workshop did not prioritise it; `tier` the third of the order it
    fell in (or "removed"); `place` its (fractional) place among the prioritised factors."""

    status: str
    priority: float | None
    tier: str | None
    place: float | None
    of: int
    consensus: bool | None


@dataclass(frozen=True)
class CombinedFactor:
    """A library factor across the workshops."""

    key: Hashable
    cells: dict[Hashable, Placed]
    priority: float | None  # the mean of the workshops' priorities
    rank: int | None  # by priority, 1 = highest; ties share a rank
    coverage: int  # how many workshops gave it a priority
    spread: float | None  # highest minus lowest priority, when two or more did
    agreement: str | None  # agree, partly, differ (two or more workshops), else None
    kept: int  # workshops that kept it
    removed: int  # workshops that removed it

    @property
    def kept_overall(self) -> bool:
        """Kept by at least as many workshops as removed it, and decided by at least one:
        what the final list starts from (the organizer decides)."""
        return self.kept > 0 and self.kept >= self.removed


@dataclass(frozen=True)
class Picture:
    """The combined picture: factors in order of priority (then in the library's order), the
    concordance of the workshops' orders over the factors they all prioritised, and how
    alike each pair of workshops ordered the factors they share (Spearman's rho)."""

    factors: list[CombinedFactor]
    concordance: Concordance
    similarity: dict[tuple[Hashable, Hashable], float | None] = field(default_factory=dict)


def tier(priority: float) -> str:
    """The third of a workshop's order a priority falls in: the top third is high."""
    if priority >= 2 / 3:
        return HIGH
    if priority <= 1 / 3:
        return LOW
    return MEDIUM


def place_workshop(outcomes: Mapping[Hashable, Outcome]) -> dict[Hashable, Placed]:
    """One workshop's outcomes on the common scale. The kept factors with a score are put in
    the group's order (ties share their fractional place); with n of them, place r gives
    the priority (n − r) / (n − 1), so the first has 1 and the last 0 (a single one has 1).
    A removed factor has priority 0 when the workshop has an order at all: one that has not
    prioritised yet (it only pruned) gives no priorities, and so no ranks. The tier is the
    third of the order the factor's place falls in, a tie counting at its lowest place."""
    scores = {
        key: o.score for key, o in outcomes.items() if o.status == KEPT and o.score is not None
    }
    places = consensus.fractional_ranks(scores) if scores else {}
    n = len(places)
    placed: dict[Hashable, Placed] = {}
    for key, o in outcomes.items():
        if key in places:
            priority = (n - places[key]) / (n - 1) if n > 1 else 1.0
            # The tier goes by the tie's lowest place: a factor tied with the last (say,
            # one of many that got no dots) is among the last.
            lowest = sum(1 for s in scores.values() if s >= scores[key])
            third = tier((n - lowest) / (n - 1) if n > 1 else 1.0)
            placed[key] = Placed(o.status, priority, third, places[key], n, o.consensus)
        elif o.status == REMOVED and places:
            placed[key] = Placed(o.status, 0.0, REMOVED, None, n, o.consensus)
        else:
            placed[key] = Placed(o.status, None, None, None, n, o.consensus)
    return placed


def _agreement(tiers: Sequence[str]) -> str | None:
    """Agree when every workshop put the factor in the same third (removed counting as the
    bottom one); differ when one put it in its top third and another in its bottom third or
    out; partly otherwise. None with fewer than two workshops."""
    if len(tiers) < 2:
        return None
    levels = [_TIER_ORDER[t] for t in tiers]
    if len(set(levels)) == 1:
        return AGREE
    if max(levels) == _TIER_ORDER[HIGH] and min(levels) <= _TIER_ORDER[LOW]:
        return DIFFER
    return PARTLY


def combine(factors: Sequence[Any], workshops: Mapping[Any, Mapping[Any, Outcome]]) -> Picture:
    """The combined picture of `factors` (the library's, in its order) over `workshops`
    (each a mapping from factor to its outcome there; a factor a workshop does not mention
    is absent from it)."""
    placed = {
        w: place_workshop({f: outcomes.get(f, Outcome(ABSENT)) for f in factors})
        for w, outcomes in workshops.items()
    }
    unranked = []
    for f in factors:
        cells = {w: placed[w][f] for w in workshops}
        given = [c for c in cells.values() if c.priority is not None]
        priorities = [c.priority for c in given if c.priority is not None]
        unranked.append(
            CombinedFactor(
                key=f,
                cells=cells,
                priority=fmean(priorities) if priorities else None,
                rank=None,
                coverage=len(priorities),
                spread=max(priorities) - min(priorities) if len(priorities) > 1 else None,
                agreement=_agreement([c.tier for c in given if c.tier is not None]),
                kept=sum(1 for c in cells.values() if c.status == KEPT),
                removed=sum(1 for c in cells.values() if c.status == REMOVED),
            )
        )
    ranks = competition_ranks(
        {i: c.priority for i, c in enumerate(unranked) if c.priority is not None}
    )
    combined = sorted(
        (replace(c, rank=ranks.get(i)) for i, c in enumerate(unranked)),
        key=lambda c: (c.rank is None, c.rank or 0),
    )
    return Picture(combined, _concordance(factors, placed), _similarity(placed))


def _priorities(placed: Mapping[Hashable, Placed]) -> dict[Hashable, float]:
    return {f: c.priority for f, c in placed.items() if c.priority is not None}


def _concordance(
    factors: Sequence[Hashable], placed: Mapping[Hashable, Mapping[Hashable, Placed]]
) -> Concordance:
    """Kendall's W of the workshops' orders, over the factors every prioritising workshop
    gave a priority (removed ones tie at the bottom); a workshop without priorities is left
    out."""
    orders = [p for p in (_priorities(w) for w in placed.values()) if p]
    common = [f for f in factors if orders and all(f in o for o in orders)]
    rankings = [consensus.fractional_ranks({f: o[f] for f in common}) for o in orders]
    return consensus.kendall_w(rankings, common)


def _similarity(
    placed: Mapping[Hashable, Mapping[Hashable, Placed]],
) -> dict[tuple[Hashable, Hashable], float | None]:
    keys = list(placed)
    return {
        (a, b): consensus.spearman(_priorities(placed[a]), _priorities(placed[b]))
        for i, a in enumerate(keys)
        for b in keys[i + 1 :]
    }


def as_dict(picture: Picture) -> dict[str, Any]:
    """The picture as plain data for JSON (keys as they were given)."""
    return {
        "factors": [
            {
                "key": c.key,
                "priority": c.priority,
                "rank": c.rank,
                "coverage": c.coverage,
                "spread": c.spread,
                "agreement": c.agreement,
                "kept": c.kept,
                "removed": c.removed,
                "kept_overall": c.kept_overall,
                "cells": {
                    w: {
                        "status": p.status,
                        "priority": p.priority,
                        "tier": p.tier,
                        "place": p.place,
                        "of": p.of,
                        "consensus": p.consensus,
                    }
                    for w, p in c.cells.items()
                },
            }
            for c in picture.factors
        ],
        "concordance": picture.concordance.as_dict(),
        "similarity": [{"a": a, "b": b, "rho": rho} for (a, b), rho in picture.similarity.items()],
    }
