"""How Samsyn's PostgreSQL connections wait for the server: psycopg2 (libpq, in C) with
psycopg2's own hook for green threads. Installed once, when this module is imported (db.py
does).

Layer: infrastructure. Imports psycopg2 only.

- **A wait yields to the event loop.** With a wait callback set, psycopg2 runs every
  connection asynchronously and calls back whenever libpq must wait for the socket; the
  callback waits with `select.select`, which eventlet and gevent both make cooperative when
  they patch the standard library (app.py patches it before anything else is imported).
  Without an event loop (the command line, the tests) it simply waits, as libpq would.
  (eventlet's `monkey_patch` sets a wait callback of its own, without a bound; importing
  this module replaces it.)
- **A silent server is given up on.** A connection made by `connection_factory(seconds)`
  waits at most that long for the socket at any one time (connecting too). A server that
  answers nothing (hung, or its network gone) makes the wait fail with `NoAnswer`, an
  OperationalError; psycopg2 then closes the connection (a failed green wait leaves it
  unusable), and SQLAlchemy, seeing it closed, replaces the pool's connections. A live
  server's own limits (statement_timeout, lock_timeout) come first: the bound is set a
  second longer.
"""

from __future__ import annotations

import functools
import select
from collections.abc import Callable
from typing import Any

import psycopg2
from psycopg2 import extensions


class NoAnswer(psycopg2.OperationalError):  # type: ignore[misc]
    """PostgreSQL answered nothing within the connection's bound."""


class BoundedConnection(extensions.connection):  # type: ignore[misc]
    """A psycopg2 connection that waits at most `answer_within` seconds for its socket."""

    def __init__(self, dsn: str, *args: Any, answer_within: float, **kwargs: Any) -> None:
        self.answer_within = answer_within  # before connecting, which waits already
        super().__init__(dsn, *args, **kwargs)


def connection_factory(answer_within: float) -> Callable[..., BoundedConnection]:
    """psycopg2's `connection_factory` for connections bounded to `answer_within` seconds."""
    return functools.partial(BoundedConnection, answer_within=answer_within)


def wait(connection: Any) -> None:
    """psycopg2's wait callback: poll the connection until libpq is done, waiting for its
    socket in between through `select` (cooperative under eventlet and gevent)."""
    limit = getattr(connection, "answer_within", None)
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            ready = select.select([connection.fileno()], [], [], limit)
        elif state == extensions.POLL_WRITE:
            ready = select.select([], [connection.fileno()], [], limit)
        else:
            raise psycopg2.OperationalError(f"unexpected state from poll(): {state}")
        if not any(ready):
            raise NoAnswer(f"PostgreSQL answered nothing within {limit} s")


extensions.set_wait_callback(wait)
