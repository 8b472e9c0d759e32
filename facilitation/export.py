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

SCHEMA_VERSION = 1
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


def to_csv(record: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """One row per factor: category, title, description, origin, status, removal reason, and
    the latest keep/remove and dot-voting results. UTF-8 with a BOM so Excel reads å, ä, ö."""
    keep_remove = _latest(record, "keep_remove")
    dots = _latest(record, "dots")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            gettext("Category"),
            gettext("Factor"),
            gettext("Description"),
            gettext("Origin"),
            gettext("Status"),
            gettext("Reason for removal"),
            gettext("Keep"),
            gettext("Remove"),
            gettext("Agreement"),
            gettext("Dots"),
            gettext("Rank"),
        ]
    )
    for factor in record["factors"]:
        kr = keep_remove.get(factor["id"], {})
        dv = dots.get(factor["id"], {})
        agreement = kr.get("agreement")
        writer.writerow(
            neutralise(value)
            for value in (
                factor["category"],
                factor["title"],
                factor["description"],
                factor["origin"],
                factor["status"],
                factor["removal_reason"] or "",
                kr.get("keep", ""),
                kr.get("remove", ""),
                "" if agreement is None else round(agreement, 4),
                dv.get("dots", ""),
                dv.get("rank", ""),
            )
        )
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
