"""The app assembled: `create_app` makes the database, the use cases, the Socket.IO server
and both sides of the edge of one configuration (the application factory).

This is where the two sides of the edge meet, and the only place that knows both: the
Socket.IO server is made here and handed to the live side (edges/live/server.py), and
`Samsyn` holds the parts of both, each side seeing only its own.

The package never imports an event loop library: app.py chooses eventlet or gevent (and
monkey-patches) before importing this; tests run it in threading mode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request
from flask_compress import Compress
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from facilitation.edges import cli, guard, i18n
from facilitation.edges.guard import Deadline
from facilitation.edges.http import (
    api,
    ops,
    organizers,
    security,
    series_views,
    sso,
    sso_client,
    views,
)
from facilitation.edges.http.export_jobs import Exports
from facilitation.edges.http.parts import HttpParts
from facilitation.edges.http.phone_pages import CompressedPages, PhonePages
from facilitation.edges.limits import TokenBucket, security_limits
from facilitation.edges.live.cluster import Alone, QueueManager, RedisCluster
from facilitation.edges.live.parts import LiveParts
from facilitation.edges.live.presence import Presence
from facilitation.edges.live.rooms import LocalManager
from facilitation.edges.live.server import Live
from facilitation.infrastructure import catalogues
from facilitation.infrastructure.config import INSTANCE, ROOT, Config, instance_secret_key
from facilitation.infrastructure.db import BUSY, Database
from facilitation.infrastructure.metrics import Metrics
from facilitation.infrastructure.workers import Busy, Inline, Pool, WorkerPasswords, Workers
from facilitation.usecases import Change, Passwords, Publisher, Services

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Samsyn(LiveParts, HttpParts):
    """The app's parts as one object, `app.extensions["samsyn"]`. Each side reaches it
    through its own `samsyn()`, which sees only that side's parts (and the shared ones)."""

    # The live side's presence, which the HTTP side sees only as counts (for /metrics).
    presence: Presence


class Publishers:
    """Everyone who hears of committed changes: the live side, and the phone pages kept."""

    def __init__(self, *publishers: Publisher) -> None:
        self.publishers = publishers

    def publish(self, change: Change) -> None:
        for publisher in self.publishers:
            publisher.publish(change)


