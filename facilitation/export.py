"""Exports of a workshop's record: CSV for spreadsheets, JSON for everything else.

Layer: edge formatting. Takes the record built by the services (plain data) and writes it;
no database, no Flask. Text that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .domain import N_

SCHEMA_VERSION = 1

# Codes in the record, as words in the CSV (the JSON keeps the codes).
_WORDS = {
    "status": {
        "proposed": N_("proposed"),
        "active": N_("active"),
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
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe, which spreadsheets show as
    text (OWASP's advice against CSV injection). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _latest(record: dict[str, Any], method: str) -> dict[int, dict[str, Any]]:
    """Per factor id, its results in the latest closed round of `method`."""
    rounds = [r for r in record["rounds"] if r["method"] == method]
    return {row["factor_id"]: row for row in rounds[-1]["factors"]} if rounds else {}


def _number(value: Any) -> Any:
    return "" if value is None else round(value, 4) if isinstance(value, float) else value


def _columns(gettext: Callable[[str], str]) -> list[tuple[str, str | None, Callable[..., Any]]]:
    """The CSV's columns: header, the method whose latest round it reads (None: the factor
    itself), and how to get the value."""

    def word(kind: str, code: str | None) -> str:
        message = _WORDS[kind].get(code or "")
        return gettext(message) if message else ""

    return [
        (gettext("Category"), None, lambda f, r: f["category"]),
        (gettext("Factor"), None, lambda f, r: f["title"]),
        (gettext("Description"), None, lambda f, r: f["description"]),
        (gettext("Origin"), None, lambda f, r: word("origin", f["origin"])),
        (gettext("Status"), None, lambda f, r: word("status", f["status"])),
        (gettext("Reason for removal"), None, lambda f, r: f["removal_reason"] or ""),
        (gettext("Merged into"), None, lambda f, merged_into: merged_into),
        (gettext("Keep"), "keep_remove", lambda f, r: r.get("keep")),
        (gettext("Remove"), "keep_remove", lambda f, r: r.get("remove")),
        (gettext("Agreement"), "keep_remove", lambda f, r: r.get("agreement")),
        (gettext("Dots"), "dots", lambda f, r: r.get("dots")),
        (gettext("Rank by dots"), "dots", lambda f, r: r.get("rank")),
        (gettext("Rating (median)"), "rating", lambda f, r: r.get("median")),
        (gettext("Rating spread (IQR)"), "rating", lambda f, r: r.get("iqr")),
        (gettext("Rating agreement"), "rating", lambda f, r: r.get("agreement")),
        (gettext("Average place"), "ranking", lambda f, r: r.get("mean_rank")),
        (gettext("Rank by ranking"), "ranking", lambda f, r: r.get("rank")),
        (gettext("Impact (median)"), "matrix", lambda f, r: (r.get("impact") or {}).get("median")),
        (
            gettext("Uncertainty (median)"),
            "matrix",
            lambda f, r: (r.get("uncertainty") or {}).get("median"),
        ),
        (gettext("Quadrant"), "matrix", lambda f, r: word("quadrant", r.get("quadrant"))),
    ]


def to_csv(record: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """One row per factor: what it is and what became of it, and its results in the latest
    closed round of each method. UTF-8 with a BOM so Excel reads å, ä, ö."""
    columns = _columns(gettext)
    latest = {method: _latest(record, method) for _, method, _ in columns if method}
    titles = {f["id"]: f["title"] for f in record["factors"]}
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header for header, _, _ in columns)
    for factor in record["factors"]:
        cells = []
        for _, method, value in columns:
            if method is None:
                merged = titles.get(factor["merged_into_id"], "")
                cells.append(value(factor, merged))
            else:
                cells.append(_number(value(factor, latest[method].get(factor["id"], {}))))
        writer.writerow(neutralise(cell) for cell in cells)
    return out.getvalue()


def to_json(record: dict[str, Any]) -> str:
    """The whole record with the schema version (documented in docs/api.md)."""
    document = {
        "schema": "samsyn.workshop",
        "schema_version": SCHEMA_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **record,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
