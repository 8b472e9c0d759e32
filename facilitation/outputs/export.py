"""Exports of a workshop's record: the table of results (shared by the CSV and the Excel
workbook), the CSV, the JSON document, and the archive of every format; and the same for a
series' combined picture (a row per library factor, the workshops side by side).

Layer: outputs. Takes the record built by the read side (plain data) and writes it;
no database, no Flask. Text that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from babel.numbers import format_decimal

from facilitation.core.domain import N_

# The JSON document's schema: docs/export-schema.json. Raised when it changes incompatibly.
SCHEMA_VERSION = 1

Gettext = Callable[[str], str]


class Words:
    """An export's gettext together with its language, for numbers written inside words
    ("at most 1,5" in Swedish)."""

    def __init__(self, gettext: Gettext, language: str) -> None:
        self.gettext = gettext
        self.language = language

    def __call__(self, text: str) -> str:
        return self.gettext(text)


# Codes in the record, as words in the spreadsheets (the JSON keeps the codes).
WORDS = {
    "status": {
        "proposed": N_("awaiting approval"),
        "active": N_("kept"),
        "hidden": N_("hidden"),
        "removed": N_("removed"),
        "merged": N_("merged"),
    },
    "origin": {
        "seeded": N_("prepared"),
        "proposed": N_("proposed by a participant"),
        "facilitator": N_("added by the facilitator"),
    },
    "quadrant": {
        "key_trend": N_("Key trend"),
        "critical_uncertainty": N_("Critical uncertainty"),
        "weak_signal": N_("Watch"),
        "minor_trend": N_("Minor trend"),
    },
    "step": {
        "prepare": N_("Preparing"),
        "complete": N_("Add factors"),
        "prune": N_("Keep or remove"),
        "prioritise": N_("Prioritise"),
        "results": N_("Results"),
        "closed": N_("Closed"),
    },
    "round_state": {"closed": N_("closed, not yet shown"), "revealed": N_("shown to everyone")},
    # A reason from the edges (core/reasons.py).
    "reason_status": {
        "pending": N_("waiting for approval"),
        "shown": N_("shown"),
        "hidden": N_("hidden"),
    },
    "method": {
        "keep_remove": N_("Keep or remove"),
        "dots": N_("Dot voting"),
        "points": N_("100 points"),
        "rating": N_("Rating"),
        "ranking": N_("Ranking"),
        "matrix": N_("Impact and uncertainty"),
    },
    # A library factor in one workshop (combined.py), and how the workshops compare.
    "fate": {
        "kept": N_("kept"),
        "removed": N_("removed"),
        "merged": N_("merged"),
        "absent": N_("not in this workshop"),
        "hidden": N_("not on the board"),
    },
    "tier": {
        "high": N_("high"),
        "medium": N_("middle"),
        "low": N_("low"),
        "removed": N_("removed"),
    },
    # A factor's verdict under its round's rule, and how a rule judges (core/consensus.py).
    "verdict": {
        "in": N_("consensus in"),
        "out": N_("consensus out"),
        "none": N_("no consensus"),
        "divided": N_("divided"),
        "too_few": N_("too few answers"),
    },
    "preset": {
        "agreement": N_("agreement share"),
        "cos": N_("core outcome set (70/15)"),
        "iqr": N_("interquartile range"),
        "agreement_iqr": N_("agreement share and interquartile range"),
    },
    # The next step a round recommends (consensus.recommend).
    "next_step": {
        "stop_consensus": N_("stop: consensus reached"),
        "stop_stable": N_("stop: the answers are stable"),
        "stop_max_rounds": N_("stop: the most rounds set in advance were held"),
        "continue": N_("another round"),
    },
    "agreement": {
        "agree": N_("The groups agree"),
        "partly": N_("The groups partly agree"),
        "differ": N_("The groups differ"),
    },
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe, which spreadsheets show as
    text (OWASP's advice against CSV injection). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def word(gettext: Gettext, kind: str, code: str | None) -> str:
    """A code of the record (a status, a method …) in words of the export's language."""
    message = WORDS[kind].get(code or "")
    return gettext(message) if message else ""


