"""A real server (eventlet and gevent) against clients that never finish: long-polling
sessions abandoned half-way, requests whose headers or body never come, bodies far too
large, and addresses named in headers nobody should trust. Each would, unchecked, hold a
connection or memory until nobody else could get in."""

from __future__ import annotations

import importlib.util
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import socketio

from .conftest import ASYNC_MODES, Clients, Server, create_workshop, running, unavailable

pytestmark = pytest.mark.e2e

# Few connections and short timeouts, so that a handful of stuck clients would fill the
# server and the limits act within a test's patience.
CONNECTIONS = 40
TIMEOUT = 2


@pytest.fixture(params=ASYNC_MODES)
def small(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server that accepts CONNECTIONS connections and waits TIMEOUT seconds for a
    request to arrive."""
    mode: str = request.param
    if importlib.util.find_spec(mode) is None:
        unavailable(mode)
    instance = Server(mode, tmp_path)
    instance.env.update(MAX_CONNECTIONS=str(CONNECTIONS), REQUEST_TIMEOUT=str(TIMEOUT))
    with running(request, instance) as started:
        yield started


def polling_phone(base: str, code: str) -> tuple[requests.Session, str]:
    """A phone connected over long-polling, as a browser without WebSockets does: the
    session's polling URL. Nothing is fetched from it afterwards."""
    http = requests.Session()
    assert http.get(f"{base}/j/{code}", timeout=10).status_code == 200
    opened = http.get(f"{base}/socket.io/?EIO=4&transport=polling", timeout=10)
    sid = json.loads(opened.text[1:])["sid"]
    url = f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}"
    auth = json.dumps({"code": code, "view": "phone"})
    assert http.post(url, data="40" + auth, timeout=10).text == "OK"
    return http, url


@pytest.mark.parametrize("packet", ["1", "6", "2"], ids=["close", "noop", "ping"])
def test_an_abandoned_polling_session_never_holds_its_request(small: Server, packet: str) -> None:
    """A long-polling client that posts a packet and never polls again (a close, or a packet
    the server refuses, which makes it end the session) is answered at once; more such
    clients than the server has connections leave room for a new phone."""
    code = create_workshop(small.url)["code"]
    for _ in range(CONNECTIONS + 10):
        http, url = polling_phone(small.url, code)
        answered = http.post(url, data=packet, timeout=10)
        assert answered.status_code in (200, 400), answered.status_code
        http.close()
    clients = Clients(small)
    try:
        _, phone = clients.phone(code)
        assert phone.state()["state"]["workshop"]["code"] == code
    finally:
        clients.close()


