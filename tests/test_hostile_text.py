"""Participant text is always text (issue #8). Script-, template-, formula- and markup-like
texts, a very long word and right-to-left letters go in where people type: factor titles
and descriptions (seeded, added by the facilitator, proposed from phones), removal reasons,
category names, nicknames, proxy labels and the workshop's title. Then rounds of every method
are voted, closed and revealed, and every export and every server-rendered page is read back:
the text comes out as typed, never as markup, formula or template."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
from conftest import Room
from pypdf import PdfReader

from facilitation.outputs.pdf import drawable, glyphs

SCRIPT = "<script>window.__pwned=1</script>"
LONG_WORD = ("Omvärldsanalysarbetsgruppsordförandeskapsutbildning" * 4)[:200]
# Right-to-left letters amid left-to-right ones (an override is dropped as it is typed:
# tests/test_text.py).
RTL = "Budget \u05ea\u05e7\u05e6\u05d9\u05d1 txt.exe"
HOSTILE = [
    SCRIPT,
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=window.__pwned=1>',
    "javascript:window.__pwned=1",
    "{{7*7}}",
    "${7*7}",
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "<b>bold</b>&amp;",
    "</para><para>",
    LONG_WORD,
    RTL,
]
# A workshop holds at most 12 categories of at most 60 characters: two pairs share one.
CATEGORIES = [
    *(t[:60] for t in HOSTILE if t not in ("${7*7}", "</para><para>")),
]
CATEGORIES[CATEGORIES.index("{{7*7}}")] = "{{7*7}} ${7*7}"
CATEGORIES[CATEGORIES.index("<b>bold</b>&amp;")] = "<b>bold</b>&amp; </para><para>"
# The workshop's title in the end: like a formula at the start, then markup and more.
TITLE = " ".join([*HOSTILE[6:12], SCRIPT, "{{7*7}}", RTL])
NICKNAME_MAX = 40
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters that HTML must escape: a text holding one never appears raw in a page.
HTML_SPECIAL = re.compile(r"[<>\"&]")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "export-schema.json").read_text())


def description_of(index: int) -> str:
    """Each factor's description is another of the texts, with a line break kept inside."""
    return f"{HOSTILE[(index + 1) % len(HOSTILE)]}\n{HOSTILE[(index + 2) % len(HOSTILE)]}"


def active_ids(room: Room) -> list[int]:
    factors = room.state(room.console)["state"]["factors"]
    return [f["id"] for f in factors if f["status"] == "active"]


@pytest.fixture
def hostile(make_room: Any) -> Room:
    """A Swedish workshop where every text people can type is one of HOSTILE, after a round
    of every method, with factors removed (hostile reasons) and merged."""
    seeds = [
        {"title": t, "category": CATEGORIES[i % len(CATEGORIES)], "description": description_of(i)}
        for i, t in enumerate(HOSTILE[:5])
    ]
    room = make_room(title=HOSTILE[0], language="sv", categories=CATEGORIES[:11], factors=seeds)
    category = {name: room.category(name) for name in CATEGORIES[:11]}
    category[CATEGORIES[11]] = room.ok(room.console, "category.add", name=CATEGORIES[11])[
        "category_id"
    ]
    # The facilitator adds some; phones propose the rest, and every phone takes a nickname.
    for i in range(5, 10):
        room.ok(
            room.console,
            "factor.add",
            title=HOSTILE[i],
            description=description_of(i),
            category_id=category[CATEGORIES[i % len(CATEGORIES)]],
        )
    room.phones = [room.phone()[1] for _ in HOSTILE]
    for phone, text in zip(room.phones, HOSTILE, strict=True):
        room.ok(phone, "participant.rename", nickname=text[:NICKNAME_MAX])
    room.ok(room.console, "step.set", step="complete")
    for i in range(10, len(HOSTILE)):
        room.ok(
            room.phones[i],
            "factor.propose",
            title=HOSTILE[i],
            description=description_of(i),
            category_id=category[CATEGORIES[i % len(CATEGORIES)]],
        )
    for text in HOSTILE:
        room.ok(room.console, "proxy.add", label=text[:NICKNAME_MAX])
    # A category renamed to a hostile name and back: the rename path escapes too.
    room.ok(room.console, "category.rename", category_id=category[CATEGORIES[0]], name="<i>x</i>")
    room.ok(room.console, "category.rename", category_id=category[CATEGORIES[0]], name=SCRIPT)

    ids = {text: room.factor(text) for text in HOSTILE}
    room.ok(room.console, "step.set", step="prune")
    gone, merged = ids["+1+1"], ids["${7*7}"]
    room.run_round(
        "keep_remove", [{f: "remove" if f == gone else "keep" for f in ids.values()}] * 14
    )
    room.ok(room.console, "factor.remove", factor_id=gone, reason=HOSTILE[6])
    room.ok(room.console, "factor.remove", factor_id=ids["@SUM(A1)"], reason="</para>" + SCRIPT)
    room.ok(room.console, "factor.merge", factor_id=merged, into_id=ids["{{7*7}}"])
    room.ok(room.console, "step.set", step="prioritise")
    live = active_ids(room)
    n = len(live)
    room.run_round(
        "dots",
        [{live[i % n]: 2, live[(i + 1) % n]: 1} for i in range(14)],
        budget=3,
        cap=3,
    )
    room.run_round("rating", [{f: 1 + (i + j) % 5 for j, f in enumerate(live)} for i in range(14)])
    room.run_round(
        "ranking", [{live[(i + j) % n]: j + 1 for j in range(3)} for i in range(14)], top_k=3
    )
    room.run_round(
        "matrix", [{f: [5 - j % 5, 1 + i % 5] for j, f in enumerate(live)} for i in range(14)]
    )
    # The title it ends with starts like a formula and holds markup.
    room.ok(room.console, "workshop.configure", title=TITLE)
    return room


