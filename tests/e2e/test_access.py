"""Access that ends, ends at once, against a real server (eventlet and gevent): a removed
co-facilitator, a logout, a password change, a deleted account (from its page or the command
line) and a login at its absolute end close every way in — pages, the export with
nicknames, and the sockets already open, which are let go and refused when they try again —
while everybody else's screens go on (issue #15, finding 8)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
import requests

from .conftest import ROOT, Clients, Server
from .organizing import Browser, refusal, screen, until_disconnected

pytestmark = pytest.mark.e2e

LIBRARY = "kategori;titel\nEkonomiska;Digitalisering\nEkonomiska;Kompetensförsörjning\n"


def pages(browser: Browser, code: str, number: int) -> dict[str, int]:
    """What the facilitator's pages and the export with nicknames answer this browser."""
    paths = {
        "console": f"/console/{code}",
        "board": f"/board/{code}",
        "proxy": f"/proxy/{code}/{number}",
        "export": f"/api/workshops/{code}/export.json?nicknames=1",
    }
    return {
        name: browser.http.get(browser.url + path, timeout=10, allow_redirects=False).status_code
        for name, path in paths.items()
    }


def test_a_removed_co_facilitator_loses_the_workshop_they_added_at_once(
    clients: Clients,
) -> None:
    owner = Browser(clients)
    owner.first_account("kommun@example.se")
    series = owner.series()
    owner.library(series, LIBRARY)
    guest = Browser(clients)
    guest.accept(owner.invite(series), "gast@example.se")
    code = guest.workshop(series, "Företag")  # the co-facilitator adds it, and runs it
    console = screen(clients, guest.http, code, "console")
    board = screen(clients, guest.http, code, "board")
    number = console.ok("proxy.add", label="Doris")["proxy"]
    proxy = screen(clients, guest.http, code, "proxy", proxy=number)
    _, phone = clients.phone(code)
    phone.ok("participant.rename", nickname="Anna Andersson")
    owner.post(f"/organizer/workshops/{code}/console", form="/organizer")
    owners = screen(clients, owner.http, code, "console")
    assert set(pages(guest, code, number).values()) == {200}

    owner.do(series, "member.remove", organizer_id=owner.member_id(series))

    until_disconnected(console, board, proxy)
    heard = [len(p.received("state")) for p in (console, board, proxy)]
    assert set(pages(guest, code, number).values()) == {403}
    for view, auth in (("console", {}), ("board", {}), ("proxy", {"proxy": number})):
        assert refusal(clients, guest.http, code, view, **auth) == "access_ended", view
    # The owner and the room go on; the co-facilitator's screens heard nothing more.
    owners.ok("timer.set", seconds=120)
    owners.wait_for("state", lambda s: s["timer"] is not None)
    phone.ok("participant.rename", nickname="Anna")
    assert owners.sio.connected and phone.sio.connected
    assert [len(p.received("state")) for p in (console, board, proxy)] == heard


def test_logging_out_and_changing_the_password_end_the_screens_of_those_logins(
    clients: Clients,
) -> None:
    desk = Browser(clients)  # made the workshop
    desk.first_account("kommun@example.se")
    series = desk.series()
    desk.library(series, LIBRARY)
    code = desk.workshop(series, "Företag")
    laptop, projector = Browser(clients), Browser(clients)  # the same account, elsewhere
    for other in (laptop, projector):
        other.log_in("kommun@example.se")
        other.post(f"/organizer/workshops/{code}/console", form="/organizer")
    consoles = {
        name: screen(clients, browser.http, code, "console")
        for name, browser in (("desk", desk), ("laptop", laptop), ("projector", projector))
    }
    board = screen(clients, projector.http, code, "board")

    laptop.post("/logout", form="/organizer")
    until_disconnected(consoles["laptop"])
    assert refusal(clients, laptop.http, code, "console") == "forbidden"  # no key left
    assert consoles["desk"].sio.connected and consoles["projector"].sio.connected

    new = "ett annat långt lösenord"
    desk.post(
        "/organizer/password",
        status=200,
        form="/organizer/password",
        current="ett långt lösenord",
        new=new,
        new2=new,
    )
    until_disconnected(consoles["projector"], board)
    assert refusal(clients, projector.http, code, "board") == "access_ended"
    assert consoles["desk"].sio.connected
    assert consoles["desk"].ok("timer.set", seconds=60)


