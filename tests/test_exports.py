"""Exports after the session: every format round-trips (CSV through the csv module and pandas,
Excel through openpyxl, JSON through its schema, the archive through zipfile), formula-like
text is neutralised, nothing private leaks, and a workshop can be deleted for good."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pandas
import pytest
from babel.support import Translations
from conftest import Room
from pypdf import PdfReader
from sqlalchemy import func, select

from facilitation.infrastructure import models
from facilitation.outputs import workbook

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "export-schema.json").read_text())
FACTORS = [
    {"title": "Urbanisering", "category": "Sociala"},
    {"title": "Åldrande befolkning", "category": "Sociala"},
    {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
    {"title": '=HYPERLINK("http://evil.example")', "category": "Ekonomiska"},
    {"title": "Urbanisation", "category": "Sociala"},
]


@pytest.fixture
def held(make_room: Any) -> Room:
    """A workshop after every kind of round, with a removed and a merged factor and a proxy."""
    room = make_room(language="sv", factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(3)]
    for phone, nickname in zip(room.phones, ("Anna", "Bertil", "Cecilia"), strict=True):
        room.ok(phone, "participant.rename", nickname=nickname)
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    u, a, k, evil = (
        ids[t]
        for t in (
            "Urbanisering",
            "Åldrande befolkning",
            "Kompetensförsörjning",
            FACTORS[3]["title"],
        )
    )
    room.ok(room.console, "step.set", step="prune")
    room.run_round("keep_remove", [{k: "remove"}, {k: "remove", u: "keep"}, {k: "keep"}])
    room.ok(room.console, "factor.remove", factor_id=k, reason="=SUM(A1) två av tre")
    room.ok(room.console, "factor.merge", factor_id=ids["Urbanisation"], into_id=u)
    room.ok(room.console, "proxy.add", label="Gunnel")
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("dots", [{u: 2, a: 1}, {u: 3}, {evil: 1}], budget=3, cap=3)
    room.run_round("rating", [{u: 5, a: 2}, {u: 4, a: "no_opinion"}, {u: 4, a: 3}])
    room.run_round("ranking", [{u: 1, a: 2}, {a: 1, u: 2}, {u: 1}], top_k=2)
    room.run_round("matrix", [{u: [5, 1]}, {u: [4, 2]}, {u: [5, 2]}])
    return room


def export(room: Room, fmt: str, **query: str) -> Any:
    """The facilitator's export in `fmt`, or of the moderation log ("moderation.csv")."""
    path = fmt if fmt.startswith("moderation.") else f"export.{fmt}"
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/{path}", query_string=query)
    assert response.status_code == 200, response.data[:300]
    return response


def test_the_csv_has_a_row_per_factor_and_round_in_swedish_excels_dialect(held: Room) -> None:
    text = export(held, "csv").data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    by = {(r["Omgång"], r["Faktor"]): r for r in rows}
    assert by[("1", "Kompetensförsörjning")]["Ta bort"] == "2"
    assert by[("1", "Kompetensförsörjning")]["Samstämmighet"] == "0,6667"  # a decimal comma
    assert by[("1", "Kompetensförsörjning")]["Status"] == "borttagen"
    assert by[("1", "Kompetensförsörjning")]["Skäl till borttagning"] == "'=SUM(A1) två av tre"
    assert by[("2", "Urbanisering")]["Prickar"] == "5"
    assert by[("2", "Urbanisering")]["Metod"] == "Prickröstning"
    assert by[("3", "Urbanisering")]["Median"] == "4"
    assert by[("3", "Åldrande befolkning")]["Ingen åsikt"] == "1"
    assert by[("5", "Urbanisering")]["Kvadrant"] == "Nyckeltrend"
    assert by[("1", "Urbanisation")]["Sammanslagen med"] == "Urbanisering"
    assert by[("2", '\'=HYPERLINK("http://evil.example")')]["Prickar"] == "1"
    assert {r["Konsensus nådd i omgången"] for r in rows} <= {"ja", "nej", ""}
    # A spreadsheet library reads the same table, numbers as numbers.
    frame = pandas.read_csv(io.StringIO(text[1:]), sep=";", decimal=",")
    dots = frame[(frame["Omgång"] == 2) & (frame["Faktor"] == "Urbanisering")]["Prickar"]
    assert float(dots.iloc[0]) == 5.0
    assert frame["Samstämmighet"].dropna().between(0, 1).all()


