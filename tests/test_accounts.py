"""Organizer accounts: passwords stored as Argon2id hashes, logins that end (logout, idle,
absolute), rate-limited guessing, consoles opened through a login, invitations, and one
organizer never seeing another's series."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from click.testing import CliRunner
from conftest import SEED, socketio
from flask import Flask
from organizing import PASSWORD, Organizer, command_id

from facilitation.core.domain import DomainError
from facilitation.edges import cli
from facilitation.infrastructure import models
from facilitation.infrastructure.passwords import Argon2Passwords
from facilitation.infrastructure.workers import Busy
from facilitation.usecases import accounts


def rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["samsyn"].db.read() as s:
        return list(s.query(model))


def test_passwords_are_stored_as_argon2id_hashes(app: Flask) -> None:
    services = app.extensions["samsyn"].services
    services.organizers.create("Anna@Example.se", PASSWORD)
    (row,) = rows(app, models.Organizer)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert row.login == "anna@example.se"
    assert services.organizers.log_in("  anna@EXAMPLE.se ", PASSWORD)  # the name, any case
    for wrong in ("fel lösenord!!", PASSWORD.upper(), ""):
        response = app.test_client().post(
            "/login", data={"username": "anna@example.se", "password": wrong}
        )
        assert response.status_code == 400
    assert (
        app.test_client()
        .post("/login", data={"username": "anna@example.se", "password": PASSWORD})
        .status_code
        == 303
    )


def test_logging_out_ends_the_login_in_the_database(app: Flask) -> None:
    organizer = Organizer(app)
    assert organizer.http.get("/organizer").status_code == 200
    copied = organizer.http.get_cookie("samsyn").value  # type: ignore[union-attr]
    assert organizer.http.post("/logout").status_code == 303
    assert rows(app, models.OrganizerSession) == []
    replay = app.test_client()
    replay.set_cookie("samsyn", copied)
    response = replay.get("/organizer")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_a_login_ends_when_idle_and_at_its_absolute_end(app: Flask) -> None:
    organizer = Organizer(app)
    db = app.extensions["samsyn"].db

    def age(**changes: timedelta) -> None:
        with db.write() as s:
            for row in s.query(models.OrganizerSession):
                for column, back in changes.items():
                    setattr(row, column, getattr(row, column) - back)

    age(last_seen_at=accounts.IDLE - timedelta(minutes=5))
    assert organizer.http.get("/organizer").status_code == 200  # within it: seen again now
    age(last_seen_at=accounts.IDLE + timedelta(minutes=1))
    response = organizer.http.get("/organizer")
    assert response.status_code == 303 and "ended=1" in response.headers["Location"]
    organizer.log_in()
    assert organizer.http.get("/organizer").status_code == 200
    age(created_at=accounts.ABSOLUTE)  # active all along, but started too long ago
    assert organizer.http.get("/organizer").status_code == 303


def test_guessing_passwords_is_slowed_down(app: Flask, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    Organizer(app)
    guesser = app.test_client()
    for _ in range(5):
        answer = guesser.post(
            "/login", data={"username": "kommun@example.se", "password": "x" * 12}
        )
        assert answer.status_code == 400
    # Now even the right password waits: per username and per address.
    right = {"username": "kommun@example.se", "password": PASSWORD}
    assert guesser.post("/login", data=right).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert elsewhere.post("/login", data=right).status_code == 429  # the username's limit
    limit = app.extensions["samsyn"].login_limit
    limit.clock = lambda: 1e12  # a long while later
    assert elsewhere.post("/login", data=right).status_code == 303
    assert "organizer login refused" in caplog.text
    assert "kommun@example.se" not in caplog.text and PASSWORD not in caplog.text


def test_one_organizer_cannot_see_anothers_series(app: Flask) -> None:
    anna = Organizer(app, "anna@example.se")
    series = anna.series("Annas serie")
    anna.category(series, "Sociala")
    room = anna.workshop(series, "Företag")
    bertil = Organizer(app, "bertil@example.se")
    for path in (f"/series/{series}", f"/series/{series}/library", f"/series/{series}/combined"):
        assert bertil.http.get(path).status_code == 404, path
    for fmt in ("json", "csv", "pdf"):
        assert bertil.http.get(f"/api/series/{series}/export.{fmt}").status_code == 404
    assert (
        bertil.http.post(
            f"/series/{series}/do/library.category_add",
            data={"name": "X", "command_id": command_id()},
        ).status_code
        == 404
    )
    assert (
        bertil.http.post(f"/series/{series}/delete", data={"confirm": "Annas serie"}).status_code
        == 404
    )
    assert bertil.http.post(f"/organizer/workshops/{room.code}/console").status_code == 404
    assert bertil.http.get(f"/console/{room.code}").status_code == 403
    assert "Annas serie" not in bertil.http.get("/organizer").get_data(as_text=True)
    assert app.test_client().get(f"/api/series/{series}/export.json").status_code == 401


def test_a_console_opened_through_the_login_ends_with_it(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")  # this browser holds a console key
    laptop = Organizer(app, create=False)  # the same account on another computer
    assert laptop.http.get(f"/console/{room.code}").status_code == 403  # no link here
    response = laptop.http.post(f"/organizer/workshops/{room.code}/console")
    assert response.headers["Location"].endswith(f"/console/{room.code}")
    page = laptop.http.get(f"/console/{room.code}").get_data(as_text=True)
    assert "org." not in page  # the key in the cookie is never shown as a link
    console = socketio.test_client(
        app, auth={"code": room.code, "view": "console"}, flask_test_client=laptop.http
    )
    assert console.is_connected()
    answer = console.emit("timer.set", {"command_id": "t1", "seconds": 60}, callback=True)
    assert answer["ok"], answer
    laptop.http.post("/logout")
    assert not console.is_connected()  # at once, not at its next command
    assert laptop.http.get(f"/console/{room.code}").status_code == 403
    # The same account's other login, and its console, go on.
    assert room.console.is_connected()
    assert room.ok(room.console, "timer.set", seconds=10)


def test_co_facilitators_come_by_invitation_and_go_when_removed(app: Flask) -> None:
    owner = Organizer(app)
    series = owner.series()
    owner.category(series, "Sociala")
    room = owner.workshop(series, "Företag")
    page = owner.do(series, "series.invite", status=200).get_data(as_text=True)
    link = page.split('class="secret-link" readonly value="')[1].split('"')[0]
    path = "/invite/" + link.rsplit("/invite/", 1)[1]
    guest = app.test_client()
    assert "Näringslivsstrategi 2030" in guest.get(path).get_data(as_text=True)
    made = guest.post(path, data={"username": "gäst", "password": PASSWORD, "password2": PASSWORD})
    assert made.headers["Location"].endswith(f"/series/{series}")
    assert guest.get(f"/series/{series}").status_code == 200
    assert guest.post(f"/organizer/workshops/{room.code}/console").status_code == 303
    # A co-facilitator keeps the library, but the owner's settings are the owner's.
    refused = guest.post(
        f"/series/{series}/do/series.configure",
        data={"public": "true", "command_id": command_id()},
    )
    assert refused.status_code == 400
    assert app.test_client().get(path).status_code == 404  # the link is used up
    (member,) = rows(app, models.SeriesMember)
    owner.do(series, "member.remove", organizer_id=member.organizer_id)
    assert guest.get(f"/series/{series}").status_code == 404
    console = socketio.test_client(
        app, auth={"code": room.code, "view": "console"}, flask_test_client=guest
    )
    assert not console.is_connected()


def test_the_first_account_comes_from_the_first_run_page_only_once(app: Flask) -> None:
    browser = app.test_client()
    assert browser.get("/setup").status_code == 200
    differ = {"username": "kommun", "password": PASSWORD, "password2": PASSWORD + "x"}
    assert browser.post("/setup", data=differ).status_code == 400
    made = browser.post("/setup", data={**differ, "password2": PASSWORD})
    assert made.headers["Location"].endswith("/organizer")
    assert browser.get("/organizer").status_code == 200
    assert app.test_client().get("/setup").status_code == 404
    again = app.test_client().post("/setup", data={**differ, "password2": PASSWORD})
    assert again.status_code == 404


def test_the_command_line_creates_organizers(
    tmp_path: Any, monkeypatch: Any, make_app: Any
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(
        cli.main, ["create-organizer", "kommun"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli.main, ["create-organizer", "kort", "--password", "kort"])
    assert result.exit_code != 0 and "10" in result.output
    app = make_app(url)
    flask_cli = app.test_cli_runner().invoke(
        args=["create-organizer", "andra", "--password", PASSWORD]
    )
    assert flask_cli.exit_code == 0, flask_cli.output
    assert {o.login for o in rows(app, models.Organizer)} == {"kommun", "andra"}


def test_organizer_forms_need_a_csrf_token(make_app: Any) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    app.extensions["samsyn"].services.organizers.create("kommun", PASSWORD)
    browser = app.test_client()
    assert (
        browser.post("/login", data={"username": "kommun", "password": PASSWORD}).status_code == 400
    )
    page = browser.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    logged_in = browser.post(
        "/login", data={"username": "kommun", "password": PASSWORD, "csrf_token": token}
    )
    assert logged_in.status_code == 303
    assert browser.post("/series", data={"title": "Utan token"}).status_code == 400


def test_changing_the_password_ends_the_other_logins(app: Flask) -> None:
    here, there = Organizer(app), Organizer(app, create=False)
    new = "ett annat långt lösenord"
    changed = here.http.post(
        "/organizer/password", data={"current": PASSWORD, "new": new, "new2": new}
    )
    assert changed.status_code == 200
    assert here.http.get("/organizer").status_code == 200
    assert there.http.get("/organizer").status_code == 303
    assert there.log_in().status_code == 400 and there.log_in(new).status_code == 303


# --- Passwords are hashed outside transactions (issue #15) ----------------------------------


class Watched:
    """Argon2id as the app runs it, noting each call and whether the database held a
    connection for anyone (an open transaction, or a read) at that moment."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.inner = Argon2Passwords()
        self.calls: list[tuple[str, int]] = []

    def _held(self) -> int:
        pools = {id(e.pool): e.pool for e in (self.db.engine, self.db.read_engine)}
        return sum(pool.checkedout() for pool in pools.values())  # type: ignore[attr-defined]

    def hash(self, password: str) -> str:
        self.calls.append(("hash", self._held()))
        return self.inner.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.calls.append(("verify", self._held()))
        return self.inner.verify(stored, password)

    def needs_rehash(self, stored: str) -> bool:
        self.calls.append(("needs_rehash", self._held()))
        return self.inner.needs_rehash(stored)


