"""Access that ends, ends at once: open boards, consoles and proxy pages are checked again.

Layer: edge (live); may import live/presence.py, live/cluster.py and the layers below.

A facilitator screen is authorised when it connects, and each command it sends is checked
against the database; but an open socket also receives the console's state (the log,
nicknames) without asking. So when someone's right to a workshop's screens may have ended —
a co-facilitator removed, a logout, a password change ending the other logins, an account
deleted, the facilitator link replaced — the services publish `AccessEnded` after the
commit, and `Gatekeeper` sends word to every process (cluster.py). Each checks the secret or
console key behind each of its open screens of that workshop against the database, in one
read, and disconnects only those that no longer pass: the others, the owner's console among
them, never notice. A disconnected screen tries once to connect again with its cookie;
refused, it says so (static/js/live.js).

Every CHECK_INTERVAL the ticker (ticker.py) also has each process check all its
facilitator screens (`tick`): that ends a console key at its login's absolute end, and
notices changes made without a word to the processes (an operator deleting an account from
the command line).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from facilitation.edges.live.cluster import Cluster
from facilitation.edges.live.presence import Presence
from facilitation.usecases import AccessEnded, WorkshopDesk

log = logging.getLogger(__name__)

# Word to every process: check the workshop's facilitator screens again.
ACCESS = "access"
# Seconds between two checks of every facilitator screen of this process.
CHECK_INTERVAL = 1.0


class Gatekeeper:
    """Disconnects the facilitator screens of this process that no longer have access."""

    def __init__(
        self,
        presence: Presence,
        cluster: Cluster,
        disconnect: Callable[[str, bool], None],
        *,
        interval: float = CHECK_INTERVAL,
    ) -> None:
        self.presence = presence
        self.cluster = cluster
        self.disconnect = disconnect
        self.interval = interval
        # The workshops' use cases it checks through (given once they are built).
        self.workshops: WorkshopDesk | None = None
        # How many checks began: a screen that connected while one ran is checked itself.
        self.checks = 0
        self._lock = threading.Lock()

    def publish(self, change: AccessEnded) -> None:
        """After a commit that may have ended someone's access: word to every process."""
        self.cluster.tell(ACCESS, change.workshop_id)

    def check(self, workshop_id: int) -> None:
        """What the word does in each process (the cluster's handler)."""
        self.check_all({workshop_id})

    def check_all(self, workshop_ids: set[int]) -> None:
        """Check the open facilitator screens of these workshops; disconnect those whose
        secret or console key no longer opens them, and those of a workshop gone (telling
        them it was deleted, as the broadcaster would: whichever of the two comes first)."""
        with self._lock:
            self.checks += 1
        screens = self.presence.facilitator_screens(workshop_ids)
        if not screens or self.workshops is None:
            return
        held = {w: set(by_sid.values()) for w, by_sid in screens.items()}
        passing = self.workshops.facilitators_still_in(held)
        for workshop_id, by_sid in screens.items():
            still_in = passing.get(workshop_id)
            for sid, secret in by_sid.items():
                if still_in is None or secret not in still_in:
                    log.info("a facilitator screen of workshop %s lost access", workshop_id)
                    self.disconnect(sid, still_in is None)

    def tick(self, now: float) -> None:
        """The periodic check (every `interval`, whatever `now`): all the facilitator screens
        of this process."""
        self.check_all(self.presence.facilitated())
