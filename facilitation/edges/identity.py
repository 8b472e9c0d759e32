"""Who the browser is, per workshop, as kept in Flask's signed session cookie.

Layer: edge. A participant is the random id set when they open the join link; a facilitator
holds the workshop's secret, set when they open their facilitator link (and checked against
the database's hash on every command and page). The cookie is signed, HttpOnly and
SameSite=Lax; the secret never appears in a URL after that first visit.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import session

from facilitation.core.domain import Role
from facilitation.usecases import Actor, new_token

_PARTICIPANTS = "p"
_FACILITATORS = "f"
# A browser remembers at most this many workshops of each kind (the oldest are forgotten),
# which keeps the cookie far below browsers' 4 KB limit.
_REMEMBERED = 20


def _remember(kind: str, code: str, value: str) -> None:
    entries = dict(session.get(kind, {}))
    entries.pop(code, None)
    entries[code] = value
    session[kind] = dict(list(entries.items())[-_REMEMBERED:])
    session.permanent = True


def participant_token(code: str, *, create: bool = False) -> str | None:
    """This browser's participant id in the workshop, made when `create` and missing."""
    token: str | None = session.get(_PARTICIPANTS, {}).get(code)
    if token is None and create:
        token = new_token()
        _remember(_PARTICIPANTS, code, token)
    return token


def facilitator_secret(code: str) -> str | None:
    secret: str | None = session.get(_FACILITATORS, {}).get(code)
    return secret


def remember_facilitator(code: str, secret: str) -> None:
    _remember(_FACILITATORS, code, secret)


# A facilitator link made for handing on, from a console opened through an organizer's
# login: kept only until the console shows it, the next page this browser loads.
_SHOW_ONCE = "show"


def show_link_once(code: str, secret: str) -> None:
    session[_SHOW_ONCE] = {code: secret}


def link_to_show(code: str) -> str | None:
    """The link to show on the workshop's console, once: it leaves the cookie now."""
    shown: str | None = session.pop(_SHOW_ONCE, {}).get(code)
    return shown


def knows(code: str) -> bool:
    """Whether this browser was let into the workshop before (the cookie is signed, so it
    cannot be made up): such a browser is never slowed down as a code guesser."""
    return code in session.get(_PARTICIPANTS, {}) or code in session.get(_FACILITATORS, {})


def facilitator(code: str) -> Actor:
    return Actor(Role.FACILITATOR, code, secret=facilitator_secret(code))


def participant(code: str) -> Actor:
    return Actor(Role.PARTICIPANT, code, token=participant_token(code))


# --- Organizers (issue #7) -----------------------------------------------------------------
# The cookie holds the login's random token; the database knows it only by its hash, and
# checks on every page whether the login still lives (facilitation/usecases/accounts.py).

_ORGANIZER = "o"


def organizer_token() -> str | None:
    token: str | None = session.get(_ORGANIZER)
    return token


# Set while the login came from single sign-on: logging out then goes on to the provider.
_BY_SSO = "os"


def remember_organizer(token: str, *, by_sso: bool = False) -> None:
    session[_ORGANIZER] = token
    if by_sso:
        session[_BY_SSO] = True
    else:
        session.pop(_BY_SSO, None)
    session.permanent = True


def organizer_by_sso() -> bool:
    """Whether the organizer's login in this cookie came from single sign-on."""
    return bool(session.get(_BY_SSO))


def forget_organizer() -> None:
    """The login leaves the cookie, with the console keys it held (dead by now anyway)."""
    session.pop(_ORGANIZER, None)
    session.pop(_BY_SSO, None)
    held = session.get(_FACILITATORS, {})
    kept = {code: secret for code, secret in held.items() if not secret.startswith("org.")}
    if kept != held:
        session[_FACILITATORS] = kept


# --- Browsers that got in before (OWASP's device cookies) ----------------------------------
# A browser that once gave an account's password (or the password for creating workshops)
# keeps a random mark for that account, in the signed cookie, so it cannot be made up. Its
# tries of that password count against an allowance of its own (tries.py): strangers
# guessing the password never make the organizer at their own computer wait.

_DEVICES = "d"
_DEVICES_REMEMBERED = 10


def _account_tag(account: str) -> str:
    # The cookie is the browser's own, but need not show which accounts it logs into.
    return hashlib.sha256(account.encode()).hexdigest()[:16]


def device(account: str) -> str | None:
    """This browser's mark for `account`, if it got in with its password before."""
    mark: str | None = session.get(_DEVICES, {}).get(_account_tag(account))
    return mark


def trust_device(account: str) -> None:
    """Remember that this browser got in with the account's password (keeping its mark)."""
    tag = _account_tag(account)
    marks = dict(session.get(_DEVICES, {}))
    mark = marks.pop(tag, None) or secrets.token_urlsafe(12)
    marks[tag] = mark
    session[_DEVICES] = dict(list(marks.items())[-_DEVICES_REMEMBERED:])
    session.permanent = True
