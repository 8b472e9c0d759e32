"""The public follow page, live: a read-only Socket.IO namespace, `/follow`, for anyone with
the page's address — no cookie, no commands, nothing private — that is sent the series'
public state whenever it changes: when one of its workshops reveals a round, changes step,
or the organizers change the series.

Layer: transport. Apart from realtime.py and broadcast.py on purpose: its own namespace,
its own handlers and its own coalescing loop. Services publish through `Fanout`, which hands
workshop changes to the broadcaster as before and to `Followers` as well. Like the
broadcaster, `Followers` only marks what changed; at most every FOLLOW_INTERVAL it reads the
public state of the series that followers watch and sends it when it differs from what they
were last sent — a vote changes nothing public, so it sends nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from typing import Any, Protocol

from flask import request
from flask_socketio import ConnectionRefusedError, emit, join_room

from facilitation.core.domain import DomainError
from facilitation.edges.extension import samsyn, wrong_code
from facilitation.edges.live.access import Gatekeeper
from facilitation.edges.live.broadcast import Broadcaster
from facilitation.edges.live.cluster import Cluster
from facilitation.edges.live.realtime import socketio
from facilitation.usecases import AccessEnded, Change, Services
from facilitation.usecases.series import SeriesChange

log = logging.getLogger(__name__)

NAMESPACE = "/follow"
# Seconds between the follow pages' updates at most: a reveal reaches them within this.
FOLLOW_INTERVAL = 1.0


class Emitter(Protocol):
    def emit(self, event: str, data: Any, *, to: str, namespace: str) -> None: ...
    def sleep(self, seconds: float) -> None: ...
    def start_background_task(self, target: Any) -> Any: ...


def follow_room(series_id: int) -> str:
    return f"follow:{series_id}"


def _digest(view: dict[str, Any]) -> str:
    content = {k: v for k, v in view.items() if k != "as_of"}
    return hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=16).hexdigest()


class Followers:
    """Who follows which series in this process, and the loop that sends them its state."""

    def __init__(
        self, emitter: Emitter, cluster: Cluster, *, interval: float = FOLLOW_INTERVAL
    ) -> None:
        self.emitter = emitter
        self.cluster = cluster
        self.interval = interval
        self.services: Services | None = None
        self._lock = threading.Lock()
        self._sids: dict[str, int] = {}
        self._watching: Counter[int] = Counter()
        self._series: set[int] = set()
        self._workshops: set[int] = set()
        self._series_of: dict[int, int] = {}
        self._sent: dict[int, str] = {}
        self._next = 0.0
        self._running = False

    # --- Presence and marking ----------------------------------------------------------

    def add(self, sid: str, series_id: int, view: dict[str, Any]) -> None:
        with self._lock:
            self._sids[sid] = series_id
            self._watching[series_id] += 1
            self._sent.setdefault(series_id, _digest(view))

    def remove(self, sid: str) -> None:
        with self._lock:
            series_id = self._sids.pop(sid, None)
            if series_id is not None:
                self._watching[series_id] -= 1
                if self._watching[series_id] <= 0:
                    del self._watching[series_id]

    def watched(self) -> int:
        """Follow pages connected to this process."""
        with self._lock:
            return len(self._sids)

    def publish(self, change: Change) -> None:
        """A committed change: the series' follow pages are sent their state on a next tick."""
        with self._lock:
            if isinstance(change, SeriesChange):
                self._series.add(change.series_id)
            else:
                self._workshops.add(change.workshop_id)

    # --- Sending -----------------------------------------------------------------------

    def start(self) -> None:
        if not self._running:
            self._running = True
            self.emitter.start_background_task(self._run)

    def stop(self) -> None:
        self._running = False

    def _run(self) -> None:
        while self._running:
            self.emitter.sleep(self.interval)
            try:
                self.tick(time.monotonic())
            except Exception:  # the loop must outlive one bad tick
                log.exception("follow tick failed")

    def flush(self) -> None:
        """Send everything pending now (tests use it instead of the loop)."""
        self.tick(float("inf"))

    def tick(self, now: float) -> None:
        if now < self._next or self.services is None:
            return
        self._next = now + self.interval
        with self._lock:
            series, self._series = self._series, set()
            workshops, self._workshops = self._workshops, set()
            watched = set(self._watching)
        # With several processes, followers may be connected to another one.
        if not watched and not self.cluster.shared:
            return
        unknown = {w for w in workshops if w not in self._series_of}
        if unknown:
            self._series_of.update(self.services.series_of(unknown))
        series |= {self._series_of[w] for w in workshops if w in self._series_of}
        if not self.cluster.shared:
            series &= watched
        if not series:
            return
        for series_id, view in self.services.follow_views(series).items():
            if view is None:
                # Deleted, or no longer public: the pages say so and get nothing more.
                self.emitter.emit("unpublished", {}, to=follow_room(series_id), namespace=NAMESPACE)
                self._sent.pop(series_id, None)
                continue
            digest = _digest(view)
            if self._sent.get(series_id) != digest:
                self._sent[series_id] = digest
                self.emitter.emit("series", view, to=follow_room(series_id), namespace=NAMESPACE)


class Fanout:
    """The services' publisher: workshop changes to the broadcaster (as before) and every
    change to the follow pages; access that may have ended to the gatekeeper alone (nothing
    anyone sees changed)."""

    def __init__(
        self, broadcaster: Broadcaster, followers: Followers, gatekeeper: Gatekeeper | None = None
    ) -> None:
        self.broadcaster = broadcaster
        self.followers = followers
        self.gatekeeper = gatekeeper

    def publish(self, change: Change) -> None:
        if isinstance(change, AccessEnded):
            if self.gatekeeper is not None:
                self.gatekeeper.publish(change)
            return
        if not isinstance(change, SeriesChange):
            self.broadcaster.publish(change)
        self.followers.publish(change)


def _followers() -> Followers:
    followers = samsyn().followers
    assert followers is not None
    return followers


@socketio.on("connect", namespace=NAMESPACE)
def follow_connect(auth: Any = None) -> None:
    """Sent by a follow page with {"series": <follow code>}, without a cookie. Refused with
    `unknown_series` unless the series is public (`too_many_tries` after many wrong codes
    from one address); otherwise the page gets `series`, the public state, at once."""
    code = str(auth.get("series", ""))[:64] if isinstance(auth, dict) else ""
    parts = samsyn()
    if not parts.join_limit.has_tokens(request.remote_addr or ""):
        raise ConnectionRefusedError("too_many_tries")
    try:
        view = parts.services.follow_view(code)
    except DomainError:
        wrong_code()
        raise ConnectionRefusedError("unknown_series") from None
    series_id = view.pop("id")
    _followers().add(request.sid, series_id, view)  # type: ignore[attr-defined]
    join_room(follow_room(series_id))
    emit("series", view)


@socketio.on("disconnect", namespace=NAMESPACE)
def follow_disconnect(*_: Any) -> None:
    """A follow page went away."""
    _followers().remove(request.sid)  # type: ignore[attr-defined]
