"""The console's helping hands in a real browser (issue #18, items 6, 7 and 10): the
facilitator link shown plainly and copied (through the Clipboard API, and without it), a
phone shown the factors alike the one it types, the console's likely duplicates merged with
one click, and a dot round's defaults fitting the factors; every screen passes axe-core."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Clients, Server, Workshop, audit, create_workshop, expect_text

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


def test_the_results_step_shows_how_the_picture_moved(browser: Any, live: Server) -> None:
    """Issue #18, item 3: a keep/remove round and two rating rounds, revealed; the console's
    Results step shows every factor in every round and where it ended, as a table."""
    titles = ["Urbanisering", "Åldrande befolkning", "Kompetensförsörjning", "Elektrifiering"]
    created = create_workshop(
        live.url,
        title="Tre omgångar",
        language="sv",
        factors=[{"title": t, "category": "Sociala"} for t in titles],
    )
    clients = Clients(live)
    try:
        room = Workshop(clients, created)
        phones = [clients.phone(room.code)[1] for _ in range(3)]
        ids = room.factor_ids()
        u, a, k, e = (str(ids[t]) for t in titles)

        def run(method: str, answers: list[dict[str, Any]]) -> None:
            round_id = room.console.ok("round.open", method=method)["round_id"]
            for phone, entries in zip(phones, answers, strict=True):
                phone.ok("ballot.submit", round_id=round_id, entries=entries)
            room.console.ok("round.close", round_id=round_id)
            room.console.ok("round.reveal", round_id=round_id)

        room.console.ok("step.set", step="prune")
        run("keep_remove", [{u: "keep", a: "keep", k: "keep", e: "remove"}] * 3)
        room.console.ok("factor.remove", factor_id=int(e), reason="Alla ville ta bort den")
        room.console.ok("step.set", step="prioritise")
        run("rating", [{u: 5, a: 2, k: 4}, {u: 5, a: 1, k: 3}, {u: 4, a: 2, k: 5}])
        run("rating", [{u: 5, a: 1, k: 4}, {u: 5, a: 1, k: 4}, {u: 5, a: 1, k: 4}])
        room.console.ok("step.set", step="results")
    finally:
        clients.close()

    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    table = console.get_by_role("table", name="Hur bilden rörde sig, omgång för omgång")
    table.wait_for()
    headers = table.locator("thead th").all_inner_texts()
    assert [" ".join(h.split()) for h in headers] == [
        "Faktor",
        "Omgång 1 Behåll eller ta bort",
        "Omgång 2 Gradering",
        "Omgång 3 Gradering",
        "Där den landade",
    ]
    row = table.get_by_role("row", name="Urbanisering")
    cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
    assert cells[0].startswith("behålls av 100") and "median 5" in cells[2]
    assert "(omgång 3)" in cells[3]
    removed = [
        " ".join(c.split())
        for c in table.get_by_role("row", name="Elektrifiering").locator("td").all_inner_texts()
    ]
    assert removed[1:3] == ["–", "–"] and "(omgång 1)" in removed[3]
    audit(console, "sv-console-results-moved")
