"""Several app processes as one room.

Layer: edge (live); imports nothing of the app. With MESSAGE_QUEUE_URL set, Socket.IO's
Redis manager carries every broadcast to the clients of every process. This module carries
the two things Socket.IO does not: how many participants are connected to a workshop through
any process (each process keeps the participants it holds in a Redis set of its own, which
expires if the process dies), and word to every process to act on a workshop (check its open
facilitator screens again when someone's access to it may have ended, access.py). Without a
message queue, `Alone` answers from this process alone.

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

log = logging.getLogger(__name__)

# Each process writes its presence again every REFRESH seconds; a dead process's sets expire.
REFRESH = 15.0
EXPIRES = 45

Handler = Callable[[int], None]


class QueueManager(RedisManager):  # type: ignore[misc]
    """Socket.IO's Redis manager, saying when it has (re)connected. What was broadcast while
    Redis was away is lost, so the broadcaster then sends every screen its state again."""

    def __init__(self, url: str, channel: str, on_connect: Callable[[], None]) -> None:
        super().__init__(url, channel=channel)
        self.on_connect = on_connect

    def _redis_connect(self) -> None:
        super()._redis_connect()
        self.on_connect()


Present = Callable[[], Mapping[int, set[int]]]


class Cluster(Protocol):
    """What presence and the transport need to know about the other processes."""

    shared: bool

    def arrived(self, workshop_id: int, participant_id: int) -> None: ...
    def departed(self, workshop_id: int, participant_id: int) -> None: ...
    def count(self, workshop_id: int, local: int) -> int: ...
    def on(self, kind: str, handler: Handler) -> None: ...
    def tell(self, kind: str, workshop_id: int) -> None: ...
    def run(self, present: Present, sleep: Callable[[float], None]) -> None: ...
    def stop(self) -> None: ...


class Alone:
    """One process: it is the whole room."""

    shared = False

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def arrived(self, workshop_id: int, participant_id: int) -> None:
        pass

    def departed(self, workshop_id: int, participant_id: int) -> None:
        pass

    def count(self, workshop_id: int, local: int) -> int:
        return local

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def tell(self, kind: str, workshop_id: int) -> None:
        self._handlers[kind](workshop_id)

    def run(self, present: Present, sleep: Callable[[float], None]) -> None:
        pass

    def stop(self) -> None:
        pass


class RedisCluster:
    """Processes sharing one Redis. Keys and the channel start with `prefix`, so that
    several installations (or test runs) can share a Redis server."""

    shared = True

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True
        )
        self.prefix = prefix
        self.process = uuid.uuid4().hex
        self.channel = f"{prefix}:control"
        self._handlers: dict[str, Handler] = {}
        self._running = False

    def _members(self, workshop_id: int, process: str) -> str:
        return f"{self.prefix}:present:{workshop_id}:{process}"

    def _processes(self, workshop_id: int) -> str:
        return f"{self.prefix}:present:{workshop_id}"

    # --- Presence ---------------------------------------------------------------------

    def arrived(self, workshop_id: int, participant_id: int) -> None:
        """A participant's first connection to this process."""
        try:
            self._write(workshop_id, {participant_id}, replace=False)
        except redis.RedisError:
            log.warning("presence not shared (Redis unavailable); written again on refresh")

    def departed(self, workshop_id: int, participant_id: int) -> None:
        """A participant's last connection to this process closed."""
        try:
            self.redis.srem(self._members(workshop_id, self.process), participant_id)
        except redis.RedisError:
            log.warning("presence not shared (Redis unavailable); written again on refresh")

    def count(self, workshop_id: int, local: int) -> int:
        """Participants connected to the workshop through any process (someone connected to
        two processes counts once). `local` when Redis does not answer."""
        try:
            processes = self.redis.smembers(self._processes(workshop_id))
            keys = [self._members(workshop_id, str(p)) for p in processes]
            if len(keys) <= 1:
                return int(self.redis.scard(keys[0])) if keys else local
            union = f"{self.prefix}:union:{self.process}"
            with self.redis.pipeline() as pipe:
                pipe.sunionstore(union, keys)
                pipe.delete(union)
                total, _ = pipe.execute()
            return int(total)
        except redis.RedisError:
            log.warning("presence of other processes unknown (Redis unavailable)")
            return local

    def _write(self, workshop_id: int, participants: set[int], *, replace: bool) -> None:
        members, processes = self._members(workshop_id, self.process), self._processes(workshop_id)
        with self.redis.pipeline() as pipe:
            if replace:
                pipe.delete(members)
            if participants:
                pipe.sadd(members, *participants)
            pipe.expire(members, EXPIRES)
            pipe.sadd(processes, self.process)
            pipe.expire(processes, EXPIRES)
            pipe.execute()

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

    def run(self, present: Present, sleep: Callable[[float], None]) -> None:
        """Listen for word from the other processes and keep this process's presence
        written, until stopped; Redis going away and coming back is survived."""
        self._running = True
        while self._running:
            try:
                self._listen(present)
            except redis.RedisError as error:
                log.warning("Redis unavailable (%s); trying again", type(error).__name__)
                sleep(1.0)

    def _listen(self, present: Present) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            refresh_at = 0.0
            while self._running:
                if time.monotonic() >= refresh_at:
                    # Also after (re)connecting: a restarted Redis has forgotten everything.
                    for workshop_id, participants in present().items():
                        self._write(workshop_id, participants, replace=True)
                    refresh_at = time.monotonic() + REFRESH
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    try:
                        self._heard(message["data"])
                    except Exception:  # one bad message must not stop the listener
                        log.exception("control message failed")
        finally:
            pubsub.close()

    def stop(self) -> None:
        self._running = False
