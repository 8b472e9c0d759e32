"""The organizers' entry point: their accounts and logins, the consoles opened through a
login, their start page, and an account made from an invitation link.

Layer: use cases. Imports the models, the queries and the use cases' modules, and is given
what hashes passwords; never Flask or Socket.IO. The edges reach it as `services.organizers`.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.exc import IntegrityError

from facilitation.core.domain import N_, DomainError
from facilitation.infrastructure.passwords import Passwords
from facilitation.queries.series import series_workshops
from facilitation.usecases import accounts, series, workshops
from facilitation.usecases.base import AccessEnded, Change, SeriesChange
from facilitation.usecases.commands import CommandRunner, Desk

WRONG_LOGIN = DomainError("wrong_login", N_("The username or password is wrong."))
WRONG_PASSWORD = DomainError("wrong_password", N_("The current password is wrong.")).at("current")
LOG_IN_AGAIN = DomainError(
    "log_in_again",
    N_("Log in again through your organisation, then delete the account within ten minutes."),
)


class OrganizerDesk(Desk):
    """The organizers' use cases, bound to what hashes passwords (Argon2id where it is
    called, unless given another).

    Passwords are hashed and checked (`self.passwords`, ~30 ms each, maybe in a worker)
    before or after a transaction, never inside one: a transaction waiting for them would
    hold a connection, and on SQLite the write lock every vote needs. What cheap checks
    can refuse is refused before any hashing."""

    def __init__(self, commands: CommandRunner, passwords: Passwords) -> None:
        super().__init__(commands)
        self.passwords = passwords
        self._dummy_hash: str | None = None

    def has_organizers(self) -> bool:
        """Whether any organizer account exists (the first-run page is for when none does)."""
        with self.db.read() as s:
            return accounts.count(s) > 0

    def create(self, username: str, password: str) -> int:
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

    def log_in_sso(
        self,
        issuer: str,
        subject: str,
        email: str | None,
        *,
        email_verified: bool | None = None,
        name: str | None = None,
        allowed_domains: tuple[str, ...] = (),
        replacing: str | None = None,
    ) -> str:
        """A new login for the person the identity provider vouched for (issuer, subject),
        their account made on their first log-in; the token for the cookie. Refused when
        their e-mail is not at an allowed domain (`accounts.check_domain`). `replacing`,
        the browser's earlier login, ends: a log-in always starts a login of its own."""
        accounts.check_domain(email, email_verified, allowed_domains)
        if not issuer or not subject or len(issuer) > 255 or len(subject) > 255:
            raise DomainError("sso_no_subject", N_("Your organisation's log-in named nobody."))
        shown = (email or name or subject).strip()[: accounts.USERNAME_MAX]
        try:
            with self.db.write() as s:
                keyed = accounts.end_session(s, replacing)
                organizer = accounts.sso_organizer(s, issuer, subject, shown)
                token = accounts.start_session(s, organizer)
        except IntegrityError:
            # The same person's first log-in, twice at once: the account exists now.
            with self.db.write() as s:
                organizer = accounts.sso_organizer(s, issuer, subject, shown)
                token = accounts.start_session(s, organizer)
            keyed = set()
        self._access_ended(keyed)
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
        """The organizer deletes their own account, confirming with their password; an
        account from single sign-on, which has none, with a fresh log-in instead."""
        if login.sso:
            if not login.fresh:
                raise LOG_IN_AGAIN
            self._delete_organizer(login.organizer_id)
            return
        with self.db.read() as s:
            stored = accounts.password_hash(s, login.organizer_id)
        if stored is None or not self.passwords.verify(stored, password):
            raise WRONG_PASSWORD
        self._delete_organizer(login.organizer_id)

    def find(self, username: str) -> int:
        """The id of the organizer with this username (for the command line)."""
        with self.db.read() as s:
            return accounts.find_organizer(s, username).id

    def delete(self, username: str) -> dict[str, int]:
        """An operator deletes an organizer's account (the command line); what went."""
        return self._delete_organizer(self.find(username))

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
            self.publisher.publish(SeriesChange(0, series_id=series_id))
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

    def home(self, login: accounts.Login) -> dict[str, Any]:
        with self.db.read() as s:
            return series.home(s, login.organizer_id)

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
