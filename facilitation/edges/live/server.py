"""The live side in one place: its namespaces, its presence, its one ticker, and where the
services' changes arrive.

Layer: edge (live); may import the live side's modules and the layers below, never the HTTP
side. create_app makes the Socket.IO server and the cluster (one process, or several through
Redis) and builds `Live` with them; the handlers reach its parts through `samsyn()`
(parts.py). Nothing here imports a Socket.IO server: the one create_app made is handed in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask_socketio import SocketIO

from facilitation.edges.live import follow, realtime
from facilitation.edges.live.access import ACCESS, Gatekeeper
from facilitation.edges.live.broadcast import Broadcaster
from facilitation.edges.live.cluster import Cluster
from facilitation.edges.live.followers import NAMESPACE as FOLLOW
from facilitation.edges.live.followers import Followers
from facilitation.edges.live.presence import Presence
from facilitation.edges.live.ticker import Ticker
from facilitation.infrastructure.metrics import Metrics
from facilitation.usecases import AccessEnded, Change, SeriesChange, Services

# The namespaces, each with what gives the server its handlers: the workshops' screens
# (boards, consoles, phones) and the public follow pages of series.
NAMESPACES: dict[str, Callable[[SocketIO], None]] = {
    "/": realtime.register,
    FOLLOW: follow.register,
}


class Live:
    """The live side of one app: presence, the broadcaster, the gatekeeper, the followers
    and the ticker that drives them, on the Socket.IO server handed in."""

    def __init__(
        self,
        socketio: SocketIO,
        cluster: Cluster,
        *,
        board_interval: float,
        phone_interval: float,
        metrics: Metrics,
    ) -> None:
        self.socketio = socketio
        self.cluster = cluster
        self.presence = Presence(cluster)
        self.broadcaster = Broadcaster(
            socketio,
            self.presence,
            board_interval=board_interval,
            phone_interval=phone_interval,
            metrics=metrics,
        )
        # The cluster wrote a workshop's presence: its boards count again; the other
        # processes have learnt that this one holds a workshop: its screens here are sent
        # everything (cluster.py).
        self.presence.on_shared = self.broadcaster.presence_changed
        self.presence.on_arrived = self.broadcaster.resync
        self.gatekeeper = Gatekeeper(
            self.presence, cluster, functools.partial(realtime.disconnect_screen, socketio)
        )
        # Word from any process that someone's access to a workshop may have ended.
        cluster.on(ACCESS, self.gatekeeper.check)
        self.followers = Followers(socketio, cluster)
        self.ticker = Ticker(socketio.sleep)
        self.ticker.on_late = metrics.event_loop_lag.observe
        self.ticker.every(self.broadcaster.board_interval, "broadcast tick", self.broadcaster.tick)
        self.ticker.every(
            self.broadcaster.phone_interval, "voters' own views", self.broadcaster.send_voters
        )
        self.ticker.every(self.followers.interval, "follow tick", self.followers.tick)
        self.ticker.every(self.gatekeeper.interval, "access check", self.gatekeeper.tick)
        for register in NAMESPACES.values():
            register(socketio)
        socketio.on_error_default(realtime.on_error)

    def attach(self, services: Services) -> None:
        """The use cases the broadcaster, the gatekeeper and the followers read through, each
        its area's: built after this, since this is their publisher."""
        self.broadcaster.workshops = services.workshops
        self.gatekeeper.workshops = services.workshops
        self.followers.series = services.series

    def publish(self, change: Change) -> None:
        """Called by the services after a commit: workshop changes to the broadcaster, every
        change to the follow pages; access that may have ended to the gatekeeper alone
        (nothing anyone sees changed). Nothing is sent now: the ticker sends it."""
        if isinstance(change, AccessEnded):
            self.gatekeeper.publish(change)
            return
        if not isinstance(change, SeriesChange):
            self.broadcaster.publish(change)
        self.followers.publish(change)

    def start(self) -> None:
        """Start the ticker, and the cluster's task: this process's presence shared with
        the other processes, and word from them (cluster.py; it waits on Redis, so it has a
        task of its own, and a Redis away never holds the ticker)."""
        self.ticker.start(self.socketio.start_background_task)
        self.socketio.start_background_task(self.cluster.run, self.presence, self.socketio.sleep)