def create_app(config: Config | None = None, *, deadline: Deadline | None = None) -> Flask:
    """Build the app: database migrated, services, Socket.IO, broadcaster, pages, API.
    `deadline` is the event loop's timeout (app.py hands it in): with it, a request body
    that does not arrive in time is cut off; without it (tests), only the size is limited."""
    config = config or Config()
    if not config.SECRET_KEY:
        config.SECRET_KEY = instance_secret_key()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE),
    )
    app.config.from_object(config)
    # Compiled here when missing, so that a plain `python app.py` speaks Swedish too.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(catalogues.ready())
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep documents in their order

    db = Database(
        config.DATABASE_URL, pool_size=config.DATABASE_POOL_SIZE, timeout=config.DATABASE_TIMEOUT
    )
    db.migrate()
    if config.START_BROADCASTER:  # a serving process: its database connections, now
        db.warm_up()
    queue = config.MESSAGE_QUEUE_URL
    channel = config.MESSAGE_QUEUE_CHANNEL
    cluster = RedisCluster(queue, channel) if queue else Alone()
    metrics = Metrics()
    # The one Socket.IO server of this app: the live side registers its namespaces on it,
    # app.py runs it (app.extensions["socketio"]).
    socketio = SocketIO()
    live = Live(
        socketio,
        cluster,
        board_interval=config.BOARD_INTERVAL,
        phone_interval=config.PHONE_INTERVAL,
        metrics=metrics,
    )
    socketio.init_app(
        app,
        async_mode=config.ASYNC_MODE,
        # With a message queue, every process's broadcasts reach the clients of all of them.
        # Either way, rooms are indexed both ways (edges/live/rooms.py).
        client_manager=(
            QueueManager(queue, f"{channel}:socketio", on_connect=live.broadcaster.resync)
            if queue
            else LocalManager()
        ),
        # Same-origin only (the default): a page on another site cannot open a socket.
        cors_allowed_origins=None,
        max_http_buffer_size=config.MAX_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    guard.close_without_waiting(socketio.server.eio)
    _wrap_transport(app, config, deadline)
    exports, passwords = _workers(config)
    phone_pages = PhonePages()
    services = Services(
        db,
        Publishers(live, phone_pages),
        on_batch=metrics.command_batch.observe,
        passwords=passwords,
        on_lock=metrics.lock_wait.observe,
    )
    live.attach(services)
    # The security limits (guessing codes, secrets and passwords): with several processes
    # shared through Redis, so that a guesser gets one allowance, not one per process.
    security_limit = security_limits(queue, channel, config.SECRET_KEY)
    app.extensions["samsyn"] = Samsyn(
        db=db,
        services=services,
        metrics=metrics,
        join_limit=security_limit("join", 1 / config.JOIN_MISS_INTERVAL, config.JOIN_MISS_BURST),
        presence=live.presence,
        broadcaster=live.broadcaster,
        followers=live.followers,
        gatekeeper=live.gatekeeper,
        command_limit=TokenBucket(config.COMMAND_RATE, config.COMMAND_BURST),
        joins_per_address=security_limit(
            "joins-address", config.JOIN_RATE_PER_ADDRESS, config.JOIN_BURST_PER_ADDRESS
        ),
        joins_per_workshop=security_limit(
            "joins-workshop", config.JOIN_RATE_PER_WORKSHOP, config.JOIN_BURST_PER_WORKSHOP
        ),
        exports=Exports(exports),
        phone_pages=phone_pages,
        # Wrong passwords: 5 at once, then one a minute, per allowance (tries.py).
        login_limit=security_limit("tries", 1 / 60, 5),
    )

    # A kept phone page is compressed once per encoding, not for every phone joining.
    app.config.update(
        COMPRESS_CACHE_BACKEND=CompressedPages, COMPRESS_CACHE_KEY=CompressedPages.key
    )
    Compress(app)
    _buffer_files(app)  # after Compress, so that it runs before it
    i18n.init_app(app)
    security.init_app(app)
    security.csrf.exempt(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(organizers.bp)
    app.register_blueprint(sso.bp)
    sso_client.init_app(app)
    app.register_blueprint(series_views.bp)
    app.cli.add_command(cli.create_organizer)
    app.cli.add_command(cli.delete_organizer)
    _register_error_pages(app)
    _route_socket_path(app)
    if config.START_BROADCASTER:
        live.start()
    return app


def _workers(config: Config) -> tuple[Pool, Passwords | None]:
    """The pools of worker processes for heavy work (workers.py): exports and reports, and
    password hashing, each its own, so that a login never waits behind an export. With
    WORKERS=0, all of it runs where it is called."""
    if config.WORKERS <= 0:
        return Inline(), None
    exports = Workers("export", processes=config.WORKERS, waiting=config.EXPORTS_WAITING)
    hashing = Workers("password", processes=1, waiting=PASSWORDS_WAITING)
    if config.START_BROADCASTER:  # a serving process: start them now, not at the first use
        exports.warm_up()
        hashing.warm_up()
    return exports, WorkerPasswords(hashing)


# Password checks that may wait for the hashing worker (about 30 ms each): a wave of logins
# beyond it is answered 503 at once, before any hashing.
PASSWORDS_WAITING = 16


def _wrap_transport(app: Flask, config: Config, deadline: Deadline | None) -> None:
    """What every request passes first, Socket.IO's included: the forwarded address and
    scheme of a trusted proxy (so that limits per address hold on sockets too), and the
    limits on a request's size and time."""
    if config.PROXY_HOPS:
        hops = config.PROXY_HOPS
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.wsgi_app = guard.RequestLimits(  # type: ignore[method-assign]
        app.wsgi_app,
        max_bytes=config.MAX_REQUEST_BYTES,
        body_seconds=config.REQUEST_TIMEOUT,
        deadline=deadline,
    )


def _buffer_files(app: Flask) -> None:
    """Files sent from disk (styles, scripts) are small: read them whole and close them, so
    that compression, which replaces a response's body, never leaves a file open."""

    @app.after_request
    def read_whole(response: Response) -> Response:
        if response.direct_passthrough and response.is_streamed:
            body = response.response
            try:
                data = b"".join(response.iter_encoded())
            finally:
                getattr(body, "close", lambda: None)()
            response.direct_passthrough = False
            response.set_data(data)
        return response


def _route_socket_path(app: Flask) -> None:
    """Give Socket.IO's path a URL rule. Flask-SocketIO makes a request context from the
    connection's environ for every event, and Flask matches its path against the rules:
    unmatched, the request keeps a NotFound with its traceback, a reference cycle per event
    that only the garbage collector frees. At 5,000 phones those filled it so fast that
    its full collections paused everything for up to 0.9 s. Requests never reach the view:
    the Socket.IO middleware answers them first."""

    def socket_path() -> Any:
        abort(404)

    # Connections that began as a WebSocket carry its upgrade headers: a rule of their own.
    app.add_url_rule("/socket.io/", "socket_io", socket_path, methods=["GET", "POST"])
    app.add_url_rule("/socket.io/", "socket_io_websocket", socket_path, websocket=True)


# How soon a page the server was too busy for tries again by itself.
BUSY_RETRY_SECONDS = 5


def _register_error_pages(app: Flask) -> None:
    """Errors as a page for people, as JSON for the API."""

    def page(status: int) -> Any:
        def handler(error: HTTPException) -> Any:
            if request.path.startswith("/api/"):
                body = {"error": {"code": f"http_{status}", "message": error.description}}
                return jsonify(body), status
            return render_template("error.html", status=status), status

        return handler

    for status in (400, 403, 404, 405, 408, 413, 429, 500):
        app.register_error_handler(status, page(status))

    def busy(error: Exception) -> Any:
        # Every connection to the database in use for too long (a crowd joining faster than
        # the process serves it), the database out of reach, or no capacity for hashing a
        # password now (workers.Busy): say so, and try again.
        if isinstance(error, Busy):
            log.warning("busy: no capacity for this request now")
        else:
            log.warning("database busy or unreachable: %s", type(error).__name__)
        headers = {"Retry-After": str(BUSY_RETRY_SECONDS)}
        if request.path.startswith("/api/"):
            message = "The server is busy. Try again in a few seconds."
            return jsonify({"error": {"code": "http_503", "message": message}}), 503, headers
        return (
            render_template("error.html", status=503, retry=BUSY_RETRY_SECONDS),
            503,
            headers,
        )

    for kind in (*BUSY, Busy):
        app.register_error_handler(kind, busy)
