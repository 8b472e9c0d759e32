"""The Excel workbook of a workshop: a summary, the factors, the results of every round, the
anonymised ballots, the reasons from the edges and the audit log, one sheet each.

Layer: outputs, like export.py: the record in, bytes out. Cells are typed (numbers as
numbers, times as times, yes/no as booleans); text is always stored as text, so nothing a
participant typed can run as a formula.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet as Worksheet

from facilitation.core.domain import N_
from facilitation.outputs.export import Gettext, results_table, series_table, word

# Columns are as wide as their longest text, within these bounds (in characters).
WIDTH_MIN, WIDTH_MAX = 8, 60
PERCENT_HEADERS = {N_("Agreement"), N_("Share of the points")}


def to_xlsx(record: Mapping[str, Any], gettext: Gettext) -> bytes:
    """The workbook as bytes (.xlsx)."""
    book = Workbook(write_only=True)
    summary = book.create_sheet(gettext("Summary"))
    _fill(summary, [gettext("What"), gettext("Value")], _summary(record, gettext))

    factors = book.create_sheet(gettext("Factors"))
    titles = {f["id"]: f["title"] for f in record["factors"]}
    _fill(
        factors,
        [
            gettext(h)
            for h in (
                N_("Category"),
                N_("Factor"),
                N_("Description"),
                N_("Origin"),
                N_("Status"),
                N_("Reason for removal"),
                N_("Merged into"),
            )
        ],
        (
            [
                f["category"],
                f["title"],
                f["description"],
                word(gettext, "origin", f["origin"]),
                word(gettext, "status", f["status"]),
                f["removal_reason"],
                titles.get(f["merged_into_id"]),
            ]
            for f in record["factors"]
        ),
    )

    rounds = book.create_sheet(gettext("Rounds"))
    headers, rows = results_table(record, gettext)
    _fill(rounds, headers, rows, percent={gettext(h) for h in PERCENT_HEADERS})

    ballots = book.create_sheet(gettext("Ballots"))
    _fill(ballots, *_ballots(record, gettext))

    # Reasons from the edges, each with what became of it: the facilitator's record.
    reasons = book.create_sheet(gettext("Reasons"))
    _fill(
        reasons,
        [gettext(h) for h in (N_("Round"), N_("Factor"), N_("Reason"), N_("Status"))],
        (
            [r["round"], r["factor"], r["text"], word(gettext, "reason_status", r["status"])]
            for r in record.get("reasons", [])
        ),
    )

    log = book.create_sheet(gettext("Log"))
    _fill(
        log,
        [
            gettext(h)
            for h in (N_("Time (UTC)"), N_("Role"), N_("Action"), N_("Factor"), N_("Details"))
        ],
        (
            [
                datetime.fromisoformat(e["at"].removesuffix("Z")),
                e["actor"],
                e["action"],
                titles.get(e["factor_id"]),
                json.dumps(e["details"], ensure_ascii=False),
            ]
            for e in record["log"]
        ),
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary(record: Mapping[str, Any], gettext: Gettext) -> list[list[Any]]:
    w = record["workshop"]
    rule = w["consensus_rule"]
    rounds = record["rounds"]
    return [
        [gettext("Workshop"), w["title"]],
        [gettext("Code"), w["code"]],
        [gettext("Language"), w["language"]],
        [gettext("Created (UTC)"), datetime.fromisoformat(w["created_at"].removesuffix("Z"))],
        [gettext("Participants"), w["participants"]],
        [gettext("of whom proxies"), w["proxies"]],
        [gettext("Agreement needed on every factor"), rule["agreement"]],
        [gettext("Concordance needed (Kendall's W)"), rule["kendall_w"]],
        [gettext("Factors kept"), sum(1 for f in record["factors"] if f["status"] == "active")],
        [gettext("Rounds"), len(rounds)],
        [
            gettext("Consensus reached in the last round"),
            rounds[-1]["verdict"]["reached"] if rounds else None,
        ],
    ]


def _ballots(record: Mapping[str, Any], gettext: Gettext) -> tuple[list[str], list[list[Any]]]:
    """One row per answer: the round, the participant's number (never who), whether a proxy
    gave it, the factor and the answer; a nickname only when the facilitator asked for it; the
    stakeholder group where the workshop has groups (and the round may show it)."""
    titles = {f["id"]: f["title"] for f in record["factors"]}
    nicknames = any("nickname" in a for r in record["rounds"] for a in r["answers"])
    grouped = bool(record.get("groups"))
    headers = [gettext(h) for h in (N_("Round"), N_("Method"), N_("Participant"), N_("Proxy"))]
    headers += [gettext("Nickname")] if nicknames else []
    headers += [gettext("Stakeholder group")] if grouped else []
    headers += [gettext(h) for h in (N_("Factor"), N_("Answer"), N_("Uncertainty"))]
    rows = []
    for round_ in record["rounds"]:
        for answer in round_["answers"]:
            who: list[Any] = [answer["participant"], answer["proxy"]]
            who += [answer.get("nickname")] if nicknames else []
            who += [answer.get("group")] if grouped else []
            for factor_id, value in answer["entries"].items():
                first, second = value if isinstance(value, list) else (value, None)
                if first == "no_opinion":
                    first = gettext("No opinion")
                elif isinstance(first, str):
                    first = gettext(first.capitalize())  # keep, remove
                rows.append(
                    [
                        round_["number"],
                        word(gettext, "method", round_["method"]),
                        *who,
                        titles.get(int(factor_id)),
                        first,
                        second,
                    ]
                )
    return headers, rows


def _fill(
    sheet: Worksheet,
    headers: list[str],
    rows: Iterable[list[Any]],
    percent: set[str] | None = None,
) -> None:
    """Write a header row (bold, frozen) and the rows, columns as wide as their text. The
    workbook is write-only (streamed), so the columns are sized before the rows go in."""
    rows = list(rows)
    for index, header in enumerate(headers):
        longest = max(
            [len(str(header))] + [len(str(row[index])) for row in rows if row[index] is not None]
        )
        width = max(WIDTH_MIN, min(WIDTH_MAX, longest + 2))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_cell(sheet, header, font=bold) for header in headers])
    percents = {i for i, header in enumerate(headers) if percent and header in percent}
    for row in rows:
        sheet.append([_cell(sheet, value, percent=i in percents) for i, value in enumerate(row)])


def _cell(sheet: Worksheet, value: Any, *, font: Font | None = None, percent: bool = False) -> Any:
    """A cell of its own type. openpyxl would store text starting with "=" as a formula;
    here all text is stored as text."""
    if not isinstance(value, str) and font is None and not (percent and isinstance(value, float)):
        return value  # plain values need no cell of their own
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if percent and isinstance(value, float):
        cell.number_format = "0%"
    return cell


# --- A series' combined picture ------------------------------------------------------------


def series_to_xlsx(record: Mapping[str, Any], gettext: Gettext) -> bytes:
    """A series' workbook: a summary, the combined picture, the workshops, every factor's
    figures per workshop, and the final list, one sheet each."""
    book = Workbook(write_only=True)
    s = record["series"]
    concordance = record["concordance"]
    summary = book.create_sheet(gettext("Summary"))
    _fill(
        summary,
        [gettext("What"), gettext("Value")],
        [
            [gettext("Series"), s["title"]],
            [gettext("Language"), s["language"]],
            [gettext("Created (UTC)"), datetime.fromisoformat(s["created_at"].removesuffix("Z"))],
            [gettext("Workshops"), len(record["workshops"])],
            [gettext("Factors in the library"), len(record["factors"])],
            [gettext("Concordance between the groups (Kendall's W)"), concordance["w"]],
            [gettext("Concluded"), bool(s["concluded_at"])],
        ],
    )
    headers, rows = series_table(record, gettext)
    _fill(book.create_sheet(gettext("Combined")), headers, rows)
    _fill(
        book.create_sheet(gettext("Workshops")),
        [
            gettext(h)
            for h in (
                N_("Workshop"),
                N_("Title"),
                N_("Stakeholder group"),
                N_("Step"),
                N_("Method"),
                N_("Ballots in the round"),
                N_("Consensus reached in the round"),
            )
        ],
        [
            [
                w["letter"],
                w["title"],
                w["stakeholder"],
                word(gettext, "step", w["step"]),
                word(gettext, "method", w["method"]),
                w.get("ballots"),
                w["consensus"],
            ]
            for w in record["workshops"]
        ],
    )
    figures = [
        N_("Rank"),
        N_("Dots"),
        N_("Points"),
        N_("Median"),
        N_("Interquartile range"),
        N_("Agreement"),
    ]
    keys = ("rank", "dots", "points", "median", "iqr", "agreement")
    _fill(
        book.create_sheet(gettext("Per workshop")),
        [gettext(h) for h in (N_("Factor"), N_("Workshop"), N_("Status"), N_("Title there"))]
        + [gettext(h) for h in figures],
        (
            [
                f["title"],
                w["letter"],
                word(gettext, "fate", f["cells"][w["key"]]["status"]),
                f["cells"][w["key"]].get("title_here"),
                *((f["cells"][w["key"]].get("figures") or {}).get(k) for k in keys),
            ]
            for f in record["factors"]
            for w in record["workshops"]
        ),
        percent={gettext("Agreement")},
    )
    final = (record.get("final") or {}).get("factors", [])
    _fill(
        book.create_sheet(gettext("Final list")),
        [gettext(h) for h in (N_("Rank"), N_("Category"), N_("Factor"), N_("Priority (0–1)"))],
        ([f["rank"], f["category"], f["title"], f["priority"]] for f in final),
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
