"""Rate limits, kept in memory: how many commands a participant may send, how many wrong join
codes one address may try. Nothing here is stored: limits start afresh after a restart.

Layer: edge helper. Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """Each key may spend `burst` tokens at once, refilled at `rate` per second."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()

    def _refilled(self, key: Hashable, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def allow(self, key: Hashable) -> bool:
        """Spend a token for `key`; False when it has none left."""
        with self._lock:
            now = self.clock()
            bucket = self._refilled(key, now)
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            self._forget_full(now)
            return True

    def has_tokens(self, key: Hashable) -> bool:
        """Whether `key` could spend a token now (without spending it)."""
        with self._lock:
            return self._refilled(key, self.clock()).tokens >= 1

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have filled up again, so memory does not grow with keys seen."""
        if len(self._buckets) < 10_000:
            return
        full = self.burst / self.rate if self.rate else 0
        for key in [k for k, b in self._buckets.items() if now - b.at >= full]:
            del self._buckets[key]
