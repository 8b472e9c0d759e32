"""Socket.IO's rooms, indexed both ways, so that a connection leaves its rooms at once.

Layer: edge (live); imports nothing of the app. python-socketio's client manager (5.x) keeps
each room's members, but not each connection's rooms: a connection that closes is looked
for in every room of its namespace. Every connection has a room of its own and a phone two
more (its screen's and its participant's), so in a room of N phones each departure scans
about 3N rooms, and a crowd leaving at once (the session ends, the venue's wifi drops)
costs N² lookups on the event loop: 7 s of CPU for 10,000 phones, measured, during which
the room's other screens wait. `RoomIndex` keeps each connection's rooms beside them, and
a departure costs the rooms it was in.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from socketio import Manager
from socketio.base_manager import BaseManager


class RoomIndex(BaseManager):  # type: ignore[misc]
    """A client manager that knows each connection's rooms (a mixin: the first base of a
    manager class, see `LocalManager` and cluster.QueueManager). Every change to the rooms
    goes through `basic_enter_room` and `basic_leave_room`, so the index follows them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (namespace, sid) → its rooms in the order entered: None (the namespace's own), its
        # own room (named by its sid) and those it joined.
        self._rooms_of: dict[tuple[str, str], dict[Hashable, None]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Hashable, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Hashable) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                del self._rooms_of[namespace, sid]

    def get_rooms(self, sid: str, namespace: str) -> list[Hashable]:
        """The rooms a connection is in (not counting the namespace's own)."""
        return [room for room in self._rooms_of.get((namespace, sid), {}) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **_kwargs: Any) -> None:
        """As python-socketio's own: the connection leaves its rooms (found in the index,
        not by scanning every room), its callbacks go, and it is no longer about to connect
        or disconnect."""
        for room in list(self._rooms_of.get((namespace, sid), {})):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]


class LocalManager(RoomIndex, Manager):  # type: ignore[misc]
    """The client manager of a process on its own (no message queue)."""
