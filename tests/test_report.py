"""The PDF report, from workshops run through the app: what it says (read back with pypdf),
that it is a sound PDF, that typed text is printed as typed (never as markup), that it copes
with no rounds, long titles, emoji and 200 factors, and that every fixed text is translatable.
Only the English text is checked: the Swedish comes with the catalogue."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path
from typing import Any

from babel.dates import get_month_names
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from conftest import Room
from flask import Flask
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from facilitation.core.domain import Role, SeedFactor
from facilitation.outputs import export, report
from facilitation.usecases import Actor

FACTORS = [
    {"title": "Urbanisering", "category": "Social"},
    {"title": "Åldrande befolkning", "category": "Social"},
    {"title": "Kompetensförsörjning", "category": "Economic"},
    {"title": "Elektrifiering", "category": "Technological"},
]
REASON = "Three of four wanted it gone"
SECTIONS = [
    "The steps taken",
    "The final factors",
    "Charts",
    "Consensus, round by round",
    "Removed and merged factors",
]


def english_pdf(app: Flask, record: dict[str, Any]) -> bytes:
    """The report as the export will make it: with Flask-Babel's gettext, in English."""
    with app.test_request_context(), force_locale("en"):
        return report.to_pdf(record, gettext)


def read(pdf: bytes) -> tuple[PdfReader, str]:
    """The parsed PDF and its text, whitespace collapsed (table cells wrap)."""
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def keys(value: Any) -> set[str]:
    """Every dictionary key in a nested structure."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def record_of(room: Room) -> dict[str, Any]:
    return room.app.extensions["samsyn"].services.workshops.record(room.code)  # type: ignore[no-any-return]


def run_a_whole_workshop(room: Room) -> dict[str, int]:
    """Four phones and a proxy; a proposal merged into its duplicate, a factor removed with a
    reason, and a round of every method."""
    _, first = room.phone()
    room.phones = [first] + [room.phone()[1] for _ in range(3)]
    room.ok(first, "participant.rename", nickname="Anna Andersson")
    room.ok(room.console, "proxy.add", label="Gunnel utan telefon")
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    u, a, k, e = ids.values()
    room.ok(room.console, "step.set", step="complete")
    social = room.category("Social")
    dup = room.ok(first, "factor.propose", title="Cities grow", category_id=social)["factor_id"]
    room.ok(room.console, "step.set", step="prune")
    keep_remove = [{u: "keep", k: "remove" if i < 3 else "keep", dup: "keep"} for i in range(4)]
    room.run_round("keep_remove", keep_remove)
    room.ok(room.console, "factor.remove", factor_id=k, reason=REASON)
    room.ok(room.console, "factor.merge", factor_id=dup, into_id=u)
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("dots", [{u: 2, a: 1}, {u: 2, e: 1}, {a: 2, u: 1}, {u: 3}], budget=3, cap=3)
    ratings = [{u: 5, a: 3, e: 2}, {u: 4, a: 3, e: "no_opinion"}, {u: 4, a: 2, e: 4}]
    room.run_round("rating", [*ratings, {u: 5, a: 3, e: 1}])
    orders = [[u, a, e], [u, e, a], [a, u, e], [u, a, e]]
    places = [{f: place for place, f in enumerate(order, start=1)} for order in orders]
    room.run_round("ranking", places, top_k=3, shuffle=False, no_own_votes=True)
    room.run_round(
        "matrix",
        [
            {u: [2, 5], a: [4, 4], e: [2, 5]},
            {u: [1, 4], a: [5, 5], e: [1, 4]},
            {u: [2, 5], a: [4, 3], e: [2, 2]},
            {u: [2, 4], a: [2, 4], e: [1, 4]},
        ],
    )
    return {"urban": u, "old": a, "skills": k, "electric": e, "dup": dup}


def test_the_report_tells_the_whole_workshop(make_room: Any) -> None:
    room = make_room(language="en", title="Business strategy 2030", factors=FACTORS)
    run_a_whole_workshop(room)
    record = record_of(room)
    reader, text = read(english_pdf(room.app, record))
    assert 2 <= len(reader.pages) <= 10
    assert reader.metadata is not None and reader.metadata.title == "Business strategy 2030"
    for heading in SECTIONS:
        assert heading in text, heading
    # Still open: the report says it is preliminary (issue #18, item 17).
    assert "Preliminary report, during the workshop" in text
    # The title area: the workshop, its people and its rule.
    assert "Business strategy 2030" in text
    assert "5, of whom 1 by proxy" in text
    assert "Agreement at least 75%" in text and "Kendall's W at least 0.7" in text
    # The steps taken, from the log.
    assert "Preparing › Add factors › Keep or remove › Prioritise" in text
    assert "Proposed by participants 1" in text and "Merged into another factor 1" in text
    # The factors with their fate, the reason and what the duplicate merged into.
    for title in ("Urbanisering", "Åldrande befolkning", "Elektrifiering", "Cities grow"):
        assert title in text, title
    assert REASON in text and "Merged into: Urbanisering" in text
    assert "Kompetensförsörjning (removed)" in text
    # The measures: W with its chi-square and p, a median and IQR, agreement, quadrants.
    dots = next(r for r in record["rounds"] if r["method"] == "dots")
    concordance = dots["concordance"]
    w, chi, p = concordance["w"], concordance["chi_square"], concordance["p_value"]
    assert f"{w:.2f} (chi-square {chi:.2f}, df = 2, p = {p:.3f})" in text
    assert "Median 4.5 · IQR 1 · n = 4" in text  # Urbanisering's ratings: 5, 4, 4, 5
    # Round 1: two factors nobody answered hold it back (3 of 5 agreed).
    assert "Not reached (60% of the way to the rule)" in text
    assert "Too few answers Åldrande befolkning; Elektrifiering" in text
    assert "Kompetensförsörjning (removed) 1 3 75% consensus out (4 of 4)" in text
    assert "judged when 70 % of the ballots and at least 3 opinions answer" in text
    assert "Fewer than 10 ballots: the interquartile range and Kendall's W" in text
    for quadrant in ("Key trend", "Critical uncertainty", "Watch", "Minor trend"):
        assert quadrant in text
    assert "Round 5: Impact and uncertainty" in text
    assert "Dots per participant: 3; Most dots on one factor: 3; Each phone in its own order" in (
        text
    )
    assert "Scale from 1 to 5" in text
    assert "Factors each person ranks: 3; No votes on one's own proposals" in text
    assert "Page 1 of" in text
    # Nothing that names a person: no nickname, no proxy's label.
    assert "Anna Andersson" not in text and "Gunnel" not in text


def test_a_workshop_without_rounds(room: Room) -> None:
    reader, text = read(english_pdf(room.app, record_of(room)))
    assert len(reader.pages) == 2  # the first page that reads on its own, then the details
    assert "No rounds were held." in text
    assert "No prioritisation round was closed." in text
    assert "No round was closed." in text
    assert "No factor was removed or merged." in text
    assert "Charts" not in text
    assert "Urbanisering" in text and "Sociala" in text


def test_an_open_round_is_in_the_steps_but_not_in_the_results(room: Room) -> None:
    room.ok(room.console, "step.set", step="prune")
    room.ok(room.console, "round.open", method="keep_remove")
    _, text = read(english_pdf(room.app, record_of(room)))
    assert "still open" in text and "No round was closed." in text


def test_typed_text_is_printed_as_typed_never_as_markup(make_room: Any) -> None:
    title = 'Strategy <b>2030</b> & <font size="40">more</font> <br/> &amp; <unknown'
    room = make_room(language="en", title=title)
    social = room.category("Social")
    markup = "R&D < 5 % > <i>not italic</i>"
    fid = room.ok(room.console, "factor.add", title=markup, category_id=social)["factor_id"]
    room.ok(room.console, "factor.remove", factor_id=fid, reason="<para>too vague</para> & gone")
    _, text = read(english_pdf(room.app, record_of(room)))
    assert title in text
    assert markup in text
    assert "<para>too vague</para> & gone" in text


def test_long_titles_emoji_and_letters_outside_the_font(make_room: Any) -> None:
    long_title = "🚀 " + " ".join(["Kommunens långsiktiga näringslivsstrategi"] * 5)[:190]
    unbroken = "Å" * 200
    room = make_room(
        language="en",
        title=long_title,
        factors=[
            {"title": unbroken, "category": "Social"},
            {"title": "Tillväxt 📈 i regionen 🚀", "category": "Social"},
            {"title": "Dvořák och Erdős", "category": "Social"},
            {"title": "中文 and ελληνικά", "category": "Legal"},
        ],
    )
    phones = [room.phone()[1] for _ in range(2)]
    room.phones = phones
    room.ok(room.console, "step.set", step="prioritise")
    ids = [room.factor(t) for t in (unbroken, "Tillväxt 📈 i regionen 🚀", "Dvořák och Erdős")]
    room.run_round("dots", [{ids[0]: 2, ids[1]: 1}, {ids[2]: 3}], budget=3, cap=3)
    room.run_round("matrix", [{f: [5, 1] for f in ids}, {f: [4, 2] for f in ids}])
    record = record_of(room)
    reader, text = read(english_pdf(room.app, record))
    assert len(reader.pages) <= 6
    assert reader.metadata is not None and reader.metadata.title == record["workshop"]["title"]
    assert "Kommunens långsiktiga näringslivsstrategi" in text
    # A letter the font lacks becomes its base letter; an emoji keeps its place, unprinted.
    assert "Dvorák och Erdos" in text
    assert "Tillväxt" in text and "i regionen" in text
    assert "ÅÅÅÅÅÅÅÅÅÅ" in text


def test_two_hundred_factors_stay_readable(app: Flask) -> None:
    """200 factors (every page checked by pypdf) with 40 participants; the benchmark for
    1,000 participants is in the change's notes: tests never assert timings."""
    services = app.extensions["samsyn"].services
    seeds = [SeedFactor(f"Factor F{i:03d}", ("Social", "Economic")[i % 2]) for i in range(200)]
    code, secret = services.workshops.create(
        title="Large", language="en", categories=None, seeds=seeds
    )
    facilitator = Actor(Role.FACILITATOR, code, secret=secret)
    count = 0

    def ok(actor: Actor, name: str, **payload: Any) -> dict[str, Any]:
        nonlocal count
        count += 1
        answer = services.workshops.execute(actor, name, {"command_id": f"c{count}", **payload})
        assert answer["ok"], answer
        return answer["data"]  # type: ignore[no-any-return]

    ids = [f["id"] for f in services.workshops.snapshot(facilitator, "console")["state"]["factors"]]
    people = []
    for i in range(40):
        services.workshops.join(code, f"p{i}")
        people.append(Actor(Role.PARTICIPANT, code, token=f"p{i}"))
    rng = random.Random(3)
    ok(facilitator, "step.set", step="prioritise")
    for method, answer in (
        ("dots", lambda: {str(f): 2 for f in rng.sample(ids, 5)}),
        ("rating", lambda: {str(f): rng.randint(1, 5) for f in rng.sample(ids, 100)}),
        ("matrix", lambda: {str(f): [rng.randint(3, 4), 3] for f in rng.sample(ids, 150)}),
    ):
        round_id = ok(facilitator, "round.open", method=method)["round_id"]
        for actor in people:
            ok(actor, "ballot.submit", round_id=round_id, entries=answer())
        ok(facilitator, "round.close", round_id=round_id)
    reader, text = read(english_pdf(app, services.workshops.record(code)))
    assert 10 <= len(reader.pages) <= 60
    assert all(f"Factor F{i:03d}" in text for i in range(200))
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in text


