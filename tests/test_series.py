"""A series of workshops: its library, factors keeping their identity across workshops
through edits, merges and promotions, and the combined picture against hand-computed
figures; its exports."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from organizing import Organizer, SeriesRoom, command_id
from pypdf import PdfReader

from facilitation.infrastructure import models


def ballots(room: SeriesRoom, method: str, answers: list[dict[str, Any]], **settings: Any) -> int:
    """A round with these answers (by factor title), closed and revealed."""
    ids = room.ids()
    return room.run_round(method, [{ids[t]: v for t, v in a.items()} for a in answers], **settings)


def two_workshops(app: Flask) -> tuple[Organizer, int, SeriesRoom, SeriesRoom]:
    """The worked example of docs/consensus.md ("Across workshops"), run for real: companies
    rate four factors; regional partners remove one and spread dots over the rest."""
    organizer = Organizer(app)
    series = organizer.series()
    economic = organizer.category(series, "Ekonomiska")
    for title in ("Kompetensförsörjning", "Elektrifiering", "Besöksnäring", "Digitalisering"):
        organizer.factor(series, economic, title)
    companies = organizer.workshop(series, "Företag")
    companies.join(3)
    companies.ok(companies.console, "step.set", step="prioritise")
    ballots(
        companies,
        "rating",
        [
            {
                "Kompetensförsörjning": 5,
                "Elektrifiering": 4,
                "Besöksnäring": 2,
                "Digitalisering": 3,
            },
            {
                "Kompetensförsörjning": 5,
                "Elektrifiering": 4,
                "Besöksnäring": 1,
                "Digitalisering": 3,
            },
            {
                "Kompetensförsörjning": 4,
                "Elektrifiering": 3,
                "Besöksnäring": 2,
                "Digitalisering": 3,
            },
        ],
        scale=5,
    )
    partners = organizer.workshop(series, "Regionala partner")
    partners.join(3)
    partners.ok(partners.console, "step.set", step="prune")
    ballots(partners, "keep_remove", [{"Besöksnäring": "remove"}] * 3)
    ids = partners.ids()
    partners.ok(partners.console, "factor.remove", factor_id=ids["Besöksnäring"], reason="Bort")
    partners.ok(partners.console, "step.set", step="prioritise")
    ballots(
        partners,
        "dots",
        [
            {"Digitalisering": 3},
            {"Digitalisering": 2, "Elektrifiering": 1},
            {"Kompetensförsörjning": 2, "Elektrifiering": 1},
        ],
        budget=3,
        cap=3,
    )
    return organizer, series, companies, partners


def test_the_combined_picture_matches_the_hand_computed_example(app: Flask) -> None:
    organizer, series, _, _ = two_workshops(app)
    record = organizer.record(series)
    a, b = (w["key"] for w in record["workshops"])
    assert [w["stakeholder"] for w in record["workshops"]] == ["Företag", "Regionala partner"]
    by = {f["title"]: f for f in record["factors"]}
    expected = {  # title: (rank, priority, companies' priority, partners', between the groups)
        "Digitalisering": (1, 2 / 3, 1 / 3, 1.0, "differ"),
        "Kompetensförsörjning": (2, 0.625, 1.0, 0.25, "differ"),
        "Elektrifiering": (3, 11 / 24, 2 / 3, 0.25, "differ"),
        "Besöksnäring": (4, 0.0, 0.0, 0.0, "agree"),
    }
    assert [f["title"] for f in record["factors"]] == list(expected)
    for title, (rank, priority, first, second, between) in expected.items():
        f = by[title]
        assert f["rank"] == rank, title
        assert f["priority"] == pytest.approx(priority), title
        assert f["cells"][a]["priority"] == pytest.approx(first), title
        assert f["cells"][b]["priority"] == pytest.approx(second), title
        assert f["agreement"] == between, title
    assert by["Besöksnäring"]["cells"][b]["status"] == "removed"
    assert by["Besöksnäring"]["kept_overall"] is True  # kept by one, removed by one
    # Companies reached consensus on every factor but one (all within ±1 of the median):
    # Digitalisering, rated 3 by all three, agrees on the middle of the scale, neither in
    # nor out, which is no consensus. The partners' dots did not reach Kendall's W ≥ 0.7.
    assert all(by[t]["cells"][a]["consensus"] for t in expected if t != "Digitalisering")
    assert not by["Digitalisering"]["cells"][a]["consensus"]
    assert not any(by[t]["cells"][b]["consensus"] for t in expected if t != "Besöksnäring")
    assert by["Kompetensförsörjning"]["cells"][a]["figures"]["median"] == 5
    assert by["Digitalisering"]["cells"][b]["figures"]["dots"] == 5
    assert by["Elektrifiering"]["cells"][b]["place"] == 2.5  # tied with Kompetensförsörjning
    assert record["concordance"]["w"] == pytest.approx(150 / 228)
    assert record["similarity"][0]["rho"] == pytest.approx(1.5 / 22.5**0.5)


def test_only_revealed_rounds_count(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    social = organizer.category(series, "Sociala")
    organizer.factor(series, social, "Urbanisering")
    organizer.factor(series, social, "Åldrande befolkning")
    room = organizer.workshop(series, "Företag")
    room.join(2)
    room.ok(room.console, "step.set", step="prioritise")
    ids = room.ids()
    round_id = room.ok(room.console, "round.open", method="dots", budget=2, cap=2)["round_id"]
    room.ok(
        room.phones[0], "ballot.submit", round_id=round_id, entries={str(ids["Urbanisering"]): 2}
    )
    room.ok(room.console, "round.close", round_id=round_id)
    assert all(f["rank"] is None for f in organizer.record(series)["factors"])
    room.ok(room.console, "round.reveal", round_id=round_id)
    ranked = [f["title"] for f in organizer.record(series)["factors"] if f["rank"]]
    assert ranked == ["Urbanisering", "Åldrande befolkning"]


def test_a_points_round_counts_in_the_picture_with_its_figures(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    social = organizer.category(series, "Sociala")
    for title in ("Urbanisering", "Åldrande befolkning", "Elektrifiering"):
        organizer.factor(series, social, title)
    room = organizer.workshop(series, "Företag")
    room.join(2)
    room.ok(room.console, "step.set", step="prioritise")
    ballots(
        room,
        "points",
        [{"Åldrande befolkning": 70, "Urbanisering": 30}, {"Åldrande befolkning": 50}],
    )
    record = organizer.record(series)
    assert record["workshops"][0]["method"] == "points"
    (key,) = (w["key"] for w in record["workshops"])
    assert [f["title"] for f in record["factors"]] == [
        "Åldrande befolkning",
        "Urbanisering",
        "Elektrifiering",
    ]
    figures = record["factors"][0]["cells"][key]["figures"]
    assert (figures["points"], figures["rank"]) == (120, 1)
    assert figures["share"] == pytest.approx(0.8)
    book = load_workbook(io.BytesIO(organizer.http.get(f"/api/series/{series}/export.xlsx").data))
    sheet = book["Per workshop"]
    headers = [c.value for c in sheet[1]]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Åldrande befolkning"][headers.index("Poäng")] == 120


def test_the_series_pages_show_the_library_workshops_and_picture(app: Flask) -> None:
    organizer, series, companies, _ = two_workshops(app)
    overview = organizer.http.get(f"/series/{series}").get_data(as_text=True)
    assert "Företag" in overview and "Regionala partner" in overview and companies.code in overview
    library = organizer.http.get(f"/series/{series}/library").get_data(as_text=True)
    assert "Kompetensförsörjning" in library
    combined = organizer.http.get(f"/series/{series}/combined")
    assert combined.status_code == 200
    data = json.loads(
        combined.get_data(as_text=True).split('id="page-data">')[1].split("</script>")[0]
    )
    assert data["record"]["factors"][0]["title"] == "Digitalisering"


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "pdf", "zip"])
def test_the_series_exports(app: Flask, fmt: str) -> None:
    organizer, series, _, _ = two_workshops(app)
    response = organizer.http.get(f"/api/series/{series}/export.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="samsyn-series-{series}.{fmt}"'
    )
    body = response.data
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:3] == ["Placering", "Kategori", "Faktor"]
        assert rows[1][2] == "Digitalisering" and rows[1][3] == "0,6667"
        assert "A: Status" in rows[0] and "B: Plats" in rows[0]
    elif fmt == "json":
        document = json.loads(body)
        assert document["schema"] == "samsyn.series"
        assert document["factors"][0]["title"] == "Digitalisering"
    elif fmt == "pdf":
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
        assert "Digitalisering" in text and "Regionala partner" in text
    else:
        assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None


def test_a_factor_keeps_its_identity_across_three_workshops(app: Flask) -> None:
    """Edits, merges and additions in one workshop stay linked to the library; a factor a
    workshop added is promoted for the next; a merge into a new wording continues the
    library factor, and that wording can be adopted."""
    organizer = Organizer(app)
    series = organizer.series()
    social = organizer.category(series, "Sociala")
    lib = {
        t: organizer.factor(series, social, t)
        for t in ("Urbanisering", "Åldrande befolkning", "Bostadsbrist", "Pendling")
    }
    # Workshop 1: a title edited, a duplicate merged, a factor proposed from a phone.
    one = organizer.workshop(series, "Företag")
    assert one.library_ids() == lib  # every copy linked to its entry
    ids = one.ids()
    one.ok(
        one.console, "factor.edit", factor_id=ids["Urbanisering"], title="Urbanisering i regionen"
    )
    one.ok(one.console, "factor.merge", factor_id=ids["Pendling"], into_id=ids["Bostadsbrist"])
    one.join(1)
    one.ok(one.console, "step.set", step="complete")
    one.ok(
        one.phones[0],
        "factor.propose",
        title="Ensamhet bland äldre",
        category_id=one.category("Sociala"),
    )
    linked = one.library_ids()
    assert linked["Urbanisering i regionen"] == lib["Urbanisering"]  # the edit kept the link
    assert linked["Pendling"] == lib["Pendling"]  # the merged one keeps its own: on record
    assert linked["Ensamhet bland äldre"] is None
    record = organizer.record(series)
    added = {a["title"]: a for a in record["added"]}
    cells = {f["title"]: f["cells"][record["workshops"][0]["key"]] for f in record["factors"]}
    assert (
        cells["Pendling"]["status"] == "merged"
        and cells["Pendling"]["merged_into"] == "Bostadsbrist"
    )
    assert cells["Urbanisering"]["title_here"] == "Urbanisering i regionen"
    organizer.do(series, "library.promote", factor_id=added["Ensamhet bland äldre"]["factor_id"])
    lib.update(organizer.library(series)["factors"])
    assert one.library_ids()["Ensamhet bland äldre"] == lib["Ensamhet bland äldre"]
    organizer.do(series, "library.retire", factor_id=lib["Åldrande befolkning"])

    # Workshop 2 starts from the library as it is now: the promoted factor in, the retired
    # one out, the library's own wording (not workshop 1's edit).
    two = organizer.workshop(series, "Regionala partner")
    assert set(two.library_ids()) == {
        "Urbanisering",
        "Bostadsbrist",
        "Pendling",
        "Ensamhet bland äldre",
    }
    assert all(two.library_ids()[t] == lib[t] for t in two.library_ids())
    ids = two.ids()
    # The group merges a library factor into a wording of its own: it lives on in it.
    two.ok(
        two.console, "factor.add", title="Bostäder för unga", category_id=two.category("Sociala")
    )
    ids = two.ids()
    two.ok(
        two.console, "factor.merge", factor_id=ids["Bostadsbrist"], into_id=ids["Bostäder för unga"]
    )
    two.join(2)
    two.ok(two.console, "step.set", step="prioritise")
    ballots(
        two,
        "dots",
        [{"Bostäder för unga": 3}, {"Urbanisering": 2, "Bostäder för unga": 1}],
        budget=3,
        cap=3,
    )
    record = organizer.record(series)
    second = record["workshops"][1]["key"]
    by = {f["title"]: f for f in record["factors"]}
    assert by["Bostadsbrist"]["cells"][second]["status"] == "kept"
    assert by["Bostadsbrist"]["cells"][second]["place"] == 1  # the new wording's first place
    assert by["Bostadsbrist"]["cells"][second]["title_here"] == "Bostäder för unga"
    assert by["Åldrande befolkning"]["cells"][second]["status"] == "absent"
    absorbed = next(a for a in record["added"] if a["title"] == "Bostäder för unga")
    assert absorbed["absorbed"] == [{"id": lib["Bostadsbrist"], "title": "Bostadsbrist"}]
    organizer.do(
        series,
        "library.adopt",
        factor_id=absorbed["factor_id"],
        library_factor_id=lib["Bostadsbrist"],
    )
    assert organizer.library(series)["factors"]["Bostäder för unga"] == lib["Bostadsbrist"]

    # Workshop 3 gets the adopted wording, still the same library factor.
    three = organizer.workshop(series, "Föreningar")
    assert three.library_ids()["Bostäder för unga"] == lib["Bostadsbrist"]
    record = organizer.record(series)
    assert len(record["workshops"]) == 3
    assert {f["id"] for f in record["factors"]} == set(lib.values())


def test_templates_and_csv_fill_a_library(app: Flask) -> None:
    organizer = Organizer(app)
    trends = organizer.series("Trender", template="municipal_trends")
    library = organizer.library(trends)
    assert list(library["categories"]) == [
        "Globalisering",
        "Demografi",
        "Klimat och miljö",
        "Teknikutveckling",
        "Värderingar",
    ]
    assert "Åldrande befolkning" in library["factors"]
    pestel = organizer.series("PESTEL", template="pestel")
    assert (
        len(organizer.library(pestel)["categories"]) == 6
        and not organizer.library(pestel)["factors"]
    )
    data = (
        "\ufeffKategori;Faktor;Beskrivning;Underlag;Länk\n"
        "Sociala;Urbanisering;Fler bor i stan;SCB 2024;https://www.scb.se\n"
        "Miljö;Skyfall;;;\n"
    ).encode()
    response = organizer.http.post(
        f"/series/{pestel}/do/library.import",
        data={
            "csv": (io.BytesIO(data), "bibliotek.csv"),
            "back": "library",
            "command_id": command_id(),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    library = organizer.library(pestel)
    assert {"Urbanisering", "Skyfall"} <= set(library["factors"])
    assert "Miljö" in library["categories"]  # a category the file named
    page = organizer.http.get(f"/series/{pestel}/library").get_data(as_text=True)
    assert 'href="https://www.scb.se"' in page and "SCB 2024" in page
    # Only http(s) addresses become links: anything else stays text.
    organizer.do(
        pestel,
        "library.add",
        category_id=library["categories"]["Sociala"],
        title="Falsk länk",
        evidence="Klicka javascript:alert(1)",
        back="library",
    )
    page = organizer.http.get(f"/series/{pestel}/library").get_data(as_text=True)
    assert "Klicka javascript:alert(1)" in page and 'href="javascript' not in page


def test_the_phone_shows_the_evidence_on_request(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    social = organizer.category(series, "Sociala")
    organizer.factor(
        series, social, "Urbanisering", evidence="SCB, befolkningsprognos https://www.scb.se"
    )
    room = organizer.workshop(series, "Företag")
    html = app.test_client().get(f"/j/{room.code}").get_data(as_text=True)
    block = json.loads(html.split('id="evidence-data">')[1].split("</script>")[0])
    (items,) = block["factors"].values()
    assert items == [{"text": "SCB, befolkningsprognos", "url": "https://www.scb.se"}]


def test_concluding_freezes_the_final_list(app: Flask) -> None:
    organizer, series, _, _ = two_workshops(app)
    record = organizer.record(series)
    chosen = [f["id"] for f in record["factors"] if f["kept_overall"]]
    organizer.do(series, "series.conclude", factor_ids=chosen)
    final = organizer.record(series)["final"]["factors"]
    assert [f["title"] for f in final] == [
        "Digitalisering",
        "Kompetensförsörjning",
        "Elektrifiering",
        "Besöksnäring",
    ]
    organizer.do(series, "series.reopen")
    assert organizer.record(series)["final"] is None


def test_deleting_a_series_deletes_its_workshops(app: Flask) -> None:
    organizer, series, companies, _ = two_workshops(app)
    response = organizer.http.post(f"/series/{series}/delete", data={"confirm": "fel"})
    assert response.status_code == 400
    response = organizer.http.post(
        f"/series/{series}/delete", data={"confirm": "Näringslivsstrategi 2030"}
    )
    assert response.status_code == 303
    db = app.extensions["samsyn"].db
    with db.read() as s:
        assert s.query(models.Series).count() == 0
        assert s.query(models.Workshop).count() == 0
        assert s.query(models.Deletion).count() == 2
    assert app.test_client().get(f"/j/{companies.code}").status_code == 404


def test_series_exports_name_no_participant(app: Flask) -> None:
    organizer, series, companies, _ = two_workshops(app)
    companies.ok(companies.phones[0], "participant.rename", nickname="Anna Andersson")
    db = app.extensions["samsyn"].db
    with db.read() as s:
        tokens = [p.token for p in s.query(models.Participant)]
    for fmt in ("json", "csv"):
        body = organizer.http.get(f"/api/series/{series}/export.{fmt}").get_data(as_text=True)
        assert "Anna Andersson" not in body
        assert not [t for t in tokens if t in body]
    document = organizer.record(series)
    # No ballots and no participant key (the rule's "min_answers" is a threshold, not one).
    text = json.dumps(document)
    assert '"answers"' not in text and "participant" not in text


def test_typed_text_stays_text_in_series_pages_and_exports(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series("<script>alert(1)</script>")
    category = organizer.category(series, '=HYPERLINK("http://x")')
    organizer.factor(series, category, "=1+2", description="<img src=x onerror=alert(1)>")
    room = organizer.workshop(series, "+Företag")
    room.join(1)
    room.ok(room.console, "step.set", step="prioritise")
    ballots(room, "dots", [{"=1+2": 1}], budget=1, cap=1)
    for path in (f"/series/{series}", f"/series/{series}/library", f"/series/{series}/combined"):
        page = organizer.http.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page, path
    rows = list(
        csv.reader(
            io.StringIO(
                organizer.http.get(f"/api/series/{series}/export.csv").data.decode("utf-8-sig")
            ),
            delimiter=";",
        )
    )
    assert rows[1][1].startswith("'=HYPERLINK") and rows[1][2] == "'=1+2"
    book = load_workbook(io.BytesIO(organizer.http.get(f"/api/series/{series}/export.xlsx").data))
    combined = book.worksheets[1]
    assert combined["C2"].value == "=1+2" and combined["C2"].data_type == "s"
    pdf = organizer.http.get(f"/api/series/{series}/export.pdf").data
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "<script>alert(1)</script>" in text  # printed as typed, never parsed as markup


def test_a_workshop_that_only_removed_a_factor_ranks_nothing(app: Flask) -> None:
    """Issue #18, 19: a series whose only workshop ran keep/remove and removed a factor has
    no priorities yet; the removed factor is not "1. – priority 0"."""
    organizer = Organizer(app)
    series = organizer.series()
    economic = organizer.category(series, "Ekonomiska")
    for title in ("Besöksnäring", "Digitalisering"):
        organizer.factor(series, economic, title)
    room = organizer.workshop(series, "Företag")
    room.join(2)
    room.ok(room.console, "step.set", step="prune")
    ballots(room, "keep_remove", [{"Besöksnäring": "remove"}] * 2)
    room.ok(room.console, "factor.remove", factor_id=room.ids()["Besöksnäring"], reason="Bort")
    record = organizer.record(series)
    by = {f["title"]: f for f in record["factors"]}
    assert by["Besöksnäring"]["cells"][record["workshops"][0]["key"]]["status"] == "removed"
    assert all(f["rank"] is None and f["priority"] is None for f in record["factors"])
    assert record["concordance"]["w"] is None


def test_a_workshop_still_pruning_leaves_the_agreement_of_the_others(app: Flask) -> None:
    """Issue #18, 20: only workshops that prioritised are raters of Kendall's W."""
    organizer, series, _, _ = two_workshops(app)
    before = organizer.record(series)["concordance"]
    third = organizer.workshop(series, "Föreningar")
    third.join(2)
    third.ok(third.console, "step.set", step="prune")
    ballots(third, "keep_remove", [{"Digitalisering": "remove"}] * 2)
    third.ok(third.console, "factor.remove", factor_id=third.ids()["Digitalisering"], reason="-")
    after = organizer.record(series)
    assert after["concordance"] == before
    assert after["concordance"]["w"] == pytest.approx(150 / 228)
    assert [f["rank"] for f in after["factors"]] == [1, 2, 3, 4]


