"""The PDF report read back as its reader reads it (poppler's pdftotext, line by line): each
final factor's standing from the last round that measured it, a first page a council member
can read on its own, times in the workshop's time zone, and no word broken across lines."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import get_month_names
from babel.support import Translations
from conftest import Room
from flask import Flask
from flask_babel import force_locale, gettext

from facilitation.outputs import report

ROOT = Path(__file__).resolve().parent.parent
# Long Swedish words in narrow columns: a status ("sammanslagen"), compounds in titles.
FACTORS = [
    {"title": "Kompetensförsörjningsutmaningarna", "category": "Sociala"},
    {"title": "Åldrande befolkning", "category": "Sociala"},
    {"title": "Hållbarhetsrapporteringen i näringslivet", "category": "Ekonomiska"},
    {"title": "Elektrifiering av transporter", "category": "Teknologiska"},
    {"title": "Cirkulär ekonomi", "category": "Ekonomiska"},
]


def pdf_of(app: Flask, record: dict[str, Any], language: str) -> bytes:
    """The report as the export makes it, in `language`."""
    with app.test_request_context(), force_locale(language):
        return report.to_pdf(record, gettext)


def pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, as poppler reads it (its lines as laid out)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return out.split("\f")[:-1]


def record_of(room: Room) -> dict[str, Any]:
    return room.app.extensions["samsyn"].services.workshops.record(room.code)  # type: ignore[no-any-return]


def run(room: Room) -> dict[str, int]:
    """Four phones; a factor merged, one removed; a rating of every factor, a matrix, then a
    last rating that measured only one factor."""
    room.phones = [room.phone()[1] for _ in range(4)]
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    skills, old, report_, electric, circular = ids.values()
    room.ok(room.console, "step.set", step="prune")
    room.run_round("keep_remove", [{circular: "remove", old: "keep"}] * 4)
    room.ok(room.console, "factor.merge", factor_id=old, into_id=skills)
    room.ok(room.console, "factor.remove", factor_id=circular, reason="Ingår i annat")
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round(
        "rating",
        [{skills: 5, report_: 3, electric: 2}, {skills: 4, report_: 4, electric: 2}] * 2,
    )
    room.run_round(
        "matrix",
        [{skills: [5, 1], report_: [4, 5], electric: [2, 2]}] * 4,
    )
    room.run_round("rating", [{skills: 4}, {skills: 5}, {skills: 4}])
    return ids


@pytest.fixture
def workshop(make_room: Any) -> Room:
    room: Room = make_room(title="Näringslivsstrategi 2030", factors=FACTORS)
    run(room)
    return room


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_each_final_factor_stands_by_its_last_measured_round(
    make_room: Any, tmp_path: Path
) -> None:
    room: Room = make_room(language="en", factors=FACTORS)
    run(room)
    text = "\n".join(pages(pdf_of(room.app, record_of(room), "en"), tmp_path))
    final = section(text, "The final factors", "Charts")
    # Every kept factor has a result, from the round that last measured it, named.
    assert "– – –" not in final and "– –" not in final
    assert final.count("Round 4") == 1  # Kompetensförsörjningsutmaningarna, rated again
    assert final.count("Round 3") == 2  # the other two, last placed on the matrix in round 3
    for title in ("Kompetensförsörjningsutmaningarna", "Elektrifiering av transporter"):
        assert title in final
    # What left the board is not among the final factors.
    assert "Cirkulär ekonomi" not in final and "Åldrande befolkning" not in final


def test_the_first_page_reads_on_its_own(workshop: Room, tmp_path: Path) -> None:
    first, *rest = pages(pdf_of(workshop.app, record_of(workshop), "sv"), tmp_path)
    for heading in (
        "Den gemensamma bilden",
        "Högst prioriterat",
        "Nyckeltrender",
        "Kritiska osäkerheter",
        "Utlåtanden om konsensus",
        "Deltagande per omgång",
    ):
        assert heading in first, heading
    flat = " ".join(first.split())
    # The agreed picture by category; the matrix's quadrants; participation per round.
    assert "Kompetensförsörjningsutmaningarna" in flat and "Elektrifiering av transporter" in flat
    key = section(flat, "Nyckeltrender", "Kritiska osäkerheter")
    assert "Kompetensförsörjningsutmaningarna" in key
    critical = section(flat, "Kritiska osäkerheter", "Utlåtanden om konsensus")
    assert "Hållbarhetsrapporteringen i näringslivet" in critical
    # The details come after it.
    assert "Konsensus, omgång för omgång" not in first
    assert any("Konsensus, omgång för omgång" in page for page in rest)


def test_times_are_in_the_workshops_time_zone(workshop: Room, tmp_path: Path) -> None:
    record = record_of(workshop)
    assert record["workshop"]["time_zone"] == "Europe/Stockholm"
    opened = next(e["at"] for e in record["log"] if e["action"] == "round.opened")
    utc = datetime.fromisoformat(opened)
    text = " ".join(pages(pdf_of(workshop.app, record, "sv"), tmp_path))
    local = utc.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%H:%M")
    assert local in text and "UTC" not in text
    assert "Tider i tidszonen Europe/Stockholm" in " ".join(text.split())
    workshop.ok(workshop.console, "workshop.configure", time_zone="America/New_York")
    record = record_of(workshop)
    text = " ".join(pages(pdf_of(workshop.app, record, "sv"), tmp_path))
    assert utc.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") in text


def vocabulary(record: dict[str, Any]) -> set[str]:
    """Every whole word the report may print: what was typed, the Swedish catalogue's texts,
    the months and the names of the time zone."""
    typed = [record["workshop"]["title"], *record["categories"], record["workshop"]["time_zone"]]
    typed += [f["title"] for f in record["factors"]]
    typed += [f.get("removal_reason") or "" for f in record["factors"]]
    translations = Translations.load(str(ROOT / "translations"), ["sv"])
    catalog = translations._catalog
    typed += [str(v) for v in catalog.values()]
    typed += list(get_month_names("wide", locale="sv").values())
    return {w.casefold() for t in typed for w in re.findall(r"[^\W\d_]+", t)}


def test_no_word_is_broken_across_lines(workshop: Room, tmp_path: Path) -> None:
    record = record_of(workshop)
    known = vocabulary(record)
    text = "\n".join(pages(pdf_of(workshop.app, record, "sv"), tmp_path))
    words = {w.casefold() for w in re.findall(r"[^\W\d_]+", text)}
    assert words - known == set(), "broken or unknown words"
    # The long words are printed whole.
    for long in ("Kompetensförsörjningsutmaningarna", "sammanslagen", "Hållbarhetsrapporteringen"):
        assert long in text, long


def test_only_a_changed_fate_is_said_beside_a_factor(workshop: Room, tmp_path: Path) -> None:
    text = " ".join(pages(pdf_of(workshop.app, record_of(workshop), "sv"), tmp_path))
    assert "(behållen)" not in text
    assert "Cirkulär ekonomi (borttagen)" in " ".join(text.split())


def test_chart_labels_are_whole(make_room: Any, tmp_path: Path) -> None:
    """Bars and rating charts name each factor in full, on more lines if need be; factors
    nobody rated get no empty chart of their own."""
    long = (
        "Kommunens långsiktiga försörjning av kompetens inom vård, skola och omsorg på landsbygden"
    )
    room: Room = make_room(
        language="sv", factors=[*FACTORS, {"title": long, "category": "Sociala"}]
    )
    room.phones = [room.phone()[1] for _ in range(3)]
    ids = [room.factor(f["title"]) for f in FACTORS] + [room.factor(long)]
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("dots", [{ids[-1]: 2, ids[0]: 1}] * 3, budget=3, cap=3)
    room.run_round("rating", [{ids[-1]: 4, ids[0]: 2}] * 3)
    text = "\n".join(pages(pdf_of(room.app, record_of(room), "sv"), tmp_path))
    charts = " ".join(section(text, "Diagram", "Konsensus, omgång för omgång").split())
    assert "…" not in charts
    assert charts.count(f"1. {long}") == 2  # its bar and its rating chart
    assert "Faktorer som ingen bedömde: 4" in charts
    assert charts.count("Median – ·") == 0