def test_an_english_csv_uses_commas_and_points(make_room: Any) -> None:
    room = make_room(language="en", factors=[{"title": "Ageing", "category": "Social"}])
    room.phones = [room.phone()[1] for _ in range(3)]
    room.ok(room.console, "step.set", step="prune")
    ageing = room.factor("Ageing")
    room.run_round("keep_remove", [{ageing: "keep"}, {ageing: "keep"}, {ageing: "remove"}])
    text = export(room, "csv").data.decode("utf-8")[1:]
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["Agreement"], row["Status"], row["Method"]) == ("0.6667", "kept", "Keep or remove")


def test_the_workbook_has_typed_sheets(held: Room) -> None:
    response = export(held, "xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Sammanfattning",
        "Faktorer",
        "Omgångar",
        "Röster",
        "Skäl",
        "Moderering",
        "Logg",
    ]
    summary = {row[0]: row[1] for row in book["Sammanfattning"].iter_rows(values_only=True)}
    assert summary["Deltagare"] == 4 and summary["varav ombud"] == 1
    zone = json.loads(export(held, "json").data)["workshop"].get("time_zone", "UTC")
    assert summary["Omgångar"] == 5 and isinstance(summary[f"Skapad ({zone})"], datetime)
    rounds = book["Omgångar"]
    headers = [c.value for c in rounds[1]]
    dots_col, agreement_col = headers.index("Prickar") + 1, headers.index("Samstämmighet") + 1
    dot_cells = [r[dots_col - 1] for r in rounds.iter_rows(min_row=2) if r[dots_col - 1].value]
    assert all(isinstance(c.value, int) for c in dot_cells)
    agreement = next(
        r[agreement_col - 1]
        for r in rounds.iter_rows(min_row=2)
        if r[agreement_col - 1].value is not None
    )
    assert isinstance(agreement.value, float) and agreement.number_format == "0%"
    assert rounds.column_dimensions["D"].width >= len("Åldrande befolkning")


def test_every_table_of_the_workbook_filters_freezes_wraps_and_types(held: Room) -> None:
    """Issue #18, item 15: a filter and a frozen header on every sheet, text that wraps,
    and numbers as numbers (no cell holds a number as text)."""
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    looks_like_a_number = re.compile(r"^-?\d+([.,]\d+)?%?$")
    for sheet in book:
        assert sheet.freeze_panes == "A2", sheet.title
        last = openpyxl.utils.get_column_letter(sheet.max_column)
        assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", sheet.title
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.alignment.wrap_text, (sheet.title, cell.coordinate)
                    assert not looks_like_a_number.match(cell.value), (sheet.title, cell.value)


def test_formula_like_text_is_text_with_a_quote_prefix_not_an_apostrophe(held: Room) -> None:
    """A hostile title stays exactly as typed, stored as text with the quote-prefix style:
    nothing shows an apostrophe, and nothing can run (issue #18, item 15)."""
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    hostile = {FACTORS[3]["title"], "=SUM(A1) två av tre"}
    found = [
        cell
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.lstrip("'") in hostile
    ]
    assert {c.parent.title for c in found} >= {"Faktorer", "Omgångar"}
    for cell in found:
        assert cell.value in hostile  # no apostrophe added
        assert cell.data_type == "s" and cell.quotePrefix, (cell.parent.title, cell.coordinate)
    # Plain text carries no quote prefix.
    assert not book["Faktorer"]["B2"].quotePrefix or book["Faktorer"]["B2"].value in hostile
    # And a value like a DDE call, written straight through the writer, is text too.
    record = json.loads(export(held, "json").data)
    record["factors"][0]["title"] = '=cmd|" /C calc"!A0'
    written = openpyxl.load_workbook(io.BytesIO(workbook.to_xlsx(record, _swedish())))
    cell = next(
        c
        for row in written["Faktorer"].iter_rows()
        for c in row
        if c.value == record["factors"][0]["title"]
    )
    assert cell.data_type == "s" and cell.quotePrefix


def _swedish() -> Any:
    return Translations.load(str(Path(__file__).parent.parent / "translations"), ["sv"]).gettext


