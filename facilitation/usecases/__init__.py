"""The use cases: client commands (run as `commands.py` says: validate, authorise,
transaction, rule, commit, record the answer, and only then publish what changed) and the
use cases of pages, the API and the command line.

Layer: services. Imports the core, the models, the schemas and the database; never Flask or
Socket.IO. Socket handlers and HTTP views call `Services` and nothing below it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from facilitation.core import domain
from facilitation.core.domain import N_, DomainError, Role, SeedFactor, Step
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database, lock_workshop
from facilitation.infrastructure.passwords import Argon2Passwords, Passwords
from facilitation.queries import state
from facilitation.queries.views import (
    CombinedRecord,
    FollowPage,
    FollowView,
    Record,
    RoomView,
    Snapshot,
)
from facilitation.usecases import participants, retention, workshops
from facilitation.usecases.base import (
    AccessEnded,
    Actor,
    Change,
    Publisher,
    bump,
    hash_secret,
    new_secret,
    secret_matches,
)
from facilitation.usecases.commands import (
    COMMANDS,
    CommandRunner,
    authorise,
    error_answer,
    validation_error,
)

log = logging.getLogger(__name__)

__all__ = [
    "COMMANDS",
    "AccessEnded",
    "Actor",
    "Change",
    "Passwords",
    "Services",
    "error_answer",
    "validation_error",
]

WRONG_LOGIN = DomainError("wrong_login", N_("The username or password is wrong."))
WRONG_PASSWORD = DomainError("wrong_password", N_("The current password is wrong.")).at("current")


class Services:
    """The use cases, bound to a database, to whoever listens for changes, and to what
    hashes passwords (Argon2id where it is called, unless given another)."""

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        on_batch: Callable[[int], None] | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.db = db
        self.commands = CommandRunner(db, publisher, on_batch)
        self.passwords: Passwords = passwords or Argon2Passwords()
        self._dummy_hash: str | None = None

    @property
    def publisher(self) -> Publisher:
        """Who hears of committed changes (the broadcaster), for commands and the rest."""
        return self.commands.publisher

    @publisher.setter
    def publisher(self, publisher: Publisher) -> None:
        self.commands.publisher = publisher

    # --- Commands -----------------------------------------------------------------------

    def execute(self, actor: Actor, name: str, raw: Any) -> dict[str, Any]:
        """Run one client command and return its answer (the acknowledgement), sent only
        after the command's transaction has committed.

        A command id already answered for this actor gets the stored answer again and
        changes nothing, so a phone may safely resend after a reconnect. Commands arriving
        while another transaction runs wait together and share the next transaction
        (`commands.py`): under load, one commit serves many commands; alone, a command
        runs at once.
        """
        return self.commands.execute(actor, name, raw)

    @staticmethod
    def _authorise(s: Any, workshop: models.Workshop, actor: Actor) -> models.Participant | None:
        """Check the actor against the database: the facilitator's secret, or the
        participant's cookie id (the participant, for a participant)."""
        participant = (
            participants.find(s, workshop, actor.token) if actor.role is Role.PARTICIPANT else None
        )
        authorise(workshop, actor, participant)
        return participant

    # --- Other use cases ----------------------------------------------------------------

    def create_workshop(
        self, *, title: str, language: str, categories: list[str] | None, seeds: list[SeedFactor]
    ) -> tuple[str, str]:
        """Create a workshop; returns its join code and the facilitator secret."""
        with self.db.write() as s:
            workshop, secret = workshops.create(
                s, title=title, language=language, categories=categories, seeds=seeds
            )
            code = workshop.code
        return code, secret

    def join(
        self, code: str, token: str, admit: Callable[[], bool] | None = None
    ) -> tuple[int, int]:
        """A participant with this cookie id connects: created on first connect, if the
        workshop takes new participants and `admit` (the edge's guard on joins, asked only
        about someone new) lets them in. Returns the workshop's and the participant's ids."""
        with self.db.read() as s:
            # A phone coming back (after sleep, or all of them after the wifi dropped) is
            # found without taking the write lock, and is never counted by the guard.
            found = workshops.find(s, code)
            known = participants.find(s, found, token)
            if known is not None:
                return found.id, known.id
            # Checked again under the workshop's lock; here, so that the guard counts no one
            # who could not come in anyway.
            domain.check_can_join(Step(found.step), doors_closed=found.doors_closed)
        if admit is not None and not admit():
            raise DomainError(
                "too_many_joins",
                N_("Very many are joining at once. This page tries again by itself shortly."),
            )
        # The first connect takes its turn with the commands (`commands.py`): a room
        # joining at once shares transactions.
        return self.commands.join(Actor(Role.PARTICIPANT, code, token=token))

    def delete_workshop(self, code: str, secret: str | None) -> None:
        """The facilitator deletes a workshop with all its data. What stays is a line saying
        that a workshop was deleted, when, and how much went — without any content."""
        with self.db.write() as s:
            workshop = _locked_for_facilitator(s, code, secret)
            workshop_id = workshop.id
            s.add(workshops.deletion(s, workshop))
            s.delete(workshop)
        self.publisher.publish(Change(workshop_id))

    def replace_secret(self, code: str, secret: str | None) -> str:
        """The facilitator replaces their link (it leaked, or was shared too widely): returns
        the new secret. Every screen holding the old one loses access at once: its open
        screens are checked again, and its next command, page or connection is refused."""
        with self.db.write() as s:
            workshop = _locked_for_facilitator(s, code, secret)
            new = new_secret()
            workshop.facilitator_secret_hash = hash_secret(new)
            s.add(
                models.LogEntry(
                    workshop_id=workshop.id, actor="facilitator", action="facilitator_link.replaced"
                )
            )
            bump(workshop)
            workshop_id = workshop.id
        self.publisher.publish(Change(workshop_id))
        self.publisher.publish(AccessEnded(workshop_id))
        return new

    def apply_retention(self, cutoff: datetime, action: str, *, dry_run: bool = False) -> int:
        """Anonymise or delete every closed workshop unchanged since before `cutoff`; returns
        how many (with `dry_run`, how many would be). One transaction per workshop, each
        checked again under its lock, so a workshop reopened meanwhile is left alone."""
        with self.db.read() as s:
            codes = retention.due(s, cutoff, action)
        if dry_run:
            return len(codes)
        done = 0
        for code in codes:
            with self.db.write() as s:
                workshop = lock_workshop(s, code)
                if workshop is None or not retention.is_due(workshop, cutoff, action):
                    continue
                workshop_id = workshop.id
                if action == retention.DELETE:
                    retention.remove(s, workshop)
                else:
                    retention.anonymise(s, workshop)
            self.publisher.publish(Change(workshop_id))
            done += 1
        return done

    def facilitators_still_in(
        self, held: dict[int, set[str | None]]
    ) -> dict[int, set[str | None] | None]:
        """Of the facilitator secrets and console keys that opened screens of these
        workshops, those that still open them; None for a workshop gone. One read for all."""
        with self.db.read() as s:
            passing: dict[int, set[str | None] | None] = {}
            for workshop_id, secrets in held.items():
                workshop = s.get(models.Workshop, workshop_id)
                passing[workshop_id] = (
                    {x for x in secrets if secret_matches(x, workshop)} if workshop else None
                )
            return passing

    def authorise_facilitator(self, code: str, secret: str | None) -> models.Workshop:
        """The workshop, if `secret` is its facilitator secret; otherwise an error."""
        with self.db.read() as s:
            workshop = workshops.find(s, code)
            if not secret_matches(secret, workshop):
                raise DomainError("forbidden", N_("You may not do that."))
            return workshop

    def proxy_actor(self, code: str, secret: str | None, number: Any) -> Actor:
        """The proxy participant `number` of the workshop as an actor, for its facilitator:
        the facilitator then votes for them as they would on a phone."""
        with self.db.read() as s:
            workshop = workshops.find(s, code)
            if not secret_matches(secret, workshop):
                raise DomainError("forbidden", N_("You may not do that."))
            proxy = participants.find_proxy(s, workshop, number)
            return Actor(Role.PARTICIPANT, workshop.code, token=proxy.token)

    def find_proxy(self, code: str, number: int) -> models.Participant:
        """The workshop's proxy participant with this number (for its facilitator's page)."""
        with self.db.read() as s:
            return participants.find_proxy(s, workshops.find(s, code), number)

    def check_database(self) -> None:
        """Raises SQLAlchemy's error if the database does not answer a query."""
        with self.db.read() as s:
            s.execute(text("SELECT 1"))

    def find_workshop(self, code: str) -> models.Workshop:
        with self.db.read() as s:
            return workshops.find(s, code)

    def snapshot(self, actor: Actor, view: str, phones_see: RoomView | None = None) -> Snapshot:
        """The full state for one view ("board", "console" or "phone"); a phone's comes
        with its own part ("me"), and may be given `phones_see`: a room view read since the
        last change phones would see (a room of phones joining need not read it each)."""
        with self.db.read() as s:
            workshop = workshops.find(s, actor.code)
            participant = self._authorise(s, workshop, actor)
            if participant is not None:
                room = phones_see if phones_see is not None else state.room_view(s, workshop)
                return {
                    "state": state.phone_view(room),
                    "me": state.personal_view(s, workshop, participant),
                }
            room = state.room_view(s, workshop)
            if view == "console":
                return {"state": state.console_view(s, workshop, room)}
            return {"state": room}

    def record(self, code: str, *, nicknames: bool = False) -> Record:
        """The complete workshop for an export (with nicknames only when asked for)."""
        with self.db.read() as s:
            return state.record(s, workshops.find(s, code), nicknames=nicknames)

    # Organizers, series and their library (issue #7): accounts.py, series.py, library.py,
    # picture.py. Series changes are published as SeriesChange, for the follow pages.

    def has_organizers(self) -> bool:
        """Whether any organizer account exists (the first-run page is for when none does)."""
        with self.db.read() as s:
            return accounts.count(s) > 0

    # Passwords are hashed and checked (`self.passwords`, ~30 ms each, maybe in a worker)
    # before or after a transaction, never inside one: a transaction waiting for them would
    # hold a connection, and on SQLite the write lock every vote needs. What cheap checks
    # can refuse is refused before any hashing.

    def create_organizer(self, username: str, password: str) -> int:
        """A new organizer account (from the command line)."""
        return self._add_organizer(username, password)[0]

    def set_up(self, username: str, password: str) -> str:
        """The first organizer account, from the first-run page, logged in: the login's
        token. Only while there is no account: the database holds it (`first_run`)."""
        token = self._add_organizer(username, password, first=True)[1]
        assert token is not None
        return token

    def _add_organizer(
        self, username: str, password: str, *, first: bool = False
    ) -> tuple[int, str | None]:
        shown, login = accounts.clean_username(username)
        accounts.check_password(password)
        with self.db.read() as s:
            if first and accounts.count(s):
                raise accounts.ALREADY_SET_UP
            accounts.check_free(s, login)
        password_hash = self.passwords.hash(password)
        try:
            with self.db.write() as s:
                if first and accounts.count(s):
                    raise accounts.ALREADY_SET_UP
                organizer = accounts.create(s, shown, login, password_hash, first=first)
                token = accounts.start_session(s, organizer) if first else None
                made = organizer.id
        except IntegrityError:
            # Made at the same moment by another request: the same refusal as when found.
            raise accounts.ALREADY_SET_UP if first else accounts.USERNAME_TAKEN from None
        return made, token

    def log_in(self, username: str, password: str) -> str:
        """A new login; the token for the cookie. Wrong names and passwords get one error,
        after the same work: an unknown name is checked against a hash of nothing."""
        with self.db.read() as s:
            found = accounts.credentials(s, accounts.login_name(username))
        stored = found[1] if found else self._nobodys_hash()
        if not self.passwords.verify(stored, password) or found is None:
            raise WRONG_LOGIN
        new_hash = self.passwords.hash(password) if self.passwords.needs_rehash(stored) else None
        with self.db.write() as s:
            token = accounts.log_in(s, found[0], stored, new_hash)
        if token is None:  # the password changed while it was being checked
            raise WRONG_LOGIN
        return token

    def _nobodys_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.passwords.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def login(self, token: str | None) -> accounts.Login | None:
        """Who the login with this token is, if it is still live."""
        if not token:
            return None
        with self.db.read() as s:
            found = accounts.find_session(s, token)
        if found is not None and found.stale:
            with self.db.write() as s:
                accounts.touch(s, found)
        return found

    def log_out(self, token: str | None) -> None:
        """The login ends, and at once every console and board opened through it."""
        with self.db.write() as s:
            keyed = accounts.end_session(s, token)
        self._access_ended(keyed)

    def change_password(self, login: accounts.Login, current: str, new: str) -> None:
        """A new password, after the current one; every other login of the account ends,
        with the screens opened through them."""
        accounts.check_password(new)
        with self.db.read() as s:
            stored = accounts.password_hash(s, login.organizer_id)
        if stored is None or not self.passwords.verify(stored, current):
            raise WRONG_PASSWORD
        new_hash = self.passwords.hash(new)
        with self.db.write() as s:
            keyed = accounts.replace_password(s, login, stored, new_hash)
        if keyed is None:
            raise WRONG_PASSWORD  # changed meanwhile: the current password is another
        self._access_ended(keyed)

    def account_deletion(self, organizer_id: int) -> list[dict[str, Any]]:
        """What deleting the organizer's account would delete with it: the series they own,
        each with its title and how many workshops it has."""
        with self.db.read() as s:
            return [
                {"title": found.title, "workshops": len(series_workshops(s, found))}
                for found in series.owned(s, organizer_id)
            ]

    def delete_account(self, login: accounts.Login, password: str) -> None:
        """The organizer deletes their own account, confirming with their password."""
        with self.db.read() as s:
            stored = accounts.password_hash(s, login.organizer_id)
        if stored is None or not self.passwords.verify(stored, password):
            raise WRONG_PASSWORD
        self._delete_organizer(login.organizer_id)

    def delete_organizer(self, username: str) -> dict[str, int]:
        """An operator deletes an organizer's account (the command line); what went."""
        with self.db.read() as s:
            organizer_id = accounts.find_organizer(s, username).id
        return self._delete_organizer(organizer_id)

    def _delete_organizer(self, organizer_id: int) -> dict[str, int]:
        """The account, its logins and every console opened through them, its part in
        others' series, and the series it owns with their libraries and workshops (as
        deleting each series would), in one transaction. Every screen that loses access,
        in every process, is told at once."""
        with self.db.write() as s:
            gone = {
                found.id: series.delete(s, organizer_id, found.id)
                for found in series.owned(s, organizer_id)
            }
            keyed = accounts.delete_organizer(s, organizer_id)
        deleted = {w for ids in gone.values() for w in ids}
        for series_id, ids in gone.items():
            for workshop_id in ids:
                self.publisher.publish(Change(workshop_id))  # their screens hear it is gone
            self.publisher.publish(series.SeriesChange(0, series_id=series_id))
        self._access_ended(keyed - deleted)
        return {"series": len(gone), "workshops": len(deleted)}

    def _access_ended(self, workshop_ids: set[int]) -> None:
        """After the commit: the open facilitator screens of these workshops, in every
        process, are checked again (someone's right to them ended)."""
        for workshop_id in workshop_ids:
            self.publisher.publish(AccessEnded(workshop_id))

    def open_console(self, login: accounts.Login, code: str) -> str:
        """A key that opens the workshop's console for this login (see accounts.grant)."""
        with self.db.write() as s:
            return accounts.grant(s, login, workshops.find(s, code))

    def organizer_home(self, login: accounts.Login) -> dict[str, Any]:
        with self.db.read() as s:
            return series.home(s, login.organizer_id)

    def create_series(self, login: accounts.Login, raw: Any) -> int:
        """A new series owned by the organizer; its id."""
        with self.db.write() as s:
            return series.create(s, login.organizer_id, raw).id

    def series_page(self, login: accounts.Login, series_id: int) -> dict[str, Any]:
        """The series for its organizers: settings, workshops, people, log, and the picture."""
        with self.db.read() as s:
            page = series.page(s, login.organizer_id, series_id)
            found, _ = series.find(s, login.organizer_id, series_id)
            page["record"] = combined_record(s, found)
            return page

    def series_command(
        self, login: accounts.Login, series_id: int, name: str, raw: Any
    ) -> dict[str, Any]:
        """Run one series or library command (series.COMMANDS, library.COMMANDS)."""
        with self.db.write() as s:
            data, tx = series.run(s, login.organizer_id, series_id, name, raw)
        self.publisher.publish(
            series.SeriesChange(0, series_id=series_id, workshop_ids=tx.workshops)
        )
        for workshop_id in tx.workshops:
            self.publisher.publish(Change(workshop_id))
        self._access_ended(tx.access)
        return data

    def delete_series(self, login: accounts.Login, series_id: int) -> None:
        """The owner deletes the series, its library and its workshops."""
        with self.db.write() as s:
            gone = series.delete(s, login.organizer_id, series_id)
        for workshop_id in gone:
            self.publisher.publish(Change(workshop_id))
        self.publisher.publish(series.SeriesChange(0, series_id=series_id))

    def invitation(self, token: str) -> str:
        """The title of the series an invitation link is for, if the link is still good."""
        with self.db.read() as s:
            found = series.invitation(s, token)
            invited = s.get(models.Series, found.series_id)
            assert invited is not None
            return invited.title

    def accept_invitation(self, login: accounts.Login, token: str) -> int:
        """The organizer becomes a co-facilitator of the invitation's series; its id."""
        with self.db.write() as s:
            return series.accept(s, login.organizer_id, token)

    def join_by_invitation(self, token: str, username: str, password: str) -> tuple[str, int]:
        """A new account from an invitation link, a co-facilitator at once, logged in: the
        login's token and the series' id. The link is checked first, so a used one makes
        no account; of several taking up one link at once, one account is made."""
        shown, login = accounts.clean_username(username)
        accounts.check_password(password)
        with self.db.read() as s:
            series.invitation(s, token)
            accounts.check_free(s, login)
        password_hash = self.passwords.hash(password)
        try:
            with self.db.write() as s:
                organizer = accounts.create(s, shown, login, password_hash)
                series_id = series.accept(s, organizer.id, token)
                return accounts.start_session(s, organizer), series_id
        except IntegrityError:
            raise accounts.USERNAME_TAKEN from None

    def series_role(self, organizer_id: int, series_id: int) -> str:
        """The organizer's role in the series ("owner" or "co-facilitator"); unknown_series
        for a series they have no part in."""
        with self.db.read() as s:
            return series.find(s, organizer_id, series_id)[1]

    def series_record(self, organizer_id: int, series_id: int) -> CombinedRecord:
        """The combined picture with every figure, for the organizers and the exports."""
        with self.db.read() as s:
            found, _ = series.find(s, organizer_id, series_id)
            return combined_record(s, found)

    def follow_view(self, follow_code: str) -> FollowPage:
        """A series' public follow page, if its owner made it public."""
        with self.db.read() as s:
            found = series.public(s, follow_code)
            return {"id": found.id, **follow_view(s, found)}

    def follow_views(self, series_ids: set[int]) -> dict[int, FollowView | None]:
        """The follow pages' states of these series (None for one gone or made private)."""
        with self.db.read() as s:
            views: dict[int, FollowView | None] = {}
            for series_id in series_ids:
                found = s.get(models.Series, series_id)
                public = found is not None and found.public
                views[series_id] = follow_view(s, found) if public and found else None
            return views

    def series_of(self, workshop_ids: set[int]) -> dict[int, int]:
        """The series each of these workshops belongs to (those that belong to one)."""
        with self.db.read() as s:
            return series.series_of(s, workshop_ids)

    def factor_evidence(self, code: str) -> dict[int, list[dict[str, Any]]]:
        """The evidence behind the workshop's factors (from its series' library), by id."""
        with self.db.read() as s:
            return series.evidence(s, workshops.find(s, code))


def _locked_for_facilitator(s: Any, code: str, secret: str | None) -> models.Workshop:
    """The workshop, locked for writing, if `secret` is its facilitator's."""
    workshop = lock_workshop(s, domain.normalise_code(code))
    if workshop is None:
        raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
    if not secret_matches(secret, workshop):
        raise DomainError("forbidden", N_("You may not do that."))
    return workshop


# The use cases of organizers and series (issue #7), kept apart from the command runner.
from facilitation.queries.combined_record import combined_record  # noqa: E402
from facilitation.queries.follow_view import follow_view  # noqa: E402
from facilitation.queries.series import series_workshops  # noqa: E402
from facilitation.usecases import accounts, series  # noqa: E402
