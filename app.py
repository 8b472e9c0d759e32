"""Start Samsyn: `python app.py` (or `make run`), configured from the environment.

This is the only module that knows the event loop. ASYNC_MODE=eventlet (the default) or
gevent monkey-patches the standard library first thing, before anything else is imported;
ASYNC_MODE=threading runs Werkzeug's development server and is meant for debugging only.
Worker processes (facilitation/infrastructure/workers.py) import this module as they start,
as Python's "spawn" does with the main module: they serve nothing, patch nothing, and import
only what their jobs need (the app is assembled in `main`).
"""

from __future__ import annotations

import os
import warnings

SERVING = __name__ == "__main__"
ASYNC_MODE = (os.environ.get("ASYNC_MODE") or "eventlet") if SERVING else "threading"
if ASYNC_MODE == "eventlet":
    with warnings.catch_warnings():
        # eventlet announces its deprecation at import; gevent is one setting away.
        warnings.simplefilter("ignore")
        import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import contextlib  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import zlib  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask  # noqa: E402

from facilitation.edges.http.links import is_loopback, lan_address  # noqa: E402
from facilitation.infrastructure import logs  # noqa: E402
from facilitation.infrastructure.config import Config  # noqa: E402

log = logging.getLogger("samsyn")


def raise_file_limit(wanted: int) -> None:
    """Every connection is a file descriptor; lift the soft limit towards what we accept."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < min(wanted, target):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target), hard))


def tune_garbage_collector() -> None:
    """Collect garbage in small, frequent steps and almost never all at once. Thousands of
    connections keep millions of objects alive, and Python's full collection walks every
    one: at 5,000 phones with the default thresholds it paused the server for up to 0.9 s,
    several times during a vote. What start-up made is frozen out of every collection; the
    youngest generation is collected every 10,000 new objects; the oldest only after a
    thousand collections of the middle one (docs/performance.md has the figures)."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 1_000)


def announce(config: Config) -> None:
    """Say where the app can be opened, and from where phones reach it."""
    host = "127.0.0.1" if config.HOST in ("0.0.0.0", "::") else config.HOST
    print(f"Samsyn is running ({ASYNC_MODE}). Open http://{host}:{config.PORT}/", flush=True)
    if config.PUBLIC_URL:
        print(f"Phones join through {config.PUBLIC_URL}", flush=True)
    elif is_loopback(config.HOST):
        print("Listening on this computer only: set HOST=0.0.0.0 so phones can join.", flush=True)
    else:
        lan = lan_address()
        if lan:
            print(
                f"Phones on the same network join through http://{lan}:{config.PORT}/", flush=True
            )
        else:
            print("No network address found: phones cannot reach this computer yet.", flush=True)


def compress_each_message_alone() -> None:
    """Answer browsers' offer of per-message deflate with `server_no_context_takeover`
    (RFC 7692): each message to a phone is compressed on its own, and the compressor is
    freed after it, instead of every connection keeping one (about 100 KiB each: half a
    gigabyte for 5,000 phones; measured in docs/performance.md). States still shrink to a
    fifth or less. Then a message is the same bytes on every connection, so a room's state
    is compressed once for all its phones (facilitation/edges/live/deflate.py), not once a
    phone. Neither WebSocket server has a setting for either, hence the adaptation here,
    where the event loop is chosen."""
    from facilitation.edges.live.deflate import SharedDeflater, SharedPerMessageDeflate

    if ASYNC_MODE == "eventlet":
        import eventlet.websocket

        websocket = eventlet.websocket.WebSocketWSGI
        negotiate = websocket._negotiate_permessage_deflate

        def without_context(self: Any, extensions: Any) -> Any:
            accepted = negotiate(self, extensions)
            if accepted is not None:
                accepted["server_no_context_takeover"] = True
            return accepted

        websocket._negotiate_permessage_deflate = without_context

        frames = eventlet.websocket.RFC6455WebSocket
        compressor = frames._get_permessage_deflate_enc

        def shared_compressor(self: Any) -> Any:
            options = self.extensions.get("permessage-deflate")
            if self.client or not options or not options.get("server_no_context_takeover"):
                return compressor(self)
            return SharedDeflater(options.get("server_max_window_bits", zlib.MAX_WBITS))

        frames._get_permessage_deflate_enc = shared_compressor
    elif ASYNC_MODE == "gevent":
        import simple_websocket.ws

        simple_websocket.ws.PerMessageDeflate = SharedPerMessageDeflate


