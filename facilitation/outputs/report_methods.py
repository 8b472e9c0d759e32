"""How each voting method's rounds appear in the workshop's PDF report: the consensus rule
they are held to, the columns of their table per factor, the columns of the final factors
when the method prioritised them last, their chart, and the lines that say their settings.
A new voting method adds one entry to `METHODS`.

Layer: outputs. Plain data and small functions over the record; no database, no Flask.
Column headers are messages (`N_`), translated when the table is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from facilitation.core.domain import N_
from facilitation.outputs import pdf_charts
from facilitation.outputs.export import WORDS, coverage, rule_words, word
from facilitation.outputs.pdf import DASH
from facilitation.outputs.pdf_document import Document

Row = dict[str, Any]
Cells = Callable[[Document, Row], list[str]]
Chart = Callable[[Document, Row], list[Any]]
_QUADRANTS = WORDS["quadrant"]
_ROUND_STATES = WORDS["round_state"]


@dataclass(frozen=True)
class Columns:
    """Columns of a table: their headers (messages), their widths as shares of the page's
    width (with the factor's and rank's columns before them), and a factor's cells."""

    header: tuple[str, ...]
    widths: tuple[float, ...]
    cells: Cells


@dataclass(frozen=True)
class MethodView:
    """What a round of one voting method gets in the report."""

    # The consensus rule its rounds are held to: "agreement" or "kendall_w".
    measure: str
    # Its table per factor in "Consensus, round by round", after the factor (and its rank,
    # if `ranked`).
    round: Columns
    # The final factors' columns when its round prioritised last, after the factor; None
    # for a method that does not prioritise.
    result: Columns | None
    # The chart of its latest round, if it has one.
    chart: Chart | None
    # Its settings as (key in the round's settings, label, separator before the value).
    settings: tuple[tuple[str, str, str], ...] = ()
    ranked: bool = True
    # Whether a factor's row in its round holds a result: someone answered it (no dots is a
    # result of dot voting; no rating is none).
    measured: Callable[[Row], bool] = lambda row: True

    def standing(self, doc: Document, row: Row) -> str:
        """A factor's result in its round in words, its place left out ("Median: 4; IQR: 1;
        Agreement: 75 %"), from the columns of the final factors."""
        if self.result is None:
            return DASH
        pairs = zip(self.result.header, self.result.cells(doc, row), strict=True)
        return "; ".join(f"{doc._(h)}: {c}" for h, c in pairs if h != N_("Rank"))


def _impact_and_uncertainty(doc: Document, f: Row) -> list[str]:
    iqr = doc._("IQR")
    axes = [
        f"{doc.num(f[a]['median'])} ({iqr} {doc.num(f[a]['iqr'], 2)})"
        for a in ("impact", "uncertainty")
    ]
    return [*axes, doc.pct(f["agreement"])]


