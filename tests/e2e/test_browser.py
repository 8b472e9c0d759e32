"""A workshop in a real browser: Debian's Chromium, driven by Playwright, against a real
server. A facilitator and two phones go through every step; a phone that loses its network
mid-vote still counts once. Screenshots land in test-artifacts/ for review."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from conftest import unavailable

from .conftest import ROOT, Server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright")
    if not Path(CHROMIUM).exists():
        unavailable("Chromium (/usr/bin/chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    """One eventlet server (the default event loop) per test."""
    server = Server("eventlet", tmp_path)
    server.start()
    yield server
    server.stop()


class Requests:
    """Every URL a set of pages asked for, to prove they stay on our origin."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("pageerror", lambda error: pytest.fail(f"script error: {error}"))
        return page

    def foreign(self, origin: str) -> list[str]:
        host = urlsplit(origin).netloc
        return [u for u in self.urls if urlsplit(u).netloc not in (host, "")]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_whole_workshop_in_the_browser(browser: Any, live: Server) -> None:
    seen = Requests()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    console = seen.watch(laptop.new_page())

    # The facilitator creates the workshop on the start page.
    console.goto(live.url + "/")
    console.get_by_label("Titel").fill("Omvärldsanalys 2030")
    console.get_by_label("Faktorer att börja med, en per rad (valfritt)").fill(
        "Sociala: Urbanisering\nSociala: Åldrande befolkning\nEkonomiska: Kompetensförsörjning"
    )
    console.get_by_role("button", name="Skapa workshopen").click()
    console.wait_for_url("**/console/*")
    code = console.url.rsplit("/", 1)[1]
    expect_text(console, "#connection", "Ansluten")

    board = seen.watch(laptop.new_page())
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(f"{live.url}/board/{code}")
    expect_text(board, ".join-code", code)

    phones = []
    for _ in range(2):
        context = browser.new_context(**PHONE, locale="sv-SE")
        phone = seen.watch(context.new_page())
        phone.goto(f"{live.url}/j/{code}")
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)
    expect_text(board, "#presence", "2 deltagare")
    shot(board, "board-1-prepare")
    shot(phones[0], "phone-1-prepare")

    # Step 2: a phone proposes a missing factor; everyone sees it.
    console.get_by_role("button", name="Lägg till faktorer").click()
    phones[0].get_by_label("Faktor", exact=True).fill("Besöksnäringens tillväxt")
    phones[0].get_by_role("button", name="Föreslå").click()
    expect_text(phones[0], "#propose-message", "Tack!")
    for page in (board, phones[1], console):
        page.get_by_text("Besöksnäringens tillväxt").first.wait_for()
    shot(phones[0], "phone-2-complete")

    # Step 3: keep or remove. Both phones want "Kompetensförsörjning" gone.
    console.get_by_role("button", name="Behåll eller ta bort").click()
    console.get_by_role("button", name="Öppna omröstningen behåll eller ta bort").click()
    for phone in phones:
        row = phone.locator(".vote-row", has_text="Kompetensförsörjning")
        row.get_by_role("button", name="Ta bort").click()
        expect_text(phone, "#vote-message", "Sparat")
    expect_text(board, "#participation-text", "2 av 2 har röstat")
    shot(phones[1], "phone-3-prune")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "Flest vill ta bort")
    expect_text(phones[0], "#results-body", "Flest vill ta bort")
    shot(board, "board-3-prune-results")

    # The facilitator removes it, with a reason that is kept.
    row = console.locator(".admin-row", has_text="Kompetensförsörjning")
    row.get_by_role("button", name="Ta bort").click()
    console.locator("#remove-reason").fill("Gruppen röstade bort den")
    console.locator("#remove-dialog button[value=confirm]").click()
    expect_text(console, "#factor-admin", "Skäl: Gruppen röstade bort den")

    # Step 4: dot voting, three dots each, at most two on one factor.
    console.get_by_role("button", name="Prioritera").click()
    console.get_by_label("Prickar per deltagare").fill("3")
    console.get_by_label("Flest prickar på en faktor").fill("2")
    console.get_by_role("button", name="Öppna prickröstning").click()
    for phone in phones:
        add = phone.get_by_role("button", name="Lägg en prick på Urbanisering")
        add.click()
        add.click()
        expect_text(phone, "#budget", "1 av 3 prickar kvar")
        assert add.is_disabled()  # the cap
        phone.get_by_role("button", name="Lägg en prick på Besöksnäringens tillväxt").click()
        expect_text(phone, "#budget", "0 av 3 prickar kvar")
        expect_text(phone, "#vote-message", "Sparat")
    shot(phones[0], "phone-4-dots")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "1. Urbanisering")
    expect_text(board, "#results-body", "4 prickar")
    shot(board, "board-4-dots-results")
    shot(console, "console-4-dots-results")

    # Close, with a confirmation first.
    console.get_by_role("button", name="Avslutad").click()
    console.locator("#confirm-dialog button[value=confirm]").click()
    expect_text(phones[1], "#closed", "Tack!")
    expect_text(board, "#step-name", "Avslutad")

    # The export has what happened, and no page asked anything of another site.
    cookies = {c["name"]: c["value"] for c in laptop.cookies()}
    record = requests.get(
        f"{live.url}/api/workshops/{code}/export.json", cookies=cookies, timeout=10
    ).json()
    fate = {f["title"]: (f["status"], f["removal_reason"]) for f in record["factors"]}
    assert fate["Kompetensförsörjning"] == ("removed", "Gruppen röstade bort den")
    dots = {r["title"]: r["dots"] for r in record["rounds"][-1]["factors"]}
    assert dots["Urbanisering"] == 4 and dots["Besöksnäringens tillväxt"] == 2
    assert seen.foreign(live.url) == []


