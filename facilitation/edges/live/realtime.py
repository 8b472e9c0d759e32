"""The workshops' namespace ('/'): connect, disconnect, the state on demand, and one handler
per command, given to the server by `register`.

Layer: edge (live); may import live/parts.py, live/presence.py, live/broadcast.py, the shared
edge modules and the layers below. Handlers are thin: they find the connection's actor, call
one service, and return its answer as the acknowledgement (translated). They never touch
the database and never broadcast: the broadcaster does, on its next tick, from what the
service published. The command handlers are registered from the services' command table,
so every command in docs/protocol.md has exactly one handler of the same name.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from flask import request
from flask_babel import force_locale, gettext
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room

from facilitation.core.domain import N_, DomainError, normalise_code
from facilitation.edges import i18n, identity
from facilitation.edges.live.broadcast import server_time
from facilitation.edges.live.parts import admit_newcomer, samsyn
from facilitation.edges.live.presence import (
    BOARD,
    CONSOLE,
    PHONE,
    Connection,
    participant_room,
    room,
)
from facilitation.edges.parts import guessing, wrong_code
from facilitation.infrastructure.db import BUSY
from facilitation.queries.views import (
    BoardState,
    ConsoleState,
    ConsoleView,
    PhoneState,
    PhoneView,
)
from facilitation.usecases import COMMANDS, WorkshopDesk, error_answer, phone_view

log = logging.getLogger(__name__)
# One line per command: its name and outcome, never its content or who sent it.
commands_log = logging.getLogger("samsyn.commands")

# The facilitator's phone view for a proxy participant (someone without a phone).
PROXY = "proxy"
TOO_FAST = DomainError(
    "rate_limited", N_("You are sending very fast. Wait a moment, then try again.")
)


def register(socketio: SocketIO) -> None:
    """Give the server the namespace's handlers: connect, disconnect, state.get and one per
    command."""
    socketio.on_event("connect", connect)
    socketio.on_event("disconnect", disconnect)
    socketio.on_event("state.get", state_get)
    for name in COMMANDS:
        socketio.on_event(name, _command_handler(name))


def _workshops() -> WorkshopDesk:
    """The workshops' use cases, which these sockets serve."""
    return samsyn().services.workshops


def _connection() -> Connection | None:
    return samsyn().presence.get(request.sid)  # type: ignore[attr-defined]


def connect(auth: Any = None) -> None:
    """Sent by every board, console and phone on (re)connecting, with {"code", "view"}.

    Refused unless the browser's cookie holds the workshop's facilitator secret or a live
    console key (board, console, proxy) or a participant id (phone); `access_ended` when
    the cookie holds a secret or key that no longer opens the workshop (the link was
    replaced, the login ended). A "proxy" view is the facilitator voting for a proxy
    participant ({"proxy": number}): a phone acting as that participant. The client then
    gets its full state at once: `state`, and for a phone also `me`.
    """
    if not isinstance(auth, dict) or auth.get("view") not in (BOARD, CONSOLE, PHONE, PROXY):
        raise ConnectionRefusedError("bad_handshake")
    view, code = auth["view"], normalise_code(str(auth.get("code", ""))[:20])
    if guessing(code):
        raise ConnectionRefusedError("too_many_tries")
    ext = samsyn()
    actor = identity.participant(code) if view == PHONE else identity.facilitator(code)
    proxy = view == PROXY
    held = None if view == PHONE else actor.secret
    # A check of access that begins from here on might miss this connection: see below.
    checks = ext.gatekeeper.checks
    try:
        if proxy:
            actor = ext.services.workshops.proxy_actor(code, actor.secret, auth.get("proxy"))
            view = PHONE
        if view == PHONE:
            if actor.token is None:
                raise ConnectionRefusedError("not_joined")
            workshop_id, participant_id, snapshot = ext.services.workshops.arrive(
                code,
                actor.token,
                admit=lambda: admit_newcomer(code),
                phones_see=ext.broadcaster.room_view_for_phones,
            )
        else:
            workshop = ext.services.workshops.authorise_facilitator(code, actor.secret)
            workshop_id, participant_id = workshop.id, None
            snapshot = ext.services.workshops.snapshot(actor, view)
    except DomainError as error:
        if error.code in ("unknown_workshop", "forbidden"):
            wrong_code()
        # The cookie is signed: a secret in it was good once, so its access has ended.
        ended = error.code == "forbidden" and held is not None
        raise ConnectionRefusedError("access_ended" if ended else error.code) from None
    language = i18n.language_for(snapshot["state"]["workshop"]["language"])
    connection = Connection(actor, view, workshop_id, language, participant_id, proxy, secret=held)
    ext.presence.add(request.sid, connection)  # type: ignore[attr-defined]
    join_room(room(view, workshop_id))
    if participant_id is not None:
        join_room(participant_room(participant_id))
    if connection.by_facilitator and ext.gatekeeper.checks != checks:
        # Access was checked while this screen was being let in: it may have ended since
        # this screen's own check. Check again, now that a next check would find it.
        try:
            ext.services.workshops.authorise_facilitator(code, held)
        except DomainError:
            ext.presence.remove(request.sid)  # type: ignore[attr-defined]
            raise ConnectionRefusedError("access_ended") from None
    ext.broadcaster.presence_changed(workshop_id)
    emit("state", _with_presence(snapshot["state"], view, workshop_id))
    if "me" in snapshot:
        emit("me", snapshot["me"])


