"""The console's helping hands in a real browser (issue #18, items 6, 7 and 10): the
facilitator link shown plainly and copied (through the Clipboard API, and without it), a
phone shown the factors alike the one it types, the console's likely duplicates merged with
one click, and a dot round's defaults fitting the factors; every screen passes axe-core."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FACTORS = ["Urbanisering", "Klimatomställning", *(f"Faktor {n}" for n in range(1, 15))]


def test_link_duplicates_and_defaults(browser: Any, live: Server) -> None:
    response = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Konsolens hjälp",
            "language": "sv",
            "factors": [{"title": t, "category": "Sociala"} for t in FACTORS],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv")
    laptop.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")

    # The link is in plain sight, with its warning, and the button copies it.
    link = console.locator("#facilitator-url")
    assert link.is_visible() and link.input_value() == created["facilitator_url"]
    expect_text(console, "#facilitator-link-warning", "Håll den hemlig")
    console.get_by_role("button", name="Kopiera länken").click()
    expect_text(console, "#copy-link-message", "Kopierad")
    assert console.evaluate("navigator.clipboard.readText()") == created["facilitator_url"]
    audit(console, "sv-console-link")
    # Where the page has no Clipboard API (plain http on the venue's network): still copied.
    bare = laptop.new_page()
    bare.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    bare.goto(f"{live.url}/console/{created['code']}")
    expect_text(bare, "#connection", "Ansluten")
    bare.get_by_role("button", name="Kopiera länken").click()
    expect_text(bare, "#copy-link-message", "Kopierad")
    bare.close()

    # A phone typing a factor already there is shown it, and can choose it instead.
    console.locator('[data-key="step:complete"]').click()
    phone = browser.new_context(**PHONE, locale="sv").new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", "Ansluten")
    title = phone.get_by_label("Faktor", exact=True)
    title.fill("urbaniseringen")
    expect_text(phone, "#propose-alike-list", "Urbanisering")
    audit(phone, "sv-phone-alike")
    phone.get_by_role("button", name="”Urbanisering” är den jag menade").click()
    expect_text(phone, "#propose-message", "finns redan")
    assert title.input_value() == "" and phone.locator("#propose-alike").is_hidden()
    # Another proposes it anyway: the console offers to merge it.
    title.fill("Klimatomställningen")
    expect_text(phone, "#propose-alike-list", "Klimatomställning")
    phone.get_by_role("button", name="Föreslå").click()
    expect_text(phone, "#propose-message", "Tack")
    expect_text(console, "#duplicates-list", "”Klimatomställningen” liknar ”Klimatomställning”")
    audit(console, "sv-console-duplicates")
    console.get_by_role(
        "button", name="Slå ihop ”Klimatomställningen” med ”Klimatomställning”"
    ).click()
    console.wait_for_selector("#duplicates", state="hidden")

    # Dot voting's defaults fit the 16 factors: 5 dots, at most 3 on one.
    console.locator('[data-key="step:prioritise"]').click()
    console.wait_for_selector("#round-budget")
    assert console.locator("#round-budget").input_value() == "5"
    assert console.locator("#round-cap").input_value() == "3"
