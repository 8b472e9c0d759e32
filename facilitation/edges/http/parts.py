"""The parts of the app the HTTP side reaches: `samsyn()` in a view.

Layer: edge (HTTP); may import edges/parts.py and edges/http, never the live side: what the
HTTP side needs of it (the connections open, for /metrics) is a protocol here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from facilitation.edges.http.export_jobs import Exports
from facilitation.edges.http.phone_pages import PhonePages
from facilitation.edges.limits import Limit
from facilitation.edges.parts import Parts, parts


class Connections(Protocol):
    """The live side's presence, as /metrics counts it."""

    def by_view(self) -> dict[str, int]: ...


@dataclass(kw_only=True)
class HttpParts(Parts):
    """What the pages and the API use."""

    presence: Connections
    # Exports written in worker processes, until they are fetched (export_jobs.py).
    exports: Exports
    # Wrong passwords (organizer logins, the current password, CREATE_PASSWORD), per
    # account, address and browser (tries.py); shared like join_limit.
    login_limit: Limit | None = None
    # The phone page as lately rendered (phone_pages.py): a room joining at once shares one.
    phone_pages: PhonePages


def samsyn() -> HttpParts:
    """The parts of the app handling the current request."""
    return parts(HttpParts)