def test_the_log_sheets_are_in_words_in_the_workshops_time_zone(held: Room) -> None:
    """The Log sheet reads as sentences with readable columns, not raw JSON; its times are
    in the record's time zone, named in the header (UTC without one)."""
    record = json.loads(export(held, "json").data)
    zone = record["workshop"].get("time_zone", "UTC")
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    log = list(book["Logg"].iter_rows(values_only=True))
    assert log[0] == (f"Tid ({zone})", "Roll", "Vad som hände", "Faktor", "Detaljer")
    assert all(isinstance(row[0], datetime) for row in log[1:])
    assert not any("{" in str(cell) for row in log[1:] for cell in row)
    said = {(row[2], row[3], row[4]) for row in log[1:]}
    assert (
        "Faktor sammanslagen med en annan",
        "Urbanisation",
        "till: Urbanisering; flyttade röster: 0",
    ) in said
    assert ("Faktor borttagen", "Kompetensförsörjning", "skäl: =SUM(A1) två av tre") in said
    steps = [row[4] for row in log[1:] if row[1] == "processledare" and row[2] == "Steg bytt"]
    assert steps[0] == "före: Förberedelse; efter: Behåll eller ta bort"
    # Another zone: the header names it and the times move with it (UTC−5 in December);
    # without one, UTC.
    for named, hours in (("America/New_York", -5), (None, 0)):
        record["workshop"]["time_zone"] = named
        zoned = openpyxl.load_workbook(io.BytesIO(workbook.to_xlsx(record, _swedish())))
        rows = list(zoned["Logg"].iter_rows(values_only=True))
        assert rows[0][0] == f"Tid ({named or 'UTC'})"
        utc = datetime.fromisoformat(record["log"][0]["at"].removesuffix("Z"))
        # (a spreadsheet keeps times to the millisecond)
        assert abs(rows[1][0] - utc - timedelta(hours=hours)) < timedelta(milliseconds=1)
        summary = {row[0]: row[1] for row in zoned["Sammanfattning"].iter_rows(values_only=True)}
        assert isinstance(summary[f"Skapad ({named or 'UTC'})"], datetime)


def test_ballots_are_anonymised_unless_nicknames_are_asked_for(held: Room) -> None:
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    ballots = list(book["Röster"].iter_rows(values_only=True))
    assert ballots[0] == ("Omgång", "Metod", "Deltagare", "Ombud", "Faktor", "Svar", "Osäkerhet")
    assert {row[2] for row in ballots[1:]} == {1, 2, 3}
    assert ("Anna" not in str(ballots)) and ("Gunnel" not in str(ballots))
    matrix = [row for row in ballots[1:] if row[1] == "Påverkan och osäkerhet"]
    assert sorted((row[5], row[6]) for row in matrix) == [(4, 2), (5, 1), (5, 2)]
    document = json.loads(export(held, "json").data)
    assert "Anna" not in json.dumps(document)
    named = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx", nicknames="1").data))
    assert "Anna" in {row[4] for row in named["Röster"].iter_rows(values_only=True)}
    assert json.loads(export(held, "json", nicknames="1").data)["rounds"][0]["answers"][0][
        "nickname"
    ] in {"Anna", "Bertil", "Cecilia"}


def test_nicknames_never_export_a_proxys_label(held: Room) -> None:
    """A proxy's label is typed by the facilitator (often a real name): no export carries
    it, with or without nicknames (docs/api.md, docs/protocol.md `proxy.add`)."""
    proxy = held.ok(held.console, "proxy.add", label="Gunnel Persson")["proxy"]
    round_id = held.ok(held.console, "round.open", method="rating")["round_id"]
    u = held.factor("Urbanisering")
    for_proxy = held.connect(held.facilitator_http, "proxy", proxy=proxy)
    held.ok(for_proxy, "ballot.submit", round_id=round_id, entries={str(u): 4})
    held.ok(held.phones[0], "ballot.submit", round_id=round_id, entries={str(u): 2})
    held.ok(held.console, "round.close", round_id=round_id)
    answers = json.loads(export(held, "json", nicknames="1").data)["rounds"][-1]["answers"]
    assert [(a["proxy"], a["nickname"]) for a in answers] == [(False, "Anna"), (True, None)]
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx", nicknames="1").data))
    cells = {str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row}
    assert "Anna" in cells
    pdf = export(held, "pdf", nicknames="1").data
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    archive = zipfile.ZipFile(io.BytesIO(export(held, "zip", nicknames="1").data))
    for name, content in (
        ("csv", export(held, "csv", nicknames="1").data.decode()),
        ("json", export(held, "json", nicknames="1").data.decode()),
        ("xlsx", " ".join(cells)),
        ("pdf", text),
        *((n, archive.read(n).decode(errors="ignore")) for n in archive.namelist()),
    ):
        assert "Gunnel" not in content, name


