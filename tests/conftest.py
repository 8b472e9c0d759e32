"""Fixtures: an app per test on its own database, clients for every role, and helpers.

Tests that need PostgreSQL (or, in tests/e2e, Chromium) skip when it is missing — except
under CI (CI=true), where a missing service fails the run instead of hiding.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIOTestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from facilitation.assembly import Samsyn, create_app
from facilitation.core.domain import DomainError
from facilitation.infrastructure.config import Config
from facilitation.infrastructure.db import normalise_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class TestConfig(Config):
    """Settings for tests: threading mode, a database given by the test, fast broadcasts."""

    __test__ = False  # a class named Test…, but no tests in it

    def __init__(self, database_url: str, **overrides: object) -> None:
        super().__init__()
        self.SECRET_KEY = "test-secret"
        self.DATABASE_URL = database_url
        self.PUBLIC_URL = "http://samsyn.test"
        self.ASYNC_MODE = "threading"
        self.CREATE_PASSWORD = None
        self.TESTING = True
        self.WTF_CSRF_ENABLED = False
        # Tests send commands faster than people: the limits get tests of their own.
        self.COMMAND_BURST = 10_000.0
        self.JOIN_MISS_BURST = 10_000.0
        self.JOIN_BURST_PER_ADDRESS = 1_000_000.0
        self.JOIN_BURST_PER_WORKSHOP = 1_000_000.0
        # Heavy work where it is called: tests that need worker processes ask for them.
        self.WORKERS = 0
        # Tests send broadcasts with Broadcaster.flush() instead of the background loop.
        self.START_BROADCASTER = False
        for key, value in overrides.items():
            setattr(self, key, value)


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    """The code of the DomainError that `call` raises."""
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def metric(text: str, name: str) -> float:
    """The value of one sample line of /metrics, e.g.
    'samsyn_commands_total{command="x",outcome="ok"}'."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


def unavailable(what: str) -> None:
    """Skip locally; fail under CI, where every service must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI but is not available")
    pytest.skip(f"{what} is not available")


# The end-to-end tests that run app servers on PostgreSQL (each server opens its pool of
# DATABASE_POOL_SIZE connections as it starts, PostgreSQL allows 100 by default) and build a
# container image once for their module: under `make test`, which runs the suite on several
# workers (pytest-xdist, --dist loadgroup), one worker runs them, one after another.
SERVERS_ON_POSTGRESQL = "postgresql servers"
_ON_POSTGRESQL = {"test_container.py", "test_database_hang.py", "test_scale_out.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and callspec.params.get("database_url") == (
            "postgresql"
        )
        if item.get_closest_marker("e2e") and (item.path.name in _ON_POSTGRESQL or on_postgresql):
            item.add_marker(pytest.mark.xdist_group(SERVERS_ON_POSTGRESQL))


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(normalise_url(POSTGRES_URL))
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a database of our own on the PostgreSQL server, named `prefix` and a
    random part, dropped at the end (skipped, or failed under CI, without a server)."""
    if not _postgres_reachable():
        unavailable("PostgreSQL")
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, dropped at the end."""
    with fresh_postgres_database("samsyn_test") as url:
        yield url


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server's URL; tests keep to keys and channels of their own prefix."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        unavailable("Redis")
    finally:
        client.close()
    return REDIS_URL


def forget_redis_keys(url: str, prefix: str) -> None:
    """Delete a test's keys (those starting with its prefix) from a Redis, if it answers."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    except redis.ConnectionError:
        pass  # stopped by the test: nothing left to delete
    finally:
        client.close()


def _reset_postgres(url: str) -> None:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Each test that asks for it runs on SQLite and, when reachable, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/samsyn.db"
    url: str = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def make_app(tmp_path: Any) -> Iterator[Any]:
    """Build apps on a database of the test's choosing (SQLite under tmp_path by default)."""
    apps: list[Flask] = []

    def build(database_url: str | None = None, **overrides: Any) -> Flask:
        url = database_url or f"sqlite:///{tmp_path}/samsyn.db"
        app = create_app(TestConfig(url, **overrides))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["samsyn"].db.dispose()


class SocketClients:
    """Flask-SocketIO's test clients, each through the Socket.IO server of its app (every
    app has its own: create_app makes it, as `app.extensions["socketio"]`)."""

    @staticmethod
    def test_client(app: Flask, **kwargs: Any) -> SocketIOTestClient:
        client: SocketIOTestClient = app.extensions["socketio"].test_client(app, **kwargs)
        return client


