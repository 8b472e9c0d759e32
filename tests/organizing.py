"""Helpers for tests of organizers and series: an organizer's browser (Flask's test client,
logged in), and a series workshop run through the Socket.IO test client like `Room`."""

from __future__ import annotations

import re
import secrets
from typing import Any

from conftest import Room
from flask import Flask
from flask.testing import FlaskClient

from facilitation.infrastructure import models

PASSWORD = "ett långt lösenord"


class Organizer:
    """An organizer's browser: an account, logged in."""

    def __init__(self, app: Flask, username: str = "kommun@example.se", *, create: bool = True):
        self.app = app
        self.username = username
        self.http: FlaskClient = app.test_client()
        if create:
            app.extensions["samsyn"].services.organizers.create(username, PASSWORD)
        self.log_in()

    def log_in(self, password: str = PASSWORD) -> Any:
        return self.http.post("/login", data={"username": self.username, "password": password})

    def series(self, title: str = "Näringslivsstrategi 2030", **fields: Any) -> int:
        """A new series; its id."""
        response = self.http.post(
            "/series", data={"title": title, "language": "sv", "template": "none", **fields}
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return int(re.search(r"/series/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]

    def do(self, series_id: int, command: str, /, *, status: int = 303, **fields: Any) -> Any:
        """Send a series command through its form (with a new command id, unless given one,
        as each rendered form has); the response."""
        fields.setdefault("command_id", command_id())
        response = self.http.post(f"/series/{series_id}/do/{command}", data=fields)
        assert response.status_code == status, response.get_data(as_text=True)[:3000]
        return response

    def record(self, series_id: int) -> dict[str, Any]:
        response = self.http.get(f"/api/series/{series_id}/export.json")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()  # type: ignore[no-any-return]

    def library(self, series_id: int) -> dict[str, Any]:
        """The library's entries by title, and its categories by name (from the service)."""
        services = self.app.extensions["samsyn"].services
        login = services.organizers.login(self.token())
        page = services.series.page(login, series_id)
        return {
            "categories": {c["name"]: c["id"] for c in page["library"]},
            "factors": {f["title"]: f["id"] for c in page["library"] for f in c["factors"]},
        }

    def token(self) -> str:
        with self.http.session_transaction() as session:
            return str(session["o"])

    def category(self, series_id: int, name: str) -> int:
        self.do(series_id, "library.category_add", name=name, back="library")
        return int(self.library(series_id)["categories"][name])

    def factor(self, series_id: int, category_id: int, title: str, **fields: Any) -> int:
        self.do(series_id, "library.add", category_id=category_id, title=title, **fields)
        return int(self.library(series_id)["factors"][title])

    def workshop(self, series_id: int, stakeholder: str, **fields: Any) -> SeriesRoom:
        """A new workshop of the series, its console and board connected (the organizer's
        browser holds a console key for it, tied to the login)."""
        response = self.do(series_id, "workshop.add", stakeholder=stakeholder, **fields)
        code = response.headers["Location"].rsplit("/", 1)[1]
        return SeriesRoom(self.app, self.http, code)


def command_id() -> str:
    """A new id for a series command, as a rendered form carries."""
    return secrets.token_urlsafe(12)


class SeriesRoom(Room):
    """A workshop of a series, run like `Room`, from the organizer's browser."""

    def __init__(self, app: Flask, http: FlaskClient, code: str) -> None:
        self.app = app
        self.code = code
        self.created = {}
        self.facilitator_http = http
        self.console = self.connect(http, "console")
        self.board = self.connect(http, "board")
        self._commands = 0
        self.phones = []

    def join(self, n: int) -> None:
        """n more phones that joined the workshop."""
        for _ in range(n):
            self.phones.append(self.phone()[1])

    def ids(self) -> dict[str, int]:
        """The workshop's factors by title (every status)."""
        state = self.state(self.console)["state"]
        return {f["title"]: f["id"] for f in state["factors"]}

    def library_ids(self) -> dict[str, int | None]:
        """Each factor's library entry, by title, as the database holds it."""
        db = self.app.extensions["samsyn"].db
        with db.read() as s:
            workshop = s.query(models.Workshop).filter_by(code=self.code).one()
            return {
                f.title: f.library_factor_id
                for f in s.query(models.Factor).filter_by(workshop_id=workshop.id)
            }
