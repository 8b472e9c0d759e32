"""The Excel workbook of a workshop: a summary, the factors, the results of every round, the
anonymised ballots, the reasons from the edges, the moderation log and the audit log, one
sheet each, every table with a frozen header row and a filter.

Layer: outputs, like export.py: the record in, bytes out. Cells are typed (numbers as
numbers, times as times in the workshop's time zone, yes/no as booleans); text is always
stored as text and wraps, and text that starts like a formula carries the quote-prefix
style, so nothing a participant typed can run as a formula, and nothing is added to it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet as Worksheet

from facilitation.core.domain import N_
from facilitation.outputs.export import (
    FORMULA_START,
    Gettext,
    local_time,
    log_table,
    preliminary_note,
    results_table,
    series_table,
    timed,
    word,
    zone_of,
)

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

    # What the facilitator moderated, and why: the log's moderation on a sheet of its own.
    moderation = book.create_sheet(gettext("Moderation"))
    _fill(moderation, *log_table(record, gettext, moderation=True))

    _fill(book.create_sheet(gettext("Log")), *log_table(record, gettext))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary(record: Mapping[str, Any], gettext: Gettext) -> list[list[Any]]:
    w = record["workshop"]
    rule = w["consensus_rule"]
    rounds = record["rounds"]
    zone = zone_of(record)
    note = preliminary_note(record, gettext)
    return [
        *([[gettext("Preliminary"), note]] if note else []),
        [gettext("Workshop"), w["title"]],
        [gettext("Code"), w["code"]],
        [gettext("Language"), w["language"]],
        [timed(gettext, N_("Created"), zone), local_time(w["created_at"], zone)],
        *(
            [[gettext("Moderation policy"), w["moderation_policy"]]]
            if w.get("moderation_policy")
            else []
        ),
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
    """Write a header row (bold, frozen, with a filter on every column) and the rows,
    columns as wide as their text up to WIDTH_MAX, longer text wrapping. The workbook is
    write-only (streamed), so the columns are sized before the rows go in."""
    rows = list(rows)
    for index, header in enumerate(headers):
        longest = max(
            [len(str(header))] + [len(str(row[index])) for row in rows if row[index] is not None]
        )
        width = max(WIDTH_MIN, min(WIDTH_MAX, longest + 2))
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    bold = Font(bold=True)
    sheet.append([_cell(sheet, header, font=bold) for header in headers])
    percents = {i for i, header in enumerate(headers) if percent and header in percent}
    for row in rows:
        sheet.append([_cell(sheet, value, percent=i in percents) for i, value in enumerate(row)])


WRAP = Alignment(wrap_text=True, vertical="top")


def _cell(sheet: Worksheet, value: Any, *, font: Font | None = None, percent: bool = False) -> Any:
    """A cell of its own type. openpyxl would store text starting with "=" as a formula;
    here all text is stored as text, and wraps. Text that a spreadsheet would read as a
    formula once edited also gets the quote-prefix style, which keeps it text without a
    visible apostrophe (OWASP's advice against formula injection, shown as a style)."""
    if not isinstance(value, str) and font is None and not (percent and isinstance(value, float)):
        return value  # plain values need no cell of their own
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        cell.alignment = WRAP
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True
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
            [timed(gettext, N_("Created"), "UTC"), local_time(s["created_at"], "UTC")],
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