# --- The table of results: one row per factor and round ------------------------------------

# (header, where the value comes from): "factor" fields, "round" fields, or a result row's;
# the last argument is the export's Words, for values put in words.
_Cell = Callable[[dict[str, Any], dict[str, Any], dict[str, Any], Words], Any]
_COLUMNS: list[tuple[str, _Cell]] = [
    (N_("Round"), lambda f, r, row, _: r.get("number")),
    (N_("Method"), lambda f, r, row, _: r.get("method")),
    (N_("Category"), lambda f, r, row, _: f["category"]),
    (N_("Factor"), lambda f, r, row, _: f["title"]),
    (N_("Status"), lambda f, r, row, _: f["status"]),
    (N_("Reason for removal"), lambda f, r, row, _: f["removal_reason"]),
    (N_("Merged into"), lambda f, r, row, _: f.get("merged_into")),
    (N_("Ballots in the round"), lambda f, r, row, _: r.get("ballots")),
    (N_("Keep"), lambda f, r, row, _: row.get("keep")),
    (N_("Remove"), lambda f, r, row, _: row.get("remove")),
    (N_("Dots"), lambda f, r, row, _: row.get("dots")),
    (N_("Points"), lambda f, r, row, _: row.get("points")),
    (N_("Share of the points"), lambda f, r, row, _: row.get("share")),
    (
        N_("Participants who gave it points"),
        lambda f, r, row, _: row.get("voters") if "points" in row else None,
    ),
    (N_("Mean points"), lambda f, r, row, _: row.get("mean") if "points" in row else None),
    (N_("Median"), lambda f, r, row, _: row.get("median")),
    (N_("Lower quartile"), lambda f, r, row, _: row.get("q1")),
    (N_("Upper quartile"), lambda f, r, row, _: row.get("q3")),
    (N_("Interquartile range"), lambda f, r, row, _: row.get("iqr")),
    (N_("No opinion"), lambda f, r, row, _: row.get("no_opinion")),
    (N_("Average place"), lambda f, r, row, _: row.get("mean_rank")),
    (N_("Impact (median)"), lambda f, r, row, _: (row.get("impact") or {}).get("median")),
    (N_("Uncertainty (median)"), lambda f, r, row, _: (row.get("uncertainty") or {}).get("median")),
    (N_("Quadrant"), lambda f, r, row, _: row.get("quadrant")),
    (N_("Agreement"), lambda f, r, row, _: row.get("agreement")),
    # Reasons from the edges: the texts the room was shown, and how many it was not.
    (N_("Reasons shown"), lambda f, r, row, _: "\n".join(row.get("reasons_shown", [])) or None),
    (N_("Reasons hidden or waiting"), lambda f, r, row, _: row.get("reasons_withheld")),
    (
        N_("Consensus reached in the round"),
        lambda f, r, row, _: (r.get("verdict") or {}).get("reached"),
    ),
    (N_("Rank"), lambda f, r, row, _: row.get("rank")),
    (N_("Verdict"), lambda f, r, row, _: row.get("verdict")),
    (N_("Verdict by stakeholder group"), lambda f, r, row, _: row.get("verdict_by_group")),
    (N_("Change since the previous round"), lambda f, r, row, _: row.get("change")),
    (
        N_("Recommended next step"),
        lambda f, r, row, _: (r.get("recommendation") or {}).get("next"),
    ),
    (N_("Answered"), lambda f, r, row, gettext: coverage(gettext, row, r)),
    (
        N_("Rule in force"),
        lambda f, r, row, words: rule_words(words, r.get("rule"), words.language),
    ),
    (N_("Rule changed after the results were seen"), lambda f, r, row, _: r.get("rule_changed")),
    (
        N_("Rule declared when the round opened"),
        lambda f, r, row, words: rule_words(words, r.get("declared_rule"), words.language),
    ),
    (
        N_("Fewer than 10 ballots (interquartile range and W unstable)"),
        lambda f, r, row, _: (r.get("verdict") or {}).get("small_panel"),
    ),
]
# The columns whose values are codes, shown as words.
_CODED = {
    N_("Status"): "status",
    N_("Method"): "method",
    N_("Quadrant"): "quadrant",
    N_("Verdict"): "verdict",
    N_("Recommended next step"): "next_step",
}


