"""A real server whose PostgreSQL hangs: the network between them goes silent, as when the
database server freezes or a switch drops. Requests are answered "busy" within the
database's timeouts instead of waiting for ever, phones that connect meanwhile are refused
and come back by themselves, and everything works again once the database answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from conftest import _reset_postgres
from sqlalchemy.engine import make_url

from .conftest import PHONE, Clients, Server, create_workshop, free_port, running

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# Short, so that the test waits seconds, not the default's tens of seconds.
DATABASE_TIMEOUT = 2


class Gate:
    """A TCP relay in front of PostgreSQL that can be frozen: while frozen it passes no byte
    either way (connections stay open and silent, new ones are accepted and hang)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._open.clear()

    def thaw(self) -> None:
        self._open.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self._open.wait()
                target.sendall(data)
        for each in (source, target):
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._open.set()
        for each in self._sockets:
            with contextlib.suppress(OSError):
                each.close()


@pytest.fixture
def gate(postgres_database: str) -> Iterator[tuple[Gate, str]]:
    """A gate in front of a clean PostgreSQL database, and the URL through it."""
    _reset_postgres(postgres_database)
    url = make_url(postgres_database)
    relay = Gate((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=relay.port)
    yield relay, through.render_as_string(hide_password=False)
    relay.close()


@pytest.fixture
def hung(request: pytest.FixtureRequest, tmp_path: Path, gate: tuple[Gate, str]) -> Iterator[Any]:
    """A running server (eventlet) on PostgreSQL behind the gate."""
    relay, url = gate
    instance = Server("eventlet", tmp_path)
    instance.env.update(DATABASE_URL=url, DATABASE_TIMEOUT=str(DATABASE_TIMEOUT))
    with running(request, instance) as started:
        yield started, relay


def refusal(server: Server, http: requests.Session, code: str) -> str | None:
    """Connect a phone with this cookie jar; the reason it was refused, or None."""
    reasons: list[str] = []
    sio = socketio.Client(http_session=http, reconnection=False)
    sio.on("connect_error", lambda data: reasons.append(str(data)))
    try:
        sio.connect(
            server.url,
            auth={"code": code, "view": "phone"},
            transports=["websocket"],
            wait_timeout=30,
        )
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        sio.disconnect()
    return reasons[0] if reasons else None


def test_a_hung_database_is_answered_busy_and_nothing_is_lost(hung: Any) -> None:
    """While PostgreSQL answers nothing, /healthz and pages answer 503 (with Retry-After,
    which the pages follow) within the database's timeouts, except a join link whose page
    was made moments before, which is given again (phone_pages.py); a phone's command is answered
    `busy` (and sent again); a phone connecting is refused `busy`, never let in without its
    state. Once the database answers again, the same command goes through once, and the
    phone that was refused gets in."""
    server, relay = hung
    code = create_workshop(server.url)["code"]
    never_joined = create_workshop(server.url)["code"]
    clients = Clients(server)
    try:
        _, phone = clients.phone(code)
        newcomer = clients.join(code)
        relay.freeze()

        health = requests.get(server.url + "/healthz", timeout=60)
        assert health.status_code == 503
        page = requests.get(f"{server.url}/j/{never_joined}", timeout=60)
        assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
        kept = requests.get(f"{server.url}/j/{code}", timeout=60)
        assert kept.status_code == 200 and code in kept.text
        rename = {"command_id": "rename-1", "nickname": "Kim"}
        answer = phone.call("participant.rename", rename, timeout=60)
        assert answer["error"]["code"] == "busy", answer
        assert "busy" in (refusal(server, newcomer, code) or ""), "not refused as busy"

        relay.thaw()
        for _ in range(30):  # the pool drops its broken connections and makes new ones
            if requests.get(server.url + "/healthz", timeout=60).status_code == 200:
                break
        assert phone.call("participant.rename", rename, timeout=60)["ok"]
        joined = clients.connect(newcomer, code, "phone")
        assert joined.state()["state"]["workshop"]["code"] == code
        assert phone.state()["me"]["participant"]["nickname"] == "Kim"
    finally:
        relay.thaw()
        clients.close()


@pytest.mark.browser
def test_a_phone_refused_while_the_database_hangs_recovers_by_itself(
    hung: Any, browser: Any
) -> None:
    """A phone that reaches the server while the database hangs is refused (`busy`), keeps
    trying by itself, and is online with the room's state once the database answers again,
    without anyone reloading the page."""
    server, relay = hung
    code = create_workshop(server.url)["code"]
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        # The phone's page loads, but its socket cannot get through yet.
        page.route("**/socket.io/**", lambda route: route.abort())
        page.goto(f"{server.url}/j/{code}")
        relay.freeze()
        page.unroute("**/socket.io/**")
        page.wait_for_timeout(4 * DATABASE_TIMEOUT * 1000)  # refused meanwhile, retrying
        assert page.get_attribute("#connection", "data-state") != "online"
        assert "socket handler: database busy" in server.log()  # it was refused
        relay.thaw()
        page.wait_for_selector("#connection[data-state=online]", timeout=60_000)
        # The state came with the connection: the phone names the workshop's step.
        page.wait_for_function("document.getElementById('step-name').textContent.trim() !== ''")
    finally:
        relay.thaw()
        context.close()
