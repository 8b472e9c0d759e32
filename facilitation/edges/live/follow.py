"""The `/follow` namespace: the public follow page, live.

Layer: edge (live); may import live/parts.py, live/followers.py and the layers below. A
read-only namespace for anyone with the page's address — no cookie, no commands, nothing
private — whose pages are sent the series' public state whenever it changes: when one of
its workshops reveals a round, changes step or is deleted, or the organizers change the series
(followers.py sends it). Apart from the workshops' namespace (realtime.py) on purpose.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room

from facilitation.core.domain import DomainError
from facilitation.edges.live.followers import NAMESPACE, follow_room
from facilitation.edges.live.parts import samsyn
from facilitation.edges.parts import wrong_code


def register(socketio: SocketIO) -> None:
    """Give the server the namespace's handlers."""
    socketio.on_event("connect", follow_connect, namespace=NAMESPACE)
    socketio.on_event("disconnect", follow_disconnect, namespace=NAMESPACE)


def follow_connect(auth: Any = None) -> None:
    """Sent by a follow page with {"series": <follow code>}, without a cookie. Refused with
    `unknown_series` unless the series is public (`too_many_tries` after many wrong codes
    from one address); otherwise the page gets `series`, the public state, at once."""
    code = str(auth.get("series", ""))[:64] if isinstance(auth, dict) else ""
    parts = samsyn()
    if not parts.join_limit.has_tokens(request.remote_addr or ""):
        raise ConnectionRefusedError("too_many_tries")
    try:
        view = parts.services.series.follow_view(code)
    except DomainError:
        wrong_code()
        raise ConnectionRefusedError("unknown_series") from None
    series_id = view.pop("id")
    parts.followers.add(request.sid, series_id, view)  # type: ignore[attr-defined]
    join_room(follow_room(series_id))
    emit("series", view)


def follow_disconnect(*_: Any) -> None:
    """A follow page went away; nobody hears of it (follow pages show no count)."""
    samsyn().followers.remove(request.sid)  # type: ignore[attr-defined]
