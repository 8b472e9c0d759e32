"""What stands between the network and the app: a size and a time limit on every request
body, and Engine.IO sessions that close without waiting for a client that never comes back.

Layer: edge (WSGI). Imports only the standard library; the event loop's timeout (eventlet's
or gevent's `Timeout`) is handed in by app.py, the only module that knows the loop. The
request line and headers get their deadline there, in the HTTP server itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from time import monotonic
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

# A deadline: a context manager that interrupts what runs inside it after so many seconds
# by raising the exception given (eventlet.Timeout and gevent.Timeout take exactly these).
Deadline = Callable[[float, BaseException], AbstractContextManager[Any]]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class RequestLimits:
    """WSGI middleware, outermost: a request body larger than `max_bytes` is refused (413)
    before anything reads it, also when it comes chunked without a length, and a body that
    does not arrive within `body_seconds` is cut off. Nothing is buffered here: the limits
    hold wherever the app reads the body (forms, JSON, Engine.IO's long-polling POSTs)."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_bytes: int,
        body_seconds: float,
        deadline: Deadline | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds
        self.deadline = deadline

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared.isdigit() and int(declared) > self.max_bytes:
            return _too_large(start_response)
        if chunked or (declared.isdigit() and int(declared) > 0):
            environ["wsgi.input"] = BoundedInput(
                environ["wsgi.input"],
                max_bytes=self.max_bytes,
                until=monotonic() + self.body_seconds,
                deadline=self.deadline,
            )
        try:
            return self.app(environ, start_response)
        except RequestEntityTooLarge:  # read outside Flask (Flask answers its own)
            return _too_large(start_response)


def _too_large(start_response: StartResponse) -> list[bytes]:
    # The body is left unread: the connection closes after the answer.
    body = b"Request too large.\n"
    start_response(
        "413 Content Too Large",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return [body]


class BoundedInput:
    """A request body that refuses to grow past `max_bytes` (413), and whose reads are
    interrupted once the time for the whole body (`until`, a monotonic time) has run out
    (408): a client sending a byte now and then cannot hold its connection for ever."""

    def __init__(
        self, stream: Any, *, max_bytes: int, until: float, deadline: Deadline | None
    ) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.until = until
        self.deadline = deadline
        self.read_so_far = 0

    def _call(self, method: Callable[..., bytes], *args: Any) -> bytes:
        left = self.until - monotonic()
        if left <= 0:
            raise RequestTimeout()
        with self.deadline(left, RequestTimeout()) if self.deadline else nullcontext():
            data = method(*args)
        self.read_so_far += len(data)
        if self.read_so_far > self.max_bytes:
            raise RequestEntityTooLarge()
        return data

    def _bounded(self, size: int | None) -> int:
        # Never ask for more than one byte past the limit, so a huge read allocates nothing.
        room = self.max_bytes - self.read_so_far + 1
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        return self._call(self.stream.read, self._bounded(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._call(self.stream.readline, self._bounded(size))

    def __iter__(self) -> BoundedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        # What servers add to their input (eventlet's get_socket, for WebSockets).
        return getattr(self.stream, name)


def close_without_waiting(eio: Any) -> None:
    """Make Engine.IO's `Server.disconnect` close a session without waiting for its queue
    to be drained. python-engineio (4.15) waits until the client has fetched every queued
    packet; a long-polling client that never polls again (a POST with a packet the server
    refuses, an oversized POST, or any server-side disconnect) then holds the request, and
    its connection, forever — one client could use up every connection this way. Whatever
    the client has not fetched is dropped: its next poll is told the session is gone, and it
    connects again."""

    def disconnect(sid: str | None = None) -> None:
        for each in [sid] if sid is not None else list(eio.sockets):
            socket = eio.sockets.pop(each, None)
            if socket is not None:
                socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)

    eio.disconnect = disconnect
