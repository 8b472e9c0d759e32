"""A series' library read from a CSV file (factor_library.parse_csv), as the organizer's
form imports it: a refusal names the row of the file a spreadsheet shows (the header counted
whatever its language, blank rows too), in the page's language throughout, and a bad link
is refused with its row too (issue #18, item 22)."""

from __future__ import annotations

import html
import io

import pytest
from flask import Flask
from organizing import Organizer, command_id

from facilitation.core import factor_library
from facilitation.core.domain import DomainError


def refusal(organizer: Organizer, series: int, data: str, language: str) -> str:
    """Import the file from the library page in `language`; the refusal the page shows."""
    organizer.http.get(f"/language/{language}")
    response = organizer.http.post(
        f"/series/{series}/do/library.import",
        data={
            "csv": (io.BytesIO(data.encode()), "bibliotek.csv"),
            "back": "library",
            "command_id": command_id(),
        },
        content_type="multipart/form-data",
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    return html.unescape(page.split('class="error" role="alert">')[1].split("</p>")[0])


def bad_title_on_row_3(header: str) -> str:
    """A file whose third row (a spreadsheet's) has an empty title."""
    return header + "Sociala;Urbanisering\nMiljö;\n"


@pytest.mark.parametrize(
    "header", ["Kategori;Faktor\n", "kategori;titel\n", "Category;Title\n", "category;factor\n"]
)
def test_the_row_is_the_files_whatever_the_headers_language(header: str) -> None:
    with pytest.raises(DomainError) as refused:
        factor_library.parse_csv(bad_title_on_row_3(header).encode())
    assert refused.value.params["row"] == 3


def test_rows_without_a_header_and_blank_rows_count_as_a_spreadsheet_shows_them() -> None:
    with pytest.raises(DomainError) as refused:
        factor_library.parse_csv("Sociala;Urbanisering\n\n;;\nMiljö;\n".encode())
    assert refused.value.params["row"] == 4
    with pytest.raises(DomainError) as refused:
        factor_library.parse_csv('kategori;titel\n"Sociala";"Två\nrader"\nMiljö;\n'.encode())
    assert refused.value.params["row"] == 3  # a quoted line break stays in its row


def test_a_bad_link_is_refused_with_its_row() -> None:
    data = "kategori;titel;underlag;länk\nSociala;Urbanisering;SCB;www.scb.se\n"
    with pytest.raises(DomainError) as refused:
        factor_library.parse_csv(data.encode())
    assert refused.value.code == "bad_row" and refused.value.params["row"] == 2


@pytest.mark.parametrize(
    ("language", "empty_title", "bad_link"),
    [
        (
            "sv",
            "Rad 3: Fältet ”titel” får inte vara tomt.",
            "Rad 2: En länk måste börja med https:// eller http://.",
        ),
        (
            "en",
            "Row 3: The title must not be empty.",
            "Row 2: A link must start with https:// or http://.",
        ),
    ],
)
def test_the_refusal_is_in_the_pages_language_throughout(
    app: Flask, language: str, empty_title: str, bad_link: str
) -> None:
    organizer = Organizer(app)
    series = organizer.series("Bibliotek", template="pestel")
    assert refusal(organizer, series, bad_title_on_row_3("Kategori;Faktor\n"), language) == (
        empty_title
    )
    link = "kategori;titel;underlag;länk\nSociala;Urbanisering;SCB;javascript:alert(1)\n"
    assert refusal(organizer, series, link, language) == bad_link
    assert not organizer.library(series)["factors"]  # nothing of a refused file is added
