"""A workshop in a real browser: Debian's Chromium, driven by Playwright, against a real
server. A facilitator and three phones go through every step in Swedish and in English, with
axe-core checking every screen; rounds run until consensus; a phone that loses its network
mid-vote still counts once. Screenshots land in test-artifacts/ for review."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from .conftest import PHONE, Requests, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


# The words each language's pages use, for finding controls as people do: by their names.
WORDS = {
    "sv": {
        "title": "Titel",
        "factors": "Faktorer att börja med, en per rad (valfritt)",
        "create": "Skapa workshopen",
        "connected": "Ansluten",
        "participants": "3 deltagare",
        "complete": "Lägg till faktorer",
        "factor": "Faktor",
        "propose": "Föreslå",
        "thanks": "Tack!",
        "prune": "Behåll eller ta bort",
        "open_prune": "Öppna omröstningen behåll eller ta bort",
        "remove": "Ta bort",
        "saved": "Sparat",
        "voted": "3 av 3 har röstat",
        "close": "Stäng omröstningen",
        "reveal": "Visa resultatet för alla",
        "most_remove": "Flest vill ta bort",
        "reason": "Gruppen röstade bort den",
        "reason_shown": "Skäl: Gruppen röstade bort den",
        "prioritise": "Prioritera",
        "budget": "Prickar per deltagare",
        "cap": "Flest prickar på en faktor",
        "open_dots": "Öppna prickröstning",
        "add_dot": "Lägg en prick på {}",
        "left": "{} av 3 prickar kvar",
        "dots": "prickar",
        "results": "Resultat",
        "closed": "Avslutad",
        "categories": ("Sociala", "Ekonomiska"),
    },
    "en": {
        "title": "Title",
        "factors": "Starting factors, one a line (optional)",
        "create": "Create the workshop",
        "connected": "Connected",
        "participants": "3 participants",
        "complete": "Add factors",
        "factor": "Factor",
        "propose": "Propose",
        "thanks": "Thank you!",
        "prune": "Keep or remove",
        "open_prune": "Open the keep-or-remove vote",
        "remove": "Remove",
        "saved": "Saved",
        "voted": "3 of 3 have voted",
        "close": "Close the vote",
        "reveal": "Show the results to everyone",
        "most_remove": "Most say remove",
        "reason": "The group voted it out",
        "reason_shown": "Reason: The group voted it out",
        "prioritise": "Prioritise",
        "budget": "Dots per participant",
        "cap": "Most dots on one factor",
        "open_dots": "Open dot voting",
        "add_dot": "Add a dot to {}",
        "left": "{} of 3 dots left",
        "dots": "dots",
        "results": "Results",
        "closed": "Closed",
        "categories": ("Social", "Economic"),
    },
}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_whole_workshop_in_the_browser(browser: Any, live: Server, language: str) -> None:
    w = WORDS[language]
    social, economic = w["categories"]
    seen = Requests()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale=language)
    console = seen.watch(laptop.new_page())

    # The facilitator creates the workshop on the start page.
    console.goto(live.url + "/")
    audit(console, f"{language}-0-start")
    console.get_by_label(w["title"], exact=True).fill("Omvärldsanalys 2030")
    console.get_by_role("radio", name="Svenska" if language == "sv" else "English").check()
    console.get_by_label(w["factors"]).fill(
        f"{social}: Urbanisering\n{social}: Åldrande befolkning\n{economic}: Kompetensförsörjning"
    )
    console.get_by_role("button", name=w["create"]).click()
    console.wait_for_url("**/console/*")
    code = console.url.rsplit("/", 1)[1]
    expect_text(console, "#connection", w["connected"])

    board = seen.watch(laptop.new_page())
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(f"{live.url}/board/{code}")
    expect_text(board, ".join-code", code)

    phones = []
    for _ in range(3):
        context = browser.new_context(**PHONE, locale=language)
        phone = seen.watch(context.new_page())
        phone.goto(f"{live.url}/j/{code}")
        expect_text(phone, "#connection", w["connected"])
        phones.append(phone)
    expect_text(board, "#presence", w["participants"])
    for name, page in (("board", board), ("phone", phones[0]), ("console", console)):
        audit(page, f"{language}-1-prepare-{name}")

    # Step 2: a phone proposes a missing factor; everyone sees it.
    console.get_by_role("button", name=w["complete"], exact=True).click()
    phones[0].get_by_label(w["factor"], exact=True).fill("Besöksnäringens tillväxt")
    phones[0].get_by_role("button", name=w["propose"]).click()
    expect_text(phones[0], "#propose-message", w["thanks"])
    for page in (board, phones[1], console):
        page.get_by_text("Besöksnäringens tillväxt").first.wait_for()
    for name, page in (("board", board), ("phone", phones[0]), ("console", console)):
        audit(page, f"{language}-2-complete-{name}")

    # Step 3: keep or remove. Every phone wants "Kompetensförsörjning" gone.
    console.get_by_role("button", name=w["prune"], exact=True).click()
    console.get_by_role("button", name=w["open_prune"]).click()
    for phone in phones:
        row = phone.locator(".vote-row", has_text="Kompetensförsörjning")
        row.get_by_role("button", name=w["remove"]).click()
        expect_text(phone, "#vote-message", w["saved"])
    expect_text(board, "#participation-text", w["voted"])
    for name, page in (("board", board), ("phone", phones[1])):
        audit(page, f"{language}-3-prune-{name}")
    console.get_by_role("button", name=w["close"]).click()
    console.get_by_role("button", name=w["reveal"]).click()
    expect_text(board, "#results-body", w["most_remove"])
    expect_text(phones[0], "#results-body", w["most_remove"])
    for name, page in (("board", board), ("phone", phones[0]), ("console", console)):
        audit(page, f"{language}-3-prune-results-{name}")

    # The facilitator removes it, with a reason that is kept.
    row = console.locator(".admin-row", has_text="Kompetensförsörjning")
    row.get_by_role("button", name=w["remove"]).click()
    console.locator("#remove-reason").fill(w["reason"])
    audit(console, f"{language}-3-remove-dialog")
    console.locator("#remove-dialog button[value=confirm]").click()
    expect_text(console, "#factor-admin", w["reason_shown"])

    # Step 4: dot voting, three dots each, at most two on one factor.
    console.get_by_role("button", name=w["prioritise"], exact=True).click()
    console.get_by_label(w["budget"]).fill("3")
    console.get_by_label(w["cap"]).fill("2")
    console.get_by_role("button", name=w["open_dots"]).click()
    for phone in phones:
        add = phone.get_by_role("button", name=w["add_dot"].format("Urbanisering"))
        add.click()
        add.click()
        expect_text(phone, "#budget", w["left"].format(1))
        assert add.is_disabled()  # the cap
        phone.get_by_role("button", name=w["add_dot"].format("Besöksnäringens tillväxt")).click()
        expect_text(phone, "#budget", w["left"].format(0))
        expect_text(phone, "#vote-message", w["saved"])
    for name, page in (("board", board), ("phone", phones[0])):
        audit(page, f"{language}-4-dots-{name}")
    console.get_by_role("button", name=w["close"]).click()
    console.get_by_role("button", name=w["reveal"]).click()
    expect_text(board, "#results-body", "1. Urbanisering")
    expect_text(board, "#results-body", f"6 {w['dots']}")

    # Step 5: the results; then close, with a confirmation first.
    console.get_by_role("button", name=w["results"], exact=True).click()
    for name, page in (("board", board), ("phone", phones[2]), ("console", console)):
        audit(page, f"{language}-5-results-{name}")
    console.get_by_role("button", name=w["closed"], exact=True).click()
    audit(console, f"{language}-6-close-dialog")
    console.locator("#confirm-dialog button[value=confirm]").click()
    expect_text(phones[1], "#step-name", w["closed"])
    expect_text(board, "#step-name", w["closed"])
    for name, page in (("board", board), ("phone", phones[1])):
        audit(page, f"{language}-6-closed-{name}")
    # The phone drew the dot results over the keep/remove ones: the most dots fill the bar.
    phones[1].wait_for_timeout(800)  # the bars' transition
    left, width, track = phones[1].evaluate(
        """() => {
            const bar = document.querySelector("#results-body ol.results li svg.chart");
            const fill = bar.querySelector(".chart-fill").getBoundingClientRect();
            const all = bar.getBoundingClientRect();
            return [fill.left - all.left, fill.width, all.width];
        }"""
    )
    assert abs(left) < 1 and abs(width - track) < 1, (left, width, track)

    # The export has what happened, and no page asked anything of another site.
    cookies = {c["name"]: c["value"] for c in laptop.cookies()}
    record = requests.get(
        f"{live.url}/api/workshops/{code}/export.json", cookies=cookies, timeout=10
    ).json()
    fate = {f["title"]: (f["status"], f["removal_reason"]) for f in record["factors"]}
    assert fate["Kompetensförsörjning"] == ("removed", w["reason"])
    dots = {r["title"]: r["dots"] for r in record["rounds"][-1]["factors"]}
    assert dots["Urbanisering"] == 6 and dots["Besöksnäringens tillväxt"] == 3
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
    # Three: the rule judges a factor from three opinions on.
    for _ in range(3):
        phone = browser.new_context(**PHONE, locale="sv-SE").new_page()
        phone.goto(created["join_url"])
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)
    console.get_by_role("button", name="Prioritera").click()
    console.get_by_label("Hur gruppen prioriterar").select_option("rating")
    console.get_by_role("button", name="Öppna graderingen").click()

    # Round 1: one against two about climate: two camps, never consensus.
    for phone, climate in zip(phones, ("1", "5", "4"), strict=True):
        phone.get_by_role("button", name="Urbanisering: 4 av 5").click()
        phone.get_by_role("button", name=f"Klimatomställning: {climate} av 5").click()
        expect_text(phone, "#budget", "Du har röstat om 2 av 2 faktorer")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "1 av 2 faktorer har enighet")
    expect_text(board, "#results-body", "Splittrat: Klimatomställning")
    expect_text(board, "#results-body", "Färre än 10 röster")
    # The console recommends the next step: nothing to compare with yet, so another round.
    expect_text(console, "#round-body", "Nästa steg: en omgång till.")
    expect_text(console, "#round-body", "Det här är den första omgången av sitt slag")

    # Round 2: each phone sees the group and its own answer, starts from it, and revises.
    console.get_by_role("button", name="Öppna en ny omgång").click()
    expect_text(phones[0], "#vote-list", "Gruppen förra gången: median 4")
    expect_text(phones[0], "#vote-list", "du: 1")
    for phone, climate in zip(phones, ("1", "5", "4"), strict=True):
        phone.get_by_role("button", name="Utgå från mina tidigare svar").click()
        if climate != "4":  # pressing the answer one has already given takes it back
            phone.get_by_role("button", name="Klimatomställning: 4 av 5").click()
        expect_text(phone, "#vote-message", "Sparat")
    audit(phones[0], "sv-7-delphi-phone")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "Konsensus nådd")
    expect_text(board, "#announcement", "Gruppen har nått konsensus i omgång 2")
    expect_text(console, "#round-body", "Nästa steg: avsluta. Gruppen har nått konsensus.")
    # How far each factor moved, in words: climate from 1 5 4 to 4 4 4, two thirds.
    expect_text(board, "#results-body", "stabil: rörde sig 0")
    expect_text(board, "#results-body", "rörde sig 67")
    audit(board, "sv-7-consensus-board")

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
    audit(board, "sv-8-matrix-board")
    audit(console, "sv-8-matrix-console")


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
    # Every Socket.IO request names the workshop, reconnections too: behind nginx, a room's
    # screens meet on one process by it (deploy/nginx/samsyn-http.conf).
    sockets: list[str] = []
    phone.on("request", lambda r: sockets.append(r.url) if "/socket.io/" in r.url else None)
    phone.on("websocket", lambda ws: sockets.append(ws.url))
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", "Connected")

    # The facilitator opens dot voting (through a real client: the console is not the point).
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
    assert sum("transport=websocket" in url for url in sockets) >= 2, sockets  # reconnected
    assert all(f"workshop={created['code']}" in url for url in sockets), sockets


def test_a_workshop_is_exported_and_deleted_from_the_console(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Att radera",
            "factors": [{"title": "Urbanisering", "category": "Sociala"}],
        },
    ).json()
    laptop = browser.new_context(accept_downloads=True, locale="sv-SE")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", "Ansluten")
    with console.expect_download() as download:
        console.get_by_role("link", name="Rapport (PDF)").click()
    assert download.value.suggested_filename == f"samsyn-{created['code']}.pdf"
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"

    console.get_by_role("button", name="Radera workshopen …").click()
    console.locator("#delete-code").fill("fel")
    console.locator("#delete-dialog button[value=confirm]").click()
    assert console.url.endswith(f"/console/{created['code']}")  # the wrong code: nothing
    console.get_by_role("button", name="Radera workshopen …").click()
    console.locator("#delete-code").fill(created["code"].lower())
    console.locator("#delete-dialog button[value=confirm]").click()
    console.wait_for_url(f"{live.url}/")
    expect_text(phone, "#connection", "Workshopen finns inte längre")
    assert requests.get(created["join_url"], timeout=10).status_code == 404


def test_a_replaced_facilitator_link_shuts_out_the_old_screens(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops", timeout=10, json={"title": "Länken läckte"}
    ).json()
    laptop = browser.new_context(locale="sv-SE")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    board = laptop.new_page()  # same browser: it gets the new link through the cookie
    board.goto(f"{live.url}/board/{created['code']}")
    leaked = browser.new_context(locale="sv-SE").new_page()  # opened with the leaked link
    leaked.goto(created["facilitator_url"] + "?to=board")
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(created["join_url"])
    for page in (console, board, leaked, phone):
        expect_text(page, "#connection", "Ansluten")

    console.get_by_text("Har länken delats av misstag?").click()  # shown, replaced one step further
    console.get_by_role("button", name="Byt länken").click()
    console.get_by_role("button", name="Avbryt").click()  # asked first; nothing happened
    assert console.url.endswith(f"/console/{created['code']}")
    console.get_by_role("button", name="Byt länken").click()
    console.get_by_role("button", name="Ja").click()
    console.wait_for_url(f"**/console/{created['code']}?link=new")
    expect_text(console, "#connection", "Ansluten")
    new_link = console.locator(".secret-link").input_value()
    assert new_link != created["facilitator_url"]

    expect_text(leaked, "#connection", "processledarlänk")  # refused, told what to do
    expect_text(board, "#connection", "Ansluten")  # reconnected with the new cookie
    expect_text(phone, "#connection", "Ansluten")  # participants never noticed
    leaked.goto(created["facilitator_url"])
    assert leaked.title().startswith("403")
    leaked.goto(new_link)
    expect_text(leaked, "#connection", "Ansluten")


def test_the_facilitator_closes_the_doors_and_the_board_and_a_newcomer_say_so(
    browser: Any, live: Server
) -> None:
    """With the keyboard alone, the facilitator closes the doors on the console: the board
    hides its QR code and join code and says the doors are closed; a newcomer's phone says
    plainly that the workshop takes no new participants, and comes in by itself once the
    doors open again. The console shows everyone who joined against those here now."""
    created = requests.post(
        f"{live.url}/api/workshops", timeout=10, json={"title": "Dörrarna", "language": "sv"}
    ).json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    board = laptop.new_page()
    board.goto(f"{live.url}/board/{created['code']}")
    first = browser.new_context(**PHONE, locale="sv-SE").new_page()
    # The phone's Engine.IO upgrade from long polling to its WebSocket ("5"): a page closed
    # while still long polling is noticed only when the server next writes to it (a ping,
    # up to 25 s later); one closed on its WebSocket, at once.
    upgraded: list[object] = []
    first.on("websocket", lambda ws: ws.on("framesent", lambda f: f == "5" and upgraded.append(f)))
    first.goto(created["join_url"])
    for page in (console, board, first):
        expect_text(page, "#connection", "Ansluten")
    expect_text(console, "#people-joined", "1")
    expect_text(console, "#people-present", "1")
    deadline = time.monotonic() + 10
    while not upgraded and time.monotonic() < deadline:
        first.wait_for_timeout(50)  # lets the page's events reach the handlers
    assert upgraded, "the phone never moved to its WebSocket"
    first.close()  # asleep, or gone: joined, but not here
    expect_text(console, "#people-present", "0")
    assert console.locator("#people-joined").inner_text() == "1"

    doors = console.get_by_label("Stäng dörrarna: inga nya deltagare")
    doors.focus()
    console.keyboard.press("Space")
    expect_text(console, "#doors-message", "Dörrarna är stängda")
    assert doors.is_checked()
    board.locator("#doors-closed").wait_for(state="visible")
    assert "Workshopen tar inte emot fler deltagare" in board.locator("#doors-closed").inner_text()
    assert not board.locator(".qr").is_visible() and not board.locator(".join-code").is_visible()
    expect_text(console, "#log-list", "Dörrarna stängda för nya deltagare")

    newcomer = browser.new_context(**PHONE, locale="sv-SE").new_page()
    newcomer.goto(created["join_url"])
    expect_text(newcomer, "#connection", "tar inte emot fler deltagare")
    newcomer.locator("#doors-closed").wait_for(state="visible")
    assert "Inga nya deltagare" in newcomer.locator("#doors-closed").inner_text()

    console.keyboard.press("Space")  # the focus stayed on the control
    expect_text(console, "#doors-message", "Dörrarna är öppna")
    board.locator(".qr").wait_for(state="visible")
    assert board.locator(".join-code").inner_text() == created["code"]
    assert not board.locator("#doors-closed").is_visible()
    # The newcomer's page asks again by itself (every 30 s) and is let in.
    expect_text(newcomer, "#connection", "Ansluten", timeout=45_000)
    assert not newcomer.locator("#doors-closed").is_visible()
    expect_text(console, "#people-joined", "2")


@pytest.mark.settings(JOIN_BURST_PER_ADDRESS=1, JOIN_RATE_PER_ADDRESS=0.2)
def test_a_phone_turned_away_by_the_guard_on_joins_comes_in_by_itself(
    browser: Any, live: Server
) -> None:
    """A phone beyond the guard's allowance for its address is told why, in its language,
    and tries again by itself a little later (here one new participant per five seconds)."""
    created = requests.post(
        f"{live.url}/api/workshops", timeout=10, json={"title": "Kön", "language": "en"}
    ).json()
    phones = [browser.new_context(**PHONE, locale="en-GB").new_page() for _ in range(2)]
    phones[0].goto(created["join_url"])
    expect_text(phones[0], "#connection", "Connected")
    phones[1].goto(created["join_url"])
    expect_text(phones[1], "#connection", "Very many are joining at once")
    expect_text(phones[1], "#connection", "Connected", timeout=30_000)
