"""Access that ends, ends at once (issue #15, finding 8): a removed co-facilitator, a logout,
a password change, a deleted account, a replaced link and a login at its absolute end close
every way in — pages, exports, and the sockets already open (consoles, boards, proxy pages)
— while everybody else's screens go on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from conftest import _path, socketio
from flask import Flask
from flask.testing import FlaskClient
from organizing import PASSWORD, Organizer

from facilitation.edges import cli
from facilitation.infrastructure import models
from facilitation.usecases import accounts


def rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["samsyn"].db.read() as s:
        return list(s.query(model))


def screen(app: Flask, http: FlaskClient, code: str, view: str, **auth: Any) -> Any:
    return socketio.test_client(
        app, auth={"code": code, "view": view, **auth}, flask_test_client=http
    )


def co_facilitator(app: Flask, owner: Organizer, series: int, username: str) -> Organizer:
    """An organizer of their own account who took up the owner's invitation."""
    page = owner.do(series, "series.invite", status=200).get_data(as_text=True)
    link = page.split('class="secret-link" readonly value="')[1].split('"')[0]
    guest = Organizer(app, username)
    accepted = guest.http.post("/invite/" + link.rsplit("/invite/", 1)[1])
    assert accepted.status_code == 303
    return guest


def ways_in(http: FlaskClient, code: str) -> dict[str, int]:
    """What each facilitator page and export answers this browser."""
    paths = {
        "console": f"/console/{code}",
        "board": f"/board/{code}",
        "preview": f"/preview/{code}",
        "proxy": f"/proxy/{code}/1",
        "export": f"/api/workshops/{code}/export.json?nicknames=1",
    }
    return {name: http.get(path).status_code for name, path in paths.items()}


def test_a_removed_co_facilitator_loses_the_workshop_they_added_at_once(
    make_app: Any, database_url: str
) -> None:
    """On SQLite and PostgreSQL."""
    app = make_app(database_url)
    owner = Organizer(app)
    series = owner.series()
    owner.category(series, "Sociala")
    guest = co_facilitator(app, owner, series, "gast@example.se")
    room = guest.workshop(series, "Företag")  # added by the co-facilitator: console, board
    number = room.ok(room.console, "proxy.add", label="Doris")["proxy"]
    proxy = screen(app, guest.http, room.code, "proxy", proxy=number)
    room.join(1)
    room.ok(room.phones[0], "participant.rename", nickname="Anna")
    assert owner.http.post(f"/organizer/workshops/{room.code}/console").status_code == 303
    owners = screen(app, owner.http, room.code, "console")
    assert set(ways_in(guest.http, room.code).values()) == {200}
    # Adding the workshop gave the co-facilitator a key tied to their login, not its link.
    with guest.http.session_transaction() as cookie:
        assert cookie["f"][room.code].startswith(accounts.GRANT_PREFIX)

    (member,) = rows(app, models.SeriesMember)
    owner.do(series, "member.remove", organizer_id=member.organizer_id)

    assert not room.console.is_connected()
    assert not room.board.is_connected()
    assert not proxy.is_connected()
    assert set(ways_in(guest.http, room.code).values()) == {403}
    for view, auth in (("console", {}), ("board", {}), ("proxy", {"proxy": number})):
        assert not screen(app, guest.http, room.code, view, **auth).is_connected(), view
    # The owner and the room go on.
    assert owners.is_connected() and room.phones[0].is_connected()
    assert room.ok(owners, "timer.set", seconds=60)


