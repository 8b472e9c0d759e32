"""The parts of the app that both sides reach, and the guard on workshop codes.

Layer: edge, shared by the HTTP side (edges/http) and the live side (edges/live); may import
the layers below and edges/identity and edges/limits, never either side. create_app builds
one object with every part (`facilitation.Samsyn`); each side reaches it through its own
`samsyn()`, typed as that side's parts (edges/http/parts.py, edges/live/parts.py), so that
neither side knows the other's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, cast

from flask import current_app, request

from facilitation.edges import identity
from facilitation.edges.limits import Limit
from facilitation.infrastructure.db import Database
from facilitation.infrastructure.metrics import Metrics
from facilitation.usecases import Services


@dataclass(kw_only=True)
class Parts:
    """What both sides use."""

    db: Database
    services: Services
    metrics: Metrics
    # Wrong join codes, facilitator secrets and invitation links, per address; shared by
    # the processes when there are several (limits.security_limits).
    join_limit: Limit


AnyParts = TypeVar("AnyParts", bound=Parts)


def parts(side: type[AnyParts]) -> AnyParts:
    """The parts of the app handling the current request or event, as `side` sees them."""
    return cast(AnyParts, current_app.extensions["samsyn"])


def guessing(code: str) -> bool:
    """Whether to refuse looking up `code`: the requesting address has tried too many wrong
    workshop codes lately, and this browser was never let into this workshop (so phones
    that joined keep reconnecting, whatever others on the venue's network do). The address
    is only held in memory, for the limit: it is never stored."""
    return not identity.knows(code) and not parts(Parts).join_limit.has_tokens(
        request.remote_addr or ""
    )


def wrong_code() -> None:
    """Count a wrong workshop code against the requesting address."""
    parts(Parts).join_limit.allow(request.remote_addr or "")
