"""What Samsyn changes in pg8000 (1.31.6), the pure-Python PostgreSQL driver that cooperates
with eventlet and gevent: applied once, when this module is imported (db.py does).

Layer: infrastructure. Imports pg8000 only.

- **Broken sockets are network errors.** pg8000 reports a broken connection as
  `InterfaceError("network error")`, which SQLAlchemy takes as a lost connection: it is
  discarded and replaced. Two socket reads escape that: the first of every message, and the
  first answer while connecting. A read timing out there (a hung database) comes out as a
  bare TimeoutError, the half-read connection goes back to the pool, and every later use of
  it fails. Reads are wrapped here; connecting, by db.py (`network_errors`).
- **A statement's placeholders are numbered once.** pg8000 turns `%s` into `$1, $2 …` by
  scanning the statement in Python, a character at a time, every time it runs: 6 % of a
  joining phone's CPU, profiled. SQLAlchemy sends the same statements over and over, so
  each is scanned once ("format", the style SQLAlchemy uses, passes the values on as they
  are).
- **A statement is one round trip.** pg8000 runs a statement in three: Parse, then Describe,
  then Bind and Execute, each waiting for the server's answer (and, under an event loop, for
  the loop to come back to it, holding its pooled connection all the while). They are sent
  together here, as libpq's drivers do: Parse, Bind, Describe (the portal), Execute, Sync;
  the server answers them in order, an error skips the rest up to the Sync, and the
  answers are read as pg8000 reads them. COPY goes pg8000's own way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pg8000
import pg8000.core
import pg8000.legacy
from pg8000.converters import make_params
from pg8000.core import (
    BIND,
    DESCRIBE,
    EXECUTE_MSG,
    NULL_BYTE,
    PORTAL,
    SYNC_MSG,
    Context,
    CoreConnection,
    H_pack,
    i_pack,
)


def network_errors(call: Callable[..., Any]) -> Callable[..., Any]:
    """`call`, raising pg8000's `InterfaceError("network error")` for any socket error."""

    @functools.wraps(call)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except OSError as error:
            raise pg8000.InterfaceError("network error") from error

    return wrapped


_scan_placeholders = pg8000.legacy.convert_paramstyle


@functools.lru_cache(maxsize=512)
def _numbered(statement: str) -> str:
    numbered: str = _scan_placeholders("format", statement, ())[0]
    return numbered


def convert_paramstyle(style: str, statement: str, values: Any) -> tuple[str, Any]:
    """pg8000's own, each "format" statement's numbering kept."""
    if style != "format":
        converted: tuple[str, Any] = _scan_placeholders(style, statement, values)
        return converted
    return _numbered(statement), values


_execute_in_three = CoreConnection.execute_unnamed


def execute_unnamed(
    self: CoreConnection, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
) -> Context:
    """pg8000's `execute_unnamed` in one round trip (see the module's text)."""
    if stream is not None:
        return _execute_in_three(self, statement, vals, oids, stream)
    # Made before anything is sent: a value pg8000 cannot send leaves the connection clean.
    params = make_params(self.py_types, vals)
    # Bind as pg8000's `send_BIND` makes it, without the Flush it sends after: a Flush would
    # have the server answer Parse and Bind at once, and the reader wait again for the rest.
    bind = bytearray(NULL_BYTE + NULL_BYTE + H_pack(0) + H_pack(len(params)))
    for value in params:
        if value is None:
            bind.extend(i_pack(-1))
        else:
            encoded = value.encode(self._client_encoding)
            bind.extend(i_pack(len(encoded)))
            bind.extend(encoded)
    bind.extend(H_pack(0))  # every result column as text
    context = Context(statement)
    self.send_PARSE(NULL_BYTE, statement, oids)
    self._send_message(BIND, bind)
    self._send_message(DESCRIBE, PORTAL + NULL_BYTE)
    pg8000.core._write(self._sock, EXECUTE_MSG)
    pg8000.core._write(self._sock, SYNC_MSG)
    pg8000.core._flush(self._sock)
    self.handle_messages(context)
    return context


pg8000.core._read = network_errors(pg8000.core._read)
pg8000.legacy.convert_paramstyle = convert_paramstyle
CoreConnection.execute_unnamed = execute_unnamed