def test_rounds_until_consensus_in_the_browser(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Delphi",
            "language": "sv",
            "factors": [
                {"title": "Urbanisering", "category": "Sociala"},
                {"title": "Klimatomställning", "category": "Miljömässiga"},
            ],
        },
    ).json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    board = laptop.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(created["board_url"])
    phones = []
    for _ in range(2):
        phone = browser.new_context(**PHONE, locale="sv-SE").new_page()
        phone.goto(created["join_url"])
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)
    console.get_by_role("button", name="Prioritera").click()
    console.get_by_label("Hur gruppen prioriterar").select_option("rating")
    console.get_by_role("button", name="Öppna graderingen").click()

    # Round 1: the two disagree about climate.
    for phone, climate in zip(phones, ("1", "5"), strict=True):
        phone.get_by_role("button", name="Urbanisering: 4 av 5").click()
        phone.get_by_role("button", name=f"Klimatomställning: {climate} av 5").click()
        expect_text(phone, "#budget", "Du har röstat om 2 av 2 faktorer")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "1 av 2 faktorer har 75")

    # Round 2: each phone sees the group and its own answer, starts from it, and revises.
    console.get_by_role("button", name="Öppna en ny omgång").click()
    expect_text(phones[0], "#vote-list", "Gruppen förra gången: median 3")
    expect_text(phones[0], "#vote-list", "du: 1")
    for phone in phones:
        phone.get_by_role("button", name="Utgå från mina tidigare svar").click()
        phone.get_by_role("button", name="Klimatomställning: 3 av 5").click()
        expect_text(phone, "#vote-message", "Sparat")
    shot(phones[0], "phone-5-delphi")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#announcement", "Gruppen har nått konsensus i omgång 2")
    expect_text(board, "#results-body", "Konsensus nådd")
    shot(board, "board-5-consensus")

    # The matrix, drawn on the board.
    console.get_by_label("Hur gruppen prioriterar").select_option("matrix")
    console.get_by_role("button", name="Öppna påverkan och osäkerhet").click()
    for phone in phones:
        phone.get_by_role("button", name="Urbanisering, Påverkan: 5 av 5").click()
        phone.get_by_role("button", name="Urbanisering, Osäkerhet: 2 av 5").click()
        expect_text(phone, "#vote-message", "Sparat")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    board.locator("svg.matrix circle").first.wait_for()
    expect_text(board, "#results-body", "Nyckeltrend")
    shot(board, "board-6-matrix")


def test_a_phone_that_goes_offline_mid_vote_counts_once(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Offline",
            "language": "en",
            "factors": [{"title": "Urbanisation", "category": "Social"}],
        },
    ).json()
    facilitator = requests.Session()
    facilitator.get(created["facilitator_url"], timeout=10)
    context = browser.new_context(**PHONE, locale="en-GB")
    phone = context.new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", "Connected")

    # The facilitator opens dot voting (through a real client: the console is not the point).
    import socketio

    console = socketio.Client(http_session=facilitator)
    console.connect(
        live.url, auth={"code": created["code"], "view": "console"}, transports=["websocket"]
    )
    console.call("step.set", {"command_id": "s", "step": "prioritise"})
    console.call("round.open", {"command_id": "o", "method": "dots", "budget": 3, "cap": 3})
    add = phone.get_by_role("button", name="Add a dot to Urbanisation")
    add.wait_for()

    context.set_offline(True)
    expect_text(phone, "#connection", "Offline")
    add.click()
    add.click()
    # The newer whole ballot replaced the older one in the queue: one command to send.
    expect_text(phone, "#connection", "1 action waiting to be sent")
    expect_text(phone, "#budget", "1 of 3 dots left")
    context.set_offline(False)
    expect_text(phone, "#vote-message", "Saved", timeout=30_000)
    expect_text(phone, "#connection", "Connected")
    assert "waiting" not in phone.locator("#connection").inner_text()

    state = console.call("state.get", {})["data"]["state"]
    console.call("round.close", {"command_id": "c", "round_id": state["round"]["id"]})
    record = facilitator.get(
        f"{live.url}/api/workshops/{created['code']}/export.json", timeout=10
    ).json()
    assert record["rounds"][-1]["factors"][0]["dots"] == 2
    assert record["rounds"][-1]["ballots"] == 1
    console.disconnect()


def expect_text(page: Any, selector: str, text: str, timeout: float = 10_000) -> None:
    """Wait until the element's text contains `text`."""
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.innerText.includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )
