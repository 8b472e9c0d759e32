"""Participant text is always text, in a real browser (issue #8): Debian's Chromium, driven by
Playwright, against a real server. Script-, template- and formula-like texts are typed where
people type them (on the phone, in the console) or seeded; the console, the board, a phone
and a proxy's page go through a vote round and its results. No script the texts carry ever
runs, no dialog opens, the Content-Security-Policy has nothing to refuse, and the texts show
as typed. Screenshots land in test-artifacts/ for review of long and right-to-left text."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_hostile_text import HOSTILE, LONG_WORD, RTL, SCRIPT

from .conftest import PHONE, Server, expect_text, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '"><svg onload=window.__pwned=1>'
FORMULA = '=HYPERLINK("http://evil.example","x")'
# Seeded through the API; the rest are typed on the phone and in the console.
SEEDED = [FORMULA, "+1+1", "-2+3", "@SUM(A1)", LONG_WORD, RTL]
PROPOSED = [SCRIPT, IMG, SVG, "javascript:window.__pwned=1", "{{7*7}}", "${7*7}"]
ADDED = ["<b>bold</b>&amp;", "</para><para>"]
assert sorted(SEEDED + PROPOSED + ADDED) == sorted(HOSTILE)
CATEGORIES = [SCRIPT, IMG, "{{7*7}} ${7*7}", FORMULA, LONG_WORD[:60], RTL]
FIRST_TITLE = f"{SCRIPT} {SVG}"
TITLE = f"{IMG} {{{{7*7}}}} ${{7*7}} {RTL} {LONG_WORD[:80]}"

# Every page records what would show that markup ran: dialogs, errors, refusals by the
# Content-Security-Policy (also as events, which init scripts see before any page script).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
"""


class Watched:
    """A page with everything suspicious it saw."""

    def __init__(self, page: Any, name: str) -> None:
        self.page, self.name = page, name
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        """Nothing the texts carry ran, and nothing was refused."""
        page = self.page
        assert page.evaluate("() => typeof window.__pwned") == "undefined", self.name
        assert page.evaluate("() => window.__csp") == [], self.name
        assert self.dialogs == [], self.name
        assert self.errors == [], self.name
        # <img src=x> as markup would have asked for /x.
        assert not [u for u in self.requests if u.endswith("/x")], self.name
        # The page holds no element the texts could have brought.
        injected = page.evaluate(
            """() => [...document.querySelectorAll("svg[onload], img[onerror], [onclick],"
                + " body script:not([src]):not([type='application/json']), b, i")].length"""
        )
        assert injected == 0, self.name

    def assert_fits(self) -> None:
        """No typed text makes the page wider than the screen or runs out of its box."""
        overflowing = self.page.evaluate(
            """() => {
                const boxes = [...document.querySelectorAll(
                    "h1, .category-name, .factor-item, .result-head, .proxy-banner")]
                  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
                  .map((el) => `${el.className || el.tagName}: ${el.textContent.slice(0, 40)}`);
                const page = document.documentElement.scrollWidth > window.innerWidth;
                return page ? ["the page", ...boxes] : boxes;
            }"""
        )
        assert overflowing == [], self.name

    def shows(self, text: str, within: str = "body") -> None:
        """`text` is on the page as text, visible, in an element of its own."""
        self.page.locator(within).get_by_text(text, exact=True).first.wait_for(state="visible")


