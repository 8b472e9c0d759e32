"""Tries of secrets that people choose: organizer passwords (logging in, and the current
password when changing it) and CREATE_PASSWORD, the password for creating workshops.

Each try takes one from each of its allowances *before* anything is hashed or compared, and
a try that turns out right (or is not judged at all) gives them back: only wrong tries
count, however many are sent at once no more get through than the allowances hold, and a
refused try costs no hashing.

Whose allowances, after OWASP's "device cookies": a browser that got in with the password
before (`identity.device`) tries from an allowance of its own; every other client from its
address's and from the account's, which all such clients share. Someone guessing an
organizer's password makes other strangers wait, never the organizer at a browser they
have logged in with; and guessers spread over many addresses still share the account's
allowance. Nothing is locked: allowances refill (`Samsyn.login_limit`).

Layer: edge. The address is held only by the limit (in memory, or in Redis as a
keyed hash): never stored or logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app, request

from facilitation.edges import identity
from facilitation.edges.http.parts import samsyn

# The account that CREATE_PASSWORD guards: the installation.
CREATE = "create"


class TooManyTriesError(Exception):
    """This client has tried too many wrong secrets lately: refused before any check."""


class WrongSecretError(Exception):
    """The secret given is not the one asked for."""


@dataclass
class Attempt:
    """One try; the caller sets `wrong` when the secret was wrong, and the try counts."""

    keys: list[Hashable] = field(default_factory=list)
    wrong: bool = False


def login_account(login: str) -> str:
    """The account a login's tries count against (`login` as accounts.login_name has it)."""
    return f"login:{login}"


def keys_for(account: str) -> list[Hashable]:
    """The allowances a try of `account`'s secret takes from (see the module's words)."""
    mark = identity.device(account)
    if mark is not None:
        return [("device", mark)]
    return [("address", request.remote_addr or ""), ("account", account)]


@contextmanager
def attempt(keys: list[Hashable]) -> Iterator[Attempt]:
    """Take a try from each allowance, or raise TooManyTriesError having taken none. When
    the block ends, the try is given back unless the block set `wrong`."""
    limit = samsyn().login_limit
    assert limit is not None
    taken: list[Hashable] = []
    for key in keys:
        if not limit.allow(key):
            for earlier in taken:
                limit.refund(earlier)
            raise TooManyTriesError
        taken.append(key)
    tried = Attempt(taken)
    try:
        yield tried
    finally:
        if not tried.wrong:
            for key in taken:
                limit.refund(key)


def check_create_password(given: str, *, browser: bool = True) -> None:
    """Pass if creating workshops needs no password, or `given` is it; otherwise raise
    WrongSecretError, or TooManyTriesError before comparing. A `browser` that gave it is
    remembered, and tries from an allowance of its own from then on."""
    password = current_app.config["CREATE_PASSWORD"]
    if not password:
        return
    with attempt(keys_for(CREATE)) as tried:
        # Compared as bytes: compare_digest refuses strings that are not ASCII.
        if not hmac.compare_digest(given.encode(), password.encode()):
            tried.wrong = True
            raise WrongSecretError
    if browser:
        identity.trust_device(CREATE)