def test_every_fixed_text_goes_through_gettext_and_is_extracted(make_room: Any) -> None:
    """Each message the report asks for is one that `make translations` extracts, and no
    fixed text reaches the page without being asked for."""
    room = make_room(language="en", title="Marked", factors=FACTORS)
    run_a_whole_workshop(room)
    asked: set[str] = set()

    def marked(message: str) -> str:
        asked.add(message)
        return f"‹{message}›"

    record = record_of(room)
    _, text = read(report.to_pdf(record, marked))
    # The report's own texts, and the words of codes it shares with the other exports.
    here = Path(report.__file__)
    sources = [
        here.with_name(name)
        for name in ("report.py", "report_methods.py", "pdf_document.py", "pdf_charts.py")
    ] + [here.with_name("export.py")]
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "_l": None}
    extracted = {
        m[1]
        for source in sources
        for m in extract_from_file("python", str(source), keywords=keywords)
    }
    assert asked <= extracted, asked - extracted
    # A string literal inside a gettext call's argument (a dictionary key, say) is extracted
    # too: no key of the record may turn up as a message ("divided", "high" and "low" are
    # both fields of a result row and words: a verdict's, a series tier's; "participant" is a
    # role; the log's detail names are fields of its entries and, in its column, words).
    details = export._DETAIL_WORDS
    words = {"divided", "high", "low", "participant"} | set(details) | set(details.values())
    assert not extracted & (keys(record) - words), extracted & (keys(record) - words)
    for heading in SECTIONS:
        assert f"‹{heading}›" in text
    assert "‹Page 1 of" in text
    # Take away every translated text and everything typed: no word is left but the
    # months of the dates, which Babel writes in the workshop's language.
    # (innermost first: a word can sit inside a sentence, the rule's preset in its words).
    rest, before = text, ""
    while rest != before:
        rest, before = re.sub(r"‹[^‹›]*›", " ", rest), rest
    typed = [f["title"] for f in record["factors"]] + record["categories"] + [REASON, "Marked"]
    typed.append(record["workshop"]["time_zone"])  # a name, not a word of the language
    for value in sorted(typed, key=len, reverse=True):
        rest = rest.replace(value, " ")
    months = set(get_month_names("wide", locale="en").values())
    assert set(re.findall(r"[^\W\d_]+", rest)) <= months