def stalled(server: Server, payload: bytes) -> socket.socket:
    """A connection that sends `payload` and then nothing more."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(payload)
    return connection


STALLS = {
    "idle": b"",
    "request line": b"GET / HTT",
    "headers": b"GET / HTTP/1.1\r\nHost: x\r\n",
    "body": (
        b"POST /api/workshops HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"title": '
    ),
}


@pytest.mark.parametrize("stall", list(STALLS))
def test_requests_that_never_finish_are_cut_off(small: Server, stall: str) -> None:
    """Clients that open a connection and stop before the request is whole (no request,
    half a request line, headers without their end, a body that never comes) fill every
    connection the server has; each is cut off after REQUEST_TIMEOUT, and then a page
    loads."""
    stuck = [stalled(small, STALLS[stall]) for _ in range(CONNECTIONS)]
    try:
        for connection in stuck:
            answer = connection.recv(4096)  # waits for the server to answer or close
            # Closed, or answered 408 (eventlet) or 400 (gevent) on the way out.
            assert answer == b"" or answer[:12] in (b"HTTP/1.1 408", b"HTTP/1.1 400"), answer
        assert requests.get(small.url + "/", timeout=20).status_code == 200
    finally:
        for connection in stuck:
            connection.close()


def peak_rss_kib(server: Server) -> int:
    """The server process's peak resident memory (VmHWM), in KiB."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def test_a_huge_request_is_refused_without_reading_it(server: Server) -> None:
    """A request body over MAX_REQUEST_BYTES (1 MiB) is refused: with its length declared,
    before any of it is read; sent in chunks without a length, as soon as it passes the
    limit. The server's memory does not grow with what was sent."""
    before = peak_rss_kib(server)
    declared = requests.post(
        server.url + "/api/workshops",
        data=b"x" * (64 << 20),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(256):
            yield b"x" * (1 << 20)

    try:
        status: int | None = requests.post(
            server.url + "/api/workshops",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        ).status_code
    except requests.ConnectionError:
        status = None  # refused, and closed while the rest was still being sent
    assert status in (None, 400, 413), status
    grown = peak_rss_kib(server) - before
    assert grown < 64 * 1024, f"the server grew by {grown} KiB"
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200


def test_a_forged_forwarded_address_escapes_no_limit(server: Server) -> None:
    """Without a reverse proxy (the default, PROXY_HOPS=0), X-Forwarded-For is nobody's
    word: a guesser naming a new address in every request is still one address, slowed
    down after JOIN_MISS_BURST (20) wrong codes."""
    statuses = []
    for n in range(30):
        forged = {"X-Forwarded-For": f"10.1.{n // 250}.{n % 250}"}
        statuses.append(
            requests.get(f"{server.url}/j/ZZZZZ{n % 10}", headers=forged, timeout=10).status_code
        )
    assert statuses[:20] == [404] * 20
    assert 429 in statuses[20:], statuses


@pytest.fixture
def behind_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """One server that trusts one proxy's X-Forwarded-For (PROXY_HOPS=1), as behind nginx."""
    instance = Server("eventlet", tmp_path)
    instance.env["PROXY_HOPS"] = "1"
    with running(request, instance) as started:
        yield started


def test_sockets_behind_a_proxy_are_limited_by_the_forwarded_address(
    behind_proxy: Server,
) -> None:
    """Behind a proxy every connection comes from the proxy's address; Socket.IO must count
    guesses by the address the proxy forwards, as pages do. A guesser trying wrong codes
    over Socket.IO is slowed down, and a newcomer from another address still joins."""
    code = create_workshop(behind_proxy.url)["code"]
    guesser = {"X-Forwarded-For": "10.2.0.1"}
    refusals: list[str] = []
    for n in range(25):
        sio = socketio.Client(reconnection=False)
        sio.on("connect_error", lambda reason: refusals.append(str(reason)))
        try:
            sio.connect(
                behind_proxy.url,
                auth={"code": f"ZZZZZ{n % 10}", "view": "board"},
                transports=["websocket"],
                headers=guesser,
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError:
            pass  # the reason came to connect_error
        finally:
            sio.disconnect()
    assert "too_many_tries" in refusals[-1], refusals[-3:]
    clients = Clients(behind_proxy)
    try:
        http = clients.join(code)
        newcomer = {"X-Forwarded-For": "10.2.0.2"}
        phone = clients.connect(http, code, "phone", headers=newcomer)
        assert phone.state()["state"]["workshop"]["code"] == code
    finally:
        clients.close()


def test_private_pages_are_never_cached_and_https_is_kept(behind_proxy: Server) -> None:
    """The console, the board, the organizer's pages and every JSON answer hold secrets or
    results not yet revealed: `Cache-Control: no-store`, so that no browser cache, proxy or
    shared computer keeps them. Scripts and styles stay cacheable. Over https (here told by
    the trusted proxy), HSTS keeps browsers from falling back to plain http."""
    created = create_workshop(behind_proxy.url)
    code = created["code"]
    http = requests.Session()
    assert http.get(created["facilitator_url"], timeout=10).status_code == 200
    private = [
        f"/console/{code}",
        f"/board/{code}",
        f"/j/{code}",
        "/login",
        "/setup",
        "/healthz",
        f"/api/workshops/{code}/export.json",
    ]
    for path in private:
        response = http.get(behind_proxy.url + path, timeout=10)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers.get("Cache-Control") == "no-store", path
        assert "Strict-Transport-Security" not in response.headers, path
    script = http.get(behind_proxy.url + "/static/js/live.js", timeout=10)
    assert "no-store" not in script.headers.get("Cache-Control", "")
    secure = http.get(
        f"{behind_proxy.url}/console/{code}", headers={"X-Forwarded-Proto": "https"}, timeout=10
    )
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1]) >= 365 * 24 * 3600