METHODS: dict[str, MethodView] = {
    "keep_remove": MethodView(
        measure="agreement",
        round=Columns(
            (N_("Keep"), N_("Remove"), N_("Agreement")),
            (0.45, 0.15, 0.15, 0.25),
            lambda doc, f: [str(f["keep"]), str(f["remove"]), doc.pct(f["agreement"])],
        ),
        result=None,
        chart=None,
        ranked=False,
    ),
    "dots": MethodView(
        measure="kendall_w",
        round=Columns(
            (N_("Dots"), N_("Voters")),
            (0.09, 0.51, 0.2, 0.2),
            lambda doc, f: [doc.num(f["dots"]), str(f["voters"])],
        ),
        result=Columns(
            (N_("Rank"), N_("Dots")),
            (0.7, 0.15, 0.15),
            lambda doc, row: [str(row.get("rank", DASH)), doc.num(row["dots"])],
        ),
        chart=pdf_charts.dots,
        settings=(
            ("budget", N_("Dots per participant"), ": "),
            ("cap", N_("Most dots on one factor"), ": "),
        ),
    ),
    "points": MethodView(
        measure="kendall_w",
        round=Columns(
            (N_("Points"), N_("Share of the points"), N_("Median"), N_("IQR"), N_("Voters")),
            (0.09, 0.26, 0.1, 0.17, 0.1, 0.16, 0.12),
            lambda doc, f: [
                doc.num(f["points"]),
                doc.pct(f["share"]),
                doc.num(f["median"]),
                doc.num(f["iqr"], 2),
                str(f["voters"]),
            ],
        ),
        result=Columns(
            (N_("Rank"), N_("Points"), N_("Share of the points")),
            (0.55, 0.15, 0.15, 0.15),
            lambda doc, row: [
                str(row.get("rank", DASH)),
                doc.num(row["points"]),
                doc.pct(row["share"]),
            ],
        ),
        chart=pdf_charts.points,
        settings=(
            ("budget", N_("Points per participant"), ": "),
            ("cap", N_("Most points on one factor"), ": "),
        ),
    ),
    "rating": MethodView(
        measure="agreement",
        round=Columns(
            (N_("Median"), N_("IQR"), N_("Agreement"), N_("Answers"), N_("No opinion")),
            (0.09, 0.29, 0.09, 0.15, 0.16, 0.11, 0.11),
            lambda doc, f: [
                doc.num(f["median"]),
                doc.num(f["iqr"], 2),
                doc.pct(f["agreement"]),
                str(f["answers"]),
                str(f["no_opinion"]),
            ],
        ),
        result=Columns(
            (N_("Rank"), N_("Median"), N_("IQR"), N_("Agreement")),
            (0.38, 0.12, 0.14, 0.18, 0.18),
            lambda doc, row: [
                str(row.get("rank", DASH)),
                doc.num(row["median"]),
                doc.num(row["iqr"], 2),
                doc.pct(row["agreement"]),
            ],
        ),
        chart=pdf_charts.ratings,
        settings=(("scale", N_("Scale from 1 to"), " "),),
        measured=lambda row: bool(row.get("answers")),
    ),
    "ranking": MethodView(
        measure="kendall_w",
        round=Columns(
            (N_("Average place"), N_("Median place"), N_("Ranked by")),
            (0.09, 0.35, 0.2, 0.18, 0.18),
            lambda doc, f: [
                doc.num(f["mean_rank"], 2),
                doc.num(f["median_rank"]),
                str(f["ranked_by"]),
            ],
        ),
        result=Columns(
            (N_("Rank"), N_("Average place")),
            (0.7, 0.15, 0.15),
            lambda doc, row: [str(row.get("rank", DASH)), doc.num(row["mean_rank"], 2)],
        ),
        chart=None,
        settings=(("top_k", N_("Factors each person ranks"), ": "),),
        measured=lambda row: row.get("mean_rank") is not None,
    ),
    "matrix": MethodView(
        measure="agreement",
        round=Columns(
            (N_("Impact"), N_("Uncertainty"), N_("Agreement")),
            (0.09, 0.33, 0.19, 0.19, 0.2),
            _impact_and_uncertainty,
        ),
        result=Columns(
            (N_("Rank"), N_("Impact (median)"), N_("Uncertainty (median)"), N_("Quadrant")),
            (0.4, 0.12, 0.14, 0.16, 0.18),
            lambda doc, row: [
                str(row.get("rank", DASH)),
                doc.num(row["impact"]["median"]),
                doc.num(row["uncertainty"]["median"]),
                doc.word(_QUADRANTS, row.get("quadrant")),
            ],
        ),
        chart=pdf_charts.matrix,
        settings=(("scale", N_("Scale from 1 to"), " "),),
        measured=lambda row: bool(row.get("answers")),
    ),
}


# The settings every method may have that are said only when on, against anchoring.
_SWITCHES = (
    ("shuffle", N_("Each phone in its own order")),
    ("no_own_votes", N_("No votes on one's own proposals")),
)


def _settings(doc: Document, r: Row) -> str:
    """A round's settings in words ("Dots per participant: 10; Most dots on one factor: 3"),
    or nothing for a method without any."""
    settings = r.get("settings") or {}
    view = METHODS[r["method"]]
    said = [
        f"{doc._(label)}{sep}{settings[key]}"
        for key, label, sep in view.settings
        if key in settings
    ]
    said += [doc._(label) for key, label in _SWITCHES if settings.get(key)]
    return "; ".join(said)


