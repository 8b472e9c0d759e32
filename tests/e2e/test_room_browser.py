"""The room's screens in Debian's Chromium (issue #18): the board's and the phone's connection
states pass axe-core with the transport cut; the board breaks factor titles between words;
a screen reader hears a round open, close and be revealed once each, in both languages; and a
closed workshop's board shows the agreed picture and the word closed, with no QR code and no
join code."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Server, audit, expect_text, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WORDS = {
    "sv": {
        "connected": "Ansluten",
        "offline": "Ingen anslutning",
        "prune": "Behåll eller ta bort",
        "open_prune": "Öppna omröstningen behåll eller ta bort",
        "close": "Stäng omröstningen",
        "reveal": "Visa resultatet för alla",
        "keep": "Behåll",
        "opened": "Omgång 1 är öppen: Behåll eller ta bort.",
        "closed": "Omgång 1 är stängd.",
        "revealed": "Resultatet av omgång 1 visas.",
        "closed_step": "Avslutad",
    },
    "en": {
        "connected": "Connected",
        "offline": "Offline",
        "prune": "Keep or remove",
        "open_prune": "Open the keep-or-remove vote",
        "close": "Close the vote",
        "reveal": "Show the results to everyone",
        "keep": "Keep",
        "opened": "Round 1 is open: Keep or remove.",
        "closed": "Round 1 is closed.",
        "revealed": "The results of round 1 are shown.",
        "closed_step": "Closed",
    },
}

# Long Swedish compounds, as municipal factor lists have them.
TITLES = [
    "Hållbarhetsrapportering enligt EU:s nya direktiv",
    "Kompetensförsörjningsutmaningar i offentlig sektor",
    "Urbanisering",
    "Klimatanpassningsåtgärder och samhällsplanering",
]

CATEGORIES = ["Sociala", "Ekonomiska", "Teknologiska", "Miljömässiga"]

# Every change to the element's text, recorded from the moment it is installed.
RECORD_ANNOUNCEMENTS = """(selector) => {
    window.announced = [];
    const el = document.querySelector(selector);
    new MutationObserver(() => window.announced.push(el.textContent))
        .observe(el, { childList: true, characterData: true, subtree: true });
}"""


def create(live: Server, language: str) -> dict[str, Any]:
    response = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={
            "title": "Omvärldsanalys" if language == "sv" else "Outlook",
            "language": language,
            # A category each: the board's columns are then at their narrowest.
            "factors": [
                {"title": t, "category": c} for t, c in zip(TITLES, CATEGORIES, strict=True)
            ],
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def laptop(browser: Any, created: dict[str, Any], language: str) -> Any:
    """A browser context holding the facilitator's cookie."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale=language)
    context.new_page().goto(created["facilitator_url"])
    return context


def contrast(page: Any, selector: str) -> float:
    """The contrast ratio of the element's text on its own (opaque) background."""
    ratio: float = page.evaluate(
        """(selector) => {
            const style = getComputedStyle(document.querySelector(selector));
            const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
            const [r, g, b, a] = rgb(style.backgroundColor);
            if (a === 0) return 0;  // transparent: no background of its own
            const lum = ([r, g, b]) => {
                const f = (v) => {
                    v /= 255;
                    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const [l1, l2] = [lum(rgb(style.color)), lum([r, g, b])].sort((x, y) => y - x);
            return (l1 + 0.05) / (l2 + 0.05);
        }""",
        selector,
    )
    return ratio


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_connection_states_pass_axe_with_the_transport_cut(
    browser: Any, live: Server, language: str
) -> None:
    """Connecting (the transport hangs) and offline (the transport refused): the board's
    indicator is large, solid, AA or better, with a shape beside its words; board and phone
    pass axe-core in every state."""
    w = WORDS[language]
    created = create(live, language)
    context = laptop(browser, created, language)
    phone_context = browser.new_context(**PHONE, locale=language)
    for name, page in (("board", context.new_page()), ("phone", phone_context.new_page())):
        url = created["board_url"] if name == "board" else created["join_url"]
        if name == "board":
            page.set_viewport_size({"width": 1920, "height": 1080})
        # Connecting: Socket.IO's requests are held, never answered.
        page.route("**/socket.io/**", lambda route: None)
        page.goto(url)
        assert page.locator("#connection").get_attribute("data-state") == "connecting"
        audit(page, f"{language}-{name}-connecting")
        if name == "board":
            assert contrast(page, "#connection") >= 4.5
            size = page.evaluate("parseFloat(getComputedStyle(connection).fontSize)")
            assert size >= 24, f"the connecting state is set in {size} px"
        # Offline: the transport is refused outright.
        page.unroute("**/socket.io/**")
        page.route("**/socket.io/**", lambda route: route.abort())
        page.reload()
        expect_text(page, "#connection", w["offline"])
        assert page.locator("#connection").get_attribute("data-state") == "offline"
        audit(page, f"{language}-{name}-offline")
        shape = page.evaluate("getComputedStyle(connection, '::before').content")
        assert "✕" in shape, shape  # a shape, not colour alone
        if name == "board":
            assert contrast(page, "#connection") >= 4.5
            size = page.evaluate("parseFloat(getComputedStyle(connection).fontSize)")
            assert size >= 24, f"the offline state is set in {size} px"
        # Back online: the page connects and passes again.
        page.unroute("**/socket.io/**")
        page.reload()
        expect_text(page, "#connection", w["connected"])
        audit(page, f"{language}-{name}-online")


