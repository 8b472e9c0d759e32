"""The bare baseline of `bench.scale`: a minimal Flask-SocketIO server with none of Samsyn's
logic, run in the same event loop and with the same serving settings as `app.py`.

It speaks just enough of Samsyn's protocol for the same load generator: `POST /api/workshops`
(a workshop, its dots round already open; as many as asked for), the facilitator link and
the join link (each sets a cookie), the handshake `auth: {"code", "view"}`, `ballot.submit`
(kept in memory: one ballot per participant, a repeated command id gets its first answer,
every ballot raises its room's version), `state.get` and the facilitator's `factor.add`
(for `bench.broadcast`). Every BOARD_INTERVAL seconds, each room whose vote came in sends its
boards and consoles the totals with the version; every PHONE_INTERVAL seconds, each room
whose factors changed sends its phones what they show: every factor's title, description
and category. Coalesced, as the app does. Nothing else: no database, no rules.

    ASYNC_MODE=eventlet HOST=127.0.0.1 PORT=5001 SECRET_KEY=… python -m bench.baseline_server
"""

from __future__ import annotations

import os
import warnings

ASYNC_MODE = os.environ.get("ASYNC_MODE") or "eventlet"
if ASYNC_MODE == "eventlet":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
else:
    raise SystemExit("the baseline runs under eventlet or gevent")

import resource  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, abort, jsonify, request, session  # noqa: E402
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room  # noqa: E402

ROUND_ID = 1

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
app.config["SESSION_COOKIE_NAME"] = "samsyn"
socketio = SocketIO(
    app,
    async_mode=ASYNC_MODE,
    cors_allowed_origins=None,
    max_http_buffer_size=int(os.environ.get("MAX_MESSAGE_BYTES") or 16 * 1024),
    logger=False,
    engineio_logger=False,
)


class Room:
    """A workshop: its factors, each participant's ballot, the totals, the version."""

    def __init__(self, code: str, factors: list[dict[str, Any]]) -> None:
        self.code = code
        self.secret = secrets.token_urlsafe(16)
        self.factor_ids = list(range(1, len(factors) + 1))
        self.factors = [{"id": i, **f} for i, f in zip(self.factor_ids, factors, strict=True)]
        self.joined: set[str] = set()
        self.ballots: dict[str, dict[str, int]] = {}
        self.totals: Counter[str] = Counter()
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.version = 0
        self.dirty = False
        self.phones_dirty = False

    def state(self) -> dict[str, Any]:
        """What boards see, in the app's shapes: the version, participation and dot totals."""
        return {
            "version": self.version,
            "round": {"id": ROUND_ID, "method": "dots", "state": "open"},
            "factors": [{"id": f} for f in self.factor_ids],
            "participation": {"joined": len(self.joined), "voted": len(self.ballots)},
            "results": {
                "ballots": len(self.ballots),
                "factors": [{"factor_id": f, "dots": self.totals[str(f)]} for f in self.factor_ids],
            },
        }

    def phone_state(self) -> dict[str, Any]:
        """What phones see: the version and every factor as written."""
        return {"version": self.version, "factors": self.factors}


def phones_of(room: Room) -> str:
    return f"{room.code}/phones"


rooms: dict[str, Room] = {}  # by code
participants: dict[str, tuple[Room, str]] = {}  # Socket.IO sid → room, participant token
screens: dict[str, Room] = {}  # Socket.IO sid of a board or console → room


def room_of(code: str) -> Room:
    room = rooms.get(code)
    if room is None:
        abort(404)
    return room


@app.get("/")
def index() -> str:
    return "baseline"


@app.post("/api/workshops")
def create_workshop() -> tuple[Any, int]:
    """A workshop, with as many factors as asked for."""
    code = f"BENCH{len(rooms) + 1}"
    room = rooms[code] = Room(code, list(request.get_json().get("factors", [])))
    base = request.host_url.rstrip("/")
    return jsonify(code=code, facilitator_url=f"{base}/f/{code}/{room.secret}"), 201


@app.get("/f/<code>/<secret>")
def facilitator_link(code: str, secret: str) -> str:
    if secret != room_of(code).secret:
        abort(403)
    session["f"] = secret
    return "console"


@app.get("/j/<code>")
def join(code: str) -> str:
    """The join link: a participant token in the cookie."""
    room_of(code)
    session.setdefault("p", secrets.token_urlsafe(16))
    return "phone"


@socketio.on("connect")
def connect(auth: Any = None) -> None:
    """Phones need the join link's cookie, boards and consoles the facilitator's."""
    room = rooms.get(str(auth.get("code"))) if isinstance(auth, dict) else None
    if room is None:
        raise ConnectionRefusedError("bad_handshake")
    if auth.get("view") == "phone":
        token = session.get("p")
        if token is None:
            raise ConnectionRefusedError("not_joined")
        participants[request.sid] = (room, token)  # type: ignore[attr-defined]
        room.joined.add(token)
        join_room(phones_of(room))
    elif auth.get("view") in ("board", "console"):
        if session.get("f") != room.secret:
            raise ConnectionRefusedError("forbidden")
        join_room(room.code)
        screens[request.sid] = room  # type: ignore[attr-defined]
    else:
        raise ConnectionRefusedError("bad_handshake")
    emit("state", room.state())