def test_a_workshop_made_while_logged_in_is_listed_outside_a_series(app: Flask) -> None:
    """Issue #18, 23: the start page's form, sent by a logged-in organizer, makes a workshop
    they own: their page lists it under "Workshops outside a series" (as docs/api.md says),
    and only theirs."""
    organizer = Organizer(app)
    form = {"title": "Eget möte", "language": "sv", "category_set": "pestel", "factors": ""}
    made = organizer.http.post("/workshops", data=form)
    assert made.status_code == 303
    code = made.headers["Location"].rsplit("/", 1)[1]
    page = organizer.http.get("/organizer").get_data(as_text=True)
    assert 'id="own-heading"' in page
    assert "Eget möte" in page
    anonymous = app.test_client().post("/workshops", data={**form, "title": "Någon annans"})
    assert anonymous.status_code == 303
    other = Organizer(app, "annan@example.se")
    assert "Eget möte" not in other.http.get("/organizer").get_data(as_text=True)
    assert "Någon annans" not in organizer.http.get("/organizer").get_data(as_text=True)
    with app.extensions["samsyn"].db.read() as s:
        owned = s.query(models.Workshop).filter_by(code=code).one()
        assert owned.owner_id is not None and owned.series_id is None
    # From another computer, the login opens its console; another organizer's does not.
    elsewhere = Organizer(app, create=False)
    opened = elsewhere.http.post(f"/organizer/workshops/{code}/console", data={"to": "console"})
    assert opened.status_code == 303 and elsewhere.http.get(f"/console/{code}").status_code == 200
    refused = other.http.post(f"/organizer/workshops/{code}/console", data={"to": "console"})
    assert refused.status_code == 404