def record_of(room: Room) -> dict[str, Any]:
    return room.app.extensions["samsyn"].services.workshops.record(room.code)  # type: ignore[no-any-return]


def typed_texts(record: dict[str, Any]) -> set[str]:
    """Every text a person typed that the exports carry (not nicknames or proxy labels)."""
    texts = {record["workshop"]["title"], *record["categories"]}
    for f in record["factors"]:
        texts |= {f["title"], f["description"], f["removal_reason"] or ""}
    return texts - {""}


def export(room: Room, fmt: str, **query: str) -> Any:
    response = room.facilitator_http.get(
        f"/api/workshops/{room.code}/export.{fmt}", query_string=query
    )
    assert response.status_code == 200, response.data[:300]
    return response


def test_the_texts_are_stored_as_typed(hostile: Room) -> None:
    """The setting up worked: every text is in the record, unchanged (nothing to escape
    there; the edges escape)."""
    record = record_of(hostile)
    assert sorted(f["title"] for f in record["factors"]) == sorted(HOSTILE)
    assert record["categories"] == [SCRIPT, *CATEGORIES[1:]]
    descriptions = {f["title"]: f["description"] for f in record["factors"]}
    assert all(descriptions[t] == description_of(i) for i, t in enumerate(HOSTILE))
    assert record["workshop"]["title"] == TITLE
    assert {f["status"] for f in record["factors"]} == {"active", "removed", "merged"}
    assert len(record["rounds"]) == 5


# --- CSV -----------------------------------------------------------------------------------


