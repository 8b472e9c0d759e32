"""End-to-end fixtures: a real `python app.py` process per test, on a free port and a
throw-away SQLite database, under eventlet and under gevent; and real clients for it
(requests for HTTP, python-socketio's Client for Socket.IO, sharing one cookie jar); and
Debian's Chromium driven by Playwright, with axe-core for accessibility checks.

When a test fails, the server's log is attached to its report.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import socketio
from axe_playwright_python.sync_playwright import Axe
from conftest import SEED, unavailable
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from bench.process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
ASYNC_MODES = ("eventlet", "gevent")
START_TIMEOUT = 30.0
ANSWER_TIMEOUT = 20.0


def command_id() -> str:
    return uuid.uuid4().hex


class Server(ServerProcess):
    """One `python app.py` process; may be killed and started again on the same database,
    port and secret key, as a restart in a venue would."""

    def __init__(self, async_mode: str, directory: Path) -> None:
        self.async_mode = async_mode
        self.port = free_port()
        url = f"http://127.0.0.1:{self.port}"
        self.database = directory / "samsyn.db"
        env = {
            **{k: v for k, v in os.environ.items() if k not in _APP_SETTINGS},
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "ASYNC_MODE": async_mode,
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, str(ROOT / "app.py")]
        super().__init__(
            async_mode,
            command,
            env=env,
            url=url,
            log_path=directory / "server.log",
            start_timeout=START_TIMEOUT,
        )


# Settings of the app that must come from this fixture, not from the caller's environment.
_APP_SETTINGS = {
    "HOST",
    "PORT",
    "PUBLIC_URL",
    "SECRET_KEY",
    "DATABASE_URL",
    "ASYNC_MODE",
    "CREATE_PASSWORD",
    "MESSAGE_QUEUE_URL",
    "PROXY_HOPS",
    "BOARD_INTERVAL",
    "PHONE_INTERVAL",
    "JOIN_BURST_PER_ADDRESS",
    "JOIN_RATE_PER_ADDRESS",
    "JOIN_BURST_PER_WORKSHOP",
    "JOIN_RATE_PER_WORKSHOP",
    "OIDC_DISCOVERY_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_ALLOWED_DOMAINS",
    "PASSWORD_LOGIN",
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Attach the log of every server the test started to a failed report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in getattr(item, "_samsyn_servers", []):
            report.sections.append((f"samsyn server log ({server.async_mode})", server.log()))


@contextlib.contextmanager
def running(request: pytest.FixtureRequest, instance: Server) -> Iterator[Server]:
    """The server started, its log attached to the test's report if it fails; stopped at
    the end."""
    request.node._samsyn_servers = [instance]  # type: ignore[attr-defined]
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=ASYNC_MODES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A running server (eventlet, then gevent) on its own database; its base URL is
    `server.url`. A test marked `@pytest.mark.settings(NAME="value", ...)` runs it with
    those settings in its environment."""
    mode: str = request.param
    if importlib.util.find_spec(mode) is None:
        unavailable(mode)
    with running(request, configured(request, Server(mode, tmp_path))) as instance:
        yield instance


def configured(request: pytest.FixtureRequest, instance: Server) -> Server:
    """The server with the settings of the test's `settings` marker, if it has one."""
    marker = request.node.get_closest_marker("settings")
    if marker is not None:
        instance.env.update({name: str(value) for name, value in marker.kwargs.items()})
    return instance