def test_exports_before_closing_are_marked_preliminary_in_every_format(held: Room) -> None:
    """Issue #18, item 17: a first picture sent at the break says that it is one: the JSON
    with `"preliminary": true`, the CSV in a first column, the workbook atop its summary,
    the PDF under its title; once closed, none of them does."""
    note = "Preliminärt: exporterat under workshopen"
    document = json.loads(export(held, "json").data)
    assert document["preliminary"] is True
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    rows = list(csv.reader(io.StringIO(export(held, "csv").data.decode()[1:]), delimiter=";"))
    assert rows[0][0] == "Preliminärt" and all(row[0].startswith(note) for row in rows[1:])
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    first = next(book["Sammanfattning"].iter_rows(min_row=2, values_only=True))
    assert first[0] == "Preliminärt" and first[1].startswith(note)
    pdf = PdfReader(io.BytesIO(export(held, "pdf").data))
    assert "Preliminär rapport, under workshopen" in pdf.pages[0].extract_text().split("\n")[:3]
    moderation = export(held, "moderation.csv")
    assert moderation.data.decode()[1:].startswith("Preliminärt")

    held.ok(held.console, "step.set", step="closed")
    assert json.loads(export(held, "json").data)["preliminary"] is False
    rows = list(csv.reader(io.StringIO(export(held, "csv").data.decode()[1:]), delimiter=";"))
    assert rows[0][0] == "Omgång" and not any(note in ";".join(row) for row in rows)
    book = openpyxl.load_workbook(io.BytesIO(export(held, "xlsx").data))
    assert "Preliminärt" not in {
        row[0] for row in book["Sammanfattning"].iter_rows(values_only=True)
    }
    text = PdfReader(io.BytesIO(export(held, "pdf").data)).pages[0].extract_text()
    assert "Workshoprapport" in text and "Preliminär" not in text


