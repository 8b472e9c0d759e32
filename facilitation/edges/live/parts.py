"""The parts of the app the live side reaches: `samsyn()` in a Socket.IO handler.

Layer: edge (live); may import edges/parts.py, edges/limits.py and the live side's parts
(presence, broadcaster, gatekeeper, followers), never the HTTP side.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from facilitation.edges.limits import Limit, TokenBucket
from facilitation.edges.live.access import Gatekeeper
from facilitation.edges.live.broadcast import Broadcaster
from facilitation.edges.live.followers import Followers
from facilitation.edges.live.presence import Presence
from facilitation.edges.parts import Parts, parts


@dataclass(kw_only=True)
class LiveParts(Parts):
    """What the Socket.IO handlers use."""

    presence: Presence
    broadcaster: Broadcaster
    # The follow pages' presence and what they are sent (followers.py).
    followers: Followers
    # Ends the facilitator screens whose access ended (access.py).
    gatekeeper: Gatekeeper
    # In memory, per process: commands per participant (each phone is routed to one
    # process, and a round trip to Redis per vote would cost more than it guards).
    command_limit: TokenBucket
    # The guard on joins: new participants per address and per workshop (`admit_newcomer`),
    # shared like join_limit.
    joins_per_address: Limit
    joins_per_workshop: Limit


def samsyn() -> LiveParts:
    """The parts of the app handling the current event."""
    return parts(LiveParts)


def admit_newcomer(code: str) -> bool:
    """Whether someone new may join workshop `code` from the requesting address now; if so,
    they are counted. Asked only about new participants, so a phone coming back is never
    slowed. The limits are far above a real venue's (a whole room behind one NAT address)
    and stop a script that makes participants from fresh cookies."""
    live = samsyn()
    address = request.remote_addr or ""
    # Two round trips when several processes share the counts in Redis, not four: a
    # workshop at its limit gives the venue's token back, so that it does not use up the
    # venue's allowance while its phones keep trying (nor the reverse).
    if live.joins_per_address.allow(address):
        if live.joins_per_workshop.allow(code):
            return True
        live.joins_per_address.refund(address)
    live.metrics.joins_refused.inc()
    return False