def test_hostile_texts_stay_text_in_the_browser(browser: Any, live: Server) -> None:
    created = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": FIRST_TITLE,
            "language": "en",
            "categories": CATEGORIES,
            "factors": [
                {"title": t, "category": CATEGORIES[i % len(CATEGORIES)], "description": SCRIPT}
                for i, t in enumerate(SEEDED)
            ],
        },
    ).json()
    code = created["code"]
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    laptop.add_init_script(WATCH_CSP)
    console = Watched(laptop.new_page(), "console")
    console.page.goto(created["facilitator_url"])
    expect_text(console.page, "#connection", "Connected")
    board = Watched(laptop.new_page(), "board")
    board.page.set_viewport_size({"width": 1920, "height": 1080})
    board.page.goto(created["board_url"])
    expect_text(board.page, ".join-code", code)
    handset = browser.new_context(**PHONE, locale="en-GB")
    handset.add_init_script(WATCH_CSP)
    phone = Watched(handset.new_page(), "phone")
    phone.page.goto(created["join_url"])
    expect_text(phone.page, "#connection", "Connected")
    # Server-rendered, the first title is text in the heading and the tab.
    for page in (console, board, phone):
        page.shows(FIRST_TITLE, "#workshop-title")
        assert page.page.title().startswith(FIRST_TITLE)

    # The phone takes a nickname and proposes factors; the console adds a category, a
    # factor and a proxy, and renames the workshop.
    phone.page.get_by_text("Nickname (optional)").click()
    phone.page.locator("#nickname").fill(IMG)
    phone.page.locator("#nickname-form button").click()
    console.page.get_by_role("button", name="Add factors", exact=True).click()
    for i, title in enumerate(PROPOSED):
        phone.page.get_by_label("Factor", exact=True).fill(title)
        phone.page.get_by_label("Category").select_option(label=CATEGORIES[i % len(CATEGORIES)])
        phone.page.get_by_label("Explanation (optional)").fill(f"{IMG}\n{FORMULA}")
        phone.page.get_by_role("button", name="Propose").click()
        expect_text(phone.page, "#propose-message", "Thank you!")
        phone.page.locator("#my-proposals-list").get_by_text(title, exact=True).wait_for()
        phone.page.locator("#propose-message").evaluate("(el) => { el.textContent = ''; }")
    console.page.locator("#category-name").fill("${7*7} <i>x</i>")
    console.page.locator("#category-form button").click()
    expect_text(console.page, "#category-message", "Saved")
    for title in ADDED:
        console.page.locator("#add-title").fill(title)
        console.page.locator("#add-category").select_option(label="${7*7} <i>x</i>")
        console.page.locator("#add-description").fill(SVG)
        console.page.locator("#add-form button[type=submit]").click()
        console.shows(title, "#factor-admin")
    console.page.locator("#proxy-label").fill(SVG)
    console.page.get_by_role("button", name="Add a proxy").click()
    console.shows(f"Proxy 2 ({SVG})", "#proxy-list")
    console.page.get_by_text("Title and language").click()
    console.page.locator("#settings-title").fill(TITLE)
    console.page.locator("#settings-form button[type=submit]").click()
    expect_text(console.page, "#settings-message", "Saved")
    for page, factors in (
        (console, "#factor-admin"),
        (board, "#board-factors"),
        (phone, "#factor-list"),
    ):
        page.shows(TITLE, "#workshop-title")
        if page is not board:  # the board keeps the title its page was served with
            page.page.wait_for_function("(t) => document.title.startsWith(t)", arg=TITLE)
        for text in SEEDED + PROPOSED + ADDED + CATEGORIES:
            page.shows(text, factors)
    shot(board.page, "hostile-board-factors")
    shot(phone.page, "hostile-phone-factors")
    for page in (console, board, phone):
        page.assert_fits()
    expect_text(console.page, "#factor-admin", f"{IMG}\n{FORMULA}")
    expect_text(console.page, "#factor-admin", f"from participant 1 ({IMG})")

    # A proxy's page, with the label in its banner.
    proxy = Watched(laptop.new_page(), "proxy")
    proxy.page.goto(f"{live.url}/proxy/{code}/2")
    expect_text(proxy.page, "#connection", "Connected")
    expect_text(proxy.page, ".proxy-banner", f"proxy 2 ({SVG})")

    # A round of dots on the script-like factor and the long word; then the results.
    console.page.get_by_role("button", name="Prioritise", exact=True).click()
    console.page.get_by_label("Dots per participant").fill("3")
    console.page.get_by_label("Most dots on one factor").fill("3")
    console.page.get_by_role("button", name="Open dot voting").click()
    for page, dots in ((phone, (SCRIPT, SCRIPT, LONG_WORD)), (proxy, (RTL, IMG, FORMULA))):
        for title in dots:
            page.page.get_by_role("button", name=f"Add a dot to {title}", exact=True).click()
        expect_text(page.page, "#budget", "0 of 3 dots left")
        expect_text(page.page, "#vote-message", "Saved")
    expect_text(board.page, "#participation-text", "2 of 2 have voted")
    console.page.get_by_role("button", name="Close the vote").click()
    console.page.get_by_role("button", name="Show the results to everyone").click()
    for page, results in (
        (board, "#results-body"),
        (phone, "#results-body"),
        (console, "#round-body"),
    ):
        expect_text(page.page, results, f"1. {SCRIPT}")
        for title in (LONG_WORD, RTL, IMG, FORMULA):
            expect_text(page.page, results, f". {title}")

    shot(board.page, "hostile-board")
    shot(phone.page, "hostile-phone")
    shot(console.page, "hostile-console")
    for page in (console, board, phone, proxy):
        page.assert_clean()
        page.assert_fits()