def test_no_password_is_hashed_or_checked_inside_a_transaction(app: Flask) -> None:
    samsyn = app.extensions["samsyn"]
    watched = samsyn.services.organizers.passwords = Watched(samsyn.db)
    browser = app.test_client()
    first = {"username": "kommun", "password": PASSWORD, "password2": PASSWORD}
    assert browser.post("/setup", data=first).status_code == 303
    # A hash made with older parameters is replaced at the next login.
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with samsyn.db.write() as s:
        s.query(models.Organizer).update({"password_hash": weak})
    again = app.test_client()
    assert (
        again.post("/login", data={"username": "kommun", "password": PASSWORD}).status_code == 303
    )
    (organizer,) = rows(app, models.Organizer)
    assert organizer.password_hash != weak and not watched.inner.needs_rehash(
        organizer.password_hash
    )
    assert (
        again.post("/login", data={"username": "nobody", "password": PASSWORD}).status_code == 400
    )
    new = "ett annat långt lösenord"
    changed = again.post("/organizer/password", data={"current": PASSWORD, "new": new, "new2": new})
    assert changed.status_code == 200
    owner = Organizer(app, "ägare@example.se")
    series = owner.series()
    page = owner.do(series, "series.invite", status=200).get_data(as_text=True)
    path = (
        "/invite/"
        + page.split('class="secret-link" readonly value="')[1]
        .split('"')[0]
        .rsplit("/invite/", 1)[1]
    )
    guest = app.test_client()
    made = guest.post(path, data={"username": "gäst", "password": PASSWORD, "password2": PASSWORD})
    assert made.status_code == 303
    kinds = {kind for kind, _ in watched.calls}
    assert kinds == {"hash", "verify", "needs_rehash"}, watched.calls
    assert all(held == 0 for _, held in watched.calls), watched.calls