socketio = SocketClients()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture
def samsyn(app: Flask) -> Samsyn:
    return app.extensions["samsyn"]  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


SEED = {
    "title": "Näringslivsstrategi 2030",
    "language": "sv",
    "factors": [
        {"title": "Urbanisering", "category": "Sociala"},
        {"title": "Åldrande befolkning", "category": "Sociala"},
        {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
        {"title": "Elektrifiering av transporter", "category": "Teknologiska"},
    ],
}


class Room:
    """One workshop with a facilitator's console, a board and any number of phones, all
    through Flask's and Flask-SocketIO's test clients."""

    def __init__(self, app: Flask, created: dict[str, Any]) -> None:
        self.app = app
        self.code: str = created["code"]
        self.created = created
        self.facilitator_http = app.test_client()
        self.facilitator_http.get(_path(created["facilitator_url"]))
        self.console = self.connect(self.facilitator_http, "console")
        self.board = self.connect(self.facilitator_http, "board")
        self._commands = 0
        self.phones: list[SocketIOTestClient] = []

    def connect(self, http: FlaskClient, view: str, **auth: Any) -> SocketIOTestClient:
        return socketio.test_client(
            self.app, auth={"code": self.code, "view": view, **auth}, flask_test_client=http
        )

    def phone(self) -> tuple[FlaskClient, SocketIOTestClient]:
        """A new participant: opens the join link, then connects."""
        http = self.app.test_client()
        assert http.get(f"/j/{self.code}").status_code == 200
        return http, self.connect(http, "phone")

    def send(self, client: SocketIOTestClient, command: str, /, **payload: Any) -> dict[str, Any]:
        """Send a command with a fresh id; returns the acknowledgement."""
        self._commands += 1
        payload.setdefault("command_id", f"cmd-{self._commands}")
        answer: dict[str, Any] = client.emit(command, payload, callback=True)
        return answer

    def ok(self, client: SocketIOTestClient, command: str, /, **payload: Any) -> dict[str, Any]:
        answer = self.send(client, command, **payload)
        assert answer["ok"], answer
        data: dict[str, Any] = answer["data"]
        return data

    def flush(self) -> None:
        self.app.extensions["samsyn"].broadcaster.flush()

    def run_round(self, method: str, answers: list[dict[int, Any]], **settings: Any) -> int:
        """Open a round, let the first phones answer (one answer each), close and reveal it;
        the round's id."""
        assert len(answers) <= len(self.phones)
        round_id = self.ok(self.console, "round.open", method=method, **settings)["round_id"]
        for phone, entries in zip(self.phones, answers, strict=False):
            self.ok(
                phone,
                "ballot.submit",
                round_id=round_id,
                entries={str(f): v for f, v in entries.items()},
            )
        self.ok(self.console, "round.close", round_id=round_id)
        self.ok(self.console, "round.reveal", round_id=round_id)
        return int(round_id)

    def latest(self, client: SocketIOTestClient, event: str = "state") -> dict[str, Any]:
        """The newest message of `event` the client received (after a flush)."""
        received = [m for m in client.get_received() if m["name"] == event]
        assert received, f"no {event} received"
        message: dict[str, Any] = received[-1]["args"][0]
        return message

    def state(self, client: SocketIOTestClient) -> dict[str, Any]:
        """The client's full state, asked for directly."""
        answer = client.emit("state.get", {}, callback=True)
        assert answer["ok"], answer
        return answer["data"]  # type: ignore[no-any-return]

    def category(self, name: str) -> int:
        state = self.state(self.console)["state"]
        return next(c["id"] for c in state["categories"] if c["name"] == name)

    def factor(self, title: str) -> int:
        state = self.state(self.console)["state"]
        return next(f["id"] for f in state["factors"] if f["title"] == title)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def make_room(app: Flask) -> Any:
    def build(**body: Any) -> Room:
        response = app.test_client().post("/api/workshops", json={**SEED, **body})
        assert response.status_code == 201, response.json
        return Room(app, response.json)  # type: ignore[arg-type]

    return build


@pytest.fixture
def room(make_room: Any) -> Room:
    return make_room()  # type: ignore[no-any-return]
