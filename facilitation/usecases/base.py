"""What every use case works with: who is acting, the transaction, and what changed.

Layer: use cases. Imports the core, the models and SQLAlchemy; never Flask or Socket.IO.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitation.core.domain import N_, DomainError, Role, Step
from facilitation.infrastructure import models
from facilitation.usecases.accounts import grant_matches
from facilitation.usecases.ballot_box import BallotBox, unknown_round

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Actor:
    """Who sends a command: a facilitator holding the workshop's secret, or a participant
    holding the random id from their cookie. Both are checked against the database on
    every command."""

    role: Role
    code: str
    secret: str | None = None
    token: str | None = None


@dataclass
class Change:
    """What a committed use case changed, for the broadcaster."""

    workshop_id: int
    participants: set[int] = field(default_factory=set)
    # Only someone joining: the board's count changed, nothing that phones show.
    joined: bool = False
    # Only a ballot: the count of who voted changed, and the voter's own view (and, while
    # the round's results show live, the results).
    voted: bool = False
    # The workshop's version the change committed (joins and ballots say it: the
    # broadcaster counts on knowing every version such changes made, see broadcast.py).
    version: int | None = None


@dataclass
class AccessEnded(Change):
    """Someone may have lost the right to the workshop's facilitator screens (a login
    ended, a co-facilitator was removed, the facilitator link was replaced): every process
    checks its open boards, consoles and proxy pages of the workshop again."""


class Publisher(Protocol):
    def publish(self, change: Change) -> None: ...


@dataclass
class SeriesChange(Change):
    """What a committed series use case changed: the series (its follow page hears of it);
    `workshop_id` is 0, as no workshop's screens need to."""

    series_id: int = 0
    workshop_ids: set[int] = field(default_factory=set)


class SeriesRole(StrEnum):
    """An organizer's part in a series: its owner, or a co-facilitator invited to it."""

    OWNER = "owner"
    MEMBER = "co-facilitator"


def bump(versioned: models.Workshop | models.Series) -> None:
    """Every change raises the workshop's (or the series') version, in the same
    transaction."""
    versioned.version += 1
    versioned.updated_at = models.utcnow()


def invalid_input(exc: ValidationError) -> DomainError:
    """A payload that does not fit its schema, naming the first field at fault."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first["loc"]) or "payload"
    return DomainError("invalid_input", N_("Check the %(field)s."), field=path).at(path)


def parse(schema: type[M], raw: Any) -> M:
    """A command's payload (or a form's fields) as its schema, or the error naming the
    first field at fault."""
    if not isinstance(raw, dict):
        raise DomainError("invalid_input", N_("The command needs an object.")).at("payload")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def new_secret() -> str:
    """A facilitator secret: 256 random bits."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Secrets are random and long, so one SHA-256 round is enough (no password stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str | None, workshop: models.Workshop) -> bool:
    """The facilitator secret, or a console key an organizer's login holds (accounts.py)."""
    if secret and secret.startswith("org."):
        return grant_matches(secret, workshop)
    return bool(secret) and hmac.compare_digest(
        hash_secret(secret or ""), workshop.facilitator_secret_hash
    )


class Tx:
    """One use case's transaction: the locked workshop, the actor, the log, the change, and
    the ballots that the transaction's commands in this workshop write together."""

    def __init__(
        self,
        session: Session,
        workshop: models.Workshop,
        actor: Actor,
        participant: models.Participant | None,
        ballots: BallotBox,
    ) -> None:
        self.session = session
        self.workshop = workshop
        self.actor = actor
        self.participant = participant
        self.ballots = ballots
        self.change = Change(workshop.id)

    @property
    def step(self) -> Step:
        return Step(self.workshop.step)

    def log(self, action: str, factor: models.Factor | None = None, **details: Any) -> None:
        """Record the change in the audit log, with the actor's role (never who they are)."""
        self.session.add(
            models.LogEntry(
                workshop_id=self.workshop.id,
                actor=self.actor.role.value,
                action=action,
                factor_id=factor.id if factor else None,
                details=details,
            )
        )

    def factor(self, factor_id: int) -> models.Factor:
        """A factor of this workshop, or an error (ids of other workshops are unknown here)."""
        factor = self.session.get(models.Factor, factor_id)
        if factor is None or factor.workshop_id != self.workshop.id:
            raise DomainError("unknown_factor", N_("There is no such factor."))
        return factor

    def category(self, category_id: int) -> models.Category:
        category = self.session.get(models.Category, category_id)
        if category is None or category.workshop_id != self.workshop.id:
            raise DomainError("unknown_category", N_("There is no such category."))
        return category

    def round(self, round_id: int) -> models.Round:
        round_ = self.session.get(models.Round, round_id)
        if round_ is None or round_.workshop_id != self.workshop.id:
            raise unknown_round()
        return round_

    def open_round(self) -> models.Round | None:
        return self.session.scalars(
            select(models.Round).where(
                models.Round.workshop_id == self.workshop.id,
                models.Round.state == "open",
            )
        ).one_or_none()

    def count_active_factors(self) -> int:
        return (
            self.session.scalar(
                select(func.count()).where(
                    models.Factor.workshop_id == self.workshop.id,
                    models.Factor.status == "active",
                )
            )
            or 0
        )


class SeriesTx:
    """One series command's transaction: the locked series, who acts and in which role."""

    def __init__(
        self, session: Session, series: models.Series, organizer_id: int, role: SeriesRole
    ) -> None:
        self.session = session
        self.series = series
        self.organizer_id = organizer_id
        self.role = role
        # Workshops whose screens must hear of the change (none, mostly).
        self.workshops: set[int] = set()
        # Workshops whose open facilitator screens are to be checked again (someone may
        # have lost the right to them).
        self.access: set[int] = set()

    def log(self, action: str, **details: Any) -> None:
        """Record the change in the series' log, with the actor's role (never who they are)."""
        self.session.add(
            models.SeriesLogEntry(
                series_id=self.series.id, actor=self.role.value, action=action, details=details
            )
        )

    def category(self, category_id: int) -> models.LibraryCategory:
        category = self.session.get(models.LibraryCategory, category_id)
        if category is None or category.series_id != self.series.id:
            raise DomainError("unknown_category", N_("There is no such category."))
        return category

    def library_factor(self, factor_id: int) -> models.LibraryFactor:
        factor = self.session.get(models.LibraryFactor, factor_id)
        if factor is None or factor.series_id != self.series.id:
            raise DomainError("unknown_factor", N_("There is no such factor."))
        return factor

    def workshop_factor(self, factor_id: int) -> tuple[models.Factor, models.Workshop]:
        """A factor of one of the series' workshops."""
        factor = self.session.get(models.Factor, factor_id)
        workshop = self.session.get(models.Workshop, factor.workshop_id) if factor else None
        if factor is None or workshop is None or workshop.series_id != self.series.id:
            raise DomainError("unknown_factor", N_("There is no such factor."))
        return factor, workshop