@socketio.on("disconnect")
def disconnect(*_: Any) -> None:
    participants.pop(request.sid, None)  # type: ignore[attr-defined]
    screens.pop(request.sid, None)  # type: ignore[attr-defined]


@socketio.on("ballot.submit")
def ballot_submit(payload: Any = None) -> dict[str, Any]:
    """Sent by a phone: replaces its ballot. Acks with the new version; boards hear of it on
    the next tick."""
    sender = participants.get(request.sid)  # type: ignore[attr-defined]
    if sender is None or not isinstance(payload, dict):
        return {"ok": False, "error": {"code": "invalid_input"}}
    room, token = sender
    key = (token, str(payload.get("command_id")))
    if key in room.answers:
        return room.answers[key]
    entries = payload.get("entries")
    if payload.get("round_id") != ROUND_ID or not isinstance(entries, dict):
        return {"ok": False, "error": {"code": "invalid_input"}}
    room.totals.subtract(room.ballots.get(token, {}))
    room.totals.update(entries)
    room.ballots[token] = entries
    room.version += 1
    room.dirty = True
    answer = {
        "ok": True,
        "version": room.version,
        "data": {"round_id": ROUND_ID, "entries": entries},
    }
    room.answers[key] = answer
    return answer


@socketio.on("factor.add")
def factor_add(payload: Any = None) -> dict[str, Any]:
    """Sent by a console: a factor more. Phones hear of it within PHONE_INTERVAL."""
    room = screens.get(request.sid)  # type: ignore[attr-defined]
    if room is None or not isinstance(payload, dict):
        return {"ok": False, "error": {"code": "forbidden"}}
    factor_id = len(room.factor_ids) + 1
    room.factor_ids.append(factor_id)
    fields = ("title", "description", "category_id")
    room.factors.append({"id": factor_id, **{k: payload.get(k) for k in fields}})
    room.version += 1
    room.dirty = room.phones_dirty = True
    return {"ok": True, "version": room.version, "data": {"factor_id": factor_id}}


@socketio.on("state.get")
def state_get(*_: Any) -> dict[str, Any]:
    """Asked by a console: its room's state."""
    room = screens.get(request.sid)  # type: ignore[attr-defined]
    if room is None:
        return {"ok": False, "error": {"code": "forbidden"}}
    return {"ok": True, "data": {"state": room.state()}}


def broadcast(interval: float) -> None:
    """Coalesced: at most one state per interval to each room's boards, and only after a
    vote or a factor added."""
    while True:
        socketio.sleep(interval)
        for room in list(rooms.values()):
            if room.dirty:
                room.dirty = False
                socketio.emit("state", room.state(), to=room.code)


def broadcast_to_phones(interval: float) -> None:
    """Coalesced: at most one state per interval to each room's phones, and only after a
    factor was added."""
    while True:
        socketio.sleep(interval)
        for room in list(rooms.values()):
            if room.phones_dirty:
                room.phones_dirty = False
                socketio.emit("state", room.phone_state(), to=phones_of(room))


def serve(host: str, port: int, max_connections: int, backlog: int) -> None:
    """As app.serve does, for eventlet and gevent."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi

        listener = eventlet.listen((host, port), family=family, backlog=backlog)
        eventlet.wsgi.server(listener, app, max_size=max_connections, log_output=False)
    else:
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIHandler, WSGIServer

        class Handler(WSGIHandler):  # type: ignore[misc]
            """Ends the TCP connection with its WebSocket, as app.py's does."""

            def run_application(self) -> None:
                super().run_application()
                if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                    self.close_connection = True

        WSGIServer(
            (host, port),
            app,
            log=None,
            backlog=backlog,
            spawn=Pool(max_connections),
            handler_class=Handler,
        ).serve_forever()


def main() -> None:
    max_connections = int(os.environ.get("MAX_CONNECTIONS") or 20_000)
    # Every connection is a file descriptor, as in app.raise_file_limit.
    wanted = max_connections + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < min(wanted, target):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target), hard))
    socketio.start_background_task(broadcast, float(os.environ.get("BOARD_INTERVAL") or 0.1))
    phone_interval = float(os.environ.get("PHONE_INTERVAL") or 0.5)
    socketio.start_background_task(broadcast_to_phones, phone_interval)
    print(f"baseline running ({ASYNC_MODE})", flush=True)
    serve(
        os.environ.get("HOST") or "127.0.0.1",
        int(os.environ.get("PORT") or 5001),
        max_connections,
        int(os.environ.get("LISTEN_BACKLOG") or 2048),
    )


if __name__ == "__main__":
    main()
