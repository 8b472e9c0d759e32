"""Moderation in the open, in a real browser (issue #18, item 18): the facilitator writes a
moderation policy on the console, an open phone shows it at once in a fold-out, as written
and with its line breaks, and the console downloads the moderation log; both pages pass
axe-core with the policy open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import PHONE, ROOT, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

POLICY = "Vi döljer reklam och personangrepp.\nDubbletter slås ihop, och vi säger varför."
SCREENSHOTS = ROOT / "docs" / "screenshots"


def test_the_facilitators_policy_reaches_the_phones_and_the_log_downloads(
    browser: Any, live: Server
) -> None:
    response = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Öppen moderering",
            "language": "sv",
            "factors": [{"title": "Urbanisering", "category": "Sociala"}],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    laptop = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="sv", accept_downloads=True
    )
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    phone = browser.new_context(**PHONE, locale="sv").new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", "Ansluten")
    assert phone.locator("#moderation-policy").is_hidden()

    console.get_by_text("Modereringspolicy (valfri)").click()
    field = console.get_by_label(
        "Vad du döljer, slår ihop, redigerar eller tar bort, och varför, med egna ord"
    )
    field.fill(POLICY)
    console.get_by_role("button", name="Spara policyn").click()
    expect_text(console, "#policy-message", "Sparat")
    audit(console, "sv-moderation-policy-console")
    console.locator("#policy-form").screenshot(
        path=str(SCREENSHOTS / "moderation-policy-console.png")
    )

    # The open phone hears of it without a reload, and shows it as written.
    phone.get_by_text("Så modereras bidragen").click()
    expect_text(phone, "#moderation-policy-text", "Dubbletter slås ihop")
    assert phone.locator("#moderation-policy-text").inner_text() == POLICY
    audit(phone, "sv-moderation-policy-phone")
    phone.screenshot(path=str(SCREENSHOTS / "moderation-policy-phone.png"), full_page=True)

    with console.expect_download() as download:
        console.get_by_role("link", name="modereringslogg (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Modereringspolicyn ändrad" in text and "Dubbletter slås ihop" in text
