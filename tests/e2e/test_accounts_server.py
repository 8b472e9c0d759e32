"""Organizer accounts against a real server (issue #15): what may happen only once happens
once however many requests race for it, on SQLite and on PostgreSQL; and every secret a
person chose can be tried only a few times, however many tries arrive at once, without a
stranger ever locking the organizer out of their own browser.

Requests race through a barrier, each from a browser (cookie jar) of its own, and where
the race is about taking something once, each from an address of its own (a link used up
counts against the address, as a wrong code does). Addresses are told apart by
X-Forwarded-For (the servers here trust one proxy hop, as deployed behind nginx).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SEED
from sqlalchemy import create_engine, text

from facilitation.infrastructure.db import normalise_url

from .conftest import Server, running
from .test_server import all_at_once

pytestmark = pytest.mark.e2e

PASSWORD = "ett långt lösenord"
CREATE_PASSWORD = "skapa workshoppar nu"
RACERS = 12


def csrf(http: requests.Session, url: str) -> str:
    """The CSRF token of the form on the page at `url` (valid for any form of the session)."""
    page = http.get(url, timeout=10)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, f"no CSRF token on {url} ({page.status_code})"
    return found.group(1)


def post(http: requests.Session, url: str, token: str, **fields: Any) -> requests.Response:
    return http.post(url, data={"csrf_token": token, **fields}, allow_redirects=False, timeout=60)


def browser_at(i: int) -> requests.Session:
    """A new browser, at an address of its own."""
    browser = requests.Session()
    browser.headers.update(at(f"198.18.0.{i + 1}"))
    return browser


def rows(database_url: str, query: str) -> Any:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


def set_up(base: str, username: str = "kommun") -> requests.Session:
    """The first organizer, made on the first-run page: their browser, logged in (the
    password for creating workshops is ignored where none is asked for)."""
    owner = requests.Session()
    token = csrf(owner, f"{base}/setup")
    fields = {"password": PASSWORD, "password2": PASSWORD, "create_password": CREATE_PASSWORD}
    made = post(owner, f"{base}/setup", token, username=username, **fields)
    assert made.status_code == 303, made.text[:500]
    return owner


def new_series(owner: requests.Session, base: str, title: str) -> int:
    token = csrf(owner, f"{base}/organizer")
    made = post(owner, f"{base}/series", token, title=title, language="sv", template="none")
    assert made.status_code == 303, made.text[:500]
    return int(re.search(r"/series/(\d+)", made.headers["Location"]).group(1))  # type: ignore[union-attr]


def invitation(owner: requests.Session, base: str, series_id: int) -> str:
    """A new invitation link's path."""
    token = csrf(owner, f"{base}/series/{series_id}")
    page = post(
        owner,
        f"{base}/series/{series_id}/do/series.invite",
        token,
        command_id=secrets.token_urlsafe(12),
    )
    assert page.status_code == 200, page.text[:500]
    link = page.text.split('class="secret-link" readonly value="')[1].split('"')[0]
    return "/invite/" + link.rsplit("/invite/", 1)[1]


def race(n: int, ready: Any, go: Any) -> list[int]:
    """n browsers: each prepared by ready(i) -> (browser, state), then go(i, browser, state)
    all at once; their statuses."""
    prepared = [ready(i) for i in range(n)]

    def run(i: int, barrier: threading.Barrier) -> int:
        barrier.wait()
        return int(go(i, *prepared[i]).status_code)

    return all_at_once(n, run)


# --- Only once -------------------------------------------------------------------------------


def test_first_run_pages_posting_at_once_make_one_account(
    proxied: Server, database_url: str
) -> None:
    base = proxied.url

    def ready(i: int) -> tuple[requests.Session, str]:
        browser = browser_at(i)
        return browser, csrf(browser, f"{base}/setup")

    def go(i: int, browser: requests.Session, token: str) -> requests.Response:
        return post(
            browser,
            f"{base}/setup",
            token,
            username=f"kommun{i}",
            password=PASSWORD,
            password2=PASSWORD,
        )

    statuses = race(2 * RACERS, ready, go)
    assert rows(database_url, "SELECT count(*) FROM organizers") == 1, statuses
    # No 500: one account, the rest told it exists (404) or, past the password worker's
    # queue (PASSWORDS_WAITING), to try again (503).
    assert statuses.count(303) == 1 and set(statuses) <= {303, 404, 503}, statuses