class NoCapacity:
    """What a pool of hashing workers says when too many wait."""

    def hash(self, password: str) -> str:
        raise Busy

    def verify(self, stored: str, password: str) -> bool:
        raise Busy

    def needs_rehash(self, stored: str) -> bool:
        raise Busy


def test_no_capacity_for_hashing_is_answered_503_and_costs_no_try(app: Flask) -> None:
    samsyn = app.extensions["samsyn"]
    samsyn.services.organizers.create("kommun", PASSWORD)
    working = samsyn.services.organizers.passwords
    samsyn.services.organizers.passwords = NoCapacity()
    browser = app.test_client()
    for _ in range(8):  # more than the allowance of wrong tries
        answer = browser.post("/login", data={"username": "kommun", "password": PASSWORD})
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    samsyn.services.organizers.passwords = working
    assert (
        browser.post("/login", data={"username": "kommun", "password": PASSWORD}).status_code == 303
    )


def test_the_api_answers_busy_with_503_and_retry_after(app: Flask, monkeypatch: Any) -> None:
    def busy(**_: Any) -> Any:
        raise Busy

    monkeypatch.setattr(app.extensions["samsyn"].services.workshops, "create", busy)
    answer = app.test_client().post("/api/workshops", json=SEED)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json["error"]["code"] == "http_503"


# --- Strangers and the organizer's own browser (issue #15) -----------------------------------