def disconnect_screen(socketio: SocketIO, sid: str, deleted: bool = False) -> None:
    """End one connection from the server's side (a screen whose access ended, access.py).
    It tries once to connect again with its cookie, and is refused unless that still opens
    the workshop. A screen of a deleted workshop is told so first, as the broadcaster tells
    every screen of it."""
    if deleted:
        socketio.emit("deleted", {}, to=sid)
    socketio.server.disconnect(sid, namespace="/")


def disconnect(*_: Any) -> None:
    """A client went away; boards and consoles see the new count on the next tick."""
    ext = samsyn()
    connection = ext.presence.remove(request.sid)  # type: ignore[attr-defined]
    if connection is not None:
        ext.broadcaster.presence_changed(connection.workshop_id)


def state_get(*_: Any) -> dict[str, Any]:
    """Sent by any client that suspects it missed something (after sleep, on a gap). Acks
    with {"ok": true, "data": {"state": …, "me": …}}; nothing is broadcast."""
    connection = _connection()
    if connection is None:
        return _not_connected()
    try:
        snapshot = _workshops().snapshot(connection.actor, connection.view)
    except DomainError as error:
        return i18n.localise(error_answer(error), connection.language)
    snapshot["state"] = _with_presence(snapshot["state"], connection.view, connection.workshop_id)
    return {"ok": True, "data": snapshot}


def _with_presence(
    state: PhoneView | ConsoleView, view: str, workshop_id: int
) -> PhoneState | BoardState | ConsoleState:
    """The state as this view gets it: phones without participation, screens with presence;
    all with the server's time."""
    if view == PHONE:  # a phone's snapshot: the phones' view (phone_view leaves it so)
        phone: PhoneState = {**phone_view(cast(PhoneView, state)), "server_time": server_time()}
        return phone
    presence = samsyn().presence
    return cast(
        BoardState | ConsoleState,
        {**state, "connected": presence.participants(workshop_id), "server_time": server_time()},
    )


def _not_connected() -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"code": "not_connected", "message": gettext("Reconnect to the workshop first.")},
    }


def _command_handler(name: str) -> Any:
    def handle(payload: Any = None, *_: Any) -> dict[str, Any]:
        connection = _connection()
        if connection is None:
            return _not_connected()
        parts = samsyn()
        if not parts.command_limit.allow(connection.rate_key):
            # Not recorded: the same command may be sent again once the pace is normal.
            parts.metrics.rate_limited.inc()
            return i18n.localise(error_answer(TOO_FAST), connection.language)
        started = time.perf_counter()
        answer = parts.services.workshops.execute(connection.actor, name, payload)
        parts.metrics.command_seconds.observe(time.perf_counter() - started)
        outcome = "ok" if answer["ok"] else "refused"
        parts.metrics.commands.labels(command=name, outcome=outcome).inc()
        commands_log.info("%s %s", name, "ok" if answer["ok"] else answer["error"]["code"])
        return i18n.localise(answer, connection.language)

    handle.__name__ = name.replace(".", "_")
    handle.__doc__ = COMMANDS[name].run.__doc__
    return handle


# What a client is told when a handler could not finish (see `on_error`).
BUSY_MESSAGE = N_("The server is busy. Your answer is sent again by itself in a moment.")
BUG_MESSAGE = N_("The server could not handle that. Please try again.")


def on_error(error: Exception) -> dict[str, Any]:
    """What a handler could not finish. The database out of reach or without a connection
    free is no bug: the client is told `busy` and tries again. Anything else is a bug:
    logged, and still answered. A connection that failed half-way is refused, never
    accepted without its state (the client then connects again by itself)."""
    if isinstance(error, ConnectionRefusedError):
        raise error  # a refused connection is an answer, not a bug
    busy = isinstance(error, BUSY)
    if busy:
        log.warning("socket handler: database busy or unreachable (%s)", type(error).__name__)
    else:
        log.exception("socket handler failed: %s", request.event.get("message"))  # type: ignore[attr-defined]
    code = "busy" if busy else "server_error"
    if request.event.get("message") == "connect":  # type: ignore[attr-defined]
        raise ConnectionRefusedError(code)
    connection = _connection()
    with force_locale(connection.language if connection else "sv"):
        message = gettext(BUSY_MESSAGE) if busy else gettext(BUG_MESSAGE)
    return {"ok": False, "error": {"code": code, "message": message}}
