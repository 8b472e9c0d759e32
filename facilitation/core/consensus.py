"""Consensus maths: how much a group agrees, how steady its order is, and whether its rule is met.

Layer: pure core. Imports only the standard library — no Flask, Socket.IO, SQLAlchemy, NumPy
or SciPy — so every measure is tested directly (against NumPy and SciPy as independent
references). docs/consensus.md explains each measure, its sources and its degenerate cases.
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)

# Decimal steps such as 0.1 have no exact binary form, so 2.2 − 1.2 comes out a hair above 1.
# Distances this close to the tolerance count as within it.
_WITHIN_SLACK = 1e-9


def _refuse_nan(values: Iterable[float]) -> None:
    """Raise ValueError for NaN, which has no place in an order."""
    if any(math.isnan(v) for v in values):
        raise ValueError("NaN cannot be ordered")


def _ordered(values: Sequence[float]) -> list[float]:
    """The values in ascending order."""
    _refuse_nan(values)
    return sorted(values)


# --- Scales ----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None for none."""
    ordered = _ordered(values)
    return float(statistics.median(ordered)) if ordered else None


def _lerp(low: float, high: float, t: float) -> float:
    """The point a share `t` of the way from `low` to `high`."""
    # Measured from the nearer end, as NumPy does, so that t = 0 and t = 1 give the ends exactly.
    return low + (high - low) * t if t < 0.5 else high - (high - low) * (1 - t)


def _quantile(ordered: Sequence[float], p: float) -> float:
    """Hyndman & Fan type 7 quantile of sorted, non-empty values."""
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return _lerp(ordered[low], ordered[high], h - low)


def quartiles(values: Sequence[float]) -> tuple[float, float] | None:
    """Q1 and Q3, interpolated between order statistics (NumPy's default); None for none."""
    ordered = _ordered(values)
    if not ordered:
        return None
    return float(_quantile(ordered, 0.25)), float(_quantile(ordered, 0.75))


def iqr(values: Sequence[float]) -> float | None:
    """The interquartile range Q3 − Q1: how spread the middle half is; None for none."""
    q = quartiles(values)
    return None if q is None else q[1] - q[0]


def agreement_within(values: Sequence[float], tolerance: float = 1) -> float | None:
    """Share of values within ±tolerance (inclusive) of the median; None for none."""
    if not tolerance >= 0:  # also refuses NaN
        raise ValueError("the tolerance must be a number, at least 0")
    centre = median(values)
    if centre is None:
        return None
    within = sum(1 for v in values if abs(v - centre) <= tolerance + _WITHIN_SLACK)
    return within / len(values)


# --- Ranks -----------------------------------------------------------------------------------


def fractional_ranks(scores: Mapping[K, float], *, descending: bool = True) -> dict[K, float]:
    """Rank per key, 1 for the highest score (lowest if not descending); ties share the
    average of the positions they span: 10, 7, 7, 3 → 1, 2.5, 2.5, 4."""
    _refuse_nan(scores.values())
    ordered = sorted(scores, key=scores.__getitem__, reverse=descending)
    ranks: dict[K, float] = {}
    position = 0
    for _, group in itertools.groupby(ordered, key=scores.__getitem__):
        tied = list(group)
        # Positions position+1 .. position+len(tied), averaged: always a multiple of 1/2.
        rank = position + (len(tied) + 1) / 2
        ranks.update(dict.fromkeys(tied, rank))
        position += len(tied)
    return {key: ranks[key] for key in scores}


def partial_ranking(order: Sequence[K], items: Sequence[K]) -> dict[K, float]:
    """Ranks for all `items` from a top-k `order` (best first): 1..k for the ranked items,
    the average of k+1..n shared by the rest, so every item has a rank and they sum as usual."""
    known = set(items)
    if len(known) != len(items):
        raise ValueError("the items must not repeat")
    if len(set(order)) != len(order):
        raise ValueError("a ranking must not name an item twice")
    unknown = [key for key in order if key not in known]
    if unknown:
        raise ValueError(f"a ranking names an unknown item: {unknown[0]!r}")
    rest = (len(order) + 1 + len(items)) / 2
    ranked = {key: float(position) for position, key in enumerate(order, start=1)}
    return {item: ranked.get(item, rest) for item in items}


