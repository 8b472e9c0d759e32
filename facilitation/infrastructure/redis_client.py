"""Redis clients whose connections are bounded and waited for, not refused.

Layer: infrastructure; imports redis only. redis-py's default pool refuses a call once 100
connections are in use ("Too many connections"). Under eventlet or gevent every greenlet
calling at once takes a connection of its own, so a crowd joining or leaving together ran
into that limit and each refused call was taken for Redis being away. A blocking pool makes
the extra callers wait (up to `timeout`) for one of a few connections instead, which is
also all one Redis round trip at a time needs.
"""

from __future__ import annotations

import redis

# Connections one client keeps to Redis at most; callers beyond them wait for one.
CONNECTIONS = 16


def bounded(url: str, *, timeout: float, **options: object) -> redis.Redis:
    """A client of the Redis at `url` with at most CONNECTIONS connections; a call waits up
    to `timeout` seconds for a free one, and as long for Redis to answer."""
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=CONNECTIONS,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        **options,
    )
    return redis.Redis.from_pool(pool)
