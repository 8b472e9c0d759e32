"""Coalesced broadcasts: the tick that sends each room of a workshop its state.

Layer: edge (live); may import live/presence.py and the layers below. Services call
`publish(change)` after they commit; nothing is sent then. Every BOARD_INTERVAL the ticker
(ticker.py) calls `tick`, which reads each changed workshop's state from the database once
and sends it to the boards and consoles; phones get the room's state at most every
PHONE_INTERVAL, and only when something they show has changed (a vote changes the board's
participation count, not the phones'). A vote therefore never causes a message per phone:
the cost grows with changes per tick, not with votes × clients. People joining change only
the boards' and consoles' counts: a room that only took newcomers is read again at most
every JOINED_INTERVAL, not on every tick while a crowd scans the QR code (the count of who
is connected still follows every tick, from the view last read).

Ballots (while results are hidden) and people joining change only those counts, the
version, and the voters' own views. A room whose only changes since its last read were
these is not read whole again: its counts and version are, and the views last read are
sent with them. That holds only if this process knows every version since: each such
change says the version it committed, and a version it did not hear of (a change made by
another process, or one not yet published) makes the tick read the whole room
(`WorkshopDesk.recount`). The voters' own views follow at the phones' pace, as each voting
phone has its ballot in its acknowledgement already: read together every PHONE_INTERVAL by
a job of their own (`send_voters`), so that the boards' tick stays short, or with the next
whole read, whichever comes first.

With several processes, a workshop's state goes through the message queue only while
another process holds a screen of it (cluster.py); a room's screens meet on one process, so
mostly it is sent straight to this process's screens, unencoded for the queue and unheard
by the others. Each process sends boards the count of participants connected through any
of them, as Redis holds it when it reads it. Two processes reading a moment apart can reach
the boards in the other order, the older count last; so every RECOUNT seconds each process
counts again the workshops it sent, and sends a count that differs from the one it sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any, Protocol

from facilitation.edges.live.presence import (
    BOARD,
    CONSOLE,
    PHONE,
    VIEWS,
    Presence,
    participant_room,
    room,
)
from facilitation.infrastructure.metrics import Metrics
from facilitation.queries.views import (
    BoardState,
    ConsoleState,
    ConsoleView,
    Me,
    PhoneState,
    PhoneView,
    RoomView,
)
from facilitation.usecases import Change, WorkshopDesk, phone_view

log = logging.getLogger(__name__)

# With several processes: how often the counts sent are checked against Redis again.
RECOUNT = 1.0
# The longest a room that only took newcomers waits to be read and sent again.
JOINED_INTERVAL = 1.0


class Emitter(Protocol):
    def emit(self, event: str, data: Any, *, to: str, ignore_queue: bool = False) -> None: ...


class Broadcaster:
    """Marks workshops dirty on `publish` and sends their state on the next tick."""

    def __init__(
        self,
        emitter: Emitter,
        presence: Presence,
        *,
        board_interval: float,
        phone_interval: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.emitter = emitter
        # The workshops' use cases it reads the screens through: given once they are built,
        # since this is their publisher (before then, nothing is published).
        self.workshops: WorkshopDesk | None = None
        self.presence = presence
        self.board_interval = board_interval
        self.phone_interval = phone_interval
        self._lock = threading.Lock()
        self._changed: set[int] = set()
        # Workshops that only took newcomers since they were sent, and when each may be
        # read again for that; those whose only changes were ballots.
        self._joined: set[int] = set()
        self._next_joined: dict[int, float] = {}
        self._voted: set[int] = set()
        # Voters whose own views wait for `send_voters`, by workshop (the ticker's).
        self._voters: dict[int, set[int]] = {}
        # The versions that joins and ballots made since each workshop was last read (see
        # `_send_counts`), and its console's view as last read (the room's: `_room_views`).
        self._count_versions: dict[int, set[int]] = defaultdict(set)
        self._console_views: dict[int, ConsoleView] = {}
        self._people: dict[int, set[int]] = defaultdict(set)
        self._presence_changed: set[int] = set()
        self._room_views: dict[int, RoomView] = {}
        # Changes that phones see, counted per workshop; a room view is good for phones
        # while the count it was read under still holds (see `room_view_for_phones`).
        self._phone_changes: Counter[int] = Counter()
        self._read_under: dict[int, int] = {}
        self._phone_pending: dict[int, PhoneView] = {}
        self._phone_digest: dict[int, str] = {}
        self._next_phone_tick = 0.0
        self.metrics = metrics
        # When each changed workshop was first published since it was last sent.
        self._since: dict[int, float] = {}
        # With several processes: the count each workshop's boards were last sent from here.
        self._counted: dict[int, int] = {}
        self._next_recount = 0.0
        # Whether only this process holds a screen of each workshop sent this tick: asked of
        # the cluster once a tick (after the tick took its changes, see cluster.py).
        self._only_here: dict[int, bool] = {}

    # --- Marking -----------------------------------------------------------------------

    def publish(self, change: Change) -> None:
        """Called by services after a commit: the workshop is sent out on the next tick."""
        with self._lock:
            self._people[change.workshop_id].update(change.participants)
            if (change.joined or change.voted) and change.version is not None:
                self._count_versions[change.workshop_id].add(change.version)
            if change.joined:
                self._joined.add(change.workshop_id)
                return
            (self._voted if change.voted else self._changed).add(change.workshop_id)
            self._since.setdefault(change.workshop_id, time.monotonic())
            self._phone_changes[change.workshop_id] += 1

    def room_view_for_phones(self, workshop_id: int) -> RoomView | None:
        """The room's view as last read, if nothing that phones see has changed since
        (people joining change only the board's count); None otherwise. A phone connecting
        is given it instead of a fresh read: when a room joins at once, one read serves all."""
        with self._lock:
            if self._read_under.get(workshop_id) != self._phone_changes[workshop_id]:
                return None
            return self._room_views.get(workshop_id)

    def resync(self, workshop_ids: set[int] | None = None) -> None:
        """Send every screen connected here (of these workshops) its whole state again,
        phones and their own ballots included: the message queue came back, and what it
        carried meanwhile was lost; or the other processes have just learnt that this one
        holds the workshops (cluster.py)."""
        present = self.presence.present()
        with self._lock:
            for workshop_id in present if workshop_ids is None else workshop_ids & set(present):
                self._changed.add(workshop_id)
                self._people[workshop_id].update(present[workshop_id])
                self._phone_digest.pop(workshop_id, None)

    def presence_changed(self, workshop_id: int) -> None:
        """Someone connected or left: boards and consoles show the new count."""
        with self._lock:
            self._presence_changed.add(workshop_id)

    # --- Sending ---------------------------------------------------------------------

    def flush(self) -> None:
        """Send everything pending now, phones included (tests use it instead of the ticker)."""
        self.tick(float("inf"))
        self.send_voters(float("inf"))
        self._next_joined.clear()  # the intervals start again from the next tick

    def tick(self, now: float) -> None:
        """Send what changed since the last tick (the ticker calls it every `board_interval`);
        phones only once `phone_interval` has passed since their last send."""
        with self._lock:
            joined = {w for w in self._joined if now >= self._next_joined.get(w, 0.0)}
            whole, self._changed = self._changed, set()
            voted, self._voted = self._voted, set()
            changed = whole | joined | voted
            self._joined -= changed
            people, self._people = self._people, defaultdict(set)
            since = {w: self._since.pop(w) for w in changed if w in self._since}
            presence_only = self._presence_changed - changed
            self._presence_changed = set()
        self._only_here.clear()
        for workshop_id in changed:
            self._next_joined[workshop_id] = now + JOINED_INTERVAL
            who = people.get(workshop_id, set())
            if workshop_id not in whole and self._send_counts(workshop_id):
                if who:  # voters: their own views follow at the phones' pace
                    self._voters.setdefault(workshop_id, set()).update(who)
            else:
                self._count_read("whole")
                self._send_workshop(workshop_id, who | self._voters.pop(workshop_id, set()))
            if self.metrics is not None and workshop_id in since:
                self.metrics.broadcast_lag.observe(time.monotonic() - since[workshop_id])
        for workshop_id in presence_only:
            cached = self._room_views.get(workshop_id)
            if cached is None:
                self._send_workshop(workshop_id, set())
            else:
                self._send_board(workshop_id, cached)
        if self.presence.cluster.shared and now >= self._next_recount:
            self._next_recount = now + RECOUNT
            self._recount(skip=changed | presence_only)
        if now >= self._next_phone_tick:
            self._next_phone_tick = now + self.phone_interval
            pending, self._phone_pending = self._phone_pending, {}
            for workshop_id, view in pending.items():
                phones: PhoneState = {**view, "server_time": server_time()}
                self._emit(workshop_id, "state", phones, to=room(PHONE, workshop_id))

    def _send_workshop(self, workshop_id: int, people: set[int]) -> None:
        with self._lock:
            # Taken before reading: a change published meanwhile makes this read too old.
            changes = self._phone_changes[workshop_id]
        read = self._read(
            workshop_id, console=self.presence.may_watch(workshop_id, CONSOLE), people=people
        )
        if read is None:
            # Deleted: say so to every screen of it, once, and forget it.
            for screen in VIEWS:
                self._emit(workshop_id, "deleted", {}, to=room(screen, workshop_id))
            self._forget(workshop_id)
            return
        room_view, console_view, personal = read
        self._keep_and_send(workshop_id, changes, room_view, console_view, personal)
        phones = phone_view(room_view)
        digest = _digest({k: v for k, v in phones.items() if k != "version"})
        if self._phone_digest.get(workshop_id) != digest:
            self._phone_digest[workshop_id] = digest
            self._phone_pending[workshop_id] = phones

    def _send_counts(self, workshop_id: int) -> bool:
        """Send the screens of a workshop whose only changes were people joining and
        ballots the views last read with the new counts and version, read in a few small
        queries instead of the whole state; False, with nothing sent, when that will not
        do: nothing read yet, results showing live (the ballots change them), a console
        without its view, or a change this process did not make or has not heard of yet
        (`WorkshopDesk.recount`)."""
        room_view = self._room_views.get(workshop_id)
        if room_view is None or room_view["results"] is not None:
            return False
        console_view = None
        if self.presence.may_watch(workshop_id, CONSOLE):
            console_view = self._console_views.get(workshop_id)
            if console_view is None:
                return False
        with self._lock:
            counted = set(self._count_versions.get(workshop_id, ()))
            changes = self._phone_changes[workshop_id]  # taken before reading
        assert self.workshops is not None, "a change came before the use cases were given"
        shown = room_view["round"]
        read = self.workshops.recount(
            workshop_id,
            round_id=shown["id"] if shown else None,
            since=room_view["version"],
            counted=counted,
        )
        if read is None:
            self._count_read("counts_refused")
            return False
        self._count_read("counts")
        version, participation = read
        if console_view is not None:
            console_view = {**console_view, "version": version, "participation": participation}
        room_view = {**room_view, "version": version, "participation": participation}
        self._keep_and_send(workshop_id, changes, room_view, console_view, {})
        return True

    def send_voters(self, _now: float) -> None:
        """Send the voters waiting for their own views theirs, read together for each
        workshop (the ticker calls it every `phone_interval`)."""
        waiting, self._voters = self._voters, {}
        self._only_here.clear()  # asked again: a job of its own, not the tick's
        for workshop_id, voters in waiting.items():
            assert self.workshops is not None, "a change came before the use cases were given"
            views = self.workshops.own_views(workshop_id, voters) or {}  # None: deleted
            for participant_id, view in views.items():
                self._emit(workshop_id, "me", view, to=participant_room(participant_id))

    def _keep_and_send(
        self,
        workshop_id: int,
        changes: int,
        room_view: RoomView,
        console_view: ConsoleView | None,
        personal: dict[int, Me],
    ) -> None:
        """Keep the views just read (under `changes`, the count of changes phones see taken
        before reading) for the next ticks and for phones connecting, and send them to the
        boards and consoles, and each participant theirs."""
        with self._lock:
            self._room_views[workshop_id] = room_view
            self._read_under[workshop_id] = changes
            self._forget_versions(workshop_id, up_to=room_view["version"])
        if console_view is None:
            self._console_views.pop(workshop_id, None)
        else:
            self._console_views[workshop_id] = console_view
        self._send_board(workshop_id, room_view, console_view)
        for participant_id, view in personal.items():
            self._emit(workshop_id, "me", view, to=participant_room(participant_id))

    def _count_read(self, read: str) -> None:
        if self.metrics is not None:
            self.metrics.room_reads.labels(read=read).inc()

    def _forget_versions(self, workshop_id: int, *, up_to: int) -> None:
        """The versions joins and ballots made up to one just read: in what was read."""
        versions = self._count_versions.get(workshop_id)
        if versions:
            versions.difference_update([v for v in versions if v <= up_to])

    def _recount(self, skip: set[int]) -> None:
        """Send again the boards of workshops whose count is not the one sent from here (see
        the module's text); a workshop no longer connected here is let go once it is."""
        here = self.presence.workshops()
        for workshop_id, sent in list(self._counted.items()):
            if workshop_id in skip:
                continue
            connected = self.presence.participants(workshop_id)
            cached = self._room_views.get(workshop_id)
            if connected != sent and cached is not None:
                self._send_board(workshop_id, cached, connected=connected)
            elif workshop_id not in here:
                del self._counted[workshop_id]

    def _send_board(
        self,
        workshop_id: int,
        room_view: RoomView,
        console_view: ConsoleView | None = None,
        *,
        connected: int | None = None,
    ) -> None:
        if connected is None:
            connected = self.presence.participants(workshop_id)
        if self.presence.cluster.shared:
            self._counted[workshop_id] = connected
        now = server_time()
        board: BoardState = {**room_view, "connected": connected, "server_time": now}
        self._emit(workshop_id, "state", board, to=room(BOARD, workshop_id))
        if console_view is None and self.presence.may_watch(workshop_id, CONSOLE):
            read = self._read(workshop_id, console=True, people=set())
            console_view = read[1] if read else None
        if console_view is not None:
            console: ConsoleState = {**console_view, "connected": connected, "server_time": now}
            self._emit(workshop_id, "state", console, to=room(CONSOLE, workshop_id))

    def _emit(self, workshop_id: int, event: str, data: Any, *, to: str) -> None:
        """Send to a room of the workshop: through the message queue only if another process
        holds a screen of it."""
        only_here = self._only_here.get(workshop_id)
        if only_here is None:
            only_here = self._only_here[workshop_id] = not self.presence.cluster.elsewhere(
                workshop_id
            )
        self.emitter.emit(event, data, to=to, ignore_queue=only_here)

    def _read(
        self, workshop_id: int, *, console: bool, people: set[int]
    ) -> tuple[RoomView, ConsoleView | None, dict[int, Me]] | None:
        """The room's view, the console's (when asked for) and the personal views of
        `people`, from one read transaction; None if the workshop is gone."""
        assert self.workshops is not None, "a change came before the use cases were given"
        return self.workshops.screens(workshop_id, console=console, people=people)

    def _forget(self, workshop_id: int) -> None:
        with self._lock:
            self._joined.discard(workshop_id)
            self._count_versions.pop(workshop_id, None)
        self._voters.pop(workshop_id, None)
        for cache in (
            self._next_joined,
            self._room_views,
            self._console_views,
            self._phone_pending,
            self._phone_digest,
            self._phone_changes,
            self._read_under,
            self._counted,
        ):
            cache.pop(workshop_id, None)


def server_time() -> str:
    """Now, as every message states it: clients count the timer down from the server's clock,
    not their own."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(data: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(data, sort_keys=True).encode(), digest_size=16).hexdigest()
