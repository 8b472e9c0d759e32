"""A facilitator, a board and several phones in one room, through Flask-SocketIO's test
client: who may connect, what each screen receives, and when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conftest import Room, socketio
from flask import request
from flask.sessions import SecureCookieSessionInterface

from facilitation.queries import state


def test_each_view_gets_its_state_on_connect(room: Room) -> None:
    console = room.latest(room.console)
    assert console["workshop"]["code"] == room.code
    assert {f["status"] for f in console["factors"]} == {"active"}
    assert "rounds" in console
    board = room.latest(room.board)
    assert "rounds" not in board and board["connected"] == 0
    assert board["participation"] == {"joined": 0, "voted": 0}
    _, phone = room.phone()
    received = {m["name"]: m["args"][0] for m in phone.get_received()}
    assert set(received) == {"state", "me"}
    assert "participation" not in received["state"]  # phones don't follow the count
    assert received["me"]["participant"] == {"number": 1, "nickname": None}


def test_connections_are_refused_without_the_right_cookie(app: Any, room: Room) -> None:
    stranger = app.test_client()
    phone = socketio.test_client(
        app, auth={"code": room.code, "view": "phone"}, flask_test_client=stranger
    )
    assert not phone.is_connected()  # never opened the join link
    http, _ = room.phone()
    board = room.connect(http, "board")  # a participant's cookie is not a facilitator's
    assert not board.is_connected()
    for auth in [None, {"code": room.code}, {"code": room.code, "view": "admin"}, "x"]:
        client = socketio.test_client(app, auth=auth, flask_test_client=room.facilitator_http)
        assert not client.is_connected()
    missing = socketio.test_client(
        app, auth={"code": "NOPE12", "view": "console"}, flask_test_client=room.facilitator_http
    )
    assert not missing.is_connected()


def test_a_proposal_reaches_every_screen_on_the_next_tick(room: Room) -> None:
    room.ok(room.console, "step.set", step="complete")
    _, anna = room.phone()
    _, bertil = room.phone()
    for client in (room.console, room.board, anna, bertil):
        client.get_received()
    answer = room.ok(
        anna, "factor.propose", title="Besöksnäring", category_id=room.category("Sociala")
    )
    assert answer["status"] == "active"
    # Nothing is sent until the broadcaster's tick: broadcasts are coalesced.
    assert not [m for m in bertil.get_received() if m["name"] == "state"]
    room.flush()
    for client in (room.console, room.board, bertil):
        titles = [f["title"] for f in room.latest(client)["factors"]]
        assert "Besöksnäring" in titles
    anna_messages = {m["name"] for m in anna.get_received()}
    assert anna_messages == {"state", "me"}  # her own proposals changed too


def test_many_changes_in_one_tick_make_one_message(room: Room) -> None:
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.ok(room.console, "round.open", method="dots", budget=3, cap=3)["round_id"]
    phones = [room.phone()[1] for _ in range(5)]
    room.flush()
    for client in (room.board, *phones):
        client.get_received()
    factor = room.factor("Urbanisering")
    for phone in phones:
        room.ok(phone, "ballot.submit", round_id=round_id, entries={str(factor): 1})
    room.flush()
    board_states = [m for m in room.board.get_received() if m["name"] == "state"]
    assert len(board_states) == 1
    assert board_states[0]["args"][0]["participation"] == {"joined": 5, "voted": 5}
    # The votes changed nothing a phone shows (results are hidden): no message to phones.
    assert not [m for m in phones[0].get_received() if m["name"] == "state"]


def test_a_whole_workshop_in_one_room(room: Room) -> None:
    sociala = room.category("Sociala")
    phones = [room.phone()[1] for _ in range(3)]
    room.ok(room.console, "step.set", step="complete")
    room.ok(phones[0], "factor.propose", title="Ensamhet bland äldre", category_id=sociala)
    # Prune: two of three want "Kompetensförsörjning" gone.
    room.ok(room.console, "step.set", step="prune")
    prune = room.ok(room.console, "round.open", method="keep_remove")["round_id"]
    target = room.factor("Kompetensförsörjning")
    for i, phone in enumerate(phones):
        choice = "keep" if i == 0 else "remove"
        room.ok(phone, "ballot.submit", round_id=prune, entries={str(target): choice})
    room.flush()
    assert room.latest(phones[0])["results"] is None
    room.ok(room.console, "round.close", round_id=prune)
    room.ok(room.console, "round.reveal", round_id=prune)
    room.flush()
    results = room.latest(phones[1])["results"]
    row = next(r for r in results["factors"] if r["factor_id"] == target)
    assert (row["keep"], row["remove"], row["majority"]) == (1, 2, "remove")
    assert abs(row["agreement"] - 2 / 3) < 1e-9
    room.ok(room.console, "factor.remove", factor_id=target, reason="Två av tre ville ta bort")
    # Prioritise with dots.
    room.ok(room.console, "step.set", step="prioritise")
    dots = room.ok(room.console, "round.open", method="dots", budget=4, cap=2)["round_id"]
    urban, old = room.factor("Urbanisering"), room.factor("Ensamhet bland äldre")
    removed = room.send(phones[0], "ballot.submit", round_id=dots, entries={str(target): 1})
    assert removed["error"]["code"] == "not_votable"
    room.ok(phones[0], "ballot.submit", round_id=dots, entries={str(urban): 2, str(old): 2})
    room.ok(phones[1], "ballot.submit", round_id=dots, entries={str(urban): 2})
    room.ok(phones[2], "ballot.submit", round_id=dots, entries={str(old): 1})
    room.ok(phones[2], "ballot.submit", round_id=dots, entries={str(old): 2, str(urban): 1})
    room.ok(room.console, "round.close", round_id=dots)
    room.ok(room.console, "round.reveal", round_id=dots)
    room.ok(room.console, "step.set", step="results")
    room.flush()
    board = room.latest(room.board)
    totals = {r["title"]: (r["dots"], r["rank"]) for r in board["results"]["factors"]}
    assert totals["Urbanisering"] == (5, 1)
    assert totals["Ensamhet bland äldre"] == (4, 2)
    room.ok(room.console, "step.set", step="closed")
    room.flush()
    assert room.latest(phones[0])["workshop"]["step"] == "closed"
    locked = room.send(phones[0], "participant.rename", nickname="x")
    assert locked["error"]["code"] == "workshop_closed"


def test_a_reconnecting_phone_gets_its_own_votes_back(room: Room) -> None:
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.ok(room.console, "round.open", method="dots", budget=3, cap=2)["round_id"]
    http, phone = room.phone()
    factor = room.factor("Urbanisering")
    room.ok(phone, "ballot.submit", round_id=round_id, entries={str(factor): 2})
    phone.disconnect()
    again = room.connect(http, "phone")
    me = next(m["args"][0] for m in again.get_received() if m["name"] == "me")
    assert me["ballot"] == {"round_id": round_id, "entries": {str(factor): 2}}
    assert me["participant"]["number"] == 1  # the same participant, not a new one
    assert room.state(room.console)["state"]["participation"]["joined"] == 1


def test_participants_cannot_act_as_facilitator(room: Room) -> None:
    _, phone = room.phone()
    for name, payload in [
        ("step.set", {"step": "complete"}),
        ("factor.add", {"title": "X", "category_id": room.category("Sociala")}),
        ("round.open", {"method": "keep_remove"}),
        ("factor.remove", {"factor_id": room.factor("Urbanisering"), "reason": "nej"}),
    ]:
        answer = room.send(phone, name, **payload)
        assert answer["error"]["code"] == "forbidden", name
    assert room.state(room.console)["state"]["workshop"]["step"] == "prepare"


def test_errors_are_translated_into_the_workshops_language(make_room: Any) -> None:
    swedish = make_room(language="sv")
    _, phone = swedish.phone()
    answer = swedish.send(
        phone, "factor.propose", title="X", category_id=swedish.category("Sociala")
    )
    assert answer["error"]["code"] == "proposals_closed"
    assert (
        answer["error"]["message"]
        == "Faktorer kan bara föreslås medan gruppen lägger till faktorer."
    )
    english = make_room(language="en", factors=[{"title": "Ageing", "category": "Social"}])
    _, phone = english.phone()
    answer = english.send(
        phone, "factor.propose", title="X", category_id=english.category("Social")
    )
    assert (
        answer["error"]["message"]
        == "Factors can only be proposed while the group is adding factors."
    )


def test_error_messages_name_fields_in_the_workshops_language(make_room: Any) -> None:
    english = make_room(language="en", factors=[{"title": "Ageing", "category": "Social"}])
    answer = english.send(
        english.console, "factor.add", title=" ", category_id=english.category("Social")
    )
    assert answer["error"] == {
        "code": "required",
        "message": "The title must not be empty.",
        "field": "title",
    }
    # What people typed is never translated, even when it looks like a field's name.
    english.ok(english.console, "category.add", name="title")
    answer = english.send(english.console, "category.add", name="Title")
    assert answer["error"]["message"] == "The category Title appears twice."
    swedish = make_room(language="sv")
    answer = swedish.send(
        swedish.console, "factor.add", title="", category_id=swedish.category("Sociala")
    )
    assert answer["error"]["message"] == "Fältet ”titel” får inte vara tomt."


def test_state_get_returns_a_snapshot_without_broadcasting(room: Room) -> None:
    _, phone = room.phone()
    room.board.get_received()
    data = room.state(phone)
    assert set(data) == {"state", "me"}
    assert not room.board.get_received()


def test_presence_counts_connected_participants(room: Room) -> None:
    http, first = room.phone()
    room.connect(http, "phone")  # the same person in a second tab
    room.phone()
    room.flush()
    assert room.latest(room.board)["connected"] == 2
    first.disconnect()
    room.flush()
    assert room.latest(room.board)["connected"] == 2  # the second tab is still there


def test_a_bug_in_a_handler_is_answered_not_swallowed(room: Room, monkeypatch: Any) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(room.app.extensions["samsyn"].services.workshops, "execute", broken)
    answer = room.send(room.console, "step.set", step="complete")
    assert answer["ok"] is False and answer["error"]["code"] == "server_error"


def test_the_countdown_comes_from_the_server(room: Room) -> None:
    _, phone = room.phone()
    room.ok(room.console, "timer.set", seconds=120)
    room.flush()
    board, on_phone = room.latest(room.board), room.latest(phone)
    now = datetime.fromisoformat(board["server_time"])
    ends = datetime.fromisoformat(board["timer"]["ends_at"])
    assert timedelta(seconds=119) < ends - now <= timedelta(seconds=120)
    assert on_phone["timer"] == board["timer"] and "server_time" in on_phone
    assert room.send(room.console, "timer.set", seconds=-1)["error"]["code"] == "invalid_input"
    assert room.send(phone, "timer.set", seconds=60)["error"]["code"] == "forbidden"
    room.ok(room.console, "timer.set", seconds=0)
    room.flush()
    assert room.latest(room.board)["timer"] is None


def test_a_phone_connecting_before_the_tick_sees_the_latest_change(
    room: Room, monkeypatch: Any
) -> None:
    """Phones joining in a crowd share the room view the last tick read, but never one
    older than a change they would see: a factor added a moment ago is on the next phone's
    screen at once, and phones joining after it (joins alone) reuse that view."""
    room.phone()
    room.flush()
    added = room.ok(room.console, "factor.add", title="Ny faktor", category_id=1)
    _, late = room.phone()  # before any tick
    titles = {f["title"] for f in room.latest(late)["factors"]}
    assert "Ny faktor" in titles, titles
    room.flush()
    reads: list[int] = []
    room_view = state.room_view
    monkeypatch.setattr(state, "room_view", lambda s, w: reads.append(1) or room_view(s, w))
    crowd = [room.phone()[1] for _ in range(5)]
    assert reads == []  # one view for all of them
    for phone in crowd:
        assert added["factor_id"] in {f["id"] for f in room.latest(phone)["factors"]}


def test_socket_events_leave_no_routing_error_behind(app: Any) -> None:
    """Flask-SocketIO makes a request context for every event from the connection's
    environ. Its path matches a URL rule, over polling and WebSocket alike; unmatched,
    each event would leave a NotFound and its traceback, a reference cycle for the garbage
    collector (thousands a second in a voting room)."""
    websocket = {"Upgrade": "websocket", "Connection": "Upgrade"}
    for headers in ({}, websocket):
        with app.test_request_context("/socket.io/?EIO=4&transport=websocket", headers=headers):
            assert request.routing_exception is None, headers
    with app.test_request_context("/elsewhere/"):
        assert request.routing_exception is not None  # the check itself can fail


def test_a_connections_events_do_not_open_the_cookie_again(room: Room, monkeypatch: Any) -> None:
    """Flask opens the session cookie (decodes it, checks its signature) whenever a request
    context is pushed, and Flask-SocketIO pushes one for every event, then hands the
    handler the copy of the session it keeps for the connection: the events of an open
    connection take that copy without opening the cookie."""
    _, anna = room.phone()
    opened: list[str] = []
    open_session = SecureCookieSessionInterface.open_session

    def counted(self: Any, app: Any, request: Any) -> Any:
        opened.append(request.path)
        return open_session(self, app, request)

    monkeypatch.setattr(SecureCookieSessionInterface, "open_session", counted)
    for _ in range(5):
        assert anna.emit("state.get", callback=True)["ok"]
    assert opened == []
    room.phone()  # a page still reads its cookie
    assert opened
