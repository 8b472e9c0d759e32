"""Reasons from the edges in a real browser: after a rating round is shown, the phone whose
answer lay outside the middle half is told so (and only that phone), gives a reason that
the board and the other phones show without a name, and the facilitator hides it from the
console; the phone passes axe-core with the reason field open."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_phone_outside_the_middle_half_gives_a_reason_the_board_shows(
    browser: Any, live: Server
) -> None:
    response = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Skäl från kanterna",
            "language": "sv",
            "factors": [{"title": "Urbanisering", "category": "Sociala"}],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    board = laptop.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(f"{live.url}/board/{created['code']}")
    phones = []
    for _ in range(3):
        phone = browser.new_context(**PHONE, locale="sv").new_page()
        phone.goto(created["join_url"])
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)

    console.get_by_role("button", name="Prioritera", exact=True).click()
    console.get_by_label("Hur gruppen prioriterar").select_option("rating")
    console.get_by_role("button", name="Öppna graderingen").click()
    # Ratings 1, 3 and 3: the middle half of the group answered 2–3, so 1 lies outside.
    for phone, value in zip(phones, (1, 3, 3), strict=True):
        phone.get_by_role("button", name=f"Urbanisering: {value} av 5").click()
        expect_text(phone, "#vote-message", "Sparat")
    expect_text(board, "#participation-text", "3 av 3 har röstat")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()

    outlier, insider, _ = phones
    expect_text(outlier, "#outside", "Du svarade 1; den mittersta hälften av gruppen svarade 2–3.")
    expect_text(insider, "#results-body", "Urbanisering")
    assert insider.locator("#outside").is_hidden()
    field = outlier.get_by_label("Ditt skäl (frivilligt, högst 280 tecken)")
    field.fill("Jag bor på landsbygden, där flyttar folk ut.")
    audit(outlier, "sv-reasons-phone")
    outlier.get_by_role("button", name="Dela mitt skäl").click()
    expect_text(outlier, "#outside", "Tack! Ditt skäl visas bredvid resultatet, utan ditt namn.")
    expect_text(outlier, "#outside", "Ditt skäl (visas för gruppen)")

    heading = "Därför svarade några annorlunda · omgång 1"
    for page in (board, insider, console):
        expect_text(page, "main", heading)
        expect_text(page, "main", "Jag bor på landsbygden, där flyttar folk ut.")
    listed = board.get_by_role("list", name=heading)
    assert listed.get_by_role("listitem").all_inner_texts() == [
        "Jag bor på landsbygden, där flyttar folk ut."
    ]
    audit(board, "sv-reasons-board")

    # The facilitator hides it: it leaves the board, and its author's phone says so.
    console.locator("#reasons-list").get_by_role("button", name="Dölj").click()
    expect_text(outlier, "#outside", "Ditt skäl (dolt av processledaren)")
    board.wait_for_function(
        "() => !document.querySelector('#results-body').textContent.includes('landsbygden')"
    )
