"""Who is connected where: the connections of this process, and the rooms they are in.

Layer: edge (live); may import live/cluster.py and the layers below. Presence is the one
thing the live side keeps in memory: it is about live connections, not the workshop, and
is rebuilt as clients reconnect after a restart. With several processes, the cluster
(cluster.py) counts the participants connected through any of them: a participant's first
connection here and their last one closing are only marked, and the cluster's one writer
shares what changed (`unshared`), then says so (`on_shared`).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from facilitation.edges.live.cluster import Alone, Cluster
from facilitation.usecases import Actor

BOARD, CONSOLE, PHONE = "board", "console", "phone"
VIEWS = (BOARD, CONSOLE, PHONE)


def room(view: str, workshop_id: int) -> str:
    """The Socket.IO room of one kind of screen of one workshop."""
    return f"{view}:{workshop_id}"


def participant_room(participant_id: int) -> str:
    """Every connection of one participant (several tabs or devices share a cookie)."""
    return f"participant:{participant_id}"


@dataclass(frozen=True)
class Connection:
    actor: Actor
    view: str
    workshop_id: int
    language: str
    participant_id: int | None = None
    # A phone page on which the facilitator votes for a proxy participant.
    proxy: bool = False
    # The facilitator secret or console key that opened a board, console or proxy page:
    # checked again whenever someone's access to the workshop may have ended (access.py).
    secret: str | None = None

    @property
    def by_facilitator(self) -> bool:
        """Whether the facilitator secret opened this connection (board, console, proxy)."""
        return self.proxy or self.participant_id is None

    @property
    def rate_key(self) -> tuple[str, int]:
        """Whose pace a command counts against: the participant's (every tab of theirs), or
        the workshop's facilitator's."""
        if self.participant_id is not None:
            return ("participant", self.participant_id)
        return ("facilitator", self.workshop_id)


class Presence:
    """The connections of this process, by Socket.IO session id; with several processes,
    the cluster counts the participants connected through any of them."""

    def __init__(self, cluster: Cluster | None = None) -> None:
        self.cluster = cluster or Alone()
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._participants: dict[int, Counter[int]] = defaultdict(Counter)
        self._views: dict[int, Counter[str]] = defaultdict(Counter)
        # Connections by workshop, of every view.
        self._held: Counter[int] = Counter()
        # With other processes: who came (True) or went (False) since the cluster last
        # wrote, by workshop (with no one, a workshop whose first connection here came or
        # whose last went); who hears that the cluster wrote a workshop's presence, and
        # who hears that the other processes have learnt of a workshop's first connection.
        self._unshared: dict[int, dict[int, bool]] = defaultdict(dict)
        self.on_shared: Callable[[int], None] | None = None
        self.on_arrived: Callable[[set[int]], None] | None = None

    def add(self, sid: str, connection: Connection) -> None:
        workshop_id, participant_id = connection.workshop_id, connection.participant_id
        with self._lock:
            self._connections[sid] = connection
            self._views[workshop_id][connection.view] += 1
            self._held[workshop_id] += 1
            if self.cluster.shared and self._held[workshop_id] == 1:
                self._unshared.setdefault(workshop_id, {})  # its first connection here
            if participant_id is not None:
                self._participants[workshop_id][participant_id] += 1
                if self.cluster.shared and self._participants[workshop_id][participant_id] == 1:
                    self._unshared[workshop_id][participant_id] = True

    def remove(self, sid: str) -> Connection | None:
        with self._lock:
            connection = self._connections.pop(sid, None)
            if connection is None:
                return None
            workshop_id, participant_id = connection.workshop_id, connection.participant_id
            self._views[workshop_id][connection.view] -= 1
            self._held[workshop_id] -= 1
            if self._held[workshop_id] <= 0:
                del self._held[workshop_id]
                if self.cluster.shared:
                    self._unshared.setdefault(workshop_id, {})  # its last one gone
            if participant_id is not None:
                people = self._participants[workshop_id]
                people[participant_id] -= 1
                if people[participant_id] <= 0:
                    del people[participant_id]
                    if self.cluster.shared:
                        self._unshared[workshop_id][participant_id] = False
        return connection

    def present(self) -> dict[int, set[int]]:
        """The workshops with a connection to this process, each with the participants
        connected to it."""
        with self._lock:
            return {w: set(self._participants.get(w, ())) for w in self._held}

    def unshared(self) -> dict[int, dict[int, bool]]:
        """Who came or went since last asked, by workshop (see cluster.Shared); taken."""
        with self._lock:
            changes, self._unshared = self._unshared, defaultdict(dict)
        return dict(changes)

    def shared(self, workshop_ids: set[int], arrived: set[int]) -> None:
        """The cluster wrote these workshops' presence: their counts are read again. The
        other processes have just learnt that `arrived` have a connection here: they may
        not have sent it what changed until now (cluster.py), so its screens are sent their
        whole state."""
        if self.on_shared is not None:
            for workshop_id in workshop_ids:
                self.on_shared(workshop_id)
        if arrived and self.on_arrived is not None:
            self.on_arrived(arrived)

    def workshops(self) -> set[int]:
        """The workshops with a connection to this process."""
        with self._lock:
            return set(self._held)

    def get(self, sid: str) -> Connection | None:
        return self._connections.get(sid)

    def facilitator_screens(self, workshop_ids: set[int]) -> dict[int, dict[str, str | None]]:
        """The boards, consoles and proxy pages of these workshops in this process: by
        workshop, each session id with the secret or console key that opened it."""
        screens: dict[int, dict[str, str | None]] = defaultdict(dict)
        with self._lock:
            for sid, c in self._connections.items():
                if c.by_facilitator and c.workshop_id in workshop_ids:
                    screens[c.workshop_id][sid] = c.secret
        return dict(screens)

    def facilitated(self) -> set[int]:
        """The workshops with a board, console or proxy page open in this process."""
        with self._lock:
            return {c.workshop_id for c in self._connections.values() if c.by_facilitator}

    def by_view(self) -> dict[str, int]:
        """Connections open now, by view, over all workshops."""
        with self._lock:
            totals: Counter[str] = Counter({view: 0 for view in VIEWS})
            for connection in self._connections.values():
                totals[connection.view] += 1
            return dict(totals)

    def participants(self, workshop_id: int) -> int:
        """Participants with at least one connection open (to any process)."""
        return self.cluster.count(workshop_id, len(self._participants.get(workshop_id, ())))

    def watching(self, workshop_id: int, view: str) -> int:
        """Connections of this process showing `view` of the workshop."""
        return self._views.get(workshop_id, Counter())[view]

    def may_watch(self, workshop_id: int, view: str) -> bool:
        """Whether any process may have a connection showing `view` of the workshop."""
        return self.cluster.shared or self.watching(workshop_id, view) > 0