def test_a_board_and_a_phone_cut_off_mid_vote_pass_axe(browser: Any, live: Server) -> None:
    """The network goes mid-vote: the board keeps its factors and says it is offline, large;
    the phone keeps the vote it makes meanwhile; both pass axe-core; both come back."""
    w = WORDS["sv"]
    created = create(live, "sv")
    context = laptop(browser, created, "sv")
    console = context.new_page()
    console.goto(f"{live.url}/console/{created['code']}")
    expect_text(console, "#connection", w["connected"])
    board_context = laptop(browser, created, "sv")
    board = board_context.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(created["board_url"])
    phone_context = browser.new_context(**PHONE, locale="sv")
    phone = phone_context.new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", w["connected"])
    console.get_by_role("button", name=w["prune"], exact=True).click()
    console.get_by_role("button", name=w["open_prune"]).click()
    phone.locator(".vote-row").first.wait_for()
    expect_text(board, "#participation-text", "0 av 1")

    board_context.set_offline(True)
    phone_context.set_offline(True)
    expect_text(board, "#connection", w["offline"])
    expect_text(phone, "#connection", w["offline"])
    phone.locator(".vote-row").first.get_by_role("button", name=w["keep"]).click()
    expect_text(phone, "#connection", "väntar")
    assert board.locator(".category-block").count() == len(TITLES)
    audit(board, "sv-board-offline-mid-vote")
    audit(phone, "sv-phone-offline-mid-vote")
    shot(board, "board-offline")  # for docs/screenshots
    shot(phone, "phone-offline")

    board_context.set_offline(False)
    phone_context.set_offline(False)
    expect_text(phone, "#vote-message", "Sparat", timeout=30_000)
    expect_text(board, "#participation-text", "1 av 1", timeout=30_000)
    expect_text(board, "#connection", w["connected"])


def test_the_board_breaks_factor_titles_between_words(browser: Any, live: Server) -> None:
    """No rendered line of a factor title ends inside a word: every word of every title lies
    on one line (this Chromium has no Swedish hyphenation dictionary, so a title whose word
    does not fit is set smaller). The titles are marked in the workshop's language, with
    hyphenation on for browsers that can hyphenate it."""
    created = create(live, "sv")
    board = laptop(browser, created, "sv").new_page()
    # Narrow enough that "Kompetensförsörjningsutmaningar" does not fit at the board's size.
    board.set_viewport_size({"width": 1100, "height": 800})
    board.goto(created["board_url"])
    board.locator(".factor-item").nth(len(TITLES) - 1).wait_for()
    split = board.evaluate(
        """() => {
            const split = [];
            for (const item of document.querySelectorAll(".factor-item")) {
                const text = item.firstChild;
                for (const match of text.data.matchAll(/\\S+/g)) {
                    const range = document.createRange();
                    range.setStart(text, match.index);
                    range.setEnd(text, match.index + match[0].length);
                    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                    if (tops.size > 1) split.push(match[0]);
                }
            }
            return split;
        }"""
    )
    shot(board, "board-long-words")
    assert split == [], f"words broken across lines: {split}"
    item = board.locator(".factor-item").first
    assert item.get_attribute("lang") == "sv"
    assert item.evaluate("e => getComputedStyle(e).hyphens") == "auto"
    # Nothing sticks out of its box either.
    assert board.evaluate(
        "[...document.querySelectorAll('.factor-item')]"
        ".every(e => e.scrollWidth <= e.clientWidth + 1)"
    )