def test_a_strangers_wrong_passwords_never_make_the_organizers_browser_wait(app: Flask) -> None:
    organizer = Organizer(app)  # logged in with this browser before
    organizer.http.post("/logout")
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    wrong = {"username": "kommun@example.se", "password": "x" * 12}
    statuses = [stranger.post("/login", data=wrong).status_code for _ in range(8)]
    assert statuses == [400] * 5 + [429] * 3
    # Other browsers wait (the account's allowance for strangers is spent) ...
    new_laptop = app.test_client()
    assert new_laptop.post("/login", data={**wrong, "password": PASSWORD}).status_code == 429
    # ... but not the organizer's own, which has an allowance of its own.
    assert organizer.log_in().status_code == 303
    assert organizer.http.get("/organizer").status_code == 200


def test_guessing_the_current_password_is_limited_per_login(app: Flask) -> None:
    organizer = Organizer(app)
    new = "ett annat långt lösenord"
    wrong = {"current": "x" * 12, "new": new, "new2": new}
    statuses = [
        organizer.http.post("/organizer/password", data=wrong).status_code for _ in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    right = {**wrong, "current": PASSWORD}
    assert organizer.http.post("/organizer/password", data=right).status_code == 429
    # The organizer's other login has its own allowance.
    other = Organizer(app, create=False)
    assert other.http.post("/organizer/password", data=right).status_code == 200


def test_guessing_the_create_password_is_limited(make_app: Any) -> None:
    app = make_app(CREATE_PASSWORD="skapa workshoppar")
    facilitator = app.test_client()
    form = {"title": "Strategi", "language": "sv", "category_set": "pestel"}
    assert (
        facilitator.post("/workshops", data={**form, "password": "skapa workshoppar"}).status_code
        == 303
    )
    guesser = app.test_client()
    api = [
        guesser.post(
            "/api/workshops", json=SEED, headers={"Authorization": f"Bearer fel{i}"}
        ).status_code
        for i in range(3)
    ]
    pages = [
        guesser.post("/workshops", data={**form, "password": "fel"}).status_code for _ in range(2)
    ]
    assert api + pages == [401, 401, 401, 400, 400]  # the API and the page count together
    assert guesser.post("/setup", data={"create_password": "skapa workshoppar"}).status_code == 429
    right = {"Authorization": "Bearer skapa workshoppar"}
    assert guesser.post("/api/workshops", json=SEED, headers=right).json["error"]["code"] == (
        "too_many_tries"
    )
    # A browser that created workshops before is not kept waiting by the guesser.
    made = facilitator.post("/workshops", data={**form, "password": "skapa workshoppar"})
    assert made.status_code == 303


def test_wrong_invitation_links_count_as_guesses(make_app: Any) -> None:
    app = make_app(JOIN_MISS_BURST=3)
    guesser = app.test_client()
    assert [guesser.get(f"/invite/fel-{i}").status_code for i in range(3)] == [404] * 3
    assert guesser.get("/invite/fel-4").status_code == 429
    assert guesser.post("/invite/fel-5", data={}).status_code == 429


# --- Only once, held by the database (issue #15) ----------------------------------------------


def at_once(n: int, work: Any) -> list[str]:
    """work(i) in n threads started together; "ok", or the code of the refusal."""
    barrier = threading.Barrier(n)

    def run(i: int) -> str:
        barrier.wait()
        try:
            work(i)
        except DomainError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_what_may_happen_once_happens_once_under_threads(make_app: Any, database_url: str) -> None:
    app = make_app(database_url)
    services = app.extensions["samsyn"].services
    made = at_once(8, lambda i: services.organizers.set_up(f"kommun{i}", PASSWORD))
    assert made.count("ok") == 1 and set(made) <= {"ok", "already_set_up"}, made
    (owner,) = rows(app, models.Organizer)
    assert owner.first_run is True
    login = services.organizers.login(services.organizers.log_in(owner.username, PASSWORD))
    series_id = services.series.create(login, {"title": "Strategi", "language": "sv"})

    def invite() -> str:
        answer = services.series.execute(
            login, series_id, "series.invite", {"command_id": command_id()}
        )
        return str(answer["data"]["token"])

    link = invite()
    taken = at_once(8, lambda i: services.organizers.join_by_invitation(link, f"gäst{i}", PASSWORD))
    assert taken.count("ok") == 1 and set(taken) <= {"ok", "bad_invitation"}, taken
    links = [invite() for _ in range(8)]
    named = at_once(
        8, lambda i: services.organizers.join_by_invitation(links[i], "Samma", PASSWORD)
    )
    assert named.count("ok") == 1 and set(named) <= {"ok", "username_taken"}, named
    assert len(rows(app, models.Organizer)) == 3 and len(rows(app, models.SeriesMember)) == 2
