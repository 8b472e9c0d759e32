"""Organizers against a real server: a browser (a requests session) that fills in the account
and series forms with their CSRF tokens, as a person would; and a follower of a series'
public page on the `/follow` namespace."""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

import requests
import socketio

from .conftest import Clients, Peer

PASSWORD = "ett långt lösenord"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An organizer's browser: its cookie jar holds the login, and the console keys and
    facilitator secrets it is given."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.url = clients.server.url
        self.http: requests.Session = clients.session()

    def csrf(self, path: str) -> str:
        """The CSRF token of this browser's session, from a page with a form."""
        page = self.http.get(self.url + path, timeout=10)
        found = _TOKEN.search(page.text)
        assert found, (path, page.status_code, page.text[:500])
        return found.group(1)

    def post(
        self,
        path: str,
        *,
        status: int = 303,
        form: str = "/login",
        files: Any = None,
        **fields: Any,
    ) -> requests.Response:
        """Send a form (its token taken from the page `form`); the response, not followed."""
        data = {"csrf_token": self.csrf(form), **fields}
        response = self.http.post(
            self.url + path, data=data, files=files, allow_redirects=False, timeout=20
        )
        assert response.status_code == status, (path, response.status_code, response.text[:2000])
        return response

    def first_account(self, username: str) -> None:
        """The first organizer account, from the first-run page (logged in at once)."""
        self.post("/setup", form="/setup", username=username, password=PASSWORD, password2=PASSWORD)

    def log_in(self, username: str) -> None:
        self.post("/login", username=username, password=PASSWORD)

    def series(self, title: str = "Näringslivsstrategi 2030") -> int:
        """A new series, its library empty; its id."""
        response = self.post(
            "/series", form="/organizer", title=title, language="sv", template="none"
        )
        found = re.search(r"/series/(\d+)", response.headers["Location"])
        assert found
        return int(found.group(1))

    def do(self, series_id: int, command: str, *, status: int = 303, **fields: Any) -> Any:
        """A series command through its form (with a new command id, as each rendered form
        has)."""
        return self.post(
            f"/series/{series_id}/do/{command}",
            status=status,
            form=f"/series/{series_id}",
            **{"command_id": secrets.token_urlsafe(12), **fields},
        )

    def library(self, series_id: int, csv: str) -> None:
        """Fill the library from a CSV file (category;title per line)."""
        self.post(
            f"/series/{series_id}/do/library.import",
            form=f"/series/{series_id}/library",
            files={"csv": ("library.csv", csv.encode())},
            back="library",
            command_id=secrets.token_urlsafe(12),
        )

    def workshop(self, series_id: int, stakeholder: str) -> str:
        """A new workshop of the series; its code (this browser lands on its console)."""
        response = self.do(series_id, "workshop.add", stakeholder=stakeholder)
        code = response.headers["Location"].rsplit("/", 1)[1]
        return str(code)

    def invite(self, series_id: int) -> str:
        """An invitation link to co-facilitate the series."""
        page = self.do(series_id, "series.invite", status=200).text
        found = re.search(r'value="(http[^"]+/invite/[^"]+)"', page)
        assert found, page[:3000]
        return found.group(1)

    def accept(self, invitation: str, username: str) -> None:
        """Take up an invitation with a new account (logged in at once)."""
        path = "/" + invitation.split("://", 1)[1].split("/", 1)[1]
        self.post(path, form=path, username=username, password=PASSWORD, password2=PASSWORD)

    def member_id(self, series_id: int) -> str:
        """The organizer id of the series' (one) co-facilitator, from the owner's page."""
        page = self.http.get(f"{self.url}/series/{series_id}", timeout=10).text
        found = re.search(r'name="organizer_id" value="(\d+)"', page)
        assert found, "no co-facilitator to remove"
        return found.group(1)

    def follow_path(self, series_id: int) -> str:
        """Open the series' follow page; its path."""
        self.do(series_id, "series.configure", public="true")
        page = self.http.get(f"{self.url}/series/{series_id}", timeout=10).text
        return "/follow/" + page.split('id="follow-link">')[1].split("<")[0].rsplit("/follow/")[1]


class Follower:
    """A follow page's live connection (no cookie), recording what it is sent."""

    def __init__(self, url: str, path: str) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False, request_timeout=10)
        self.sio.on("*", self._record, namespace="/follow")
        self.sio.connect(
            url,
            namespaces=["/follow"],
            auth={"series": path.rsplit("/", 1)[1]},
            transports=["websocket"],
            wait_timeout=15,
        )

    def _record(self, event: str, *args: Any) -> None:
        with self._changed:
            self.events.append((event, args[0] if args else None))
            self._changed.notify_all()

    def wait_for(self, event: str, predicate: Any, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [data for name, data in self.events if name == event]
                if found and predicate(found[-1]):
                    return found[-1]
                left = deadline - time.monotonic()
                assert left > 0, f"no {event} as expected; the last was {found[-1:]}"
                self._changed.wait(left)

    def close(self) -> None:
        self.sio.disconnect()


def screen(clients: Clients, http: requests.Session, code: str, view: str, **auth: Any) -> Peer:
    """A connected facilitator screen (or phone) with this cookie jar; `auth` adds to the
    handshake (e.g. a proxy page's number)."""
    peer = Peer(clients.socket(http), view)
    with clients._lock:
        clients._peers.append(peer)
    peer.sio.connect(
        clients.server.url,
        auth={"code": code, "view": view, **auth},
        transports=["websocket"],
        wait_timeout=15,
    )
    return peer


def refusal(clients: Clients, http: requests.Session, code: str, view: str, **auth: Any) -> str:
    """Why the server refuses a connection with this cookie jar (the handshake's error)."""
    sio = clients.socket(http)
    refused: list[Any] = []
    sio.on("connect_error", refused.append)
    try:
        sio.connect(
            clients.server.url,
            auth={"code": code, "view": view, **auth},
            transports=["websocket"],
            wait_timeout=15,
        )
    except socketio.exceptions.ConnectionError:
        pass
    else:
        sio.disconnect()
        raise AssertionError(f"{view} was let in")
    assert refused, "refused without a reason"
    data = refused[0]
    return str(data.get("message") if isinstance(data, dict) else data)


def until_disconnected(*peers: Peer, timeout: float = 10.0) -> None:
    """Wait until the server has let go of every one of `peers`."""
    deadline = time.monotonic() + timeout
    while any(p.sio.connected for p in peers):
        still = [p.view for p in peers if p.sio.connected]
        assert time.monotonic() < deadline, f"still connected: {still}"
        time.sleep(0.05)
