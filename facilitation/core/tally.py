"""What a round's ballots add up to: results per factor, the group's order, and how far the
group agrees (docs/consensus.md).

Layer: pure core. Uses consensus.py for the maths. Plain data in, plain data out, ready for
JSON: services store a closed round's tally with the round, so history never changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean
from typing import Any

from facilitation.core import consensus
from facilitation.core.ballots import KEEP, NO_OPINION, REMOVE, Answer, RoundSettings
from facilitation.core.consensus import Concordance, Rule
from facilitation.core.domain import Method

Ballot = Mapping[int, Answer]


def tally(
    method: Method,
    settings: RoundSettings,
    factor_ids: Sequence[int],
    ballots: Sequence[Ballot],
    previous: Mapping[str, Any] | None = None,
    *,
    groups: Mapping[int, Sequence[Ballot]] | None = None,
    barred: Mapping[int | None, Mapping[int, int]] | None = None,
) -> dict[str, Any]:
    """The results of a round over `factor_ids` (answers on other factors are left out):
    a row per factor with how far its answers moved (`change`), the concordance where the
    method has one, the group's scores, and their stability, both since `previous`, the
    stored tally of the previous round of the same method. `groups` holds the ballots of
    each stakeholder group that voted, by group id (a subset of `ballots`); each group gets
    its own rows and concordance, or, where its figures would tell what one or two people
    answered, only the note that they are withheld (consensus.shown_groups). `barred` counts,
    by factor id, the ballots that could not answer a factor (its proposer's, where nobody
    votes on their own proposal): under the key None for the room, under each group's id
    for that group's."""
    ids = list(factor_ids)
    barred = barred or {}
    rows, scores, concordance = _TALLIES[method](settings, ids, ballots)
    _bar(rows, barred.get(None, {}))
    if previous is not None and previous.get("method") != method.value:
        previous = None
    _changes(method, rows, previous["factors"] if previous else [])
    # Stored scores are keyed by the factor id as text (JSON's keys).
    stored = previous.get("scores", {}) if previous else {}
    previous_scores = {f: stored[str(f)] for f in ids if str(f) in stored}
    stability = consensus.spearman(previous_scores, scores) if previous_scores else None
    return {
        "method": method.value,
        "ballots": len(ballots),
        "factors": rows,
        "concordance": concordance.as_dict() if concordance else None,
        "scores": {str(f): s for f, s in scores.items()},
        "stability": stability,
        "groups": _groups(
            method, settings, ids, len(ballots), groups or {}, previous=previous, barred=barred
        ),
    }


def _bar(rows: list[dict[str, Any]], barred: Mapping[int, int]) -> None:
    """Say on each row how many ballots could not answer its factor, where any could not."""
    for row in rows:
        if barred.get(row["factor_id"]):
            row["barred"] = barred[row["factor_id"]]


def _changes(
    method: Method, rows: list[dict[str, Any]], before: Sequence[Mapping[str, Any]]
) -> None:
    """Give each row how far its answers moved since the matching row `before`."""
    earlier = {row["factor_id"]: row for row in before}
    for row in rows:
        match = earlier.get(row["factor_id"])
        row["change"] = change(method, match, row) if match is not None else None


def _groups(
    method: Method,
    settings: RoundSettings,
    ids: list[int],
    total: int,
    groups: Mapping[int, Sequence[Ballot]],
    *,
    previous: Mapping[str, Any] | None,
    barred: Mapping[int | None, Mapping[int, int]],
) -> list[dict[str, Any]]:
    """Each group's tally; a group's change is against its own previous figures."""
    shown = consensus.shown_groups({g: len(b) for g, b in groups.items()}, total)
    before = {
        g["group_id"]: g["factors"]
        for g in (previous or {}).get("groups") or []
        if not g["withheld"]
    }
    tallied: list[dict[str, Any]] = []
    for group_id in sorted(groups):
        if group_id not in shown:
            tallied.append({"group_id": group_id, "withheld": True})
            continue
        rows, _, concordance = _TALLIES[method](settings, ids, groups[group_id])
        _changes(method, rows, before.get(group_id, []))
        _bar(rows, barred.get(group_id, {}))
        tallied.append(
            {
                "group_id": group_id,
                "withheld": False,
                "ballots": len(groups[group_id]),
                "factors": rows,
                "concordance": concordance.as_dict() if concordance else None,
            }
        )
    return tallied


# Methods whose consensus is the group's concordance; the others judge agreement per factor.
BY_CONCORDANCE = frozenset({Method.DOTS, Method.POINTS, Method.RANKING})