def coverage(gettext: Gettext, row: Mapping[str, Any], round_: Mapping[str, Any]) -> str | None:
    """How many of the round's ballots answered a factor ("no opinion" included): "7 of 10"."""
    if "responses" not in row:
        return None
    return gettext("%(responses)d of %(ballots)d") % {
        "responses": row["responses"],
        "ballots": round_.get("ballots", 0),
    }


def rule_words(gettext: Gettext, rule: Mapping[str, Any] | None, language: str) -> str | None:
    """A consensus rule in words: its preset and thresholds, and how many must answer, the
    decimals written as the language writes them."""
    if not rule:
        return None
    return gettext(
        "%(preset)s; agreement %(agreement)d %%, interquartile range at most %(iqr)s, "
        "Kendall's W %(w)s; judged when %(share)d %% of the ballots and at least "
        "%(answers)d opinions answer"
    ) % {
        "preset": word(gettext, "preset", rule["preset"]),
        "agreement": round(rule["agreement"] * 100),
        "iqr": format_decimal(rule["iqr"], locale=language),
        "w": format_decimal(rule["kendall_w"], locale=language),
        "share": round(rule["min_share"] * 100),
        "answers": rule["min_answers"],
    } + ("; " + gettext("in every stakeholder group") if rule.get("every_group") else "")


def results_table(record: Mapping[str, Any], gettext: Gettext) -> tuple[list[str], list[list[Any]]]:
    """The headers and rows of the results: one row per factor and closed round (rounds
    oldest first, factors in the board's order), and a row without a round for each factor
    that was in none. Values keep their types: numbers, booleans, text, or None."""
    titles = {f["id"]: f["title"] for f in record["factors"]}
    factors = [{**f, "merged_into": titles.get(f["merged_into_id"])} for f in record["factors"]]
    words = Words(gettext, record["workshop"]["language"])
    reasons = reasons_by_result(record)
    names = {g["id"]: g["name"] for g in record.get("groups", [])}
    rows: list[list[Any]] = []
    in_a_round: set[int] = set()
    for round_ in record["rounds"]:
        by_factor = {row["factor_id"]: row for row in round_["factors"]}
        for factor in factors:
            if factor["id"] in by_factor:
                in_a_round.add(factor["id"])
                row = {
                    **by_factor[factor["id"]],
                    **reasons.get((round_["id"], factor["id"]), {}),
                    "verdict_by_group": _by_group(round_, factor["id"], names, gettext),
                }
                rows.append(_row(factor, round_, row, words))
    rows.extend(_row(f, {}, {}, words) for f in factors if f["id"] not in in_a_round)
    return [gettext(header) for header, _ in _COLUMNS], rows


def _by_group(
    round_: Mapping[str, Any], factor_id: int, names: Mapping[int, str], gettext: Gettext
) -> str | None:
    """Each stakeholder group's verdict on a factor in a round, in words ("Företag: consensus
    in; Kommunen: no figures"); None without groups."""
    said = []
    for group in round_.get("groups") or []:
        name = names.get(group["group_id"], str(group["group_id"]))
        if group["withheld"]:
            said.append(f"{name}: {gettext('no figures')}")
        else:
            verdict = (group.get("verdicts") or {}).get(str(factor_id))
            said.append(f"{name}: {word(gettext, 'verdict', verdict) or '–'}")
    return "; ".join(said) or None