def test_deleting_an_account_ends_its_screens_and_its_series(clients: Clients) -> None:
    anna = Browser(clients)
    anna.first_account("anna@example.se")
    annas = anna.series("Annas serie")
    anna.library(annas, LIBRARY)
    bertil = Browser(clients)
    bertil.accept(anna.invite(annas), "bertil@example.se")
    shared = anna.workshop(annas, "Företag")
    bertil.post(f"/organizer/workshops/{shared}/console", form="/organizer")
    visiting = screen(clients, bertil.http, shared, "console")
    annas_console = screen(clients, anna.http, shared, "console")
    bertils = bertil.series("Bertils serie")
    bertil.library(bertils, LIBRARY)
    own = bertil.workshop(bertils, "Regionala partner")
    own_console = screen(clients, bertil.http, own, "console")
    _, phone = clients.phone(own)

    page = bertil.http.get(f"{bertil.url}/organizer/delete", timeout=10).text
    assert "Bertils serie" in page and "Annas serie" not in page
    wrong = bertil.post(
        "/organizer/delete", status=400, form="/organizer/delete", password="fel lösenord"
    )
    assert "fel lösenord" not in wrong.text and visiting.sio.connected
    bertil.post(
        "/organizer/delete", status=200, form="/organizer/delete", password="ett långt lösenord"
    )

    until_disconnected(visiting)
    phone.wait_for("deleted", lambda _: True)  # their own series went, with its workshops
    own_console.wait_for("deleted", lambda _: True)
    assert annas_console.sio.connected and annas_console.ok("timer.set", seconds=30)
    assert bertil.http.get(f"{bertil.url}/organizer", allow_redirects=False).status_code == 303
    assert bertil.http.get(f"{bertil.url}/console/{own}").status_code == 404
    assert 'name="organizer_id"' not in anna.http.get(f"{anna.url}/series/{annas}").text


def test_a_login_at_its_absolute_end_ends_its_screens(server: Server, clients: Clients) -> None:
    """No word comes when time runs out: the check of every open facilitator screen, each
    second, lets go of a console whose login reached its end."""
    anna = Browser(clients)
    anna.first_account("anna@example.se")
    annas = anna.series("Annas serie")
    anna.library(annas, LIBRARY)
    workshop = anna.workshop(annas, "Företag")
    annas_console = screen(clients, anna.http, workshop, "console")
    bertil = Browser(clients)
    bertil.accept(anna.invite(annas), "bertil@example.se")
    bertil.post(f"/organizer/workshops/{workshop}/console", form="/organizer")
    bertils_console = screen(clients, bertil.http, workshop, "console")

    # Bertil's login reached its absolute end (12 hours after it began).
    with sqlite3.connect(server.database) as db:
        db.execute(
            "UPDATE organizer_sessions SET created_at = '2000-01-01 00:00:00.000000' "
            "WHERE organizer_id = (SELECT id FROM organizers WHERE login = ?)",
            ("bertil@example.se",),
        )
    until_disconnected(bertils_console)
    assert refusal(clients, bertil.http, workshop, "console") == "access_ended"
    assert annas_console.sio.connected and annas_console.ok("timer.set", seconds=30)


def test_an_account_deleted_from_the_command_line_ends_its_screens(
    server: Server, clients: Clients
) -> None:
    """An operator deletes an account from another process, which sends the server no
    word: the check each second lets its screens go."""
    anna = Browser(clients)
    anna.first_account("anna@example.se")
    annas = anna.series("Annas serie")
    anna.library(annas, LIBRARY)
    workshop = anna.workshop(annas, "Företag")
    annas_console = screen(clients, anna.http, workshop, "console")

    deleted = subprocess.run(
        [sys.executable, "-m", "facilitation", "delete-organizer", "anna@example.se", "--yes"],
        check=False,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": server.env["DATABASE_URL"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert deleted.returncode == 0, deleted.stderr
    assert "1 series" in deleted.stdout
    until_disconnected(annas_console)
    assert refusal(clients, anna.http, workshop, "console") == "unknown_workshop"
    assert requests.get(f"{server.url}/api/workshops/{workshop}/export.json").status_code == 404