def _spread(method: Method, row: Mapping[str, Any]) -> float | None:
    """The interquartile range a rule may bound: a measure on a scale, so the ratings', or
    the wider of the matrix's two axes; None for the other methods."""
    if method is Method.RATING:
        return row.get("iqr")
    if method is Method.MATRIX:
        spreads = [row[axis]["iqr"] for axis in ("impact", "uncertainty")]
        return None if None in spreads else max(spreads)
    return None


def categories(method: Method, row: Mapping[str, Any]) -> list[int] | None:
    """How many answers a factor's row has in each answer category, for the change between
    rounds: a rating's points of the scale ("no opinion" out); keep and remove; and for dots,
    points and rankings the top third, the middle and the bottom third that its verdict reads
    (dots and points: given any, given none). None for a row stored without them."""
    if method is Method.RATING:
        return row.get("distribution")
    if method is Method.KEEP_REMOVE:
        return [row["keep"], row["remove"]] if "keep" in row and "remove" in row else None
    if not all(key in row for key in ("opinions", "high", "low")):
        return None
    return [row["high"], row["opinions"] - row["high"] - row["low"], row["low"]]


def change(method: Method, before: Mapping[str, Any], after: Mapping[str, Any]) -> float | None:
    """How far a factor's answers moved between two rounds of `method` (Scheibe et al. 1975,
    consensus.distribution_change); for the matrix, the larger of its two axes' changes.
    None when either round has nothing to compare (no answers, or a row stored without the
    categories, or a different scale)."""
    if method is Method.MATRIX:
        moved = [
            _moved((before.get(axis) or {}).get("distribution"), after[axis]["distribution"])
            for axis in ("impact", "uncertainty")
        ]
        return None if None in moved else max(m for m in moved if m is not None)
    return _moved(categories(method, before), categories(method, after))


def _moved(before: Sequence[int] | None, after: Sequence[int] | None) -> float | None:
    return None if before is None or after is None else consensus.distribution_change(before, after)


def answers(method: Method, row: Mapping[str, Any]) -> consensus.Answers:
    """What the rule reads of one factor's row. (A tally stored before rows carried these
    figures reads as a factor without answers: too few to judge.)"""
    return consensus.Answers(
        responses=row.get("responses", 0),
        opinions=row.get("opinions", 0),
        high=row.get("high", 0),
        low=row.get("low", 0),
        agreement=row.get("agreement"),
        lean=row.get("lean"),
        iqr=_spread(method, row),
        divided=row.get("divided", False),
        barred=row.get("barred", 0),
    )


def _own_verdicts(method: Method, results: Mapping[str, Any], rule: Rule) -> dict[int, str]:
    """Each factor's verdict by the answers of `results` alone (the room's, or a group's)."""
    ballots = results["ballots"]
    return {
        row["factor_id"]: consensus.factor_verdict(answers(method, row), ballots, rule)
        for row in results["factors"]
    }