# --- Concordance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Concordance:
    """Kendall's W over the raters' rankings, with its chi-square test. `w` is None when there
    is nothing to measure: fewer than 2 raters or items, or every rater ties everything."""

    w: float | None
    chi_square: float | None
    df: int
    p_value: float | None
    raters: int
    items: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "w": self.w,
            "chi_square": self.chi_square,
            "df": self.df,
            "p_value": self.p_value,
            "raters": self.raters,
            "items": self.items,
        }


def kendall_w(rankings: Sequence[Mapping[K, float]], items: Sequence[K]) -> Concordance:
    """Kendall's coefficient of concordance W of complete rankings (1 = best; ties allowed),
    corrected for ties, with its chi-square approximation m(n − 1)W on n − 1 degrees of freedom.

    Only each rater's order counts: ranks are re-ranked over `items`, which leaves proper
    fractional ranks as they are.
    """
    m, n = len(rankings), len(items)
    if len(set(items)) != n:
        raise ValueError("the items must not repeat")
    for rater, ranking in enumerate(rankings):
        missing = [item for item in items if item not in ranking]
        if missing:
            raise ValueError(f"rater {rater} has no rank for {missing[0]!r}")
    df = max(n - 1, 0)
    nothing = Concordance(None, None, df, None, raters=m, items=n)
    if m < 2 or n < 2:
        return nothing
    # Fractional ranks are multiples of 1/2, so doubled rank sums are integers and S, the tie
    # sums and the denominator are computed exactly; W is then one correctly rounded division.
    doubled_sums = [0] * n
    ties = 0
    for ranking in rankings:
        ranks = fractional_ranks({item: ranking[item] for item in items}, descending=False)
        for i, item in enumerate(items):
            doubled_sums[i] += int(2 * ranks[item])
        ties += sum(t**3 - t for t in Counter(ranks.values()).values())
    four_s = sum((r - m * (n + 1)) ** 2 for r in doubled_sums)  # 4·S; m(n + 1) = 2·R̄
    denominator = m * m * (n**3 - n) - m * ties
    if denominator == 0:  # every rater tied every item: there is no order to agree on
        return nothing
    w = 3 * four_s / denominator  # 12·S / denominator
    chi_square = m * (n - 1) * 3 * four_s / denominator
    return Concordance(w, chi_square, df, chi2_sf(chi_square, df), raters=m, items=n)


# Numerical Recipes' gammq (§6.2): a series where it converges fast, else a continued fraction.
_EPSILON = sys.float_info.epsilon
_TINY = sys.float_info.min / _EPSILON
_MAX_TERMS = 100_000


def chi2_sf(x: float, df: int) -> float:
    """P(χ² ≥ x) on `df` degrees of freedom: the regularised upper incomplete gamma Q(df/2, x/2)."""
    if df < 1:
        raise ValueError("the degrees of freedom must be at least 1")
    if math.isnan(x):
        raise ValueError("x must be a number")
    a, half = df / 2, x / 2
    if half <= 0:  # x ≤ 0, or so small that halving it leaves 0
        return 1.0
    if math.isinf(half):
        return 0.0
    if half < a + 1:
        return 1.0 - _gamma_p_series(a, half)
    return _gamma_q_fraction(a, half)


def _gamma_prefactor(a: float, x: float) -> float:
    """e^−x · x^a / Γ(a), taken through logarithms so that neither part overflows."""
    return math.exp(a * math.log(x) - x - math.lgamma(a))