def unneutralised(cell: str) -> str:
    """A CSV cell as typed: without the apostrophe that keeps a formula-like text a text."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


@pytest.mark.parametrize(("language", "delimiter"), [("sv", ";"), ("en", ",")])
def test_the_csv_keeps_every_text_and_neutralises_formulas(
    hostile: Room, language: str, delimiter: str
) -> None:
    hostile.ok(hostile.console, "workshop.configure", language=language)
    record = record_of(hostile)
    text = export(hostile, "csv").data.decode("utf-8")
    assert text.startswith("\ufeff")
    # No HTML escaping: a spreadsheet shows the text as typed.
    assert SCRIPT in text and "<b>bold</b>&amp;" in text and "&lt;" not in text
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))
    headers, body = rows[0], rows[1:]
    assert all(len(row) == len(headers) for row in body)
    # No cell of the file can start a formula.
    for row in body:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell
    column = {name: [unneutralised(row[i]) for row in body] for i, name in enumerate(headers)}
    factor, category, reason, merged_into = (
        ("Faktor", "Kategori", "Skäl till borttagning", "Sammanslagen med")
        if language == "sv"
        else ("Factor", "Category", "Reason for removal", "Merged into")
    )
    assert set(column[factor]) == set(HOSTILE)
    titles = {f["title"]: f for f in record["factors"]}
    assert set(column[category]) == {titles[t]["category"] for t in HOSTILE}
    assert set(column[reason]) - {""} == {HOSTILE[6], "</para>" + SCRIPT}
    assert set(column[merged_into]) - {""} == {"{{7*7}}"}
    # The formula-like ones carry their apostrophe in the file.
    raw_titles = {row[headers.index(factor)] for row in body}
    for title in ('=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"):
        assert "'" + title in raw_titles


# --- JSON ----------------------------------------------------------------------------------


def test_the_json_holds_the_texts_exactly(hostile: Room) -> None:
    record = record_of(hostile)
    document = json.loads(export(hostile, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["workshop"]["title"] == record["workshop"]["title"]
    assert document["categories"] == record["categories"]
    assert [(f["title"], f["description"], f["removal_reason"]) for f in document["factors"]] == [
        (f["title"], f["description"], f["removal_reason"]) for f in record["factors"]
    ]
    named = json.loads(export(hostile, "json", nicknames="1").data)
    nicknames = {a["nickname"] for r in named["rounds"] for a in r["answers"]}
    assert nicknames == {t[:NICKNAME_MAX] for t in HOSTILE}


# --- Excel ---------------------------------------------------------------------------------


def cells(book: Any) -> list[Any]:
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize("query", [{}, {"nicknames": "1"}], ids=["anonymous", "nicknames"])
def test_the_workbook_stores_every_text_as_text(hostile: Room, query: dict[str, str]) -> None:
    record = record_of(hostile)
    data = export(hostile, "xlsx", **query).data
    # In the file itself: not one formula element in any sheet.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert not re.search(rb"<(\w+:)?f[ >/]", archive.read(name)), name
    book = openpyxl.load_workbook(io.BytesIO(data))
    everything = cells(book)
    assert not [c.coordinate for c in everything if c.data_type == "f"]
    for cell in everything:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            assert cell.data_type == "s", (cell.parent.title, cell.coordinate, cell.value)
    # Every text is there as typed: no apostrophe, no escaping (the type keeps it text).
    values = {c.value for c in everything if isinstance(c.value, str)}
    assert typed_texts(record) <= values, typed_texts(record) - values
    summary = {row[0]: row[1] for row in book["Sammanfattning"].iter_rows(values_only=True)}
    assert summary["Workshop"] == record["workshop"]["title"]
    if query:
        assert {t[:NICKNAME_MAX] for t in HOSTILE} <= values


# --- PDF -----------------------------------------------------------------------------------


def squeezed(text: str) -> str:
    """Text without whitespace: table cells wrap long words and lines where they like."""
    return re.sub(r"\s+", "", text)


def boxed(text: str) -> str:
    """Text as read back from the PDF: a letter the font has no glyph for is its box."""
    covered = glyphs()
    return "".join(ch if ord(ch) in covered or ch.isspace() else "\x00" for ch in text)


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return reader, squeezed("".join(page.extract_text() for page in reader.pages))


def test_the_report_prints_the_texts_literally(hostile: Room) -> None:
    record = record_of(hostile)
    reader, text = pdf_text(export(hostile, "pdf").data)
    # The font has no Hebrew glyphs: those letters print as its empty box (read back as NUL),
    # and the Latin ones stay in the order they were typed.
    assert "Budget\x00\x00\x00\x00\x00txt.exe" in text
    for typed in typed_texts(record):
        assert squeezed(boxed(drawable(typed))) in text, typed
    # Markup was printed, not obeyed (and ReportLab did not stop at it).
    for literal in ("<b>bold</b>&amp;", "</para><para>", SCRIPT, "{{7*7}}", "${7*7}"):
        assert literal in text
    assert reader.metadata is not None
    assert reader.metadata.title == record["workshop"]["title"]
    assert reader.outline[0].title == record["workshop"]["title"]  # type: ignore[union-attr]


# --- The archive ---------------------------------------------------------------------------


def test_the_archive_holds_the_same_files(hostile: Room) -> None:
    archive = zipfile.ZipFile(io.BytesIO(export(hostile, "zip").data))
    name = f"samsyn-{hostile.code}"
    assert sorted(archive.namelist()) == sorted(
        f"{name}.{f}" for f in ("csv", "json", "pdf", "xlsx")
    )
    assert archive.read(f"{name}.csv") == export(hostile, "csv").data
    inside, alone = (
        json.loads(archive.read(f"{name}.json")),
        json.loads(export(hostile, "json").data),
    )
    assert {**inside, "exported_at": None} == {**alone, "exported_at": None}

    def sheet_values(data: bytes) -> dict[str, list[Any]]:
        book = openpyxl.load_workbook(io.BytesIO(data))
        return {s.title: list(s.iter_rows(values_only=True)) for s in book.worksheets}

    assert sheet_values(archive.read(f"{name}.xlsx")) == sheet_values(export(hostile, "xlsx").data)
    # The report differs only in the moment it was made (the minute of "Exported").
    dated = re.compile(r"\d{1,2}\w+\d{4}")
    inside_text = dated.sub("", pdf_text(archive.read(f"{name}.pdf"))[1])
    assert inside_text == dated.sub("", pdf_text(export(hostile, "pdf").data)[1])
    assert SCRIPT in inside_text


# --- Server-rendered pages -----------------------------------------------------------------


class Page(HTMLParser):
    """A page as the browser parses it: its elements (names and attribute names, in order)
    and the text of its <title> and of its elements by id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, tuple(name for name, _ in attrs)))
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        named = dict(attrs)
        key = named.get("id") or (named.get("class") or "").split(" ")[0] or tag
        if tag not in ("meta", "link", "input", "img", "br", "wbr"):
            self._open.append(key)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for key in self._open:
            self.text[key] = self.text.get(key, "") + data