def test_the_json_document_follows_its_schema(held: Room) -> None:
    document = json.loads(export(held, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [r["method"] for r in document["rounds"]] == [
        "keep_remove",
        "dots",
        "rating",
        "ranking",
        "matrix",
    ]
    empty = held.app.test_client().post("/api/workshops", json={"title": "Tom"}).json
    http = held.app.test_client()
    http.get("/" + empty["facilitator_url"].split("/", 3)[3])
    blank = json.loads(http.get(f"/api/workshops/{empty['code']}/export.json").data)
    jsonschema.validate(blank, SCHEMA)


def test_the_archive_holds_every_format(held: Room) -> None:
    response = export(held, "zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    assert names == sorted(f"samsyn-{held.code}.{f}" for f in ("csv", "json", "pdf", "xlsx"))
    assert archive.read(f"samsyn-{held.code}.pdf").startswith(b"%PDF")
    assert json.loads(archive.read(f"samsyn-{held.code}.json"))["workshop"]["code"] == held.code


def test_exports_are_the_facilitators_only(held: Room) -> None:
    participant, _ = held.phone()
    for fmt in ("csv", "json", "xlsx", "pdf", "zip"):
        assert participant.get(f"/api/workshops/{held.code}/export.{fmt}").status_code == 403
    assert held.facilitator_http.get(f"/api/workshops/{held.code}/export.doc").status_code == 404


def test_deleting_a_workshop_leaves_a_line_without_content(held: Room) -> None:
    participant, phone = held.phone()
    assert participant.delete(f"/api/workshops/{held.code}").status_code == 403
    db = held.app.extensions["samsyn"].db
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.Factor)) > 0
    response = held.facilitator_http.delete(f"/api/workshops/{held.code}")
    assert response.status_code == 204
    with db.read() as s:
        for model in (
            models.Workshop,
            models.Factor,
            models.Participant,
            models.Round,
            models.Ballot,
            models.BallotEntry,
            models.LogEntry,
            models.CommandRecord,
        ):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model
        (line,) = s.scalars(select(models.Deletion)).all()
    assert (line.actor, line.participants, line.factors, line.rounds) == ("facilitator", 5, 5, 5)
    # Every screen hears that it is gone.
    held.flush()
    assert any(m["name"] == "deleted" for m in phone.get_received())
    assert any(m["name"] == "deleted" for m in held.board.get_received())
    assert held.facilitator_http.get(f"/console/{held.code}").status_code == 404
    assert held.facilitator_http.delete(f"/api/workshops/{held.code}").status_code == 404


def test_the_report_speaks_the_workshops_language(held: Room) -> None:
    response = export(held, "pdf")
    assert response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (
        "Preliminär rapport, under workshopen",  # not closed yet
        "Så gick arbetet till",
        "De slutliga faktorerna",
        "Konsensus, omgång för omgång",
        "Borttagna och sammanslagna faktorer",
        "Urbanisering",
        "=SUM(A1) två av tre",
        "Nyckeltrend",
        "Kendalls W",
    ):
        assert expected in text, expected
    assert "Anna" not in text and "Gunnel" not in text


# --- Reasons from the edges ---------------------------------------------------------------


@pytest.fixture
def reasoned(make_room: Any) -> Room:
    """A rating round (1, 3, 3, 5 on Urbanisering) with a reason shown and a reason hidden."""
    room = make_room(language="sv", factors=FACTORS[:3])
    room.phones = [room.phone()[1] for _ in range(4)]
    room.ok(room.phones[0], "participant.rename", nickname="Anna")
    u = room.factor("Urbanisering")
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.run_round("rating", [{u: 1}, {u: 3}, {u: 3}, {u: 5}])
    for phone, text in ((0, "=1+1 på landet flyttar folk"), (3, "Något som pekar ut mig")):
        room.ok(room.phones[phone], "reason.submit", round_id=round_id, factor_id=u, text=text)
    hidden = room.state(room.console)["state"]["reasons"][1]
    room.ok(room.console, "reason.hide", reason_id=hidden["id"])
    return room


def test_the_exports_keep_the_reasons_and_never_who_gave_them(reasoned: Room) -> None:
    document = json.loads(export(reasoned, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [(r["round"], r["factor"], r["text"], r["status"]) for r in document["reasons"]] == [
        (1, "Urbanisering", "=1+1 på landet flyttar folk", "shown"),
        (1, "Urbanisering", "Något som pekar ut mig", "hidden"),
    ]
    assert "Anna" not in json.dumps(document["reasons"])
    # The results table: the shown texts (formula-like text neutralised), a count of the rest.
    text = export(reasoned, "csv").data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    row = next(r for r in rows if r["Faktor"] == "Urbanisering")
    assert row["Skäl som visats"] == "'=1+1 på landet flyttar folk"
    assert row["Skäl dolda eller som väntar"] == "1"
    assert "pekar ut mig" not in text
    # The workbook's own sheet: every reason with what became of it.
    book = openpyxl.load_workbook(io.BytesIO(export(reasoned, "xlsx").data))
    sheet = list(book["Skäl"].iter_rows(values_only=True))
    assert sheet == [
        ("Omgång", "Faktor", "Skäl", "Status"),
        (1, "Urbanisering", "=1+1 på landet flyttar folk", "visas"),
        (1, "Urbanisering", "Något som pekar ut mig", "dold"),
    ]
    assert book["Skäl"]["C2"].data_type == "s"
    # The report: the shown reason, and only how many others there were.
    pdf = export(reasoned, "pdf")
    report = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Skäl från kanterna" in report and "på landet flyttar folk" in report
    assert "pekar ut mig" not in report and "Anna" not in report


# --- 100 points ----------------------------------------------------------------------------


@pytest.fixture
def pointed(make_room: Any) -> Room:
    """A Swedish workshop whose prioritising round shared out 100 points (one ballot spends
    only 50 of them)."""
    room = make_room(language="sv", factors=FACTORS[:3])
    room.phones = [room.phone()[1] for _ in range(3)]
    u, a, k = (room.factor(f["title"]) for f in FACTORS[:3])
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("points", [{u: 70, a: 30}, {u: 40, a: 40, k: 20}, {u: 50}], cap=70)
    return room


def test_the_csv_and_the_workbook_have_the_points_columns(pointed: Room) -> None:
    text = export(pointed, "csv").data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    by = {r["Faktor"]: r for r in rows}
    urban = by["Urbanisering"]
    assert (urban["Metod"], urban["Poäng"], urban["Placering"]) == ("100 poäng", "160", "1")
    assert urban["Andel av poängen"] == "0,64"  # 160 of the 250 points given
    assert urban["Deltagare som gav den poäng"] == "3"
    assert (urban["Median"], urban["Medelpoäng"]) == ("50", "53,3333")
    assert by["Kompetensförsörjning"]["Kvartilavstånd"] == "10"  # of 0, 0 and 20
    assert by["Kompetensförsörjning"]["Deltagare som gav den poäng"] == "1"
    assert by["Urbanisering"]["Prickar"] == ""  # a dot column stays empty
    book = openpyxl.load_workbook(io.BytesIO(export(pointed, "xlsx").data))
    sheet = book["Omgångar"]
    headers = [c.value for c in sheet[1]]
    row = next(
        r for r in sheet.iter_rows(min_row=2) if r[headers.index("Faktor")].value == "Urbanisering"
    )
    cells = dict(zip(headers, row, strict=True))
    assert cells["Poäng"].value == 160
    assert cells["Andel av poängen"].number_format == "0%"
    assert cells["Andel av poängen"].value == pytest.approx(160 / 250)


def test_the_json_of_a_points_round_follows_its_schema(pointed: Room) -> None:
    document = json.loads(export(pointed, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    (round_,) = document["rounds"]
    assert round_["method"] == "points" and round_["settings"]["cap"] == 70
    assert round_["verdict"]["measure"] == "kendall_w"
    top = round_["factors"][0]
    assert (top["title"], top["points"], top["voters"]) == ("Urbanisering", 160, 3)
    assert sum(row["share"] for row in round_["factors"]) == pytest.approx(1.0)
    broken = {**document, "rounds": [{**round_, "method": "hundred"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_a_points_round_is_in_the_pdf_report(pointed: Room) -> None:
    response = export(pointed, "pdf")
    pages = PdfReader(io.BytesIO(response.data)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    for expected in (
        "100 poäng",
        "Poäng per deltagare: 100; Flest poäng på en faktor: 70",
        "Andel av poängen",
        "Poäng per faktor, flest först.",
        "1. Urbanisering",
        # The final factors: 70 + 40 + 50 points of the 250 given.
        "Urbanisering 1 Poäng: 160; Andel av poängen: 64 %",
    ):
        assert expected in text, expected
    # The archive holds the report too.
    archive = zipfile.ZipFile(io.BytesIO(export(pointed, "zip").data))
    assert archive.read(f"samsyn-{pointed.code}.pdf").startswith(b"%PDF")


@pytest.fixture
def judged(make_room: Any) -> Room:
    """A rating round of four with a factor agreed in, a divided one and one with too few
    answers, whose rule the facilitator changed after the results were seen."""
    room = make_room(
        language="sv",
        factors=[
            {"title": "Enig", "category": "Sociala"},
            {"title": "Delad", "category": "Sociala"},
            {"title": "Tyst", "category": "Sociala"},
        ],
    )
    room.phones = [room.phone()[1] for _ in range(4)]
    room.ok(room.console, "step.set", step="prioritise")
    agreed, split, quiet = (room.factor(t) for t in ("Enig", "Delad", "Tyst"))
    room.round_id = room.run_round(
        "rating",
        [
            {agreed: 5, split: 1, quiet: 4},
            {agreed: 5, split: 5},
            {agreed: 5, split: 1},
            {agreed: 5, split: 5},
        ],
        scale=5,
    )
    room.ok(
        room.console,
        "workshop.configure",
        consensus_agreement=0.8,
        consensus_round_id=room.round_id,
    )
    return room


def test_the_csv_and_the_workbook_say_each_verdict_the_rule_and_the_coverage(
    judged: Room,
) -> None:
    text = export(judged, "csv").data.decode("utf-8")
    rows = {r["Faktor"]: r for r in csv.DictReader(io.StringIO(text[1:]), delimiter=";")}
    assert rows["Enig"]["Utlåtande"] == "enighet: med"
    assert rows["Delad"]["Utlåtande"] == "splittrat"
    assert rows["Tyst"]["Utlåtande"] == "för få svar"
    assert rows["Tyst"]["Svarat"] == "1 av 4"
    assert rows["Enig"]["Svarat"] == "4 av 4"
    rule = rows["Enig"]["Regel som gäller"]
    assert "andel överens" in rule and "80 %" in rule
    assert "Kendalls W 0,7;" in rule  # a Swedish decimal comma, inside words too
    assert "75 %" in rows["Enig"]["Regel när omgången öppnades"]
    assert rows["Enig"]["Regeln ändrad efter att resultaten visats"] == "ja"
    assert rows["Enig"]["Färre än 10 röstsedlar (kvartilavstånd och W osäkra)"] == "ja"
    book = openpyxl.load_workbook(io.BytesIO(export(judged, "xlsx").data))
    table = list(book["Omgångar"].iter_rows(values_only=True))
    headers = list(table[0])
    by_title = {r[headers.index("Faktor")]: r for r in table[1:]}
    assert by_title["Delad"][headers.index("Utlåtande")] == "splittrat"
    assert by_title["Tyst"][headers.index("Svarat")] == "1 av 4"


def test_the_report_names_the_rule_the_verdicts_and_what_holds_the_round_back(
    judged: Room,
) -> None:
    pages = PdfReader(io.BytesIO(export(judged, "pdf").data)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Regel som gäller andel överens; samstämmighet 80 %" in text
    assert "Kendalls W 0,7;" in text
    assert (
        "Regeln ändrad efter att resultaten visats (angiven: andel överens; samstämmighet 75 %"
        in text
    )
    assert "För få svar Tyst" in text and "Splittrade Delad" in text
    assert "enighet: med (4 av 4)" in text and "för få svar (1 av 4)" in text
    assert "Färre än 10 röstsedlar" in text


@pytest.fixture
def repeated(make_room: Any) -> Room:
    """Two rating rounds of four phones under a rule of at most two rounds: one factor's
    answers move a quarter, the other's not at all."""
    room = make_room(
        language="sv",
        factors=[
            {"title": "Rörlig", "category": "Sociala"},
            {"title": "Fast", "category": "Sociala"},
        ],
    )
    room.phones = [room.phone()[1] for _ in range(4)]
    room.ok(room.console, "step.set", step="prioritise")
    room.ok(room.console, "workshop.configure", consensus_max_rounds=2)
    moving, still = room.factor("Rörlig"), room.factor("Fast")
    first = [{moving: v, still: s} for v, s in ((1, 1), (2, 5), (4, 1), (5, 5))]
    room.run_round("rating", first, scale=5)
    # One of four moves from 1 to 3: shares .25 .25 0 .25 .25 → 0 .25 .25 .25 .25, a quarter
    # moved, and still no consensus (3 2 4 5: half within one step of the median 3.5).
    again = [{moving: 3, still: 1}, *first[1:]]
    room.run_round("rating", again, scale=5)
    return room


def test_the_exports_carry_each_factors_change_and_the_next_step(repeated: Room) -> None:
    document = json.loads(export(repeated, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    first, second = document["rounds"]
    assert {row["title"]: row["change"] for row in second["factors"]} == {
        "Rörlig": 0.25,
        "Fast": 0.0,
    }
    assert {row["change"] for row in first["factors"]} == {None}
    assert first["recommendation"]["next"] == "continue"
    moving = next(row["factor_id"] for row in second["factors"] if row["title"] == "Rörlig")
    assert second["recommendation"] == {
        "next": "stop_max_rounds",
        "moving": [moving],
        "unmeasured": [],
        "threshold": 0.15,
        "rounds": 2,
        "max_rounds": 2,
    }
    assert second["rule"]["max_rounds"] == 2 and first["rule"]["max_rounds"] == 2
    text = export(repeated, "csv").data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    by = {(r["Omgång"], r["Faktor"]): r for r in rows}
    assert by[("2", "Rörlig")]["Förändring sedan föregående omgång"] == "0,25"
    assert by[("2", "Fast")]["Förändring sedan föregående omgång"] == "0"
    assert by[("1", "Fast")]["Förändring sedan föregående omgång"] == ""
    steps = {r["Omgång"]: r["Rekommenderat nästa steg"] for r in rows}
    assert steps == {
        "1": "en omgång till",
        "2": "avsluta: det största antalet omgångar som bestämts i förväg har hållits",
    }
    book = openpyxl.load_workbook(io.BytesIO(export(repeated, "xlsx").data))
    table = list(book["Omgångar"].iter_rows(values_only=True))
    headers = list(table[0])
    changes = {
        (r[0], r[headers.index("Faktor")]): r[headers.index("Förändring sedan föregående omgång")]
        for r in table[1:]
    }
    assert changes[(2, "Rörlig")] == 0.25
    pages = PdfReader(io.BytesIO(export(repeated, "pdf").data)).pages
    report = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Rekommenderat nästa steg avsluta: det största antalet omgångar" in report
    assert "Rör sig fortfarande Rörlig" in report
    assert "rörde sig 25 %" in report
