"""Against anchoring, in a real browser: two phones list a round's categories and factors in
orders of their own, the same after a reload and in the next round (the ranking's pool
too), while the board and a proxy's page keep the workshop's order; in a round where nobody
votes on their own proposal, the proposer's phone shows it without anything to press. The
order's pure function (static/js/order.js) is checked on its own as well."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .conftest import PHONE, Server, audit, expect_text

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Five factors in each of three categories: two phones listing them alike by chance is a
# chance of one in 6 × 120³ (about 10⁻⁷).
CATEGORIES = ("Sociala", "Ekonomiska", "Teknologiska")
FACTORS = [
    {"title": f"{category[:3]} {n}", "category": category}
    for category in CATEGORIES
    for n in range(1, 6)
]
PROPOSAL = "Annas egen idé"
OWN = "Ditt förslag: de andra bestämmer om det"

# What a page lists, top to bottom: the category headings and the factor titles.
LISTED = """(selector) => [...document.querySelectorAll(selector)].map((el) => el.textContent)"""

# The phone's factors as order.js orders them for this workshop's code and this number
# (factorHead gives each title the id "f-<factor id>").
ORDERED = """async ([code, number]) => {
    const { orderSeed, shuffled } = await import("/static/js/order.js");
    const titles = [...document.querySelectorAll("#vote-list .factor-title")];
    const factors = titles.map((el) => ({ id: Number(el.id.slice(2)), title: el.textContent }));
    return shuffled(factors, orderSeed(code, number)).map((f) => f.title);
}"""


def category_of(title: str) -> str:
    return "Sociala" if title == PROPOSAL else next(c for c in CATEGORIES if title[:3] == c[:3])


def vote_list(phone: Any) -> tuple[list[str], list[str]]:
    """The categories and factors in the phone's vote list, in the order shown."""
    categories = phone.evaluate(LISTED, "#vote-list .category-name")
    factors = phone.evaluate(LISTED, "#vote-list .factor-title")
    return categories, factors


