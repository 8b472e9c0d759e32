"""Phones connecting at once are looked up together: one read for a crowd, not one each.

Layer: use cases. Imports the core, the models and the database; never Flask or Socket.IO.

Every phone that connects is first looked up (`WorkshopDesk.arrive`): its workshop, whether
that takes newcomers, and the participant its cookie id names there if it joined before.
When a room scans the QR code, hundreds connect within seconds, and a lookup of its own
costs each a pooled connection, a round trip and the ORM's bookkeeping (13 % of a joining
phone's CPU on PostgreSQL, profiled), and on a busy event loop holds its connection while
it waits for its turn. The first phone to ask gathers those who ask while it lets the event
loop run the others once (as the command runner's batches gather, commands.py), looks them
all up in one statement and answers each; whoever asks meanwhile starts the next gathering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from facilitation.core import domain
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database
from facilitation.usecases.commands import BATCH_MAX, gather, let_others_run, unknown_workshop


class Arrival(NamedTuple):
    """A phone connecting: its workshop, whether that takes newcomers, and the participant
    its cookie id names there, if it joined before."""

    workshop_id: int
    step: str
    doors_closed: bool
    participant_id: int | None


# (the workshop's code, the phone's cookie id)
Key = tuple[str, str]

_WORKSHOPS, _PARTICIPANTS = models.Workshop.__table__, models.Participant.__table__
# Built once, as a plain table statement: every phone connecting is asked for in it.
_ARRIVALS = (
    select(
        _WORKSHOPS.c.code,
        _WORKSHOPS.c.id,
        _WORKSHOPS.c.step,
        _WORKSHOPS.c.doors_closed,
        _PARTICIPANTS.c.token,
        _PARTICIPANTS.c.id,
    )
    .select_from(
        _WORKSHOPS.outerjoin(
            _PARTICIPANTS,
            (_PARTICIPANTS.c.workshop_id == _WORKSHOPS.c.id)
            & _PARTICIPANTS.c.token.in_(bindparam("tokens", expanding=True)),
        )
    )
    .where(_WORKSHOPS.c.code.in_(bindparam("codes", expanding=True)))
)


def look_up(session: Session, keys: Collection[Key]) -> dict[Key, Arrival]:
    """The arrivals of these (code, cookie id) pairs, in one statement; a pair whose
    workshop does not exist is left out."""
    rows = session.execute(
        _ARRIVALS,
        {"codes": sorted({code for code, _ in keys}), "tokens": sorted({t for _, t in keys})},
    )
    workshops: dict[str, tuple[int, str, bool]] = {}
    joined: dict[Key, int] = {}
    for code, workshop_id, step, doors_closed, token, participant_id in rows:
        workshops[code] = (workshop_id, step, doors_closed)
        if token is not None:
            joined[code, token] = participant_id
    return {
        (code, token): Arrival(*workshops[code], joined.get((code, token)))
        for code, token in keys
        if code in workshops
    }


@dataclass
class _Gathering:
    """Phones asking together, and what one lookup found for them all."""

    keys: dict[Key, None] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    found: dict[Key, Arrival] | None = None
    error: Exception | None = None


class Arrivals:
    """Looks up connecting phones, those asking at once together."""

    def __init__(self, db: Database, pause: Callable[[], None] = let_others_run) -> None:
        self.db = db
        self.pause = pause
        self._lock = threading.Lock()
        self._open: _Gathering | None = None

    def find(self, code: str, token: str) -> Arrival:
        """This phone's arrival, or `unknown_workshop`."""
        key = (domain.normalise_code(code), token)
        with self._lock:
            gathering = self._open
            first = gathering is None
            if gathering is None:
                gathering = self._open = _Gathering()
            gathering.keys[key] = None
            if len(gathering.keys) >= BATCH_MAX:  # full: whoever asks next gathers anew
                self._open = None
        if first:
            self._look_up(gathering)
        else:
            gathering.done.wait()
        if gathering.error is not None:
            raise gathering.error
        if gathering.found is None:  # the first one's task was ended while it looked
            raise RuntimeError("the lookup of arriving phones did not finish")
        found = gathering.found.get(key)
        if found is None:
            raise unknown_workshop()
        return found

    def _look_up(self, gathering: _Gathering) -> None:
        """Gather whoever else asks now, then look them all up; everyone waiting is woken,
        whatever happens."""
        try:
            gather(lambda: len(gathering.keys), self.pause)
            self._close(gathering)
            with self.db.read() as s:
                gathering.found = look_up(s, list(gathering.keys))
        except Exception as error:
            gathering.error = error
        finally:
            self._close(gathering)
            gathering.done.set()

    def _close(self, gathering: _Gathering) -> None:
        """Whoever asks from now on starts the next gathering."""
        with self._lock:
            if self._open is gathering:
                self._open = None