def _gamma_p_series(a: float, x: float) -> float:
    """The regularised lower incomplete gamma P(a, x) by its series (fast for x < a + 1)."""
    term = total = 1 / a
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPSILON:
            return total * _gamma_prefactor(a, x)
    raise ArithmeticError(f"the gamma series did not converge for a={a}, x={x}")


def _gamma_q_fraction(a: float, x: float) -> float:
    """The regularised upper incomplete gamma Q(a, x) by its continued fraction (x ≥ a + 1),
    evaluated with the modified Lentz method."""
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for i in range(1, _MAX_TERMS):
        coefficient = -i * (i - a)
        b += 2
        d = coefficient * d + b
        d = 1 / (d if abs(d) >= _TINY else _TINY)
        c = b + coefficient / c
        c = c if abs(c) >= _TINY else _TINY
        step = d * c
        fraction *= step
        if abs(step - 1) < _EPSILON:
            return fraction * _gamma_prefactor(a, x)
    raise ArithmeticError(f"the gamma fraction did not converge for a={a}, x={x}")


# --- Stability -------------------------------------------------------------------------------


def spearman(a: Mapping[K, float], b: Mapping[K, float]) -> float | None:
    """Spearman's rank correlation over the keys in both: the Pearson correlation of their
    average ranks. None when fewer than 2 keys are shared or either side has all scores equal."""
    common = [key for key in a if key in b]
    n = len(common)
    if n < 2:
        return None
    ranks_a = fractional_ranks({key: a[key] for key in common})
    ranks_b = fractional_ranks({key: b[key] for key in common})
    # Doubled ranks less their mean n + 1 are integers: the sums are exact, and so is
    # r² as a fraction, which keeps r within [−1, 1] and exactly ±1 for the same order.
    xs = [int(2 * ranks_a[key]) - (n + 1) for key in common]
    ys = [int(2 * ranks_b[key]) - (n + 1) for key in common]
    covariance = sum(x * y for x, y in zip(xs, ys, strict=True))
    variance_a = sum(x * x for x in xs)
    variance_b = sum(y * y for y in ys)
    if variance_a == 0 or variance_b == 0:
        return None
    r_squared = Fraction(covariance * covariance, variance_a * variance_b)
    return math.copysign(math.sqrt(float(r_squared)), covariance)


def distribution_change(before: Sequence[int], after: Sequence[int]) -> float | None:
    """How far the distribution of answers over the same categories moved between two rounds
    (Scheibe, Skutsch & Schofer 1975): half the sum of the absolute differences between the
    rounds' relative frequencies, 0 for the same distribution, 1 for answers that moved
    entirely to other categories. None when the categories differ or either round has no
    answers in them."""
    if len(before) != len(after) or any(c < 0 for c in (*before, *after)):
        return None
    total_before, total_after = sum(before), sum(after)
    if not total_before or not total_after:
        return None
    # Over the common denominator the differences are integers: the sum is exact, and the
    # result one correctly rounded division, so that the same distribution gives exactly 0.
    moved = sum(abs(b * total_after - a * total_before) for b, a in zip(before, after, strict=True))
    return float(Fraction(moved, 2 * total_before * total_after))


# --- The consensus rule ----------------------------------------------------------------------

# A factor's verdict: consensus that it belongs (in) or does not (out); no consensus (none);
# two camps (divided); or too few answers to say.
IN, OUT, NONE, DIVIDED, TOO_FEW = "in", "out", "none", "divided", "too_few"
AGREED = frozenset({IN, OUT})

# How a rule judges each factor (docs/consensus.md): the share that agrees; the core outcome
# set rule (70 % in the top third of the scale and under 15 % in the bottom third: Williamson
# et al. 2017, COMET Handbook); the interquartile range; or the share and the range together.
PRESETS = ("agreement", "cos", "iqr", "agreement_iqr")
COS_FOR, COS_AGAINST = 0.7, 0.15