def test_a_screen_let_in_while_access_ended_is_let_go(app: Flask, monkeypatch: Any) -> None:
    """A console connecting while its login is logged out elsewhere: authorised before the
    logout, added to the screens after the check that followed it. It is checked again."""
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")
    laptop = Organizer(app, create=False)
    laptop.http.post(f"/organizer/workshops/{room.code}/console")
    samsyn = app.extensions["samsyn"]
    snapshot = samsyn.services.workshops.snapshot

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        taken = snapshot(*args, **kwargs)
        monkeypatch.setattr(samsyn.services.workshops, "snapshot", snapshot)
        laptop.http.post("/logout")  # and its word to every process, which finds no screen
        return taken

    monkeypatch.setattr(samsyn.services.workshops, "snapshot", meanwhile)
    console = screen(app, laptop.http, room.code, "console")
    assert not console.is_connected()
    (workshop,) = rows(app, models.Workshop)
    # The organizer's own console and board are the workshop's only screens.
    assert len(samsyn.presence.facilitator_screens({workshop.id})[workshop.id]) == 2
    assert room.console.is_connected()


def test_changing_the_password_ends_the_screens_of_the_other_logins(app: Flask) -> None:
    here = Organizer(app)
    series = here.series()
    here.category(series, "Sociala")
    room = here.workshop(series, "Företag")
    there = Organizer(app, create=False)
    there.http.post(f"/organizer/workshops/{room.code}/console", data={"to": "board"})
    board = screen(app, there.http, room.code, "board")
    assert board.is_connected()
    new = "ett annat långt lösenord"
    here.http.post("/organizer/password", data={"current": PASSWORD, "new": new, "new2": new})
    assert not board.is_connected()
    assert room.console.is_connected() and room.board.is_connected()  # this login's own
    assert there.http.get(f"/board/{room.code}").status_code == 403


def test_replacing_the_link_from_a_console_opened_through_a_login(app: Flask) -> None:
    """The browser keeps its console key (its access still ends with the login) and is
    shown the new link once, to hand on; screens opened with the old link are let go, and
    consoles opened through logins go on."""
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")
    replaced = organizer.http.post(f"/console/{room.code}/link")
    assert replaced.status_code == 303
    page = organizer.http.get(replaced.headers["Location"]).get_data(as_text=True)
    link = page.split('class="secret-link" readonly value="')[1].split('"')[0]
    with organizer.http.session_transaction() as cookie:
        assert cookie["f"][room.code].startswith(accounts.GRANT_PREFIX)
        assert "show" not in cookie  # shown once, then gone from the cookie
    again = organizer.http.get(f"/console/{room.code}").get_data(as_text=True)
    assert link not in again
    facilitator = Organizer(app, "facilitator@example.se").http  # someone the link is given to
    assert facilitator.get(_path(link)).status_code == 303
    projector = screen(app, facilitator, room.code, "board")
    assert projector.is_connected() and room.console.is_connected()
    organizer.http.post(f"/console/{room.code}/link")
    assert not projector.is_connected()  # opened with the link replaced since
    assert room.console.is_connected() and room.board.is_connected()


def test_an_organizer_deletes_their_account_with_their_password(
    make_app: Any, database_url: str
) -> None:
    """On SQLite and PostgreSQL."""
    app = make_app(database_url)
    owner = Organizer(app)
    series = owner.series("Annas serie")
    owner.category(series, "Sociala")
    room = owner.workshop(series, "Företag")
    room.join(1)
    other = Organizer(app, "bertil@example.se")
    theirs = other.series("Bertils serie")
    other.category(theirs, "Sociala")
    kept = other.workshop(theirs, "Regionala partner")
    guest = co_facilitator(app, other, theirs, "anna@example.se")
    guest.http.post(f"/organizer/workshops/{kept.code}/console")
    visiting = screen(app, guest.http, kept.code, "console")
    assert visiting.is_connected()

    page = guest.http.get("/organizer/delete").get_data(as_text=True)
    assert "Bertils serie" not in page  # only what is theirs is deleted with them
    assert owner.http.get("/organizer/delete").get_data(as_text=True).count("Annas serie") == 1
    refused = guest.http.post("/organizer/delete", data={"password": "fel lösenord"})
    assert refused.status_code == 400 and visiting.is_connected()
    assert guest.http.post("/organizer/delete", data={"password": PASSWORD}).status_code == 200
    assert not visiting.is_connected()
    assert kept.console.is_connected()
    assert guest.log_in().status_code == 400  # no such account
    assert rows(app, models.SeriesMember) == []

    owner.http.post("/organizer/delete", data={"password": PASSWORD})
    app.extensions["samsyn"].broadcaster.flush()
    assert any(m["name"] == "deleted" for m in room.phones[0].get_received())
    assert [s.title for s in rows(app, models.Series)] == ["Bertils serie"]
    assert owner.http.get(f"/console/{room.code}").status_code == 404
    assert len(rows(app, models.Deletion)) == 1  # the workshop's line without content