def page(http: Any, path: str) -> tuple[str, Page]:
    response = http.get(path)
    assert response.status_code == 200, (path, response.status_code)
    html = response.get_data(as_text=True)
    return html, Page(html)


def assert_only_text(html: str, parsed: Page, benign: Page, text: str, where: str) -> None:
    """The hostile page has exactly the elements and attributes of the benign one (nothing
    the text brought became markup), and the raw text is nowhere in the HTML unescaped."""
    assert parsed.elements == benign.elements, where
    if HTML_SPECIAL.search(text):
        assert text not in html, where
    for tag, name, value in parsed.attributes:
        assert not name.startswith("on"), (where, tag, name)
        if name in URL_ATTRIBUTES:
            assert not value.strip().lower().startswith("javascript:"), (where, tag, name)


def pages(room: Room, participant: Any) -> dict[str, tuple[Any, str]]:
    proxy = room.state(room.console)["state"]["proxies"][0]["number"]
    return {
        "console": (room.facilitator_http, f"/console/{room.code}"),
        "board": (room.facilitator_http, f"/board/{room.code}"),
        "preview": (room.facilitator_http, f"/preview/{room.code}"),
        "phone": (participant, f"/j/{room.code}"),
        "proxy": (room.facilitator_http, f"/proxy/{room.code}/{proxy}"),
    }


def test_every_page_escapes_the_workshops_title(hostile: Room) -> None:
    participant, _ = hostile.phone()
    hostile.ok(hostile.console, "workshop.configure", title="Benign")
    benign = {name: page(*where)[1] for name, where in pages(hostile, participant).items()}
    for text in HOSTILE:
        hostile.ok(hostile.console, "workshop.configure", title=text)
        for name, where in pages(hostile, participant).items():
            html, parsed = page(*where)
            assert_only_text(html, parsed, benign[name], text, f"{name}: {text}")
            # In the tab's title and the page's heading, as typed (and not evaluated).
            assert parsed.text["title"].startswith(f"{text} · "), name
            assert parsed.text["title"].endswith("Samsyn"), name
            assert parsed.text["workshop-title"].strip() == text, name
            if name == "console":
                assert ("input", "value", text) in parsed.attributes  # the settings form


def test_proxy_pages_escape_the_label(hostile: Room) -> None:
    http = hostile.facilitator_http
    benign = hostile.ok(hostile.console, "proxy.add", label="Benign")["proxy"]
    _, expected = page(http, f"/proxy/{hostile.code}/{benign}")
    proxies = hostile.state(hostile.console)["state"]["proxies"]
    labels = {p["number"]: p["nickname"] for p in proxies}
    assert sorted(labels.values()) == sorted([*(t[:NICKNAME_MAX] for t in HOSTILE), "Benign"])
    for number, label in labels.items():
        html, parsed = page(http, f"/proxy/{hostile.code}/{number}")
        assert_only_text(html, parsed, expected, label, f"proxy {number}")
        assert f"{number} ({label})" in parsed.text["proxy-banner"]


def test_the_start_page_gives_back_what_was_typed_escaped(client: Any) -> None:
    """A form with a mistake comes back filled in as typed: escaped, not as markup."""

    def submit(title: str, factors: str) -> tuple[str, Page]:
        response = client.post(
            "/workshops",
            data={"title": title, "language": "sv", "category_set": "?", "factors": factors},
        )
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        return html, Page(html)

    _, benign = submit("Benign", "Sociala: Benign")
    for text in HOSTILE:
        lines = f"Sociala: {text}\n{text}"
        html, parsed = submit(text, lines)
        assert_only_text(html, parsed, benign, text, text)
        assert ("input", "value", text) in parsed.attributes
        assert parsed.text["factors"] == lines