def round_measures(doc: Document, r: Row, groups: Sequence[Row] = ()) -> list[tuple[str, str]]:
    """A round's ballots and who took part, its state, settings, verdict under the rule (per
    stakeholder group too) and its statistics."""
    _, verdict = doc._, r.get("verdict") or {}
    rows = [(_("Ballots"), str(r["ballots"]))]
    names = {g["id"]: g["name"] for g in groups}
    rows += _turnout(doc, r, names)
    if r.get("state") in _ROUND_STATES:
        rows.append((_("State"), doc.word(_ROUND_STATES, r["state"])))
    said = _settings(doc, r)
    if said:
        rows.append((_("Settings"), said))
    reached = _("Consensus reached") if verdict.get("reached") else _("Not reached")
    progress = _("%(percent)s of the way to the rule") % {
        "percent": doc.pct(verdict.get("progress"), down=True)
    }
    rows.append((_("Consensus"), f"{reached} ({progress})"))
    if r.get("rule"):
        rows.append((_("Rule in force"), rule_words(_, r["rule"], doc.locale) or DASH))
    if r.get("rule_changed"):
        changed = _("Rule changed after the results were seen (declared: %(rule)s)")
        rows.append(
            (
                _("Rule changed"),
                changed % {"rule": rule_words(_, r.get("declared_rule"), doc.locale)},
            )
        )
    if verdict.get("measure") == "agreement":
        meeting = _("%(meeting)s of %(factors)s") % {
            "meeting": verdict.get("factors_meeting") or 0,
            "factors": verdict.get("factors") or 0,
        }
        rows.append((_("Factors meeting the rule"), meeting))
        rows.append((_("Lowest agreement"), doc.pct(verdict.get("value"))))
    titles = {f["factor_id"]: f["title"] for f in r["factors"]}
    for key, label in (("too_few", N_("Too few answers")), ("divided", N_("Divided"))):
        named = [titles.get(i, str(i)) for i in verdict.get(key) or []]
        if named:
            rows.append((_(label), "; ".join(named)))
    behind = [names.get(i, str(i)) for i in verdict.get("groups_behind") or []]
    if behind:
        rows.append((_("Not yet agreed in"), "; ".join(behind)))
    rows += _by_group(doc, r, names)
    if verdict.get("small_panel"):
        caution = _(
            "Fewer than 10 ballots: the interquartile range and Kendall's W move a lot with "
            "one answer."
        )
        rows.append((_("Caution"), caution))
    concordance = r.get("concordance")
    if concordance:
        w = _("%(w)s (chi-square %(chi)s, df = %(df)s, p %(p)s)") % {
            "w": doc.num(concordance.get("w"), 2),
            "chi": doc.num(concordance.get("chi_square"), 2),
            "df": concordance.get("df"),
            "p": doc.p_value(concordance.get("p_value")),
        }
        rows.append((_("Kendall's W"), w))
    stability = r.get("stability")
    stable = doc.num(stability, 2) if stability is not None else DASH
    rows.append((_("Stability since the previous round"), stable))
    rows += _next_step(doc, r, titles)
    return rows


def turnout(doc: Document, t: Row) -> str:
    """Who took part in a round (or a group of it): joined, answered, skipped, dropped out."""
    _ = doc._
    text = _("%(joined)s joined, %(answered)s answered, %(skipped)s skipped") % t
    if t.get("dropped"):
        text += "; " + _("%(n)s dropped out since the round before") % {"n": t["dropped"]}
    return str(text)


def _turnout(doc: Document, r: Row, names: Mapping[int, str]) -> list[tuple[str, str]]:
    """Who took part: joined, answered, skipped, dropped out; per group where it may show."""
    _, p = doc._, r.get("participation")
    if not p:
        return []

    def said(t: Row) -> str:
        return turnout(doc, t)

    rows = [(_("Took part"), said(p))]
    for g in p.get("groups") or []:
        label = _("Took part: %(name)s") % {"name": names.get(g["group_id"], str(g["group_id"]))}
        rows.append((label, _("no figures: too few people") if g["withheld"] else said(g)))
    return rows


def _by_group(doc: Document, r: Row, names: Mapping[int, str]) -> list[tuple[str, str]]:
    """Each stakeholder group's own verdict on the round, or that its figures are held back."""
    _, rows = doc._, []
    for g in r.get("groups") or []:
        name = names.get(g["group_id"], str(g["group_id"]))
        if g["withheld"]:
            said = _("no figures: too few people")
        else:
            reached = (g.get("verdict") or {}).get("reached")
            said = _("%(verdict)s (%(n)s ballots)") % {
                "verdict": _("Consensus reached") if reached else _("Not reached"),
                "n": g["ballots"],
            }
        rows.append((_("Group %(name)s") % {"name": name}, said))
    return rows


def _next_step(doc: Document, r: Row, titles: Mapping[int, str]) -> list[tuple[str, str]]:
    """The next step the round recommended under its rule, with the factors still moving."""
    _, next_ = doc._, r.get("recommendation")
    if not next_:
        return []
    said = word(_, "next_step", next_["next"])
    rule = r.get("rule") or {}
    threshold = _("stable when at most %(percent)s moved") % {
        "percent": doc.pct(next_["threshold"])
    }
    if rule.get("max_rounds"):
        threshold += "; " + _("most rounds: %(n)s") % {"n": rule["max_rounds"]}
    rows = [(_("Recommended next step"), f"{said} ({threshold})")]
    moving = [titles.get(i, str(i)) for i in next_.get("moving") or []]
    if moving and next_["next"] != "stop_consensus":
        rows.append((_("Still moving"), "; ".join(moving)))
    return rows


def verdict_cell(doc: Document, r: Row, f: Row) -> str:
    """A factor's verdict in words, with how many of the round's ballots answered it."""
    said = word(doc._, "verdict", f.get("verdict"))
    answered = coverage(doc._, f, r)
    if f.get("change") is not None:
        moved = doc._("moved %(percent)s") % {"percent": doc.pct(f["change"])}
        answered = f"{answered}; {moved}" if answered else moved
    return f"{said} ({answered})" if said and answered else said or DASH
