"""Who follows which series, and what they are sent: the public follow pages, live.

Layer: edge (live); may import live/cluster.py and the layers below. The pages connect to
the `/follow` namespace (follow.py). Services publish every change to the live side
(server.py), which hands it to `Followers` as well as to the broadcaster. Like the
broadcaster, `Followers` only marks what changed; at most every FOLLOW_INTERVAL the ticker
(ticker.py) has it read the public state of the series that followers watch and send it when
it differs from what they were last sent — a vote changes nothing public, so it sends
nothing.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from typing import Any, Protocol

from facilitation.edges.live.cluster import Cluster
from facilitation.queries.views import FollowView
from facilitation.usecases import Change, SeriesChange, SeriesDesk

NAMESPACE = "/follow"
# Seconds between the follow pages' updates at most: a reveal reaches them within this.
FOLLOW_INTERVAL = 1.0


class Emitter(Protocol):
    def emit(self, event: str, data: Any, *, to: str, namespace: str) -> None: ...


def follow_room(series_id: int) -> str:
    return f"follow:{series_id}"


def _digest(view: FollowView) -> str:
    content = {k: v for k, v in view.items() if k != "as_of"}
    return hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=16).hexdigest()


class Followers:
    """Who follows which series in this process, and what each tick sends them."""

    def __init__(
        self, emitter: Emitter, cluster: Cluster, *, interval: float = FOLLOW_INTERVAL
    ) -> None:
        self.emitter = emitter
        self.cluster = cluster
        self.interval = interval
        # The series' use cases it reads through (given once they are built).
        self.series: SeriesDesk | None = None
        self._lock = threading.Lock()
        self._sids: dict[str, int] = {}
        self._watching: Counter[int] = Counter()
        self._series: set[int] = set()
        self._workshops: set[int] = set()
        self._series_of: dict[int, int] = {}
        self._sent: dict[int, str] = {}
        self._next = 0.0

    # --- Presence and marking ----------------------------------------------------------

    def add(self, sid: str, series_id: int, view: FollowView) -> None:
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

    def flush(self) -> None:
        """Send everything pending now (tests use it instead of the ticker)."""
        self.tick(float("inf"))

    def tick(self, now: float) -> None:
        """Send the series that changed their public state, at most every `interval`."""
        if now < self._next or self.series is None:
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
            self._series_of.update(self.series.series_of(unknown))
        series |= {self._series_of[w] for w in workshops if w in self._series_of}
        if not self.cluster.shared:
            series &= watched
        if not series:
            return
        for series_id, view in self.series.follow_views(series).items():
            if view is None:
                # Deleted, or no longer public: the pages say so and get nothing more.
                self.emitter.emit("unpublished", {}, to=follow_room(series_id), namespace=NAMESPACE)
                self._sent.pop(series_id, None)
                continue
            digest = _digest(view)
            if self._sent.get(series_id) != digest:
                self._sent[series_id] = digest
                self.emitter.emit("series", view, to=follow_room(series_id), namespace=NAMESPACE)
