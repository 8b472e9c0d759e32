"""Several app processes as one room.

Layer: edge (live); imports nothing of the app but the Redis client. With MESSAGE_QUEUE_URL
set, Socket.IO's Redis manager carries every broadcast to the clients of every process. This
module carries what Socket.IO does not: how many participants are connected to a workshop
through any process (each process keeps the participants it holds in a Redis set of its own,
which expires if the process dies), which processes hold a screen of a workshop, and word to
every process to act on a workshop (check its open facilitator screens again when someone's
access to it may have ended, access.py). Without a message queue, `Alone` answers from this
process alone.

A room's screens meet on one process (deploy/nginx), so most broadcasts need not travel:
the broadcaster sends a workshop's state through the queue only while another process holds
a screen of it (`elsewhere`), and straight to this process's screens otherwise. A process
that begins to hold a workshop is named among its processes within SHARE_EVERY; until then
the others may not send it what changes, so once named it sends its screens of the
workshop their whole state, read from the database after the naming (`Shared.shared`'s
`arrived`): a change committed before the others could see the name is in that read, one
committed after reaches it through the queue.

Each process has one writer of its presence: connecting and leaving only mark a participant
here or gone (presence.py), and the cluster's task writes what changed in one round trip
every SHARE_EVERY seconds, then says which workshops it wrote, so that their boards count
again. One writer keeps the order of arrivals and departures (two handlers writing at once
could leave someone counted who had left), and a crowd coming or going at once costs Redis
one pipeline per pass, not a call per phone.

Redis holds nothing that matters beyond presence: after a Redis restart each process writes
its sets again, and the database stays the truth for everything else.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import redis
from socketio import RedisManager

from facilitation.edges.live.rooms import RoomIndex
from facilitation.infrastructure import redis_client

log = logging.getLogger(__name__)

# Each process writes its whole presence again every REFRESH seconds; a dead process's sets
# expire.
REFRESH = 15.0
EXPIRES = 45
# How often the writer writes what changed (and listens for word in between).
SHARE_EVERY = 0.05
# How long a call to Redis may take, or wait for one of the client's connections.
TIMEOUT = 5.0

Handler = Callable[[int], None]


class QueueManager(RoomIndex, RedisManager):  # type: ignore[misc]
    """Socket.IO's Redis manager, with rooms indexed both ways (rooms.py), saying when it
    has (re)connected. What was broadcast while
    Redis was away is lost, so the broadcaster then sends every screen its state again."""

    def __init__(self, url: str, channel: str, on_connect: Callable[[], None]) -> None:
        super().__init__(url, channel=channel)
        self.on_connect = on_connect

    def _redis_connect(self) -> None:
        # A bounded client (redis_client.py): many greenlets publishing at once wait for a
        # connection instead of being refused.
        self.redis = redis_client.bounded(self.redis_url, timeout=TIMEOUT)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.connected = True
        self.on_connect()

    def emit(self, event: str, data: Any, namespace: str | None = None, **kwargs: Any) -> Any:
        """Emit through the queue, except to one connection of this process: only this
        process holds it, so the others need not hear of it (a phone's state on connecting
        would otherwise be sent to every process, and decoded by each, for nothing)."""
        target = kwargs.get("to") or kwargs.get("room")
        if isinstance(target, str) and target in self.rooms.get(namespace or "/", {}).get(None, {}):
            kwargs["ignore_queue"] = True
        return super().emit(event, data, namespace=namespace, **kwargs)

    def _handle_emit(self, message: dict[str, Any]) -> None:
        """Send a broadcast to this process's members of its room; none here, nothing
        done. Rooms meet on one process (deploy/nginx), so most of what another process
        broadcasts is for rooms held elsewhere, which python-socketio would encode for
        sending all the same."""
        room = message.get("room")
        if isinstance(room, str) and not self.rooms.get(message.get("namespace") or "/", {}).get(
            room
        ):
            return
        super()._handle_emit(message)


class Shared(Protocol):
    """This process's presence, as the cluster shares it (presence.py)."""

    def present(self) -> Mapping[int, set[int]]:
        """The workshops with a screen here, each with the participants connected here."""

    def workshops(self) -> set[int]:
        """The workshops with a screen here."""

    def unshared(self) -> Mapping[int, Mapping[int, bool]]:
        """What changed since last asked, by workshop: each participant who came (True) or
        went (False), the latest of each, and (with no one in it) a workshop whose first
        screen here came or whose last one went; taken, so that it is asked for once."""

    def shared(self, workshop_ids: set[int], arrived: set[int]) -> None:
        """These workshops' presence was written: their counts may have changed. The other
        processes have just learnt that `arrived` have a screen here (see the module's
        text): those screens are sent their whole state."""


