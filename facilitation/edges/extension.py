"""The app's parts as one object, reachable from handlers and views as `samsyn()`.

Layer: edge glue. Built by create_app; the transport layers reach services through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flask import current_app, request

from facilitation.edges import identity
from facilitation.edges.limits import Limit, TokenBucket
from facilitation.edges.live.broadcast import Broadcaster, Presence
from facilitation.infrastructure.db import Database
from facilitation.infrastructure.metrics import Metrics
from facilitation.usecases import Services

if TYPE_CHECKING:
    from facilitation.edges.http.export_jobs import Exports
    from facilitation.edges.live.access import Gatekeeper
    from facilitation.edges.live.follow import Followers


@dataclass
class Samsyn:
    db: Database
    services: Services
    presence: Presence
    broadcaster: Broadcaster
    # In memory, per process: commands per participant (each phone is routed to one
    # process, and a round trip to Redis per vote would cost more than it guards).
    command_limit: TokenBucket
    # Wrong join codes, facilitator secrets and invitation links, per address; shared by
    # the processes when there are several (limits.security_limits).
    join_limit: Limit
    # The guard on joins: new participants per address and per workshop (`admit_newcomer`),
    # shared like join_limit.
    joins_per_address: Limit
    joins_per_workshop: Limit
    metrics: Metrics
    # Exports written in worker processes, until they are fetched (export_jobs.py).
    exports: Exports
    # Wrong passwords (organizer logins, the current password, CREATE_PASSWORD), per
    # account, address and browser (tries.py); shared like join_limit.
    login_limit: Limit | None = None
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


def admit_newcomer(code: str) -> bool:
    """Whether someone new may join workshop `code` from the requesting address now; if so,
    they are counted. Asked only about new participants, so a phone coming back is never
    slowed. The limits are far above a real venue's (a whole room behind one NAT address)
    and stop a script that makes participants from fresh cookies."""
    parts = samsyn()
    address = request.remote_addr or ""
    # Both first: a workshop at its limit must not use up a venue's allowance (nor the
    # reverse) while its phones keep trying.
    if not (
        parts.joins_per_address.has_tokens(address) and parts.joins_per_workshop.has_tokens(code)
    ):
        parts.metrics.joins_refused.inc()
        return False
    return parts.joins_per_address.allow(address) and parts.joins_per_workshop.allow(code)


def wrong_code() -> None:
    """Count a wrong workshop code against the requesting address."""
    samsyn().join_limit.allow(request.remote_addr or "")
