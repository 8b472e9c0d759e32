"""Organizer accounts: passwords, logins that expire, and workshop consoles opened through a
login instead of the facilitator link.

Layer: use cases. Imports the models and the core's text rules; never Flask. Passwords are
hashed and checked by `Passwords` (passwords.py) in `OrganizerDesk`, never in here: these
functions run inside transactions and get hashes, never passwords. What a hash was checked
against is checked again when the login is written (`log_in`, `replace_password`), so a
password changed in between is never overwritten by, or logged in with, the old one.

A login is a row in `organizer_sessions`, found by the SHA-256 of a random token that only
the cookie holds: it ends after IDLE without a page of the account, or ABSOLUTE after it
began, and logging out deletes it — a copy of the cookie is then worth nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session, object_session

from facilitation.core.domain import N_, DomainError, clean_title, plain_text
from facilitation.infrastructure import models

# A login ends after this long without a page of the account, and this long after it began.
IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
# How stale a session's last_seen_at may get before a page writes it again (one write a
# minute per login, not one per page).
TOUCH_EVERY = timedelta(minutes=1)
# A login this young counts as a fresh log-in: what a password confirms for a password
# account (deleting it), a fresh log-in through the provider confirms for one without.
FRESH = timedelta(minutes=10)
USERNAME_MIN, USERNAME_MAX = 3, 254
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
# A console opened through a login holds "org." and a random key where the facilitator
# secret would be (token_urlsafe never makes a "."), so the two cannot be mistaken.
GRANT_PREFIX = "org."
# The start of the `login` of every account made by single sign-on (`identity_login`).
SSO_PREFIX = "sso#"


@dataclass(frozen=True)
class Login:
    """Who is logged in, as pages need it."""

    organizer_id: int
    username: str
    session_id: int
    # Whether the login's last_seen_at is old enough to be written again (`touch`).
    stale: bool = False
    # Whether the account came from single sign-on (it has no password), and whether this
    # login began less than FRESH ago (deleting such an account asks for a fresh log-in).
    sso: bool = False
    fresh: bool = False


def digest(token: str) -> str:
    """Tokens are random and long: one SHA-256 round is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_username(username: str) -> tuple[str, str]:
    """The username as shown (cleaned) and as looked up (NFKC, case-folded): a name or an
    e-mail address, 3 to 254 characters."""
    shown = clean_title(username, field="username", max_length=USERNAME_MAX)
    if len(shown) < USERNAME_MIN:
        raise DomainError(
            "username_short",
            N_("The username needs at least %(min)s characters."),
            min=USERNAME_MIN,
        ).at("username")
    if login_name(shown).startswith(SSO_PREFIX):
        raise USERNAME_TAKEN  # the names of single sign-on accounts (`identity_login`)
    return shown, login_name(shown)


def login_name(username: str) -> str:
    """A username as looked up and as the guessing limit counts it: cleaned as when the
    account was made (so "anna\u200b" is "anna"), NFKC, case-folded."""
    return unicodedata.normalize("NFKC", plain_text(" ".join(username.splitlines()))).casefold()


def check_password(password: str) -> None:
    """At least 10 characters (length, not character classes, makes a password strong)."""
    if len(password) < PASSWORD_MIN:
        raise DomainError(
            "password_short",
            N_("The password needs at least %(min)s characters."),
            min=PASSWORD_MIN,
        ).at("password")
    if len(password) > PASSWORD_MAX:
        raise DomainError(
            "too_long",
            N_("The %(field)s can be at most %(max)s characters."),
            field="password",
            max=PASSWORD_MAX,
        ).at("password")


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(models.Organizer)) or 0


USERNAME_TAKEN = DomainError("username_taken", N_("That username is taken.")).at("username")
ALREADY_SET_UP = DomainError("already_set_up", N_("Samsyn already has an organizer."))


def check_free(s: Session, login: str) -> None:
    """Refuse a username someone has (the unique index on `login` holds it in the end)."""
    if s.scalar(select(models.Organizer.id).where(models.Organizer.login == login)):
        raise USERNAME_TAKEN


def create(
    s: Session, shown: str, login: str, password_hash: str, *, first: bool = False
) -> models.Organizer:
    """A new organizer account (`first`: the one the first-run page makes). The database
    refuses a second account with the same login, or a second first one, with an
    IntegrityError; `OrganizerDesk` turns it into the refusal."""
    check_free(s, login)
    organizer = models.Organizer(
        username=shown, login=login, password_hash=password_hash, first_run=first or None
    )
    s.add(organizer)
    s.flush()
    return organizer