def test_an_invitation_is_taken_up_once_however_many_take_it_at_once(
    proxied: Server, database_url: str
) -> None:
    base = proxied.url
    owner = set_up(base)
    first = new_series(owner, base, "Strategi")
    link = invitation(owner, base, first)

    def ready(i: int) -> tuple[requests.Session, str]:
        browser = browser_at(i)
        return browser, csrf(browser, base + link)

    winners: list[requests.Session] = []

    def go(i: int, browser: requests.Session, token: str) -> requests.Response:
        answer = post(
            browser, base + link, token, username=f"gäst{i}", password=PASSWORD, password2=PASSWORD
        )
        if answer.status_code == 303:
            winners.append(browser)
        return answer

    statuses = race(RACERS, ready, go)
    assert statuses.count(303) == 1 and set(statuses) <= {303, 400}, statuses
    assert rows(database_url, "SELECT count(*) FROM organizers") == 2  # no account for a loser
    assert rows(database_url, f"SELECT count(*) FROM series_members WHERE series_id = {first}") == 1

    # The co-facilitator, logged in on many browsers, takes up another invitation at once.
    (guest,) = winners
    username = rows(database_url, "SELECT username FROM organizers WHERE username LIKE 'gäst%'")
    second = new_series(owner, base, "Strategi 2")
    link = invitation(owner, base, second)

    def logged_in(i: int) -> tuple[requests.Session, str]:
        browser = browser_at(100 + i)
        token = csrf(browser, f"{base}/login")
        assert (
            post(browser, f"{base}/login", token, username=username, password=PASSWORD).status_code
            == 303
        )
        return browser, csrf(browser, base + link)

    def take_up(_: int, browser: requests.Session, token: str) -> requests.Response:
        return post(browser, base + link, token)

    statuses = race(RACERS, logged_in, take_up)
    assert statuses.count(303) == 1 and set(statuses) <= {303, 400}, statuses
    assert (
        rows(database_url, f"SELECT count(*) FROM series_members WHERE series_id = {second}") == 1
    )
    assert guest.get(f"{base}/series/{first}", timeout=10).status_code == 200


def test_one_username_taken_at_once_by_many_makes_one_account(
    proxied: Server, database_url: str
) -> None:
    base = proxied.url
    owner = set_up(base)
    series_id = new_series(owner, base, "Strategi")
    links = [invitation(owner, base, series_id) for _ in range(RACERS)]

    def ready(i: int) -> tuple[requests.Session, str]:
        browser = browser_at(i)
        return browser, csrf(browser, base + links[i])

    def go(i: int, browser: requests.Session, token: str) -> requests.Response:
        return post(
            browser,
            base + links[i],
            token,
            username="Samma Namn",
            password=PASSWORD,
            password2=PASSWORD,
        )

    statuses = race(RACERS, ready, go)
    assert statuses.count(303) == 1 and set(statuses) <= {303, 400}, statuses
    assert rows(database_url, "SELECT count(*) FROM organizers WHERE login = 'samma namn'") == 1
    assert rows(database_url, "SELECT count(*) FROM series_members") == 1


# --- Tries of secrets ----------------------------------------------------------------------------


