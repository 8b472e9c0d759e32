"""A series in a real browser (Debian's Chromium, Playwright) against a real server: the
first account from the first-run page, a series started from our municipal trends, two
workshops with different groups — phones as real Socket.IO clients — the combined view, and
a public follow page that updates by itself as each workshop reveals its results. axe-core
checks every new page."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PHONE, Clients, Requests, Server, audit, expect_text
from .organizing import Browser

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


def test_the_transparency_page_and_the_help_page(browser: Any, live: Server) -> None:
    """Issue #18, item 24: the owner writes what the follow page tells of the process on the
    series' page; a stranger's phone reads it with the workshops' dates, the decision and
    its published reason and the participation; the help page explains the picture in
    Swedish and English. axe-core checks every page; the screenshots are follow-*.png."""
    seen = Requests()
    clients = Clients(live)
    organizer = Browser(clients)
    try:
        organizer.first_account("naringsliv@kommun.se")
        series = organizer.series()
        titles = ["Kompetensförsörjning", "Elektrifiering", "Besöksnäring", "Digitalisering"]
        organizer.library(series, "kategori;titel\n" + "".join(f"Ekonomiska;{t}\n" for t in titles))
        code = organizer.workshop(series, "Företag, industri")
        organizer.workshop(series, "Regionala partner")  # coming, not held yet
        follow_path = organizer.follow_path(series)
        console = clients.connect(organizer.http, code, "console")
        phones = [clients.phone(code)[1] for _ in range(3)]
        ids = {f["title"]: f["id"] for f in console.state()["state"]["factors"]}

        def reveal(method: str, ballots: list[dict[str, Any]], **settings: Any) -> None:
            round_id = console.ok("round.open", method=method, **settings)["round_id"]
            for phone, ballot in zip(phones, ballots, strict=True):
                entries = {str(ids[t]): v for t, v in ballot.items()}
                phone.ok("ballot.submit", round_id=round_id, entries=entries)
            console.ok("round.close", round_id=round_id)
            console.ok("round.reveal", round_id=round_id)

        console.ok("step.set", step="prune")
        reveal("keep_remove", [{"Besöksnäring": "remove"}] * 3)
        reason = "Besöksnäringen har en egen strategi"
        console.ok("factor.remove", factor_id=ids["Besöksnäring"], reason=reason)
        console.ok("step.set", step="prioritise")
        reveal(
            "dots",
            [{"Kompetensförsörjning": 3}, {"Digitalisering": 2, "Elektrifiering": 1}] * 1
            + [{"Kompetensförsörjning": 2, "Digitalisering": 1}],
            budget=3,
            cap=3,
        )

        # The owner writes and chooses on the series' page, in the browser.
        laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
        laptop.add_cookies(
            [
                {"name": c.name, "value": c.value or "", "url": live.url}
                for c in organizer.http.cookies
            ]
        )
        page = seen.watch(laptop.new_page())
        page.goto(f"{live.url}/series/{series}")
        page.get_by_label("Processen, i klarspråk").fill(
            "Kommunen förnyar sin näringslivsstrategi tillsammans med företag och partner.\n\n"
            "Varje grupp väljer själv vad som väger tyngst. <b>Ingen markup</b>."
        )
        page.get_by_label("Kommande workshoppar").fill("Regionala partner: 12 maj, stadshuset.")
        page.get_by_label("Visa hur många som deltog", exact=False).check()
        page.get_by_label(reason, exact=False).check()
        audit(page, "follow-0-organizer-choices")
        page.get_by_role("button", name="Spara det som följsidan berättar").click()
        page.wait_for_load_state()
        assert page.get_by_label("Kommande workshoppar").input_value().startswith("Regionala")

        # A stranger's phone reads the transparency page.
        stranger = seen.watch(browser.new_context(**PHONE, locale="sv-SE").new_page())
        stranger.goto(live.url + follow_path)
        expect_text(stranger, "#connection", "Ansluten")
        expect_text(stranger, "#picture", "Om processen")
        expect_text(stranger, "#picture", "<b>Ingen markup</b>")  # shown as text
        expect_text(stranger, "#picture", "Kommande workshoppar")
        expect_text(stranger, "#picture", "3 personer deltog")
        expect_text(stranger, "#picture", "inte hållen ännu")
        expect_text(stranger, "#picture", "hölls ")
        expect_text(stranger, "#picture", "A: Företag, industri tog bort ”Besöksnäring”")
        expect_text(stranger, "#picture", f"Skäl: {reason}")
        assert stranger.locator("#picture b").count() == 0
        audit(stranger, "follow-1-transparency-phone")
        page.goto(live.url + follow_path)  # and on a wide screen
        expect_text(page, "#picture", f"Skäl: {reason}")
        audit(page, "follow-4-transparency-desktop")

        # Samsyn's own help page, in Swedish and in English.
        stranger.get_by_role("link", name="Så beräknas den samlade bilden").click()
        stranger.wait_for_url("**/help/combined")
        expect_text(stranger, "h1", "Så beräknas den samlade bilden")
        audit(stranger, "follow-2-help-sv")
        stranger.goto(f"{live.url}/language/en?next=/help/combined")
        expect_text(stranger, "h1", "How the combined picture is computed")
        audit(stranger, "follow-3-help-en")
        assert seen.foreign(live.url) == []
    finally:
        clients.close()
