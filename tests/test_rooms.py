"""Socket.IO's rooms indexed both ways (facilitation/edges/live/rooms.py): the same rooms as
python-socketio's own manager after any sequence of connects, joins, leaves, closed rooms
and disconnects, and a departure that looks only at the connection's own rooms."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from bidict import BidictBase
from hypothesis import given, settings
from hypothesis import strategies as st
from socketio import Manager, packet

from facilitation.edges.live.cluster import QueueManager
from facilitation.edges.live.rooms import LocalManager, RoomIndex

NAMESPACES = ["/", "/follow"]
ROOMS = ["board:1", "phone:1", "participant:1", "participant:2", "follow:1"]


def manager(kind: type[Manager]) -> Manager:
    """A client manager with the least of a server it needs: sids and packets."""
    made = kind()
    ids = iter(range(1, 1_000_000))
    made.set_server(
        SimpleNamespace(
            eio=SimpleNamespace(generate_id=lambda: f"sid{next(ids)}"),
            packet_class=packet.Packet,
        )
    )
    return made


def connect(made: Manager, eio_sid: str, namespace: str) -> str | None:
    sid = made.pre_connect(eio_sid, namespace)
    if sid is not None:
        made.connect(sid, namespace)
    return sid


def rooms_of(made: Manager) -> dict[Any, Any]:
    """Every room's members, without the bidicts' internals."""
    return {
        namespace: {room: dict(members) for room, members in rooms.items()}
        for namespace, rooms in made.rooms.items()
    }


operation = st.one_of(
    st.tuples(st.just("connect"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("pre_connect"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("enter"), st.integers(0, 9), st.sampled_from(ROOMS)),
    st.tuples(st.just("leave"), st.integers(0, 9), st.sampled_from(ROOMS)),
    st.tuples(st.just("close"), st.sampled_from(NAMESPACES), st.sampled_from(ROOMS)),
    st.tuples(st.just("pre_disconnect"), st.integers(0, 9), st.none()),
    st.tuples(st.just("disconnect"), st.integers(0, 9), st.none()),
    st.tuples(st.just("callback"), st.integers(0, 9), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_rooms_are_python_socketios_own_after_any_sequence(
    operations: list[tuple[str, Any, Any]],
) -> None:
    ours, theirs = manager(LocalManager), manager(Manager)
    connections: list[tuple[str, str]] = []  # (sid, namespace), the same in both
    for kind, a, b in operations:
        if kind in ("connect", "pre_connect"):
            call = connect if kind == "connect" else lambda m, e, n: m.pre_connect(e, n)
            sid, same = call(ours, f"eio{a}", b), call(theirs, f"eio{a}", b)
            assert sid == same
            if sid is not None:
                connections.append((sid, b))
            continue
        if not connections and kind != "close":
            continue
        if kind == "close":
            for made in (ours, theirs):
                made.close_room(b, a)
            continue
        sid, namespace = connections[a % len(connections)]
        if kind == "enter" and ours.is_connected(sid, namespace):
            for made in (ours, theirs):
                made.enter_room(sid, namespace, b)
        elif kind == "leave":
            for made in (ours, theirs):
                made.leave_room(sid, namespace, b)
        elif kind == "pre_disconnect" and ours.is_connected(sid, namespace):
            for made in (ours, theirs):
                made.pre_disconnect(sid, namespace)
        elif kind == "disconnect":
            for made in (ours, theirs):
                made.disconnect(sid, namespace)
        elif kind == "callback":
            for made in (ours, theirs):
                made._generate_ack_id(sid, print)
        assert rooms_of(ours) == rooms_of(theirs)
        for sid, namespace in connections:
            assert sorted(ours.get_rooms(sid, namespace)) == sorted(
                theirs.get_rooms(sid, namespace)
            )
        assert ours.pending_connect == theirs.pending_connect
        assert ours.pending_disconnect == theirs.pending_disconnect
        assert ours.callbacks.keys() <= theirs.callbacks.keys()


def test_a_departure_looks_only_at_its_own_rooms(monkeypatch: pytest.MonkeyPatch) -> None:
    """300 phones each in three rooms (its own, its screen's, its participant's): the one
    leaving is not looked for in the others' rooms (python-socketio's own manager looks in
    all 900, so a crowd leaving costs the square of its size)."""
    made = manager(LocalManager)
    sids = []
    for number in range(300):
        sid = connect(made, f"eio{number}", "/")
        assert sid is not None
        made.enter_room(sid, "/", "phone:1")
        made.enter_room(sid, "/", f"participant:{number}")
        sids.append(sid)
    looked = 0
    contains = BidictBase.__contains__

    def counted(self: BidictBase[Any, Any], key: Any) -> bool:
        nonlocal looked
        looked += 1
        return contains(self, key)

    monkeypatch.setattr(BidictBase, "__contains__", counted)
    made.disconnect(sids[150], "/")
    monkeypatch.undo()

    assert looked <= 3
    assert made.get_rooms(sids[150], "/") == []
    assert sids[150] not in dict(made.rooms["/"]["phone:1"])
    assert "participant:150" not in made.rooms["/"]
    assert made.get_rooms(sids[151], "/") == [sids[151], "phone:1", "participant:151"]


def test_the_apps_socketio_server_indexes_its_rooms(make_app: Any, redis_url: str) -> None:
    """Alone and with a message queue, the app's one Socket.IO server uses the index."""
    for queue in ("", redis_url):
        app = make_app(MESSAGE_QUEUE_URL=queue)
        used = app.extensions["socketio"].server.manager
        assert isinstance(used, RoomIndex)
        assert isinstance(used, QueueManager if queue else LocalManager)
