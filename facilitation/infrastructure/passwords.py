"""How organizer passwords are hashed and checked: an object given to `Services`, called only
while no transaction is open (and no connection is held).

Layer: infrastructure. Imports argon2-cffi; nothing of the database, Flask or Socket.IO.

Passwords are hashed with Argon2id (argon2-cffi, the reference implementation's maintained
binding): it is memory-hard, the winner of the Password Hashing Competition, first in
OWASP's Password Storage Cheat Sheet, and `check_needs_rehash` lets stronger parameters
replace older hashes at the next login. The parameters are OWASP's (19 MiB, 2 passes,
1 lane): some 30 ms of CPU per hash or check. That is why none runs inside a transaction
(on SQLite one holds the process-wide write lock, and every vote would wait), and why a
deployment may give `Services` an implementation that runs them elsewhere, in worker
processes; one that may raise `Busy` (workers.py) when too many wait.
"""

from __future__ import annotations

from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class Passwords(Protocol):
    """Hashes and checks passwords; may raise `Busy` when it has no capacity now."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored: str, password: str) -> bool: ...

    def needs_rehash(self, stored: str) -> bool: ...


class Argon2Passwords:
    """Argon2id, run where it is called: the default."""

    def __init__(self, hasher: PasswordHasher = HASHER) -> None:
        self.hasher = hasher

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether `password` is the one `stored` was made from (False for a broken hash)."""
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether `stored` was made with weaker parameters than today's."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