# A WebSocket may stay silent this long: Engine.IO pings every 25 s and a client answers at
# once, so a connection that says nothing for longer is gone.
WEBSOCKET_IDLE = 90.0


def deadline() -> Any:
    """The event loop's timeout (a context manager interrupting what runs in it), for the
    request limits of facilitation/edges/guard.py; none in threading mode."""
    if ASYNC_MODE == "eventlet":
        return eventlet.Timeout
    if ASYNC_MODE == "gevent":
        import gevent

        return gevent.Timeout
    return None


def serve(app: Flask, config: Config) -> None:
    """Serve HTTP and Socket.IO on HOST:PORT with the chosen event loop.

    Every connection is given time limits, so that clients that stop half-way cannot hold
    connections until none is left: an idle connection and a request's line must arrive
    within REQUEST_TIMEOUT, then its headers within as long, and every read and write on
    the socket waits at most as long (a WebSocket, answering pings, at most WEBSOCKET_IDLE).
    The body's own deadline is facilitation/edges/guard.py's."""
    family = socket.AF_INET6 if ":" in config.HOST else socket.AF_INET
    timeout = config.REQUEST_TIMEOUT
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi

        class Protocol(eventlet.wsgi.HttpProtocol):  # type: ignore[misc]
            """eventlet's HTTP protocol with deadlines for the request line and headers."""

            def _read_request_line(self) -> Any:
                with eventlet.Timeout(timeout, False):
                    return super()._read_request_line()
                self.close_connection = 1
                return ""

            def parse_request(self) -> bool:
                with eventlet.Timeout(timeout, False):
                    return bool(super().parse_request())
                self.close_connection = 1
                return False

            def handle_one_response(self) -> None:
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.connection.settimeout(WEBSOCKET_IDLE)
                super().handle_one_response()

        listener = eventlet.listen(
            (config.HOST, config.PORT), family=family, backlog=config.LISTEN_BACKLOG
        )
        # max_size: eventlet silently stops accepting at 1,024 connections by default.
        eventlet.wsgi.server(
            listener,
            app,
            max_size=config.MAX_CONNECTIONS,
            log_output=False,
            protocol=Protocol,
            socket_timeout=timeout,
        )
    elif ASYNC_MODE == "gevent":
        import gevent
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIHandler, WSGIServer

        class Handler(WSGIHandler):  # type: ignore[misc]
            """gevent's handler with deadlines for the request line and headers, which
            ends the TCP connection with its WebSocket (otherwise pywsgi waits for another
            HTTP request on it and reads the client's closing frame as one)."""

            close_connection: bool

            def handle(self) -> None:
                self.socket.settimeout(timeout)
                super().handle()

            def read_requestline(self) -> Any:
                with gevent.Timeout(timeout, False):
                    return super().read_requestline()
                return None

            def read_request(self, raw_requestline: Any) -> Any:
                with gevent.Timeout(timeout, False):
                    return super().read_request(raw_requestline)
                self.close_connection = True
                return False

            def run_application(self) -> None:
                websocket = self.environ.get("HTTP_UPGRADE", "").lower() == "websocket"
                if websocket:
                    self.socket.settimeout(WEBSOCKET_IDLE)
                super().run_application()
                if websocket:
                    self.close_connection = True

        WSGIServer(
            (config.HOST, config.PORT),
            app,
            log=None,
            backlog=config.LISTEN_BACKLOG,
            spawn=Pool(config.MAX_CONNECTIONS),
            handler_class=Handler,
        ).serve_forever()
    else:
        # Werkzeug's request log has paths (with secrets) and client addresses: keep it quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        socketio = app.extensions["socketio"]  # made by create_app
        socketio.run(app, host=config.HOST, port=config.PORT, allow_unsafe_werkzeug=True)


def main() -> None:
    # Here, not above: worker processes import this module too, and need not the whole app.
    from facilitation.assembly import create_app

    config = Config()
    logs.configure(config)
    raise_file_limit(config.MAX_CONNECTIONS + 100)
    app = create_app(config, deadline=deadline())
    compress_each_message_alone()
    tune_garbage_collector()
    announce(config)
    with contextlib.suppress(KeyboardInterrupt):
        serve(app, config)


if __name__ == "__main__":
    main()
