"""The app's parts as one object, reachable from handlers and views as `samsyn()`.

Layer: edge glue. Built by create_app; the transport layers reach services through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flask import current_app, request

from . import identity
from .broadcast import Broadcaster, Presence
from .db import Database
from .limits import TokenBucket
from .metrics import Metrics
from .services import Services

if TYPE_CHECKING:
    from .access import Gatekeeper
    from .follow import Followers


@dataclass
class Samsyn:
    db: Database
    services: Services
    presence: Presence
    broadcaster: Broadcaster
    # In memory, per process: commands per participant, wrong join codes per address.
    command_limit: TokenBucket
    join_limit: TokenBucket
    metrics: Metrics
    # Organizer logins that failed, per username and per address (organizers.py).
    login_limit: TokenBucket | None = None
    # The follow pages' presence and loop (follow.py).
    followers: Followers | None = None
    # Ends the facilitator screens whose access ended (access.py).
    gatekeeper: Gatekeeper | None = None


def samsyn() -> Samsyn:
    """The parts of the app handling the current request or event."""
    return cast(Samsyn, current_app.extensions["samsyn"])


def guessing(code: str) -> bool:
    """Whether to refuse looking up `code`: the requesting address has tried too many wrong
    workshop codes lately, and this browser was never let into this workshop (so phones
    that joined keep reconnecting, whatever others on the venue's network do). The address
    is only held in memory, for the limit: it is never stored."""
    return not identity.knows(code) and not samsyn().join_limit.has_tokens(
        request.remote_addr or ""
    )


def wrong_code() -> None:
    """Count a wrong workshop code against the requesting address."""
    samsyn().join_limit.allow(request.remote_addr or "")
