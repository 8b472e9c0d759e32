"""The workshop's time zone in the console, in Debian's Chromium: an unknown name is refused
with a message the facilitator can act on, a known one is saved and reaches the report; the
open settings pass axe-core."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from .conftest import Server, audit, expect_text
from .test_accessibility import facilitator, workshop

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_the_facilitator_sets_the_time_zone(browser: Any, live: Server) -> None:
    created = workshop(live, "sv")
    context, console = facilitator(browser, created, "sv")
    console.get_by_text("Titel och språk").click()
    field = console.locator("#settings-time-zone")
    assert field.input_value() == "Europe/Stockholm"
    audit(console, "sv-console-time-zone")
    field.fill("Europe/Gotham")
    console.locator("#settings-form button[type=submit]").click()
    expect_text(console, "#settings-message", "Europe/Stockholm eller UTC")
    field.fill("America/New_York")
    console.locator("#settings-form button[type=submit]").click()
    expect_text(console, "#settings-message", "Sparat")
    # The report names the zone its times are in.
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    response = requests.get(
        f"{live.url}/api/workshops/{created['code']}/export.json", cookies=cookies, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["workshop"]["time_zone"] == "America/New_York"
    pdf = requests.get(
        f"{live.url}/api/workshops/{created['code']}/export.pdf", cookies=cookies, timeout=30
    )
    if pdf.status_code == 200 and pdf.content.startswith(b"%PDF"):
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "America/New_York" in " ".join(text.split())
    context.close()
