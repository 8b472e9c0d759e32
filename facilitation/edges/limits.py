"""Rate limits: how many commands a participant may send, how many wrong codes, secrets and
passwords may be tried. Nothing here is stored in the database: limits start afresh after a
restart.

A `TokenBucket` lives in the process's memory. The security limits (guessing codes and
secrets, passwords) come from `security_limits`: in memory with one process, shared through
Redis (the `limits` package on the app's redis client) when several processes serve one
installation, so that a guesser spread over the processes gets one allowance, not one per
process. When Redis does not answer, each process falls back to its own bucket.

Layer: edge. The standard library, `limits` and redis; no Flask, no database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from facilitation.infrastructure import redis_client

log = logging.getLogger(__name__)

T = TypeVar("T")


class Limit(Protocol):
    """What a limit offers its callers, wherever it keeps its counts."""

    def allow(self, key: Hashable) -> bool:
        """Spend a token for `key`; False when it has none left."""
        ...

    def has_tokens(self, key: Hashable) -> bool:
        """Whether `key` could spend a token now (without spending it)."""
        ...

    def refund(self, key: Hashable) -> None:
        """Give back a token spent on a try that turned out not to count."""
        ...


@dataclass
class _Bucket:
    tokens: float
    at: float


# Each call forgets at most this many buckets: constant work per call, and still more than
# the one bucket a call may add, so buckets no longer needed do not pile up.
FORGET_PER_CALL = 4
# Buckets kept at most: beyond it the least recently used one is forgotten even if not full
# (a guesser would need this many addresses at once to win back a few tries).
MAX_KEYS = 100_000


class TokenBucket:
    """Each key may spend `burst` tokens at once, refilled at `rate` per second. Kept in this
    process's memory; each call costs the same however many keys it holds."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        # Least recently used first, so the buckets to forget are found at the front.
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)

    def allow(self, key: Hashable) -> bool:
        """Spend a token for `key`; False when it has none left."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            else:
                bucket.tokens, bucket.at = self._level(bucket, now), now
                self._buckets.move_to_end(key)
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True

    def has_tokens(self, key: Hashable) -> bool:
        """Whether `key` could spend a token now (without spending it). A key never seen
        gets no bucket: looking costs no memory."""
        with self._lock:
            bucket = self._buckets.get(key)
            return (self.burst if bucket is None else self._level(bucket, self.clock())) >= 1

    def refund(self, key: Hashable) -> None:
        """Give back a token spent on a try that did not count."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.tokens = min(self.burst, bucket.tokens + 1)

    def _forget(self, now: float) -> None:
        """Drop a few of the least recently used buckets, if they have filled up again (a
        full bucket is what a key never seen gets) or there are too many."""
        for _ in range(FORGET_PER_CALL):
            if not self._buckets:
                return
            key, oldest = next(iter(self._buckets.items()))
            if self._level(oldest, now) < self.burst and len(self._buckets) <= self.max_keys:
                return
            del self._buckets[key]


# --- Shared through Redis ---------------------------------------------------------------

# How long a process keeps to its own buckets after Redis failed to answer, before trying
# it again (so that an outage costs one timeout now and then, not one per request).
RETRY_AFTER = 10.0
# How long a call to Redis may take before the process decides it is away.
REDIS_TIMEOUT = 1.0


class SharedLimits:
    """The security limits of the processes sharing one Redis. Counts are kept under
    `prefix` as moving windows (limits' `MovingWindowRateLimiter`): a limit of `burst`
    tries refilled at `rate` per second allows `burst` in any `burst / rate` seconds, the
    same long-run rate as the bucket. Keys are stored as keyed hashes, so Redis never holds
    an address or a username. While Redis does not answer, every limit falls back to a
    bucket in this process; one warning says so, and one line says when Redis is back."""

    def __init__(
        self, url: str, prefix: str, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        client = redis_client.bounded(
            url,
            timeout=REDIS_TIMEOUT,
            # One try: a limit that waits for retries holds the request it guards.
            retry=Retry(NoBackoff(), 0),
        )
        self.client = client
        self.storage = RedisStorage(
            url, connection_pool=client.connection_pool, key_prefix=f"{prefix}:limits"
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.clock = clock
        self._secret = hashlib.sha256(secret.encode()).digest()
        self._away_until = 0.0
        self._away = False
        self._lock = threading.Lock()

    def limit(self, name: str, rate: float, burst: float) -> SharedLimit:
        return SharedLimit(self, name, rate, burst)

    def identifier(self, key: Hashable) -> str:
        return hashlib.blake2b(repr(key).encode(), key=self._secret, digest_size=16).hexdigest()

    def attempt(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """`shared()`, or `local()` when Redis does not answer (or did not lately)."""
        if self.clock() < self._away_until:
            return local()
        try:
            result = shared()
        except redis.RedisError as error:
            with self._lock:
                self._away_until = self.clock() + RETRY_AFTER
                if not self._away:
                    self._away = True
                    log.warning(
                        "security limits held per process: Redis does not answer (%s)",
                        type(error).__name__,
                    )
            return local()
        if self._away:
            with self._lock:
                if self._away:
                    self._away = False
                    log.info("security limits shared through Redis again")
        return result


class SharedLimit:
    """One security limit, shared through Redis (see `SharedLimits`)."""

    def __init__(self, shared: SharedLimits, name: str, rate: float, burst: float) -> None:
        self.shared = shared
        self.item = RateLimitItemPerSecond(
            max(1, int(burst)), max(1, round(burst / rate)), namespace=name
        )
        self.local = TokenBucket(rate, burst)

    def _id(self, key: Hashable) -> str:
        return self.shared.identifier(key)

    def allow(self, key: Hashable) -> bool:
        """Spend a token for `key`; False when it has none left."""
        return self.shared.attempt(
            lambda: self.shared.limiter.hit(self.item, self._id(key)),
            lambda: self.local.allow(key),
        )

    def has_tokens(self, key: Hashable) -> bool:
        """Whether `key` could spend a token now (without spending it)."""
        return self.shared.attempt(
            lambda: self.shared.limiter.test(self.item, self._id(key)),
            lambda: self.local.has_tokens(key),
        )

    def refund(self, key: Hashable) -> None:
        """Give back the newest try of `key`'s window."""

        def shared() -> None:
            stored = self.shared.storage.prefixed_key(self.item.key_for(self._id(key)))
            self.shared.client.lpop(stored)

        self.shared.attempt(shared, lambda: self.local.refund(key))


def security_limits(
    url: str | None, prefix: str, secret: str
) -> Callable[[str, float, float], Limit]:
    """What builds every security limit (`make(name, rate, burst)`): shared through the
    Redis at `url` when there is one (several processes), otherwise in memory."""
    if not url:
        return lambda _name, rate, burst: TokenBucket(rate, burst)
    shared = SharedLimits(url, prefix, secret)
    return shared.limit