# Split opinion: the smaller of the top and bottom thirds holds at least this share of the
# answers, so that the larger side outnumbers it at most two to one.
DIVIDED_SHARE = 1 / 3

# Fewer ballots than this, and the interquartile range and W move a lot with one answer.
SMALL_PANEL = 10

MIN_ANSWERS_MAX = 1000

# No figure is shown for a group of fewer people than this: below it, a group's result
# tells what each of its members answered.
GROUP_MIN = 3

# A factor is stable when its answers moved at most this share between rounds: 15 %, the
# threshold of Scheibe, Skutsch & Schofer (1975). A maximum of rounds is a whole number up to
# MAX_ROUNDS_MAX (a Delphi rarely runs past three or four).
STABLE_CHANGE = 0.15
MAX_ROUNDS_MAX = 50


@dataclass(frozen=True)
class Rule:
    """When a group has agreed, declared before a round and stored with it.

    `preset` is how each factor is judged (PRESETS). `agreement`: the share that must agree
    (75 %, the most common Delphi threshold: Diamond et al. 2014, J Clin Epidemiol).
    `iqr`: the widest interquartile range, in scale steps, that counts as agreement (1, von der
    Gracht 2012). `kendall_w`: the concordance a ranking, dot or points round must reach
    (0.7, "strong agreement": Schmidt 1997, Decision Sciences). A factor is judged only when at
    least `min_share` of the round's ballots answered it (70 %, the response rate Sumsion 1998
    asks of a Delphi round) and at least `min_answers` gave an opinion (3). With
    `every_group`, a factor has a verdict in or out only when every stakeholder group that
    voted reaches that same verdict (as core outcome set studies ask: Williamson et al. 2017).

    When to stop (`recommend`): a factor is stable when its answers moved at most
    `stable_change` since the previous round (15 %: Scheibe, Skutsch & Schofer 1975); after
    `max_rounds` rounds (None: no maximum) the facilitator is told to stop."""

    agreement: float = 0.75
    kendall_w: float = 0.7
    preset: str = "agreement"
    iqr: float = 1.0
    min_share: float = 0.7
    min_answers: int = 3
    every_group: bool = False
    stable_change: float = STABLE_CHANGE
    max_rounds: int | None = None

    def __post_init__(self) -> None:
        # Below one half, a keep/remove majority would always count as agreement.
        if not 0.5 <= self.agreement <= 1:
            raise ValueError("the agreement threshold must be between 0.5 and 1")
        if not 0 < self.kendall_w <= 1:
            raise ValueError("the Kendall's W threshold must be above 0 and at most 1")
        if self.preset not in PRESETS:
            raise ValueError(f"the preset must be one of {', '.join(PRESETS)}")
        if not 0 <= self.iqr <= 10:
            raise ValueError("the interquartile range bound must be between 0 and 10")
        if not 0 <= self.min_share <= 1:
            raise ValueError("the share that must answer must be between 0 and 1")
        if not 1 <= self.min_answers <= MIN_ANSWERS_MAX:
            raise ValueError(f"the fewest answers must be between 1 and {MIN_ANSWERS_MAX}")

        if not 0 <= self.stable_change <= 1:
            raise ValueError("the stable change must be between 0 and 1")
        if self.max_rounds is not None and not 1 <= self.max_rounds <= MAX_ROUNDS_MAX:
            raise ValueError(f"the most rounds must be between 1 and {MAX_ROUNDS_MAX}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "agreement": self.agreement,
            "iqr": self.iqr,
            "kendall_w": self.kendall_w,
            "min_share": self.min_share,
            "min_answers": self.min_answers,
            "every_group": self.every_group,
            "stable_change": self.stable_change,
            "max_rounds": self.max_rounds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rule:
        """A rule from stored or submitted settings: missing keys take the defaults, unknown
        keys are ignored, out-of-range or mistyped values raise ValueError."""
        given: dict[str, Any] = {}
        for name in ("agreement", "kendall_w", "iqr", "min_share"):
            if name in d:
                value = d[name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"the {name} threshold must be a number")
                given[name] = float(value)
        if "min_answers" in d:
            value = d["min_answers"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("the fewest answers must be a whole number")
            given["min_answers"] = value
        if "every_group" in d:
            if not isinstance(d["every_group"], bool):
                raise ValueError("in every group must be true or false")
            given["every_group"] = d["every_group"]
        if "stable_change" in d:
            value = d["stable_change"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("the stable change must be a number")
            given["stable_change"] = float(value)
        if "max_rounds" in d:
            value = d["max_rounds"]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("the most rounds must be a whole number")
            # 0 says "no maximum" where a missing value means "unchanged" (a command's field).
            given["max_rounds"] = value or None
        if "preset" in d:
            if not isinstance(d["preset"], str):
                raise ValueError("the preset must be a name")
            given["preset"] = d["preset"]
        return cls(**given)


def is_divided(high: int, low: int, opinions: int) -> bool:
    """Whether answers form two camps: the top and the bottom third of the scale each hold at
    least DIVIDED_SHARE of the opinions (docs/consensus.md, "Divided")."""
    return opinions > 0 and min(high, low) >= DIVIDED_SHARE * opinions - _WITHIN_SLACK


def third(position: float) -> str | None:
    """Where a point lies on a scale stretched to 0–1: IN for the top third, OUT for the
    bottom third, None for the middle (1–9: 7–9 and 1–3; 1–5: 4–5 and 1–2)."""
    if position >= 2 / 3 - _WITHIN_SLACK:
        return IN
    if position <= 1 / 3 + _WITHIN_SLACK:
        return OUT
    return None


@dataclass(frozen=True)
class Answers:
    """What a verdict reads of one factor. `responses`: the ballots that answered it, "no
    opinion" included; `opinions`: those whose answer enters a statistic; `high` and `low`:
    answers in the top and the bottom third (keep and remove; dots given and none). `agreement`
    and `iqr` are the factor's measures (None where the method has none); `lean` is the side
    its agreement points to (IN, OUT, or None for the middle or a tie); `divided`, whether its
    answers form two camps; `barred`, the ballots that could not answer it (its proposer's, in
    a round where nobody votes on their own proposal)."""

    responses: int
    opinions: int
    high: int
    low: int
    agreement: float | None
    lean: str | None
    iqr: float | None = None
    divided: bool = False
    barred: int = 0


def enough(answers: Answers, ballots: int, rule: Rule) -> bool:
    """Whether a factor was answered by at least the rule's share of the round's ballots that
    could answer it (its proposer's is not one of them where nobody votes on their own
    proposal) and by at least its fewest opinions."""
    return (
        answers.responses >= rule.min_share * (ballots - answers.barred) - _WITHIN_SLACK
        and answers.opinions >= rule.min_answers
    )


def factor_verdict(answers: Answers, ballots: int, rule: Rule) -> str:
    """IN, OUT, NONE, DIVIDED or TOO_FEW for one factor of a round of `ballots` ballots."""
    if not enough(answers, ballots, rule):
        return TOO_FEW
    if answers.divided:
        return DIVIDED
    a = answers
    if rule.preset == "cos":
        high, low = a.high / a.opinions, a.low / a.opinions
        if high >= COS_FOR - _WITHIN_SLACK and low < COS_AGAINST - _WITHIN_SLACK:
            return IN
        if low >= COS_FOR - _WITHIN_SLACK and high < COS_AGAINST - _WITHIN_SLACK:
            return OUT
        return NONE
    # The interquartile range has a meaning only on a scale; elsewhere the share decides.
    by_iqr = rule.preset in ("iqr", "agreement_iqr") and a.iqr is not None
    by_share = rule.preset in ("agreement", "agreement_iqr") or not by_iqr
    met = (not by_share or (a.agreement is not None and a.agreement >= rule.agreement)) and (
        not by_iqr or (a.iqr is not None and a.iqr <= rule.iqr + _WITHIN_SLACK)
    )
    return a.lean if met and a.lean is not None else NONE


@dataclass(frozen=True)
class Verdict:
    """Whether a round meets the rule, and how far along it is (`progress`, 0–1, is 1 exactly
    when `reached`). `value` is the measure compared with `threshold`; `factors_meeting` and
    `factors` count the factors with a verdict in or out, and all factors (None for measures
    over the whole round). `too_few` and `divided` name the factors that hold the round back
    for those reasons; `small_panel` says that fewer than SMALL_PANEL ballots were cast;
    `groups_behind` names the stakeholder groups in which the rule is not met, when the rule
    asks for consensus in every group."""

    reached: bool
    progress: float
    measure: str
    value: float | None
    threshold: float
    factors_meeting: int | None
    factors: int | None
    too_few: tuple[Any, ...] = ()
    divided: tuple[Any, ...] = ()
    small_panel: bool = False
    groups_behind: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "reached": self.reached,
            "progress": self.progress,
            "measure": self.measure,
            "value": self.value,
            "threshold": self.threshold,
            "factors_meeting": self.factors_meeting,
            "factors": self.factors,
            "too_few": list(self.too_few),
            "divided": list(self.divided),
            "small_panel": self.small_panel,
            "groups_behind": list(self.groups_behind),
        }


def _named(verdicts: Mapping[Any, str], which: str) -> tuple[Any, ...]:
    return tuple(key for key, verdict in verdicts.items() if verdict == which)


def per_factor_verdict(
    verdicts: Mapping[Any, str],
    agreements: Mapping[Any, float | None],
    rule: Rule,
    *,
    ballots: int,
) -> Verdict:
    """The verdict for keep/remove, rating and matrix rounds: every factor must have a verdict
    in or out; progress is the share that do. Factors with too few answers, and divided ones,
    hold it back and are named. `value` is the lowest agreement among the factors judged."""
    meeting = sum(1 for v in verdicts.values() if v in AGREED)
    judged = [
        a for key, v in verdicts.items() if v != TOO_FEW and (a := agreements.get(key)) is not None
    ]
    return Verdict(
        reached=bool(verdicts) and meeting == len(verdicts),
        progress=meeting / len(verdicts) if verdicts else 0.0,
        measure="agreement",
        value=min(judged) if judged else None,
        threshold=rule.agreement,
        factors_meeting=meeting,
        factors=len(verdicts),
        too_few=_named(verdicts, TOO_FEW),
        divided=_named(verdicts, DIVIDED),
        small_panel=ballots < SMALL_PANEL,
    )


def concordance_verdict(
    concordance: Concordance,
    rule: Rule,
    verdicts: Mapping[Any, str] | None = None,
    *,
    ballots: int = 0,
) -> Verdict:
    """The verdict for ranking, dot and points rounds: Kendall's W must reach the rule's
    threshold, over enough ballots (a factor with too few answers holds it back); progress
    is W as a share of the threshold."""
    w = concordance.w
    too_few = _named(verdicts or {}, TOO_FEW)
    reached = w is not None and w >= rule.kendall_w and not too_few
    # Correctly rounded division keeps w / threshold below 1 whenever w is below the
    # threshold, so the meter is full exactly when the rule is met.
    progress = 0.0 if w is None else min(1.0, w / rule.kendall_w)
    return Verdict(
        reached=reached,
        progress=progress if reached or progress < 1 else math.nextafter(1.0, 0.0),
        measure="kendall_w",
        value=w,
        threshold=rule.kendall_w,
        factors_meeting=None,
        factors=None,
        too_few=too_few,
        small_panel=ballots < SMALL_PANEL,
    )


# --- Stakeholder groups ----------------------------------------------------------------------


def in_every_group(overall: str, groups: Iterable[str]) -> str:
    """A factor's verdict when the rule asks for consensus in every group: the room's verdict
    in or out holds only if every group that voted reaches it too. Otherwise the reason a
    group falls short decides, the most basic first: too few answers in a group, then two
    camps in one, then no consensus."""
    if overall not in AGREED:
        return overall
    verdicts = set(groups)
    for reason in (TOO_FEW, DIVIDED):
        if reason in verdicts:
            return reason
    return overall if verdicts <= {overall} else NONE


def shown_groups(sizes: Mapping[K, int], total: int) -> set[K]:
    """The groups whose figures may be shown, given how many of the `total` ballots (or
    people) each group holds: every group of at least GROUP_MIN, unless what the shown groups
    leave of the whole would be one or two people, whose answers anyone could then work out
    by subtraction; then the smallest shown groups are held back too, until the rest is
    nobody or at least GROUP_MIN (secondary suppression, as statistics offices do)."""
    shown = {group for group, size in sizes.items() if size >= GROUP_MIN}
    for group in sorted(shown, key=lambda g: (sizes[g], str(g))):
        rest = total - sum(sizes[g] for g in shown)
        if rest == 0 or rest >= GROUP_MIN:
            break
        shown.discard(group)
    return shown


# --- When to stop ----------------------------------------------------------------------------

# The next step after a round (docs/consensus.md, "Stability and when to stop").
STOP_CONSENSUS, STOP_STABLE, STOP_MAX_ROUNDS, CONTINUE = (
    "stop_consensus",
    "stop_stable",
    "stop_max_rounds",
    "continue",
)


@dataclass(frozen=True)
class Recommendation:
    """What the facilitator is advised to do after a round: `next` is STOP_CONSENSUS,
    STOP_STABLE, STOP_MAX_ROUNDS or CONTINUE. `moving` names the unsettled factors whose
    answers moved more than `threshold` since the previous round, `unmeasured` those with no
    figure to compare (new this round, or no previous round); `rounds` is the rounds held
    and `max_rounds` the maximum declared (None: none)."""

    next: str
    moving: tuple[Any, ...]
    unmeasured: tuple[Any, ...]
    threshold: float
    rounds: int
    max_rounds: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "next": self.next,
            "moving": list(self.moving),
            "unmeasured": list(self.unmeasured),
            "threshold": self.threshold,
            "rounds": self.rounds,
            "max_rounds": self.max_rounds,
        }


def recommend(
    reached: bool,
    changes: Mapping[Any, float | None],
    rule: Rule,
    *,
    rounds: int,
) -> Recommendation:
    """The next step after a round that was held (closed with ballots), the `rounds`-th of
    its kind. `changes` holds how far the answers moved since the previous round for each
    factor that is not yet settled (None: nothing to compare with). In this order:

    1. STOP_CONSENSUS: the rule is met;
    2. STOP_STABLE: some factors were compared, and every unsettled one moved at most
       `rule.stable_change`: another round will not move them (a round without a previous
       one to compare with is never stable);
    3. STOP_MAX_ROUNDS: the maximum declared in advance was reached;
    4. CONTINUE, naming the factors still moving.
    """
    threshold = rule.stable_change
    moving = tuple(
        key
        for key, change in changes.items()
        if change is not None and change > threshold + _WITHIN_SLACK
    )
    unmeasured = tuple(key for key, change in changes.items() if change is None)
    if reached:
        step = STOP_CONSENSUS
    elif changes and not moving and not unmeasured:
        step = STOP_STABLE
    elif rule.max_rounds is not None and rounds >= rule.max_rounds:
        step = STOP_MAX_ROUNDS
    else:
        step = CONTINUE
    return Recommendation(step, moving, unmeasured, threshold, rounds, rule.max_rounds)
