"""A series in a real browser (Debian's Chromium, Playwright) against a real server: the
first account from the first-run page, a series started from our municipal trends, two
workshops with different groups — phones as real Socket.IO clients — the combined view, and
a public follow page that updates by itself as each workshop reveals its results. axe-core
checks every new page."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PHONE, Clients, Requests, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "ett långt lösenord"


def run_workshop(
    console: Any, clients: Clients, code: str, votes: list[dict[str, int]], name: str
) -> None:
    """In the console: dot voting opened; three phones vote; closed and revealed."""
    phones = [clients.phone(code)[1] for _ in votes]
    console.get_by_role("button", name="Prioritera", exact=True).click()
    console.get_by_label("Prickar per deltagare").fill("3")
    console.get_by_label("Flest prickar på en faktor").fill("3")
    console.get_by_role("button", name="Öppna prickröstning").click()
    expect_text(console, "#round-body", "0 av 3 har röstat")
    state = phones[0].state()["state"]
    ids = {f["title"]: f["id"] for f in state["factors"]}
    for phone, ballot in zip(phones, votes, strict=True):
        entries = {str(ids[title]): dots for title, dots in ballot.items()}
        phone.ok("ballot.submit", round_id=state["round"]["id"], entries=entries)
    expect_text(console, "#round-body", "3 av 3 har röstat")
    audit(console, f"series-{name}-console")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(console, "#round-body", "visad för alla")


def test_a_two_workshop_series_with_its_combined_view_and_live_follow_page(
    browser: Any, live: Server
) -> None:
    seen = Requests()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    page = seen.watch(laptop.new_page())
    clients = Clients(live)
    try:
        # The first account, from the first-run page.
        page.goto(f"{live.url}/setup")
        audit(page, "series-0-setup")
        page.get_by_label("Användarnamn eller e-postadress").fill("naringsliv@kommun.se")
        page.get_by_label("Lösenord (minst 10 tecken)").fill(PASSWORD)
        page.get_by_label("Lösenordet igen").fill(PASSWORD)
        page.get_by_role("button", name="Skapa kontot").click()
        page.wait_for_url("**/organizer")
        audit(page, "series-1-home")

        # A series from our example list of municipal trends.
        page.get_by_label("Titel").fill("Näringslivsstrategi 2030")
        page.get_by_label("Vår exempellista med kommunala trender", exact=False).check()
        page.get_by_role("button", name="Starta serien").click()
        page.wait_for_url("**/library")
        expect_text(page, "main", "Åldrande befolkning")
        page.get_by_text("Underlag", exact=False).first.wait_for()
        audit(page, "series-2-library")
        series_url = page.url.rsplit("/", 1)[0]

        # The follow page is opened to the public, and a stranger watches it.
        page.goto(series_url)
        page.get_by_role("button", name="Öppna följsidan för allmänheten").click()
        follow_url = page.locator("#follow-link").inner_text()
        audit(page, "series-3-overview")
        stranger = seen.watch(browser.new_context(**PHONE, locale="sv-SE").new_page())
        stranger.goto(follow_url)
        expect_text(stranger, "#connection", "Ansluten")
        expect_text(stranger, "#picture", "Inget att lägga samman ännu")
        audit(stranger, "series-4-follow-empty")

        # Workshop A: companies.
        page.get_by_label("Intressentgrupp").fill("Företag, industri")
        page.get_by_role("button", name="Lägg till workshoppen och öppna dess konsol").click()
        page.wait_for_url("**/console/*")
        code = page.url.rsplit("/", 1)[1]
        run_workshop(
            page,
            clients,
            code,
            [
                {"Kompetensförsörjning": 3},
                {"Kompetensförsörjning": 2, "Cybersäkerhet": 1},
                {"Artificiell intelligens": 3},
            ],
            "a",
        )
        # The follow page took it in, without a reload.
        expect_text(stranger, "#picture", "1. Kompetensförsörjning")
        expect_text(stranger, "#announcement", "Bilden har uppdaterats")

        # Workshop B: regional partners see it otherwise.
        page.goto(series_url)
        page.get_by_label("Intressentgrupp").fill("Regionala partner")
        page.get_by_role("button", name="Lägg till workshoppen och öppna dess konsol").click()
        page.wait_for_url("**/console/*")
        second = page.url.rsplit("/", 1)[1]
        assert second != code
        run_workshop(
            page,
            clients,
            second,
            [
                {"Klimatanpassning": 3},
                {"Klimatanpassning": 2, "Artificiell intelligens": 1},
                {"Artificiell intelligens": 2, "Klimatanpassning": 1},
            ],
            "b",
        )
        expect_text(stranger, "#picture", "Regionala partner")
        expect_text(stranger, "#picture", "Grupperna skiljer sig åt")
        audit(stranger, "series-5-follow-two-workshops")

        # The combined view: both workshops side by side, the agreed order.
        page.goto(f"{series_url}/combined")
        expect_text(page, "#picture", "A: Företag, industri")
        expect_text(page, "#picture", "B: Regionala partner")
        first = page.locator(".picture-list > li").first.inner_text()
        assert first.startswith("1. Artificiell intelligens"), first
        row = page.locator(".picture-list > li", has_text="Kompetensförsörjning").inner_text()
        assert "Grupperna skiljer sig åt" in row and "plats 1 av" in row
        audit(page, "series-6-combined")
        with page.expect_download() as download:
            page.get_by_role("link", name="Rapport (PDF)").click()
        assert download.value.suggested_filename.endswith(".pdf")
        assert seen.foreign(live.url) == []
    finally:
        clients.close()
