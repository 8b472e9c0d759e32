"""The use cases by area, each behind its entry point: `WorkshopDesk` (a workshop's commands,
run as `commands.py` says: validate, authorise, transaction, rule, commit, record the
answer, and only then publish what changed; and its other use cases), `OrganizerDesk`
(accounts and logins), `SeriesDesk` (series, their library's commands, invitations, the
follow page) and `Operations` (health, retention). `Services` holds one of each.

Layer: use cases. Imports the core, the models, the schemas and the database; never Flask or
Socket.IO. Socket handlers and HTTP views call the entry point of the area they serve
(`services.workshops.join(...)`, `services.organizers.log_in(...)`) and nothing below it;
the names below are what the edges may import besides.
"""

from __future__ import annotations

from collections.abc import Callable

from facilitation.infrastructure.db import Database
from facilitation.infrastructure.passwords import Argon2Passwords, Passwords
from facilitation.queries.state import phone_view
from facilitation.usecases.accounts import Login, is_grant, login_name
from facilitation.usecases.base import AccessEnded, Actor, Change, Publisher, SeriesChange
from facilitation.usecases.commands import CommandRunner, error_answer, validation_error
from facilitation.usecases.operations import Operations
from facilitation.usecases.organizer_desk import OrganizerDesk
from facilitation.usecases.participants import new_token
from facilitation.usecases.registry import COMMANDS, SERIES_COMMANDS
from facilitation.usecases.retention import ACTIONS as RETENTION_ACTIONS
from facilitation.usecases.series_desk import SeriesDesk
from facilitation.usecases.workshop_desk import WorkshopDesk

__all__ = [
    "COMMANDS",
    "RETENTION_ACTIONS",
    "SERIES_COMMANDS",
    "AccessEnded",
    "Actor",
    "Change",
    "Login",
    "Operations",
    "OrganizerDesk",
    "Passwords",
    "Publisher",
    "SeriesChange",
    "SeriesDesk",
    "Services",
    "WorkshopDesk",
    "error_answer",
    "is_grant",
    "login_name",
    "new_token",
    "phone_view",
    "validation_error",
]


class Services:
    """The entry points of the use cases, bound to a database, to whoever listens for
    changes, and to what hashes passwords (Argon2id where it is called, unless given
    another). They share one command runner, so every command takes its one way."""

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        on_batch: Callable[[int], None] | None = None,
        passwords: Passwords | None = None,
        on_lock: Callable[[float], None] | None = None,
    ) -> None:
        self.db = db
        self.commands = CommandRunner(db, publisher, on_batch, on_lock)
        self.workshops = WorkshopDesk(self.commands)
        self.organizers = OrganizerDesk(self.commands, passwords or Argon2Passwords())
        self.series = SeriesDesk(self.commands)
        self.operations = Operations(self.commands)

    @property
    def publisher(self) -> Publisher:
        """Who hears of committed changes (the broadcaster), for every area."""
        return self.commands.publisher

    @publisher.setter
    def publisher(self, publisher: Publisher) -> None:
        self.commands.publisher = publisher