@pytest.fixture
def database_server(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[Server]:
    """A running eventlet server on SQLite, then on PostgreSQL (where every query lets other
    greenlets run)."""
    instance = Server("eventlet", tmp_path)
    instance.env["DATABASE_URL"] = database_url
    with running(request, instance) as started:
        yield started


@pytest.fixture
def base_url(server: Server) -> str:
    return server.url


class Peer:
    """A real Socket.IO client that records every event it receives, in order."""

    def __init__(self, sio: socketio.Client, view: str) -> None:
        self.sio = sio
        self.view = view
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        sio.on("*", self._record)

    def _record(self, event: str, *args: Any) -> None:
        with self._changed:
            self.events.append((event, args[0] if args else None))
            self._changed.notify_all()

    def received(self, event: str) -> list[Any]:
        with self._changed:
            return [data for name, data in self.events if name == event]

    def latest(self, event: str) -> Any:
        received = self.received(event)
        assert received, f"{self.view} received no {event}"
        return received[-1]

    def wait_for(
        self, event: str, predicate: Callable[[Any], bool], *, timeout: float = 10.0, after: int = 0
    ) -> Any:
        """Wait until the newest `event` (among those after the first `after` ones) satisfies
        `predicate`; returns it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                messages = [data for name, data in self.events if name == event][after:]
                if messages and predicate(messages[-1]):
                    return messages[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    newest = messages[-1] if messages else None
                    raise AssertionError(
                        f"{self.view}: no {event} as expected within {timeout} s; "
                        f"the newest of {len(messages)} was {newest!r}"
                    )
                self._changed.wait(left)

    def call(self, name: str, payload: dict[str, Any], timeout: float = ANSWER_TIMEOUT) -> Any:
        return self.sio.call(name, payload, timeout=timeout)

    def send(self, name: str, **payload: Any) -> dict[str, Any]:
        """A command with a fresh id (unless given); returns the acknowledgement."""
        payload.setdefault("command_id", command_id())
        answer: dict[str, Any] = self.call(name, payload)
        return answer

    def ok(self, name: str, **payload: Any) -> dict[str, Any]:
        answer = self.send(name, **payload)
        assert answer["ok"], (name, answer)
        data: dict[str, Any] = answer["data"]
        return data

    def state(self) -> dict[str, Any]:
        """The full state, asked for with state.get ({"state", "me"?})."""
        answer = self.call("state.get", {})
        assert answer["ok"], answer
        data: dict[str, Any] = answer["data"]
        return data

    def disconnect(self) -> None:
        self.sio.disconnect()


class Reachable(Protocol):
    """A server, or a proxy in front of servers."""

    url: str


class Clients:
    """Makes HTTP sessions and Socket.IO clients for one server, and closes them all."""

    def __init__(self, server: Reachable) -> None:
        self.server = server
        self._sessions: list[requests.Session] = []
        self._peers: list[Peer] = []
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        http = requests.Session()
        with self._lock:
            self._sessions.append(http)
        return http

    def socket(
        self, http: requests.Session, reconnection: bool = False, **options: Any
    ) -> socketio.Client:
        sio = socketio.Client(
            http_session=http, reconnection=reconnection, request_timeout=10, **options
        )
        return sio

    def connect(
        self,
        http: requests.Session,
        code: str,
        view: str,
        *,
        transports: tuple[str, ...] = ("websocket",),
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        **options: Any,
    ) -> Peer:
        """A connected client of `view` ("phone", "console", "board") with this cookie jar,
        with `query` in the URL of its every request. Raises
        socketio.exceptions.ConnectionError when the server refuses."""
        peer = Peer(self.socket(http, **options), view)
        with self._lock:
            self._peers.append(peer)
        refusals: list[Any] = []
        peer.sio.on("connect_error", refusals.append)
        try:
            peer.sio.connect(
                self.server.url + (f"?{urlencode(query)}" if query else ""),
                auth={"code": code, "view": view},
                transports=list(transports),
                headers=headers or {},
                wait_timeout=15,
            )
        except socketio.exceptions.ConnectionError as error:
            # With the server's reason (its `connect_error`), for the failure's report.
            raise socketio.exceptions.ConnectionError(str(error), refusals) from error
        return peer

    def join(self, code: str) -> requests.Session:
        """A new participant: a cookie jar that has opened the join link."""
        http = self.session()
        response = http.get(f"{self.server.url}/j/{code}", timeout=10)
        assert response.status_code == 200, response.status_code
        assert "samsyn" in http.cookies, "the join link set no session cookie"
        return http

    def phone(self, code: str, **options: Any) -> tuple[requests.Session, Peer]:
        http = self.join(code)
        return http, self.connect(http, code, "phone", **options)

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect every client at once, waiting at most `timeout` in all: a client may
        wait for its close handshake (websocket-client gives up after 3 s) or for its last
        long poll; whatever is left ends when the server stops."""

        def shut(peer: Peer) -> None:
            with contextlib.suppress(Exception):  # already gone with its server
                peer.sio.shutdown()

        threads = [threading.Thread(target=shut, args=(p,), daemon=True) for p in self._peers]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for http in self._sessions:
            http.close()


@pytest.fixture
def clients(server: Server) -> Iterator[Clients]:
    made = Clients(server)
    try:
        yield made
    finally:
        made.close()


class Workshop:
    """A workshop created through the API, with its facilitator's cookie jar and console."""

    def __init__(self, clients: Clients, created: dict[str, Any]) -> None:
        self.clients = clients
        self.created = created
        self.code: str = created["code"]
        self.http = clients.session()
        response = self.http.get(created["facilitator_url"], timeout=10)
        assert response.status_code == 200, response.status_code
        assert response.url.endswith(f"/console/{self.code}")
        self.console = clients.connect(self.http, self.code, "console")

    def connect(self, view: str, **options: Any) -> Peer:
        """Another facilitator screen ("console" or "board") with the facilitator's cookie."""
        return self.clients.connect(self.http, self.code, view, **options)

    def factor_ids(self) -> dict[str, int]:
        state = self.console.state()["state"]
        return {f["title"]: f["id"] for f in state["factors"] if f["status"] == "active"}

    def category_id(self, name: str) -> int:
        state = self.console.state()["state"]
        return next(c["id"] for c in state["categories"] if c["name"] == name)

    def open_dots(self, budget: int, cap: int) -> int:
        self.console.ok("step.set", step="prioritise")
        data = self.console.ok("round.open", method="dots", budget=budget, cap=cap)
        assert (data["settings"]["budget"], data["settings"]["cap"]) == (budget, cap), data
        return int(data["round_id"])

    def export(self, fmt: str) -> requests.Response:
        response = self.http.get(
            f"{self.clients.server.url}/api/workshops/{self.code}/export.{fmt}", timeout=10
        )
        assert response.status_code == 200, (response.status_code, response.text[:500])
        return response


def create_workshop(base_url: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{base_url}/api/workshops", json={**SEED, **body}, timeout=10)
    assert response.status_code == 201, (response.status_code, response.text)
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def workshop(server: Server, clients: Clients) -> Workshop:
    return Workshop(clients, create_workshop(server.url))


# --- Browsers ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """One eventlet server (the default event loop) per test, with the settings of the
    test's `settings` marker."""
    server = configured(request, Server("eventlet", tmp_path))
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


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def audit(page: Any, name: str) -> None:
    """axe-core finds no WCAG 2.1 A or AA violation on the page as it is now; a screenshot
    of it is saved for review either way."""
    shot(page, name)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert not problems, f"{name}: " + "; ".join(problems)


def expect_text(page: Any, selector: str, text: str, timeout: float = 10_000) -> None:
    """Wait until the element's text contains `text`; say what it holds if it never does."""
    try:
        page.wait_for_function(
            "([selector, text]) => document.querySelector(selector)?.textContent.includes(text)",
            arg=[selector, text],
            timeout=timeout,
        )
    except PlaywrightTimeout:
        held = page.evaluate("(s) => document.querySelector(s)?.textContent ?? null", selector)
        raise AssertionError(f"{selector} never showed {text!r}; it shows {held!r}") from None