@pytest.mark.parametrize("language", ["sv", "en"])
def test_rounds_are_announced_once_on_phones_and_the_board(
    browser: Any, live: Server, language: str
) -> None:
    """A round opening, closing and being revealed is said once each in the live region of
    the phone and of the board, not again when a vote redraws the screen."""
    w = WORDS[language]
    created = create(live, language)
    context = laptop(browser, created, language)
    console = context.new_page()
    console.goto(f"{live.url}/console/{created['code']}")
    expect_text(console, "#connection", w["connected"])
    board = context.new_page()
    board.goto(created["board_url"])
    phone = browser.new_context(**PHONE, locale=language).new_page()
    phone.goto(created["join_url"])
    for page in (board, phone):
        expect_text(page, "#connection", w["connected"])
        region = page.locator("#round-announcement")
        assert region.get_attribute("aria-live") == "polite"
        assert region.get_attribute("role") == "status"
        page.evaluate(RECORD_ANNOUNCEMENTS, "#round-announcement")

    console.get_by_role("button", name=w["prune"], exact=True).click()
    console.get_by_role("button", name=w["open_prune"]).click()
    for page in (board, phone):
        expect_text(page, "#round-announcement", w["opened"])
    # A vote redraws the phone and the board (participation); nothing new is announced.
    phone.locator(".vote-row").first.get_by_role("button", name=w["keep"]).click()
    expect_text(board, "#participation-text", "1")
    console.get_by_role("button", name=w["close"]).click()
    for page in (board, phone):
        expect_text(page, "#round-announcement", w["closed"])
    console.get_by_role("button", name=w["reveal"]).click()
    for page in (board, phone):
        expect_text(page, "#round-announcement", w["revealed"])
        audit(page, f"{language}-{'board' if page is board else 'phone'}-announced")
    for page in (board, phone):
        heard = page.evaluate("window.announced")
        assert heard == [w["opened"], w["closed"], w["revealed"]], heard


def test_a_closed_workshops_board_invites_nobody(browser: Any, live: Server) -> None:
    """Closed: the board keeps the agreed picture and its verdicts, says "Avslutad", and shows
    no QR code and no join code, live and after a reload; stepping back brings them back."""
    w = WORDS["sv"]
    created = create(live, "sv")
    context = laptop(browser, created, "sv")
    console = context.new_page()
    console.goto(f"{live.url}/console/{created['code']}")
    expect_text(console, "#connection", w["connected"])
    board = context.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(created["board_url"])
    board.locator(".qr").wait_for(state="visible")
    phone = browser.new_context(**PHONE, locale="sv").new_page()
    phone.goto(created["join_url"])
    expect_text(phone, "#connection", w["connected"])

    console.get_by_role("button", name=w["prune"], exact=True).click()
    console.get_by_role("button", name=w["open_prune"]).click()
    phone.locator(".vote-row").first.wait_for()
    for row in phone.locator(".vote-row").all():
        row.get_by_role("button", name=w["keep"]).click()
    expect_text(phone, "#vote-message", "Sparat")
    console.get_by_role("button", name=w["close"]).click()
    console.get_by_role("button", name=w["reveal"]).click()
    board.locator("#results-body li").first.wait_for()
    verdicts = board.locator("#results-body").inner_text()

    console.get_by_role("button", name=w["closed_step"], exact=True).click()
    console.locator("#confirm-dialog button[value=confirm]").click()
    expect_text(board, "#step-name", w["closed_step"])

    def closed_board(name: str) -> None:
        board.locator("#workshop-closed").wait_for(state="visible")
        assert "Avslutad" in board.locator("#workshop-closed").inner_text()
        assert not board.locator(".qr").is_visible()
        assert not board.locator(".join-code").is_visible()
        assert not board.locator(".join-url").is_visible()
        assert not board.locator("#doors-closed").is_visible()
        # The agreed picture and its verdicts stay.
        board.locator("#results-body li").first.wait_for(state="visible")
        assert board.locator("#results-body").inner_text() == verdicts
        audit(board, name)

    closed_board("sv-board-closed")
    shot(board, "board-closed")
    board.reload()
    closed_board("sv-board-closed-reloaded")

    # Stepping back reopens the workshop: the board invites people in again.
    console.get_by_role("button", name="Resultat", exact=True).click()
    board.locator(".qr").wait_for(state="visible")
    assert board.locator(".join-code").is_visible()
    assert not board.locator("#workshop-closed").is_visible()