def reasons_by_result(record: Mapping[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    """The reasons on each round's factor: the texts shown to the room (`reasons_shown`)
    and how many were hidden or still waiting (`reasons_withheld`), by (round id, factor
    id). The results table and the report show no more than that; the JSON and the
    workbook's own sheet keep every reason with its status, never who gave it."""
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for reason in record.get("reasons", []):
        entry = found.setdefault(
            (reason["round_id"], reason["factor_id"]), {"reasons_shown": [], "reasons_withheld": 0}
        )
        if reason["status"] == "shown":
            entry["reasons_shown"].append(reason["text"])
        else:
            entry["reasons_withheld"] += 1
    return found


def _row(
    factor: dict[str, Any], round_: dict[str, Any], result: dict[str, Any], words: Words
) -> list[Any]:
    values = []
    for header, value in _COLUMNS:
        cell = value(factor, round_, result, words)
        values.append(word(words, _CODED[header], cell) if header in _CODED and cell else cell)
    return values


# --- CSV ---------------------------------------------------------------------------------


def _csv_cell(value: Any, decimal: str, gettext: Gettext) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", decimal)
    return neutralise(value)


def _csv(headers: Iterable[Any], rows: Iterable[list[Any]], language: str, gettext: Gettext) -> str:
    """A table as CSV: UTF-8 with a BOM so Excel reads å, ä, ö; in Swedish, semicolons and
    decimal commas, as Swedish Excel expects."""
    delimiter, decimal = (";", ",") if language == "sv" else (",", ".")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(_csv_cell(value, decimal, gettext) for value in row)
    return out.getvalue()


def to_csv(record: Mapping[str, Any], gettext: Gettext) -> str:
    """The results table as CSV, in the dialect of the workshop's language (see _csv)."""
    headers, rows = results_table(record, gettext)
    return _csv(headers, rows, record["workshop"]["language"], gettext)


# --- JSON and the archive ----------------------------------------------------------------


def _json(schema: str, version: int, record: Mapping[str, Any]) -> str:
    """A record as a JSON document that names its schema, version and time of export."""
    document = {
        "schema": schema,
        "schema_version": version,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **record,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def to_json(record: Mapping[str, Any]) -> str:
    """The whole record with its schema and version (docs/export-schema.json)."""
    return _json("samsyn.workshop", SCHEMA_VERSION, record)


def to_archive(files: Mapping[str, bytes]) -> bytes:
    """Every export in one zip, for the public record."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- A series' combined picture ------------------------------------------------------------

SERIES_SCHEMA_VERSION = 1


def series_table(record: Mapping[str, Any], gettext: Gettext) -> tuple[list[str], list[list[Any]]]:
    """The combined picture as a table: a row per library factor in order of priority, its
    combination, then for each workshop (A, B, …) what became of it there."""
    headers = [
        gettext(h)
        for h in (
            N_("Rank"),
            N_("Category"),
            N_("Factor"),
            N_("Priority (0–1)"),
            N_("Workshops that prioritised it"),
            N_("Spread between workshops"),
            N_("Between the groups"),
            N_("Kept in"),
            N_("Removed in"),
        )
    ]
    for w in record["workshops"]:
        name = w["letter"]
        for h in (N_("Status"), N_("Place"), N_("Priority"), N_("Consensus")):
            headers.append(f"{name}: {gettext(h)}")
    rows = []
    for f in record["factors"]:
        row: list[Any] = [
            f["rank"],
            f["category"],
            f["title"],
            f["priority"],
            f["coverage"],
            f["spread"],
            word(gettext, "agreement", f["agreement"]),
            f["kept"],
            f["removed"],
        ]
        for w in record["workshops"]:
            cell = f["cells"][w["key"]]
            place = f"{_place(cell['place'])}/{cell['of']}" if cell["place"] is not None else None
            row += [
                word(gettext, "fate", cell["status"]),
                place,
                cell["priority"],
                cell["consensus"],
            ]
        rows.append(row)
    return headers, rows


def _place(place: float) -> str:
    return str(int(place)) if float(place).is_integer() else str(place)


def series_to_csv(record: Mapping[str, Any], gettext: Gettext) -> str:
    """The combined picture as CSV, in the dialect of the series' language (see _csv)."""
    headers, rows = series_table(record, gettext)
    return _csv((neutralise(h) for h in headers), rows, record["series"]["language"], gettext)


def series_to_json(record: Mapping[str, Any]) -> str:
    """The whole combined record with its schema and version."""
    return _json("samsyn.series", SERIES_SCHEMA_VERSION, record)
