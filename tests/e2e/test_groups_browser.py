"""Stakeholder groups in a real browser, in Swedish: the facilitator lists two groups and
asks for consensus in every group, six phones each pick theirs, and three rating rounds go
from too few answers, through two groups that disagree (divided), to consensus in every
group. Every screen is checked with axe-core; the screenshots land in test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

COMPANIES, MUNICIPALITY = "Företag", "Kommunen"


def rate(phone: Any, title: str, value: int) -> None:
    phone.get_by_role("button", name=f"{title}: {value} av 5").click()


def test_three_rounds_to_consensus_in_every_group(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Näringslivsstrategi 2030",
            "language": "sv",
            "factors": [
                {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
                {"title": "Elektrifiering", "category": "Teknologiska"},
            ],
        },
    ).json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    for name in (COMPANIES, MUNICIPALITY):
        console.get_by_label("Lägg till en grupp").fill(name)
        console.get_by_role("button", name="Spara grupperna").click()
        expect_text(console, "#groups-message", "Sparat")
    console.get_by_label("Varje telefon måste välja en grupp innan den röstar").check()
    console.get_by_role("button", name="Spara grupperna").click()
    console.get_by_label("Konsensus måste gälla i varje intressentgrupp också").check()
    console.get_by_role("button", name="Spara regeln").click()
    expect_text(console, "#rule-message", "Sparat")
    audit(console, "sv-groups-console")
    board = laptop.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(created["board_url"])

    phones = []
    for group in [COMPANIES] * 3 + [MUNICIPALITY] * 3:
        phone = browser.new_context(**PHONE, locale="sv-SE").new_page()
        phone.goto(created["join_url"])
        expect_text(phone, "#group", "Vilken grupp tillhör du?")
        if not phones:
            audit(phone, "sv-groups-phone-choose")
        phone.get_by_label(group, exact=True).check()
        phone.locator("#group").get_by_role("button", name="Spara").click()
        expect_text(phone, "#group", f"Du är med i gruppen {group}.")
        phones.append(phone)

    console.get_by_role("button", name="Prioritera").click()
    console.get_by_label("Hur gruppen prioriterar").select_option("rating")
    console.get_by_role("button", name="Öppna graderingen").click()

    # Round 1: everyone rates skills high; only three rate electrification: too few answers.
    for i, phone in enumerate(phones):
        rate(phone, "Kompetensförsörjning", 4 + i % 2)
        if i % 2:
            rate(phone, "Elektrifiering", 4)
        expect_text(phone, "#budget", f"Du har röstat om {1 + i % 2} av 2 faktorer")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "För få svar: Elektrifiering")
    expect_text(board, "#results-body", "6 anslutna · 6 svarade · 0 hoppade över")
    expect_text(phones[0], "#results-body", "Företag: enighet: med")

    # Round 2: companies rate electrification high, the municipality low: each group agrees,
    # the room as a whole holds two camps.
    console.get_by_role("button", name="Öppna en ny omgång").click()
    for phone, value in zip(phones, (5, 5, 4, 1, 2, 1), strict=True):
        expect_text(phone, "#vote-list", "Gruppen förra gången")  # the new round is drawn
        rate(phone, "Kompetensförsörjning", 4)
        rate(phone, "Elektrifiering", value)
        expect_text(phone, "#budget", "Du har röstat om 2 av 2 faktorer")
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "Splittrat: Elektrifiering")
    expect_text(board, "#results-body", "Kommunen: enighet: ej med")
    audit(board, "sv-groups-divided-board")

    # Round 3: having heard each other, both groups rate it high: consensus in every group.
    # (Each presses another answer than before: pressing the same one takes it back.)
    console.get_by_role("button", name="Öppna en ny omgång").click()
    for phone, value in zip(phones, (4, 4, 5, 4, 5, 4), strict=True):
        phone.get_by_role("button", name="Utgå från mina tidigare svar").click()
        rate(phone, "Elektrifiering", value)
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    expect_text(board, "#results-body", "Konsensus nådd")
    expect_text(board, "#results-body", "i varje grupp")
    audit(board, "sv-groups-consensus-board")
    audit(phones[3], "sv-groups-consensus-phone")