class Cluster(Protocol):
    """What presence and the transport need to know about the other processes."""

    shared: bool

    def count(self, workshop_id: int, local: int) -> int: ...
    def elsewhere(self, workshop_id: int) -> bool: ...
    def on(self, kind: str, handler: Handler) -> None: ...
    def tell(self, kind: str, workshop_id: int) -> None: ...
    def run(self, presence: Shared, sleep: Callable[[float], None]) -> None: ...
    def stop(self) -> None: ...


class Alone:
    """One process: it is the whole room."""

    shared = False

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def count(self, workshop_id: int, local: int) -> int:
        return local

    def elsewhere(self, workshop_id: int) -> bool:
        return False

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def tell(self, kind: str, workshop_id: int) -> None:
        self._handlers[kind](workshop_id)

    def run(self, presence: Shared, sleep: Callable[[float], None]) -> None:
        pass

    def stop(self) -> None:
        pass


class RedisCluster:
    """Processes sharing one Redis. Keys and the channel start with `prefix`, so that
    several installations (or test runs) can share a Redis server."""

    shared = True

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis_client.bounded(url, timeout=TIMEOUT, decode_responses=True)
        self.prefix = prefix
        self.process = uuid.uuid4().hex
        self.channel = f"{prefix}:control"
        self._handlers: dict[str, Handler] = {}
        self._running = False
        # The workshops that name this process in Redis, and when all is written again.
        self._written: set[int] = set()
        self._refresh_at = 0.0
        # Redis failed to answer: said once, until it answers again.
        self._away = False

    def _members(self, workshop_id: int, process: str) -> str:
        return f"{self.prefix}:present:{workshop_id}:{process}"

    def _holders(self, workshop_id: int) -> str:
        """The processes holding a screen of the workshop, each scored by when it last said
        so: one that stopped saying so for EXPIRES seconds (it died) is no longer counted,
        even while the others keep the key."""
        return f"{self.prefix}:held:{workshop_id}"

    def _processes(self, workshop_id: int) -> list[str]:
        """The processes holding a screen of the workshop, as written."""
        alive = time.time() - EXPIRES
        return [str(p) for p in self.redis.zrangebyscore(self._holders(workshop_id), alive, "+inf")]

    # --- Presence ---------------------------------------------------------------------

    def count(self, workshop_id: int, local: int) -> int:
        """Participants connected to the workshop through any process (someone connected to
        two processes counts once), as written; `local` when Redis does not answer."""
        try:
            keys = [self._members(workshop_id, p) for p in self._processes(workshop_id)]
            if len(keys) <= 1:
                return int(self.redis.scard(keys[0])) if keys else local
            union = f"{self.prefix}:union:{self.process}"
            with self.redis.pipeline() as pipe:
                pipe.sunionstore(union, keys)
                pipe.delete(union)
                total, _ = pipe.execute()
            return int(total)
        except redis.RedisError as error:
            self._lost(error)
            return local

    def elsewhere(self, workshop_id: int) -> bool:
        """Whether another process holds a screen of the workshop, as written: its
        broadcasts must then go through the queue. False when Redis does not answer (the
        queue would not carry them either; this process's screens still get them, and
        every process sends its screens everything again once Redis is back)."""
        try:
            processes = self._processes(workshop_id)
        except redis.RedisError as error:
            self._lost(error)
            return False
        return any(process != self.process for process in processes)

    def share(self, presence: Shared) -> None:
        """Write what changed in this process's presence since the last pass, in one round
        trip; everything, replacing what Redis holds, every REFRESH seconds and after Redis
        failed (it may have restarted and forgotten). Then say which workshops were written.
        Called by `run` only: one writer per process, so writes keep their order."""
        changes = presence.unshared()
        # Read after the changes were taken: it holds them all.
        if time.monotonic() >= self._refresh_at:
            present = presence.present()
            # Also what was written before: a change lost with a failed pass may be in none.
            written = set(changes) | set(present) | self._written
            # After a failure Redis may have forgotten this process's names: the others
            # may have sent it nothing since.
            arrived = set(present) if self._away else set(present) - self._written
            self._write_all(present)
            self._refresh_at = time.monotonic() + REFRESH
        elif changes:
            held = presence.workshops()
            arrived = (set(changes) & held) - self._written
            self._write_changes(changes, held)
            written = set(changes)
        else:
            return
        if self._away:
            self._away = False
            log.info("presence shared through Redis again")
        presence.shared(written, arrived)

    def _write_changes(self, changes: Mapping[int, Mapping[int, bool]], held: set[int]) -> None:
        with self.redis.pipeline() as pipe:
            for workshop_id, people in changes.items():
                if workshop_id not in held:
                    self._let_go(pipe, workshop_id)
                    continue
                members = self._members(workshop_id, self.process)
                came = [p for p, here in people.items() if here]
                went = [p for p, here in people.items() if not here]
                if came:
                    pipe.sadd(members, *came)
                if went:
                    pipe.srem(members, *went)
                self._keep(pipe, workshop_id)
            pipe.execute()
        self._written = (self._written | (set(changes) & held)) - (set(changes) - held)

    def _write_all(self, present: Mapping[int, set[int]]) -> None:
        with self.redis.pipeline() as pipe:
            for workshop_id in self._written - set(present):
                self._let_go(pipe, workshop_id)
            for workshop_id, people in present.items():
                pipe.delete(self._members(workshop_id, self.process))
                if people:
                    pipe.sadd(self._members(workshop_id, self.process), *people)
                self._keep(pipe, workshop_id)
            pipe.execute()
        self._written = set(present)

    def _keep(self, pipe: Any, workshop_id: int) -> None:
        """Name this process among the workshop's, and keep both for EXPIRES seconds."""
        pipe.expire(self._members(workshop_id, self.process), EXPIRES)
        pipe.zadd(self._holders(workshop_id), {self.process: time.time()})
        pipe.expire(self._holders(workshop_id), EXPIRES)

    def _let_go(self, pipe: Any, workshop_id: int) -> None:
        """No screen of the workshop is left here: no longer named among its processes."""
        pipe.delete(self._members(workshop_id, self.process))
        pipe.zrem(self._holders(workshop_id), self.process)

    def _lost(self, error: Exception) -> None:
        """Redis did not answer: said once; everything is written again once it does."""
        self._refresh_at = 0.0
        if not self._away:
            self._away = True
            log.warning(
                "Redis unavailable (%s): presence not shared, counts are this process's own,"
                " until it answers",
                type(error).__name__,
            )

    # --- Word to every process ----------------------------------------------------------

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def tell(self, kind: str, workshop_id: int) -> None:
        """Run the handler of `kind` here and in every other process."""
        self._handlers[kind](workshop_id)
        message = {"kind": kind, "workshop": workshop_id, "from": self.process}
        try:
            self.redis.publish(self.channel, json.dumps(message))
        except redis.RedisError:
            log.error("%s of workshop %s not told to the other processes", kind, workshop_id)

    def _heard(self, data: str) -> None:
        message: dict[str, Any] = json.loads(data)
        if message.get("from") != self.process and message.get("kind") in self._handlers:
            self._handlers[message["kind"]](int(message["workshop"]))

    def run(self, presence: Shared, sleep: Callable[[float], None]) -> None:
        """Keep this process's presence written and listen for word from the other
        processes, until stopped; Redis going away and coming back is survived."""
        self._running = True
        while self._running:
            try:
                self._listen(presence)
            except redis.RedisError as error:
                self._lost(error)
                sleep(1.0)

    def _listen(self, presence: Shared) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            while self._running:
                self.share(presence)
                message = pubsub.get_message(timeout=SHARE_EVERY)
                if message is not None and message["type"] == "message":
                    try:
                        self._heard(message["data"])
                    except Exception:  # one bad message must not stop the listener
                        log.exception("control message failed")
        finally:
            pubsub.close()

    def stop(self) -> None:
        self._running = False