def _voting_groups(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stakeholder groups that voted in the round (a tally stored before groups: none)."""
    return list(results.get("groups") or [])


def group_verdicts(results: Mapping[str, Any], rule: Rule) -> dict[int, dict[int, str]]:
    """Each group's verdict per factor, by group id: a withheld group has too few answers
    on every factor."""
    method = Method(results["method"])
    ids = [row["factor_id"] for row in results["factors"]]
    return {
        group["group_id"]: dict.fromkeys(ids, consensus.TOO_FEW)
        if group["withheld"]
        else _own_verdicts(method, group, rule)
        for group in _voting_groups(results)
    }


def factor_verdicts(results: Mapping[str, Any], rule: Rule) -> dict[int, str]:
    """Each factor's verdict (consensus.IN, OUT, NONE, DIVIDED, TOO_FEW) under the rule;
    with `every_group`, the room's verdict stands only where every group reaches it."""
    overall = _own_verdicts(Method(results["method"]), results, rule)
    if not rule.every_group:
        return overall
    groups = group_verdicts(results, rule).values()
    return {
        factor: consensus.in_every_group(verdict, (g[factor] for g in groups))
        for factor, verdict in overall.items()
    }


def judge(results: Mapping[str, Any], rule: Rule) -> consensus.Verdict:
    """How far a tallied round is from the consensus rule (judged anew when the rule
    changes; the tally itself never does). With `every_group`, the rule must be met in
    every group that voted as well, and the groups where it is not are named."""
    method = Method(results["method"])
    verdict = _judge(method, results, rule, factor_verdicts(results, rule))
    if not rule.every_group:
        return verdict
    behind = tuple(
        group_id
        for group_id, judged in judge_groups(results, rule).items()
        if judged is None or not judged.reached
    )
    return dataclasses.replace(
        verdict, reached=verdict.reached and not behind, groups_behind=behind
    )


def judge_groups(results: Mapping[str, Any], rule: Rule) -> dict[int, consensus.Verdict | None]:
    """Each voting group's own verdict by the rule, by group id (None where withheld)."""
    method = Method(results["method"])
    return {
        group["group_id"]: None if group["withheld"] else _judge(method, group, rule)
        for group in _voting_groups(results)
    }


def _judge(
    method: Method,
    results: Mapping[str, Any],
    rule: Rule,
    verdicts: Mapping[int, str] | None = None,
) -> consensus.Verdict:
    """The verdict of the answers of `results` alone (the room's, or a group's)."""
    if verdicts is None:
        verdicts = _own_verdicts(method, results, rule)
    ballots = results["ballots"]
    if method in BY_CONCORDANCE:
        measured = results["concordance"] or {}
        concordance = Concordance(
            w=measured.get("w"),
            chi_square=measured.get("chi_square"),
            df=measured.get("df", 0),
            p_value=measured.get("p_value"),
            raters=measured.get("raters", 0),
            items=measured.get("items", 0),
        )
        return consensus.concordance_verdict(concordance, rule, verdicts, ballots=ballots)
    agreements = {row["factor_id"]: row["agreement"] for row in results["factors"]}
    return consensus.per_factor_verdict(verdicts, agreements, rule, ballots=ballots)


def participation(
    joined: Mapping[int, int | None],
    answered: Iterable[int],
    answered_before: Iterable[int] | None = None,
) -> dict[str, Any]:
    """Who took part in a round: of the people who had `joined` by its end (their group id,
    or None, by participant id), how many `answered` and how many skipped it, and how many of
    those who answered the round before (`answered_before`; None for the first round) did
    not answer this one (dropped out). The same per stakeholder group, where its counts
    cannot single anyone out (consensus.shown_groups)."""
    answered, before = set(answered), None if answered_before is None else set(answered_before)

    def counts(people: set[int]) -> dict[str, Any]:
        took_part = len(people & answered)
        return {
            "joined": len(people),
            "answered": took_part,
            "skipped": len(people) - took_part,
            "dropped": None if before is None else len(people & before - answered),
        }

    members: dict[int, set[int]] = {}
    for person, group in joined.items():
        if group is not None:
            members.setdefault(group, set()).add(person)
    shown = consensus.shown_groups({g: len(m) for g, m in members.items()}, len(joined))
    return {
        **counts(set(joined)),
        "groups": [
            {"group_id": g, "withheld": False, **counts(members[g])}
            if g in shown
            else {"group_id": g, "withheld": True}
            for g in sorted(members)
        ],
    }


def recommendation(
    results: Mapping[str, Any], rule: Rule, *, rounds: int
) -> consensus.Recommendation:
    """What to do after a tallied round, the `rounds`-th held of its kind (consensus.recommend):
    the factors that count are those not yet settled — for a rule judged per factor, those
    without a verdict in or out; for a rule on the whole order (Kendall's W), every factor."""
    verdicts = factor_verdicts(results, rule)
    by_order = Method(results["method"]) in BY_CONCORDANCE
    changes = {
        row["factor_id"]: row.get("change")
        for row in results["factors"]
        if by_order or verdicts[row["factor_id"]] not in consensus.AGREED
    }
    return consensus.recommend(judge(results, rule).reached, changes, rule, rounds=rounds)


Tallied = tuple[list[dict[str, Any]], dict[int, float], Concordance | None]


def competition_ranks(scores: Mapping[int, float]) -> dict[int, int]:
    """Standard competition ranking, highest score first: 10, 7, 7, 3 → 1, 2, 2, 4."""
    ordered = sorted(scores.values(), reverse=True)
    first: dict[float, int] = {}
    for position, score in enumerate(ordered, start=1):
        first.setdefault(score, position)
    return {key: first[score] for key, score in scores.items()}


def _ranked(rows: list[dict[str, Any]], scores: Mapping[int, float]) -> list[dict[str, Any]]:
    """Rows with the group's rank (1 = most important), most important first; a factor
    without a score (nobody rated it) has no rank and comes last."""
    ranks = competition_ranks(scores)
    for row in rows:
        row["rank"] = ranks.get(row["factor_id"])
    unranked = len(rows) + 1
    return sorted(rows, key=lambda row: unranked if row["rank"] is None else row["rank"])


def _sides(high: int, low: int) -> str | None:
    """The side with more answers (IN for the top, OUT for the bottom), None on a tie."""
    return consensus.IN if high > low else consensus.OUT if low > high else None


def _shares(responses: int, high: int, low: int, *, divided: bool) -> dict[str, Any]:
    """The figures a verdict reads, for a factor every ballot answered with an opinion (none
    says "no opinion"): the share on the larger side is its agreement."""
    return {
        "responses": responses,
        "opinions": responses,
        "high": high,
        "low": low,
        "agreement": max(high, low) / responses if responses else None,
        "lean": _sides(high, low),
        "divided": divided and consensus.is_divided(high, low, high + low),
    }


def _thirds(values: Sequence[int], scale: int) -> tuple[int, int]:
    """How many of the values lie in the top and in the bottom third of a 1–scale scale."""
    sides = [consensus.third((v - 1) / (scale - 1)) for v in values]
    return sides.count(consensus.IN), sides.count(consensus.OUT)


def _numbers(ballots: Sequence[Ballot], factor: int) -> list[int]:
    return [v for b in ballots if isinstance(v := b.get(factor), int)]


def _concordance_of_scores(
    ids: list[int], ballots: Sequence[Ballot], *, complete: bool = False
) -> Concordance:
    """Kendall's W over each participant's answers turned into ranks. For dots and points a
    factor left without any counts 0, which is what the ballot says; a rating ballot
    (`complete`) counts only if it rates every factor, since a gap or "no opinion" says
    nothing about where the factor stands. A ballot that ties everything says nothing about
    the order and would only lower W: it is left out."""
    rankings = []
    for ballot in ballots:
        given = {f: v for f in ids if isinstance(v := ballot.get(f, 0), int)}
        if complete and (len(given) < len(ids) or NO_OPINION in given.values()):
            continue
        own = {f: float(given.get(f, 0)) for f in ids}
        if len(set(own.values())) > 1:
            rankings.append(consensus.fractional_ranks(own))
    return consensus.kendall_w(rankings, ids)


def _keep_remove(_: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    rows, scores = [], {}
    for f in ids:
        choices = _numbers(ballots, f)
        keep, remove = choices.count(KEEP), choices.count(REMOVE)
        votes = keep + remove
        majority = None
        if votes:
            majority = "tie" if keep == remove else "keep" if keep > remove else "remove"
        rows.append(
            {
                "factor_id": f,
                "keep": keep,
                "remove": remove,
                "votes": votes,
                "majority": majority,
                **_shares(votes, keep, remove, divided=True),
            }
        )
        if votes:
            scores[f] = keep / votes
    return rows, scores, None


def _dots(_: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    rows, scores = [], {}
    for f in ids:
        dots = _numbers(ballots, f)
        scores[f] = float(sum(dots))
        voters = sum(1 for d in dots if d > 0)
        rows.append(
            {
                "factor_id": f,
                "dots": sum(dots),
                "voters": voters,
                **_shares(len(ballots), voters, len(ballots) - voters, divided=False),
            }
        )
    return _ranked(rows, scores), scores, _concordance_of_scores(ids, ballots)


def _points(_: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    """Points per factor and their share of all points given; how many gave the factor any;
    and how the participants' points on it spread (each ballot counts, a factor it gave
    nothing counting 0, so that one enthusiast's 100 does not read as the group's median)."""
    given = {f: [v if isinstance(v := b.get(f, 0), int) else 0 for b in ballots] for f in ids}
    total = sum(sum(points) for points in given.values())
    rows, scores = [], {}
    for f in ids:
        points = given[f]
        quartiles = consensus.quartiles(points)
        scores[f] = float(sum(points))
        voters = sum(1 for p in points if p > 0)
        rows.append(
            {
                "factor_id": f,
                "points": sum(points),
                "share": sum(points) / total if total else None,
                "voters": voters,
                "median": consensus.median(points),
                "q1": quartiles[0] if quartiles else None,
                "q3": quartiles[1] if quartiles else None,
                "iqr": consensus.iqr(points),
                "mean": fmean(points) if points else None,
                **_shares(len(ballots), voters, len(ballots) - voters, divided=False),
            }
        )
    return _ranked(rows, scores), scores, _concordance_of_scores(ids, ballots)


def _scale_summary(values: Sequence[int], scale: int) -> dict[str, Any]:
    quartiles = consensus.quartiles(values)
    centre = consensus.median(values)
    high, low = _thirds(values, scale)
    return {
        "distribution": [values.count(v) for v in range(1, scale + 1)],
        "median": centre,
        "q1": quartiles[0] if quartiles else None,
        "q3": quartiles[1] if quartiles else None,
        "iqr": consensus.iqr(values),
        "mean": fmean(values) if values else None,
        "agreement": consensus.agreement_within(values, 1),
        "high": high,
        "low": low,
        # The side of the scale the middle answer lies on: where agreement points.
        "lean": None if centre is None else consensus.third((centre - 1) / (scale - 1)),
        "divided": consensus.is_divided(high, low, len(values)),
    }


def _rating(settings: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    assert settings.scale is not None
    rows, scores = [], {}
    for f in ids:
        given = _numbers(ballots, f)
        ratings = [v for v in given if v != NO_OPINION]
        summary = _scale_summary(ratings, settings.scale)
        rows.append(
            {
                "factor_id": f,
                "answers": len(ratings),
                "no_opinion": given.count(NO_OPINION),
                "responses": len(given),
                "opinions": len(ratings),
                **summary,
            }
        )
        # A factor nobody rated has no score (not 0): it has no rank and no place in stability.
        if ratings:
            scores[f] = summary["mean"]
    return _ranked(rows, scores), scores, _concordance_of_scores(ids, ballots, complete=True)


def _ranking(_: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    known = set(ids)
    rankings = []
    ranked_by = dict.fromkeys(ids, 0)
    for ballot in ballots:
        given = {f: v for f, v in ballot.items() if isinstance(v, int) and f in known}
        order = sorted(given, key=given.__getitem__)
        for f in order:
            ranked_by[f] += 1
        rankings.append(consensus.partial_ranking(order, ids))
    rows, scores = [], {}
    # A place in the top or bottom third of the order (1 best, n last; the unranked share
    # the places after the ranked ones).
    last = max(len(ids) - 1, 1)
    for f in ids:
        places = [r[f] for r in rankings]
        mean_rank = fmean(places) if places else None
        sides = [consensus.third((len(ids) - p) / last) for p in places]
        rows.append(
            {
                "factor_id": f,
                "ranked_by": ranked_by[f],
                "mean_rank": mean_rank,
                "median_rank": consensus.median(places),
                **_shares(
                    len(ballots),
                    sides.count(consensus.IN),
                    sides.count(consensus.OUT),
                    divided=False,
                ),
            }
        )
        # A smaller mean rank is better; scores grow with importance.
        scores[f] = -mean_rank if mean_rank is not None else -float(len(ids))
    return _ranked(rows, scores), scores, consensus.kendall_w(rankings, ids)


def quadrant(impact: float | None, uncertainty: float | None, scale: int) -> str | None:
    """Where a factor falls in the impact × uncertainty matrix. A median above the middle of
    the scale is high; at or below it, low."""
    if impact is None or uncertainty is None:
        return None
    middle = (1 + scale) / 2
    high_impact, high_uncertainty = impact > middle, uncertainty > middle
    if high_impact:
        return "critical_uncertainty" if high_uncertainty else "key_trend"
    return "weak_signal" if high_uncertainty else "minor_trend"


def _matrix(settings: RoundSettings, ids: list[int], ballots: Sequence[Ballot]) -> Tallied:
    assert settings.scale is not None
    rows, scores = [], {}
    for f in ids:
        pairs = [v for b in ballots if isinstance(v := b.get(f), tuple)]
        impact = _scale_summary([p[0] for p in pairs], settings.scale)
        uncertainty = _scale_summary([p[1] for p in pairs], settings.scale)
        agreements = [a for a in (impact["agreement"], uncertainty["agreement"]) if a is not None]
        rows.append(
            {
                "factor_id": f,
                "answers": len(pairs),
                "impact": impact,
                "uncertainty": uncertainty,
                "agreement": min(agreements) if agreements else None,
                "quadrant": quadrant(impact["median"], uncertainty["median"], settings.scale),
                # In or out by the impact; split on either axis is split.
                "responses": len(pairs),
                "opinions": len(pairs),
                "high": impact["high"],
                "low": impact["low"],
                "lean": impact["lean"],
                "divided": impact["divided"] or uncertainty["divided"],
            }
        )
        if pairs:
            scores[f] = impact["mean"]
    return _ranked(rows, scores), scores, None


_TALLIES = {
    Method.KEEP_REMOVE: _keep_remove,
    Method.DOTS: _dots,
    Method.POINTS: _points,
    Method.RATING: _rating,
    Method.RANKING: _ranking,
    Method.MATRIX: _matrix,
}
