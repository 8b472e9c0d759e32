"""A whole Swedish workshop as a new facilitator runs it, in Chromium, with a board and three
phones: the start page, a proposal, a keep/remove round during which a duplicate is merged
and the merge undone (the votes coming back), the one-click removal of what the group
voted out, a dot round, the results and the closed workshop. Every state passes axe-core,
and every step's screenshot is saved as docs/screenshots/workshop-NN-<step>.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import PHONE, ROOT, Requests, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCREENSHOTS = ROOT / "docs" / "screenshots"
DUPLICATE = "Turism och besöksnäring"
VOTED_OUT = ("Fjärrarbete", "Åldrande befolkning", "Klimatanpassning")


class Steps:
    """Audits each state and saves its screenshot, numbered in the order they happen."""

    def __init__(self) -> None:
        self.number = 0

    def __call__(self, page: Any, name: str) -> None:
        self.number += 1
        audit(page, f"workshop-{name}")
        path: Path = SCREENSHOTS / f"workshop-{self.number:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)


def _pressed(page: Any, title: str, choice: str) -> bool:
    row = page.locator(".vote-row").filter(has=page.get_by_text(title, exact=True))
    return bool(row.get_by_role("button", name=choice).get_attribute("aria-pressed") == "true")


def test_a_whole_swedish_workshop(browser: Any, live: Server) -> None:
    step = Steps()
    seen = Requests()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv")
    console = seen.watch(laptop.new_page())

    # The facilitator creates the workshop on the start page.
    console.goto(live.url + "/")
    step(console, "start")
    console.get_by_label("Titel", exact=True).fill("Näringslivsstrategi 2030")
    console.get_by_role("radio", name="Svenska").check()
    console.get_by_label("Faktorer att börja med, en per rad (valfritt)").fill(
        "Sociala: Urbanisering\nSociala: Åldrande befolkning\nSociala: Klimatanpassning\n"
        "Ekonomiska: Kompetensförsörjning\nEkonomiska: Fjärrarbete\nEkonomiska: Turism"
    )
    console.get_by_role("button", name="Skapa workshopen").click()
    console.wait_for_url("**/console/*")
    code = console.url.rsplit("/", 1)[1]
    expect_text(console, "#connection", "Ansluten")
    step(console, "console-prepare")

    board = seen.watch(laptop.new_page())
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(f"{live.url}/board/{code}")
    expect_text(board, ".join-code", code)
    phones = []
    for _ in range(3):
        phone = seen.watch(browser.new_context(**PHONE, locale="sv").new_page())
        phone.goto(f"{live.url}/j/{code}")
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)
    expect_text(board, "#presence", "3 deltagare")
    step(board, "board-join")
    step(phones[0], "phone-joined")

    # A phone proposes a factor that duplicates one on the board.
    console.get_by_role("button", name="Lägg till faktorer", exact=True).click()
    phones[0].get_by_label("Faktor", exact=True).fill(DUPLICATE)
    phones[0].get_by_role("button", name="Föreslå").click()
    expect_text(phones[0], "#propose-message", "Tack!")
    expect_text(board, "main", DUPLICATE)
    step(phones[0], "phone-proposal")
    step(board, "board-proposal")

    # Keep or remove: everyone votes three factors out; two phones answer on the duplicate.
    console.get_by_role("button", name="Behåll eller ta bort", exact=True).click()
    console.get_by_role("button", name="Öppna omröstningen behåll eller ta bort").click()
    for phone in phones:
        for title in VOTED_OUT:
            phone.locator(".vote-row", has_text=title).get_by_role("button", name="Ta bort").click()
    phones[0].locator(".vote-row", has_text=DUPLICATE).get_by_role("button", name="Ta bort").click()
    phones[1].locator(".vote-row", has_text=DUPLICATE).get_by_role("button", name="Behåll").click()
    for phone in phones:
        expect_text(phone, "#vote-message", "Sparat")
    expect_text(board, "#participation-text", "3 av 3 har röstat")
    step(phones[0], "phone-keep-remove")

    # The console has seen the likely duplicate; the facilitator merges it into "Turism"
    # through the dialog, while the round is open ...
    row = console.locator(".admin-row", has_text=DUPLICATE)
    suggested = f"Slå ihop ”{DUPLICATE}” med ”Turism”"
    console.get_by_role("button", name=suggested).wait_for(state="visible")
    row.get_by_role("button", name="Slå ihop", exact=True).click()
    console.locator("#merge-target").select_option(label="Turism")
    step(console, "merge-dialog")
    console.locator("#merge-dialog button[value=confirm]").click()
    expect_text(console, "#factor-admin", "Sammanslagna med den här faktorn")
    merged = console.locator(".admin-row", has_text="Sammanslagna med den här faktorn")
    assert merged.locator(".factor-title").first.inner_text() == "Turism"
    phones[0].wait_for_function(
        "(t) => !document.querySelector('#vote-list').textContent.includes(t)", arg=DUPLICATE
    )
    # ... the vote to remove the duplicate moved to "Turism" ...
    assert _pressed(phones[0], "Turism", "Ta bort")
    step(console, "merged")
    step(phones[0], "phone-merged")

    # ... and undoes it: the factor and the votes come back as they were.
    console.get_by_role("button", name=f"Ångra sammanslagningen av {DUPLICATE}").click()
    expect_text(phones[0], "#vote-list", DUPLICATE)
    phones[0].wait_for_function(
        "(t) => [...document.querySelectorAll('.vote-row')].some((r) => r.textContent"
        ".includes(t) && r.querySelector('[aria-pressed=true]'))",
        arg=DUPLICATE,
    )
    assert _pressed(phones[0], DUPLICATE, "Ta bort")
    assert not _pressed(phones[0], "Turism", "Ta bort")
    phones[1].wait_for_function(
        "(t) => [...document.querySelectorAll('.vote-row')].some((r) => r.textContent"
        ".includes(t) && r.querySelector('[aria-pressed=true]'))",
        arg=DUPLICATE,
    )
    assert _pressed(phones[1], DUPLICATE, "Behåll")
    expect_text(console, "#log-list", "Sammanslagning ångrad")
    assert console.locator("#factor-admin .merged-into").count() == 0
    step(console, "unmerged")

    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "Flest vill ta bort")
    step(board, "board-keep-remove-results")
    step(phones[1], "phone-keep-remove-results")

    # What the group voted out, one click each or all at once, with a reason to edit.
    expect_text(console, "#voted-out", "Bortröstade i omgång 1")
    reason = "Bortröstad i omgång 1: 100\u00a0% röstade för att ta bort (regeln kräver 75\u00a0%)."
    for title in VOTED_OUT:
        field = console.get_by_label(f"Skäl att ta bort {title}")
        assert field.input_value() == reason
    step(console, "voted-out")
    # A reason left empty: the server refuses, says so, and removes nothing.
    field = console.get_by_label("Skäl att ta bort Åldrande befolkning")
    field.fill("")
    console.get_by_role("button", name="Ta bort alla 3 bortröstade faktorer").click()
    expect_text(console, "#voted-out-message", "Något gick fel")
    assert console.locator("#voted-out li").count() == 3
    field.fill(reason)
    console.get_by_role("button", name="Ta bort Fjärrarbete").click()
    console.wait_for_function(
        "() => !document.querySelector('#voted-out').textContent.includes('Fjärrarbete')"
    )
    console.get_by_label("Skäl att ta bort Klimatanpassning").fill(
        "Hör till kommunens klimatplan, inte till näringslivsstrategin."
    )
    console.get_by_role("button", name="Ta bort alla 2 bortröstade faktorer").click()
    expect_text(console, "#factor-admin", "Skäl: Hör till kommunens klimatplan")
    # The server keeps the reason with plain spaces, as it keeps every text.
    kept = reason.replace("\u00a0", " ")
    expect_text(console, "#factor-admin", f"Skäl: {kept}")
    assert console.locator("#voted-out").is_hidden()
    step(console, "voted-out-removed")

    # A prioritisation: three dots each, at most two on one factor.
    console.get_by_role("button", name="Prioritera", exact=True).click()
    console.get_by_label("Prickar per deltagare").fill("3")
    console.get_by_label("Flest prickar på en faktor").fill("2")
    console.get_by_role("button", name="Öppna prickröstning").click()
    for phone in phones:
        add = phone.get_by_role("button", name="Lägg en prick på Urbanisering")
        add.click()
        add.click()
        phone.get_by_role("button", name=f"Lägg en prick på {DUPLICATE}").click()
        expect_text(phone, "#budget", "0 av 3 prickar kvar")
        expect_text(phone, "#vote-message", "Sparat")
    step(phones[2], "phone-dots")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "1. Urbanisering")
    step(board, "board-dots-results")

    # The results, then the workshop closes.
    console.get_by_role("button", name="Resultat", exact=True).click()
    step(console, "console-results")
    step(board, "board-results")
    console.get_by_role("button", name="Avslutad", exact=True).click()
    console.locator("#confirm-dialog button[value=confirm]").click()
    expect_text(board, "#step-name", "Avslutad")
    expect_text(phones[0], "#step-name", "Avslutad")
    step(board, "board-closed")
    step(phones[0], "phone-closed")
    step(console, "console-closed")

    # The record keeps the undo and each removal's own reason.
    record = console.request.get(f"{live.url}/api/workshops/{code}/export.json").json()
    actions = [e["action"] for e in record["log"]]
    assert actions.count("factor.merged") == 1 and actions.count("factor.unmerged") == 1
    reasons = sorted(
        e["details"]["reason"] for e in record["log"] if e["action"] == "factor.removed"
    )
    assert reasons == sorted(
        [kept, kept, "Hör till kommunens klimatplan, inte till näringslivsstrategin."]
    )
    assert not seen.foreign(live.url)