def credentials(s: Session, login: str) -> tuple[int, str] | None:
    """The id and password hash of the organizer with this login, if there is one."""
    row = s.execute(
        select(models.Organizer.id, models.Organizer.password_hash).where(
            models.Organizer.login == login
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def password_hash(s: Session, organizer_id: int) -> str | None:
    return s.scalar(
        select(models.Organizer.password_hash).where(models.Organizer.id == organizer_id)
    )


def log_in(s: Session, organizer_id: int, verified: str, new_hash: str | None) -> str | None:
    """A login for the organizer whose password was checked against `verified`: the token
    for the cookie, or None if the password has changed since (or the account is gone).
    `new_hash` replaces a hash made with older parameters."""
    organizer = s.scalars(
        select(models.Organizer)
        .where(models.Organizer.id == organizer_id, models.Organizer.password_hash == verified)
        .with_for_update()
    ).one_or_none()
    if organizer is None:
        return None
    if new_hash is not None:
        organizer.password_hash = new_hash
    return start_session(s, organizer)


def start_session(s: Session, organizer: models.Organizer) -> str:
    """A new login for the organizer; returns the token for the cookie. Logins of theirs
    that have ended are cleared away."""
    now = models.utcnow()
    s.execute(
        delete(models.OrganizerSession).where(
            models.OrganizerSession.organizer_id == organizer.id,
            or_(
                models.OrganizerSession.created_at <= now - ABSOLUTE,
                models.OrganizerSession.last_seen_at <= now - ABSOLUTE,
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    s.add(
        models.OrganizerSession(
            organizer_id=organizer.id, token_hash=digest(token), created_at=now, last_seen_at=now
        )
    )
    return token


def _live(session_row: models.OrganizerSession, now: datetime) -> bool:
    return session_row.created_at + ABSOLUTE > now and session_row.last_seen_at + IDLE > now


def find_session(s: Session, token: str | None) -> Login | None:
    """The login this token belongs to, if it has neither ended nor been idle too long
    (`stale` when it should be marked as seen: at most once a minute, so that pages only
    read)."""
    if not token:
        return None
    now = models.utcnow()
    row = s.execute(
        select(models.OrganizerSession, models.Organizer)
        .join(models.Organizer)
        .where(models.OrganizerSession.token_hash == digest(token))
    ).one_or_none()
    if row is None or not _live(row[0], now):
        return None
    session_row, organizer = row
    stale = now - session_row.last_seen_at >= TOUCH_EVERY
    fresh = now - session_row.created_at < FRESH
    sso = organizer.oidc_subject is not None
    return Login(organizer.id, organizer.username, session_row.id, stale, sso, fresh)


def touch(s: Session, login: Login) -> None:
    """Mark the login as seen now: its idle time starts again."""
    row = s.get(models.OrganizerSession, login.session_id)
    if row is not None:
        row.last_seen_at = models.utcnow()


def end_session(s: Session, token: str | None) -> set[int]:
    """Log out: the login is deleted, and with it every console opened through it; the
    workshops of those consoles (their open screens are to be checked again)."""
    if not token:
        return set()
    ending = models.OrganizerSession.token_hash == digest(token)
    keyed = console_workshops(s, ending)
    s.execute(delete(models.OrganizerSession).where(ending))
    return keyed


def replace_password(s: Session, login: Login, verified: str, new_hash: str) -> set[int] | None:
    """The new password's hash, if the password is still the one checked (`verified`): one
    conditional UPDATE decides, so of two changes at once only one is made (None for the
    other). Every other login of the account ends, and the consoles opened through them:
    their workshops are returned."""
    changed = cast(
        CursorResult[Any],
        s.execute(
            update(models.Organizer)
            .where(
                models.Organizer.id == login.organizer_id,
                models.Organizer.password_hash == verified,
            )
            .values(password_hash=new_hash)
        ),
    )
    if changed.rowcount != 1:
        return None
    others = (
        models.OrganizerSession.organizer_id == login.organizer_id,
        models.OrganizerSession.id != login.session_id,
    )
    keyed = console_workshops(s, *others)
    s.execute(delete(models.OrganizerSession).where(*others))
    return keyed


def find_organizer(s: Session, username: str) -> models.Organizer:
    """The organizer with this username (as typed: see `login_name`), or the single sign-on
    account shown by this e-mail address (the first made, should two providers give it)."""
    organizer = s.scalars(
        select(models.Organizer).where(models.Organizer.login == login_name(username))
    ).one_or_none()
    if organizer is None:
        organizer = s.scalars(
            select(models.Organizer)
            .where(
                models.Organizer.oidc_subject.is_not(None),
                func.lower(models.Organizer.username) == username.strip().lower(),
            )
            .order_by(models.Organizer.id)
        ).first()
    if organizer is None:
        raise DomainError("unknown_organizer", N_("There is no organizer with that username."))
    return organizer


def delete_organizer(s: Session, organizer_id: int) -> set[int]:
    """The account goes, and with it its logins, the consoles opened through them and its
    part in others' series; the workshops of those consoles are returned. The series it
    owns must be gone first (series.delete)."""
    keyed = console_workshops(s, models.OrganizerSession.organizer_id == organizer_id)
    s.execute(delete(models.Organizer).where(models.Organizer.id == organizer_id))
    return keyed


# --- Consoles opened through a login ----------------------------------------------------


def may_run(s: Session, organizer_id: int, workshop: models.Workshop) -> bool:
    """Whether the organizer owns the workshop, or owns or co-facilitates its series."""
    if workshop.owner_id == organizer_id:
        return True
    if workshop.series_id is None:
        return False
    series = s.get(models.Series, workshop.series_id)
    if series is not None and series.owner_id == organizer_id:
        return True
    return (
        s.scalar(
            select(models.SeriesMember.id).where(
                models.SeriesMember.series_id == workshop.series_id,
                models.SeriesMember.organizer_id == organizer_id,
            )
        )
        is not None
    )


def grant(s: Session, login: Login, workshop: models.Workshop) -> str:
    """A key that opens the workshop's console as its facilitator secret would, for as long
    as this login lives and the organizer may run the workshop."""
    if not may_run(s, login.organizer_id, workshop):
        raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
    key = secrets.token_urlsafe(32)
    s.add(
        models.ConsoleGrant(
            session_id=login.session_id, workshop_id=workshop.id, key_hash=digest(key)
        )
    )
    return GRANT_PREFIX + key


def console_workshops(s: Session, *logins: Any) -> set[int]:
    """The workshops of the consoles opened through the logins matching `logins` (conditions
    on OrganizerSession)."""
    return set(
        s.scalars(
            select(models.ConsoleGrant.workshop_id)
            .join(models.OrganizerSession)
            .where(*logins)
            .distinct()
        )
    )


def is_grant(secret: str | None) -> bool:
    return bool(secret) and (secret or "").startswith(GRANT_PREFIX)


def grant_matches(secret: str, workshop: models.Workshop) -> bool:
    """Whether `secret` is a live console key of this workshop: its login has not been
    logged out or reached its absolute end, and its organizer may still run the workshop.
    Idle time does not end it: a console runs a workshop for hours on one page."""
    s = object_session(workshop)
    if s is None or not is_grant(secret):
        return False
    row = s.execute(
        select(models.ConsoleGrant.workshop_id, models.OrganizerSession)
        .join(models.OrganizerSession)
        .where(models.ConsoleGrant.key_hash == digest(secret[len(GRANT_PREFIX) :]))
    ).one_or_none()
    if row is None or row[0] != workshop.id:
        return False
    session_row = row[1]
    if session_row.created_at + ABSOLUTE <= models.utcnow():
        return False
    return may_run(s, session_row.organizer_id, workshop)


# --- Single sign-on (OpenID Connect) ----------------------------------------------------
# An account made by single sign-on is found by its provider's issuer and subject, never by
# the e-mail address (which a provider may let people change, or give to someone else).

# What `password_hash` holds on an account without a password: no Argon2 hash, so no
# password ever matches it (Passwords.verify is False for a broken hash).
NO_PASSWORD = "!sso"


def check_domain(email: str | None, verified: bool | None, allowed: tuple[str, ...]) -> None:
    """Refuse a person whose e-mail address is not at a domain on the allow-list (when there
    is one), or whose provider says the address is not verified."""
    if not allowed:
        return
    if not email or "@" not in email:
        raise DomainError(
            "sso_no_email",
            N_(
                "Your organisation's log-in gave no e-mail address, and Samsyn only lets in "
                "addresses at certain domains."
            ),
        )
    if verified is False:
        raise DomainError(
            "sso_unverified",
            N_("Your organisation's log-in says your e-mail address %(email)s is not verified."),
            email=email,
        )
    domain = email.rsplit("@", 1)[1].casefold()
    if domain not in allowed:
        raise DomainError(
            "sso_domain",
            N_("Organizers with an e-mail address at %(domain)s may not log in here."),
            domain=domain,
        )


def identity_login(issuer: str, subject: str) -> str:
    """The `login` of an account made by single sign-on: derived from issuer and subject,
    so that it never equals a username someone chose (`clean_username` refuses the prefix)."""
    return SSO_PREFIX + digest(f"{issuer}\n{subject}")[:48]


def sso_organizer(s: Session, issuer: str, subject: str, shown: str) -> models.Organizer:
    """The organizer this provider knows by `subject`, made now on their first log-in; the
    name shown follows what the provider says today."""
    organizer = s.scalars(
        select(models.Organizer)
        .where(models.Organizer.oidc_issuer == issuer, models.Organizer.oidc_subject == subject)
        .with_for_update()
    ).one_or_none()
    if organizer is None:
        organizer = models.Organizer(
            username=shown,
            login=identity_login(issuer, subject),
            password_hash=NO_PASSWORD,
            oidc_issuer=issuer,
            oidc_subject=subject,
        )
        s.add(organizer)
        s.flush()
    elif organizer.username != shown:
        organizer.username = shown
    return organizer
