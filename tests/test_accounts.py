"""Organizer accounts: passwords stored as Argon2id hashes, logins that end (logout, idle,
absolute), rate-limited guessing, consoles opened through a login, invitations, and one
organizer never seeing another's series."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from organizing import PASSWORD, Organizer

from facilitation import cli, models
from facilitation.realtime import socketio
from facilitation.services import accounts


def rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["samsyn"].db.read() as s:
        return list(s.query(model))


def test_passwords_are_stored_as_argon2id_hashes(app: Flask) -> None:
    services = app.extensions["samsyn"].services
    services.create_organizer("Anna@Example.se", PASSWORD)
    (row,) = rows(app, models.Organizer)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert row.login == "anna@example.se"
    assert services.log_in("  anna@EXAMPLE.se ", PASSWORD)  # the name, any case
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
            f"/series/{series}/do/library.category_add", data={"name": "X"}
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
    refused = guest.post(f"/series/{series}/do/series.configure", data={"public": "true"})
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
    app.extensions["samsyn"].services.create_organizer("kommun", PASSWORD)
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