@pytest.fixture
def proxied(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[Server]:
    """A server (eventlet) on SQLite, then on PostgreSQL, behind one trusted proxy."""
    instance = Server("eventlet", tmp_path)
    instance.env.update(DATABASE_URL=database_url, PROXY_HOPS="1")
    with running(request, instance) as started:
        yield started


@pytest.fixture
def guarded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server (eventlet) behind one trusted proxy, where creating workshops needs
    CREATE_PASSWORD."""
    instance = Server("eventlet", tmp_path)
    instance.env.update(CREATE_PASSWORD=CREATE_PASSWORD, PROXY_HOPS="1")
    with running(request, instance) as started:
        yield started


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_many_wrong_passwords_at_once_get_the_allowance_and_never_lock_the_organizer_out(
    guarded: Server,
) -> None:
    base = guarded.url
    organizer = set_up(base)  # this browser got in with the password
    token = csrf(organizer, f"{base}/organizer")
    assert post(organizer, f"{base}/logout", token).status_code == 303

    def stranger(_: int) -> tuple[requests.Session, str]:
        browser = requests.Session()
        browser.headers.update(at("198.51.100.7"))
        return browser, csrf(browser, f"{base}/login")

    def guess(i: int, browser: requests.Session, token: str) -> requests.Response:
        return post(browser, f"{base}/login", token, username="kommun", password=f"gissning {i}!")

    statuses = race(3 * RACERS, stranger, guess)
    assert set(statuses) <= {400, 429} and statuses.count(400) <= 5, statuses
    assert statuses.count(429) >= 3 * RACERS - 5
    # The organizer's own browser logs in as ever.
    token = csrf(organizer, f"{base}/login")
    back = post(organizer, f"{base}/login", token, username="kommun", password=PASSWORD)
    assert back.status_code == 303
    assert organizer.get(f"{base}/organizer", allow_redirects=False, timeout=10).status_code == 200


def test_the_current_password_cannot_be_guessed_with_a_login(guarded: Server) -> None:
    base = guarded.url
    organizer = set_up(base)

    def same_login(_: int) -> tuple[requests.Session, str]:
        browser = requests.Session()
        browser.cookies.update(organizer.cookies)
        return browser, csrf(browser, f"{base}/organizer/password")

    def guess(i: int, browser: requests.Session, token: str) -> requests.Response:
        new = "ett nytt långt lösenord"
        return post(
            browser,
            f"{base}/organizer/password",
            token,
            current=f"gissning {i}!",
            new=new,
            new2=new,
        )

    statuses = race(RACERS, same_login, guess)
    assert set(statuses) <= {400, 429} and statuses.count(400) <= 5, statuses


def test_guessing_the_create_password_is_limited_for_the_api_and_the_start_page(
    guarded: Server,
) -> None:
    base = guarded.url
    facilitator = requests.Session()  # created a workshop with the password before
    token = csrf(facilitator, f"{base}/")
    form = {"title": "Strategi", "language": "sv", "category_set": "pestel"}
    assert (
        post(facilitator, f"{base}/workshops", token, password=CREATE_PASSWORD, **form).status_code
        == 303
    )

    def guesser(_: int) -> tuple[requests.Session, None]:
        return requests.Session(), None

    def guess(i: int, browser: requests.Session, _: None) -> requests.Response:
        headers = {"Authorization": f"Bearer gissning {i}", **at("198.51.100.7")}
        return browser.post(f"{base}/api/workshops", json=SEED, headers=headers, timeout=60)

    statuses = race(2 * RACERS, guesser, guess)
    assert set(statuses) <= {401, 429} and statuses.count(401) <= 5, statuses
    # Clients it cannot tell from the guesser wait a minute, even with the password ...
    right = {"Authorization": f"Bearer {CREATE_PASSWORD}", **at("203.0.113.5")}
    assert (
        requests.post(f"{base}/api/workshops", json=SEED, headers=right, timeout=10).status_code
        == 429
    )
    # ... but not a browser that gave it before.
    made = post(facilitator, f"{base}/workshops", token, password=CREATE_PASSWORD, **form)
    assert made.status_code == 303


def test_wrong_invitation_links_count_as_wrong_codes(guarded: Server) -> None:
    guesser = requests.Session()
    statuses = [
        guesser.get(f"{guarded.url}/invite/gissning-{i}", timeout=10).status_code for i in range(25)
    ]
    assert statuses == [404] * 20 + [429] * 5  # JOIN_MISS_BURST, as for workshop codes