def test_each_phone_has_its_own_order_and_the_board_keeps_the_workshops(
    browser: Any, live: Server
) -> None:
    response = requests.post(
        f"{live.url}/api/workshops",
        timeout=10,
        json={"title": "Mot ankring", "language": "sv", "factors": FACTORS},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv")
    console = laptop.new_page()
    console.goto(created["facilitator_url"])
    expect_text(console, "#connection", "Ansluten")
    board = laptop.new_page()
    board.set_viewport_size({"width": 1920, "height": 1080})
    board.goto(f"{live.url}/board/{created['code']}")
    phones = []
    for _ in range(2):
        phone = browser.new_context(**PHONE, locale="sv").new_page()
        phone.goto(created["join_url"])
        expect_text(phone, "#connection", "Ansluten")
        phones.append(phone)
    anna, bertil = phones

    # Anna proposes a factor of her own.
    console.get_by_role("button", name="Lägg till faktorer", exact=True).click()
    anna.get_by_label("Faktor", exact=True).fill(PROPOSAL)
    anna.get_by_label("Kategori").select_option(label="Sociala")
    anna.get_by_role("button", name="Föreslå").click()
    expect_text(anna, "#propose-message", "Tack!")
    expect_text(board, "#board-factors", PROPOSAL)

    # Dot voting, each phone in its own order (ticked already), nobody on their own.
    console.get_by_role("button", name="Prioritera", exact=True).click()
    console.get_by_label("Hur gruppen prioriterar").select_option("dots")
    shuffle = console.get_by_label("Varje telefon visar faktorerna i sin egen ordning")
    assert shuffle.is_checked()
    console.get_by_label("Ingen röstar på en faktor som hen själv har föreslagit").check()
    console.get_by_role("button", name="Öppna prickröstning").click()
    expect_text(console, "#round-body", "varje telefon i egen ordning")
    expect_text(console, "#round-body", "ingen röstar på sina egna förslag")

    for phone in phones:
        expect_text(phone, "#vote-list", PROPOSAL)
    orders = [vote_list(phone) for phone in phones]
    titles = [f["title"] for f in FACTORS]
    everything = sorted([*titles, PROPOSAL])
    for categories, factors in orders:
        assert sorted(categories) == sorted(CATEGORIES) and sorted(factors) == everything
    assert orders[0] != orders[1]
    # The order is the phone's: computed from the workshop's code and its number (Anna
    # joined first).
    for number, (phone, (_, factors)) in enumerate(zip(phones, orders, strict=True), start=1):
        expected = phone.evaluate(ORDERED, [created["code"], number])
        ranks = {title: i for i, title in enumerate(expected)}
        for category in CATEGORIES:
            within = [f for f in factors if category_of(f) == category]
            assert within == sorted(within, key=ranks.__getitem__), category
    # The board keeps the workshop's order: its categories in order, factors as added.
    cookies = {c["name"]: c["value"] for c in laptop.cookies()}
    record = requests.get(
        f"{live.url}/api/workshops/{created['code']}/export.json", cookies=cookies, timeout=10
    ).json()
    workshop_order = [c for c in record["categories"] if c in CATEGORIES]
    canonical = [
        title
        for category in workshop_order
        for title in [*titles, PROPOSAL]
        if category_of(title) == category
    ]
    assert board.evaluate(LISTED, "#board-factors .category-name") == workshop_order
    assert board.evaluate(LISTED, "#board-factors .factor-item") == canonical
    # So does a proxy's page: the facilitator enters answers given on paper or aloud.
    console.get_by_role("button", name="Lägg till ett ombud").click()
    console.locator("#proxy-list a").first.wait_for()
    proxy = laptop.new_page()
    proxy.goto(f"{live.url}/proxy/{created['code']}/3")
    expect_text(proxy, "#vote-list", PROPOSAL)
    assert vote_list(proxy) == (workshop_order, canonical)

    # Anna's own proposal: said, with nothing to press; the others' take her dots.
    own = anna.locator(".vote-row", has_text=PROPOSAL)
    expect_text(anna, "#vote-list", OWN)
    assert own.get_by_role("button").count() == 0
    assert anna.get_by_role("button", name=f"Lägg en prick på {PROPOSAL}").count() == 0
    anna.get_by_role("button", name=f"Lägg en prick på {titles[0]}").click()
    expect_text(anna, "#vote-message", "Sparat")
    audit(anna, "sv-anchoring-own-proposal")
    # Bertil may vote on it.
    assert OWN not in (bertil.text_content("#vote-list") or "")
    bertil.get_by_role("button", name=f"Lägg en prick på {PROPOSAL}").click()
    expect_text(bertil, "#vote-message", "Sparat")

    # The same order after a reload.
    anna.reload()
    expect_text(anna, "#vote-list", PROPOSAL)
    assert vote_list(anna) == orders[0]

    # The next round, a ranking: the pool of unranked factors follows the phone's order.
    console.get_by_role("button", name="Stäng omröstningen").click()
    console.get_by_role("button", name="Visa resultatet för alla").click()
    console.get_by_label("Hur gruppen prioriterar").select_option("ranking")
    console.get_by_role("button", name="Öppna rangordningen").click()
    pools = []
    for phone, (_, factors) in zip(phones, orders, strict=True):
        expect_text(phone, "#vote-list", "Inte rangordnade")
        pool = phone.evaluate(LISTED, "#vote-list .factor-title")
        assert sorted(pool) == everything
        for category in CATEGORIES:
            assert [f for f in pool if category_of(f) == category] == [
                f for f in factors if category_of(f) == category
            ], category
        pools.append(pool)
    assert pools[0] != pools[1]
    # No setting against one's own proposals this time: Anna may rank hers.
    assert OWN not in (anna.text_content("#vote-list") or "")
    assert anna.get_by_role("button", name=f"Lägg till {PROPOSAL} i din rangordning").count() == 1


# order.js on its own: what it gives for a range of seeds, items and additions.
PURE = """async () => {
    const { orderSeed, shuffled, ownOrder } = await import("/static/js/order.js");
    const items = Array.from({ length: 30 }, (_, i) => ({ id: i + 1 }));
    const ids = (list) => list.map((item) => item.id).join(",");
    const seeds = Array.from({ length: 20 }, (_, n) => orderSeed("ABC123", n + 1));
    const categories = [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }, { id: 6 }];
    const own = ownOrder(seeds[0], categories, items);
    return {
        again: seeds.every((seed) => ids(shuffled(items, seed)) === ids(shuffled(items, seed))),
        sameSeed: orderSeed("ABC123", 7) === orderSeed("ABC123", 7),
        orders: seeds.map((seed) => ids(shuffled(items, seed))),
        otherWorkshop: ids(shuffled(items, orderSeed("XYZ789", 1))),
        // A factor added later leaves the others as they were; so does one taken away.
        added: ids(shuffled([...items, { id: 31 }], seeds[0]).filter((item) => item.id !== 31)),
        removed: ids(shuffled(items.slice(1), seeds[0])),
        withoutFirst: ids(shuffled(items, seeds[0]).filter((item) => item.id !== 1)),
        input: ids(items),
        ownFactors: ids(own.factors),
        ownCategories: ids(own.categories),
        categoriesAgain: ids(ownOrder(seeds[0], categories, items).categories),
        categoriesElsewhere: seeds.map((seed) => ids(ownOrder(seed, categories, []).categories)),
    };
}"""


def test_the_order_is_a_pure_function_of_the_workshop_and_the_participant(
    browser: Any, live: Server
) -> None:
    page = browser.new_context(**PHONE).new_page()
    page.goto(live.url)
    got = page.evaluate(PURE)
    assert got["again"] and got["sameSeed"]
    orders = got["orders"]
    assert len(set(orders)) == len(orders)  # twenty participants, twenty orders of 30
    assert got["input"] not in orders and got["otherWorkshop"] not in orders
    assert got["added"] == orders[0]
    assert got["removed"] == got["withoutFirst"]
    assert got["ownFactors"] == orders[0]
    assert got["ownCategories"] == got["categoriesAgain"]
    assert len(set(got["categoriesElsewhere"])) > 5  # the categories are shuffled too