def test_a_login_at_its_absolute_end_ends_its_screens(app: Flask) -> None:
    """No word comes when time runs out: the check every second finds the screens whose
    console key's login reached its absolute end."""
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")
    other = Organizer(app, "bertil@example.se")
    theirs = other.series("Bertils serie")
    other.category(theirs, "Sociala")
    kept = other.workshop(theirs, "Regionala partner")
    samsyn = app.extensions["samsyn"]
    with samsyn.db.write() as s:
        organizer_id = samsyn.services.organizers.login(other.token()).organizer_id
        for login in s.query(models.OrganizerSession).filter_by(organizer_id=organizer_id):
            login.created_at -= accounts.ABSOLUTE + timedelta(minutes=1)
    samsyn.gatekeeper.check_all(samsyn.presence.facilitated())
    assert not kept.console.is_connected() and not kept.board.is_connected()
    assert room.console.is_connected() and room.board.is_connected()


def test_an_operator_deletes_an_account_and_its_open_screens_notice(
    app: Flask, monkeypatch: Any
) -> None:
    """From the command line: another process, which sends this one no word. The check
    every second finds the screens that lost access."""
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")
    samsyn = app.extensions["samsyn"]
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    listed = CliRunner().invoke(cli.main, ["delete-organizer", "kommun@example.se"], input="n\n")
    assert listed.exit_code != 0 and "Näringslivsstrategi 2030" in listed.output
    assert room.console.is_connected()
    deleted = CliRunner().invoke(cli.main, ["delete-organizer", "KOMMUN@example.se", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert "1 series" in deleted.output
    samsyn.gatekeeper.check_all(samsyn.presence.facilitated())
    assert not room.console.is_connected() and not room.board.is_connected()
    assert rows(app, models.Organizer) == [] and rows(app, models.Series) == []
    unknown = CliRunner().invoke(cli.main, ["delete-organizer", "ingen", "--yes"])
    assert unknown.exit_code != 0


def test_deleting_an_account_needs_a_csrf_token(make_app: Any) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    app.extensions["samsyn"].services.organizers.create("kommun", PASSWORD)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "kommun", "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code == 303
    assert browser.post("/organizer/delete", data={"password": PASSWORD}).status_code == 400
    assert len(rows(app, models.Organizer)) == 1
    page = browser.get("/organizer/delete").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    confirmed = {"password": PASSWORD, "csrf_token": token}
    assert browser.post("/organizer/delete", data=confirmed).status_code == 200
    assert rows(app, models.Organizer) == []


def test_a_screen_of_a_workshop_deleted_elsewhere_hears_it_was_deleted(
    app: Flask, monkeypatch: Any
) -> None:
    """The check may find a workshop gone before the broadcaster does (an account deleted
    in another process, or a check that runs first): its screens are told `deleted`, as the
    broadcaster tells them, before they are let go, never left to read "access ended"."""
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Sociala")
    room = organizer.workshop(series, "Företag")
    samsyn = app.extensions["samsyn"]
    let_go: list[str] = []
    monkeypatch.setattr(
        app.extensions["socketio"].server,
        "disconnect",
        lambda sid, namespace=None: let_go.append(sid),
    )
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    deleted = CliRunner().invoke(cli.main, ["delete-organizer", "kommun@example.se", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    room.console.get_received(), room.board.get_received()
    samsyn.gatekeeper.check_all(samsyn.presence.facilitated())
    assert len(let_go) == 2  # the console and the board
    assert [m["name"] for m in room.console.get_received()] == ["deleted"]
    assert [m["name"] for m in room.board.get_received()] == ["deleted"]
