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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    "role": {
        "facilitator": N_("facilitator"),
        "participant": N_("participant"),
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
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe, which spreadsheets show as
    text (OWASP's advice against CSV injection). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def word(gettext: Gettext, kind: str, code: str | None) -> str:
    """A code of the record (a status, a method …) in words of the export's language."""
    message = WORDS[kind].get(code or "")
    return gettext(message) if message else ""


# --- Times, in the workshop's time zone ---------------------------------------------------


def zone_of(record: Mapping[str, Any]) -> str:
    """The time zone a record's times are written in: its workshop's (an IANA name), else
    UTC (a record made before workshops had one, or a series' record)."""
    return str((record.get("workshop") or {}).get("time_zone") or "UTC")


def local_time(at: str, zone: str) -> datetime:
    """A time of the record (ISO, in UTC) as the clock in `zone` showed it, without a zone:
    spreadsheets keep none, so the column's header names it (see `timed`)."""
    moment = datetime.fromisoformat(at.removesuffix("Z")).replace(tzinfo=UTC)
    try:
        return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    except (ZoneInfoNotFoundError, ValueError):
        return moment.replace(tzinfo=None)


def timed(gettext: Gettext, header: str, zone: str) -> str:
    """A header of times, naming their zone: "Time (Europe/Stockholm)"."""
    return gettext("%(what)s (%(zone)s)") % {"what": gettext(header), "zone": zone}


# --- Exports made before the workshop is closed ---------------------------------------------


def preliminary_note(record: Mapping[str, Any], gettext: Gettext) -> str | None:
    """What marks an export made while the workshop runs (None once it is closed): the
    results may still change, and an open round is not in it."""
    if not record.get("preliminary"):
        return None
    return gettext(
        "Preliminary: exported during the workshop, before it was closed. The results may "
        "still change; a round still open is not included."
    )


# --- The audit log, in words ------------------------------------------------------------------

# What each logged action was, in words.
LOG_WORDS = {
    "factor.added": N_("Factor added by the facilitator"),
    "factor.proposed": N_("Factor proposed by a participant"),
    "factor.edited": N_("Factor edited"),
    "factor.approved": N_("Proposal approved"),
    "factor.hidden": N_("Factor hidden"),
    "factor.removed": N_("Factor removed"),
    "factor.restored": N_("Factor restored"),
    "factor.merged": N_("Factor merged into another"),
    "reason.given": N_("Reason given"),
    "reason.approved": N_("Reason approved"),
    "reason.hidden": N_("Reason hidden"),
    "round.opened": N_("Round opened"),
    "round.configured": N_("Round settings changed"),
    "round.closed": N_("Round closed"),
    "round.revealed": N_("Round results shown"),
    "round.rule_changed": N_("Consensus rule changed"),
    "workshop.configured": N_("Workshop settings changed"),
    "step.changed": N_("Step changed"),
    "doors.closed": N_("Joining closed"),
    "doors.opened": N_("Joining opened"),
    "timer.set": N_("Timer set"),
    "category.added": N_("Category added"),
    "category.renamed": N_("Category renamed"),
    "proxy.added": N_("Proxy added"),
    "groups.set": N_("Stakeholder groups set"),
    "moderation.policy_set": N_("Moderation policy changed"),
}
# The log's moderation: what happened to factors and reasons at the facilitator's hand.
MODERATION = {
    "factor.edited",
    "factor.approved",
    "factor.hidden",
    "factor.removed",
    "factor.restored",
    "factor.merged",
    "factor.unmerged",
    "reason.approved",
    "reason.hidden",
    "moderation.policy_set",
}
# Detail keys in words; other keys are written as they are.
_DETAIL_WORDS = {
    "reason": N_("reason"),
    "round": N_("round"),
    "title": N_("title"),
    "description": N_("description"),
    "category_id": N_("category"),
    "into_title": N_("into"),
    "ballots": N_("ballots moved"),
    "method": N_("method"),
    "number": N_("number"),
    "seconds": N_("seconds"),
    "name": N_("name"),
    "language": N_("language"),
    "policy": N_("policy"),
    "status": N_("status"),
    "groups": N_("groups"),
    "before": N_("before"),
    "after": N_("after"),
    "live": N_("live"),
    "required": N_("required"),
    "shown": N_("shown"),
    "approval_required": N_("approval required"),
    "consensus": N_("consensus"),
    "time_zone": N_("time zone"),
}
# Detail keys that only point into the record (shown by the columns beside them).
_DETAIL_SKIPPED = {"into", "reason_id", "factor_id", "settings"}


def log_words(entry: Mapping[str, Any], gettext: Gettext) -> tuple[str, str]:
    """One entry of the audit log as a reader wants it: what happened, in words, and its
    details ("reason: duplicate; round: 2"). An action this version does not know keeps
    its code."""
    action = entry["action"]
    what = gettext(LOG_WORDS[action]) if action in LOG_WORDS else action
    said = []
    for key, value in (entry.get("details") or {}).items():
        if key in _DETAIL_SKIPPED or value is None:
            continue
        name = gettext(_DETAIL_WORDS[key]) if key in _DETAIL_WORDS else key
        if action == "factor.edited" and isinstance(value, list) and len(value) == 2:
            # An edit logs each field as [before, after].
            change = f"{_detail(gettext, value[0])} → {_detail(gettext, value[1])}"
            said.append(f"{name}: {change}")
            continue
        said.append(f"{name}: {_detail(gettext, _coded(action, key, value, gettext))}")
    return what, "; ".join(said)


def _coded(action: str, key: str, value: Any, gettext: Gettext) -> Any:
    """A detail that is a code of the record (a step, a method, a reason's status), in
    words; any other as it is."""
    kind = {"before": "step", "after": "step"}.get(key) if action == "step.changed" else None
    if key == "method":
        kind = "method"
    elif key == "status" and action.startswith("reason."):
        kind = "reason_status"
    return word(gettext, kind, value) if kind and isinstance(value, str) else value


def _detail(gettext: Gettext, value: Any) -> str:
    """A detail's value as text: a change as "before → after", a list joined, yes/no."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list) and len(value) == 2 and not all(isinstance(v, str) for v in value):
        return f"{_detail(gettext, value[0])} → {_detail(gettext, value[1])}"
    if isinstance(value, list):
        return ", ".join(_detail(gettext, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_detail(gettext, v)}" for k, v in value.items())
    return "–" if value is None or value == "" else str(value)


def log_table(
    record: Mapping[str, Any], gettext: Gettext, *, moderation: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """The audit log as a table: the time (in the workshop's zone), who (a role), what
    happened in words, the factor (its title now) and the details. `moderation` keeps only
    what happened to factors and reasons at the facilitator's hand, and the policy."""
    zone = zone_of(record)
    titles = {f["id"]: f["title"] for f in record["factors"]}
    headers = [
        timed(gettext, N_("Time"), zone),
        gettext("Role"),
        gettext("What happened"),
        gettext("Factor"),
        gettext("Details"),
    ]
    rows = []
    for entry in record["log"]:
        if moderation and entry["action"] not in MODERATION:
            continue
        what, details = log_words(entry, gettext)
        role = word(gettext, "role", entry["actor"]) or entry["actor"]
        rows.append(
            [
                local_time(entry["at"], zone),
                role,
                what,
                titles.get(entry["factor_id"]),
                details or None,
            ]
        )
    return headers, rows


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
    """The results table as CSV, in the dialect of the workshop's language (see _csv).
    Exported before the workshop is closed, its first column says so on every row."""
    headers, rows = _marked(record, gettext, *results_table(record, gettext))
    return _csv(headers, rows, record["workshop"]["language"], gettext)


def _marked(
    record: Mapping[str, Any], gettext: Gettext, headers: list[str], rows: list[list[Any]]
) -> tuple[list[str], list[list[Any]]]:
    """A table with a first column "Preliminary" when the record is (see preliminary_note),
    so that no row read alone passes for the final result; the table as it is otherwise."""
    note = preliminary_note(record, gettext)
    if note is None:
        return headers, rows
    return [gettext("Preliminary"), *headers], [[note, *row] for row in rows]


def moderation_to_csv(record: Mapping[str, Any], gettext: Gettext) -> str:
    """The moderation log as CSV (see log_table), its policy first when there is one."""
    headers, rows = _marked(record, gettext, *log_table(record, gettext, moderation=True))
    return _csv(headers, rows, record["workshop"]["language"], gettext)


def moderation_to_json(record: Mapping[str, Any]) -> str:
    """The moderation log as a JSON document: the workshop, its policy, and every entry of
    the audit log that moderated a factor or a reason (or changed the policy)."""
    titles = {f["id"]: f["title"] for f in record["factors"]}
    w = record["workshop"]
    return _json(
        "samsyn.moderation",
        SCHEMA_VERSION,
        {
            "preliminary": bool(record.get("preliminary")),
            "workshop": {"code": w["code"], "title": w["title"], "language": w["language"]},
            "moderation_policy": w.get("moderation_policy"),
            "entries": [
                {**entry, "factor": titles.get(entry["factor_id"])}
                for entry in record["log"]
                if entry["action"] in MODERATION
            ],
        },
    )


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
