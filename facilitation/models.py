"""The tables: workshops and everything that belongs to one.

Layer: persistence. SQLAlchemy 2.0 typed models; status and step columns hold the values of
the core's enums (domain.py) as strings. Nothing from Flask. The schema itself is owned by
the Alembic migrations in `migrations/`; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Now, in UTC (stored without a zone; every timestamp in the database is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dict[str, Any]: JSON}


class Workshop(Base):
    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    step: Mapped[str] = mapped_column(String(20))
    # Grows with every change, in the same transaction; clients order messages by it.
    version: Mapped[int] = mapped_column(default=1)
    approval_required: Mapped[bool] = mapped_column(default=False)
    proposal_quota: Mapped[int] = mapped_column(default=10)
    # When the facilitator's countdown ends (UTC), if one runs: every screen counts to it.
    timer_ends_at: Mapped[datetime | None]
    # The consensus rule's thresholds (consensus.Rule); empty means the defaults.
    consensus: Mapped[dict[str, Any]] = mapped_column(default=dict)
    facilitator_secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the retention command removed what could tell who took part (see retention.py).
    anonymised_at: Mapped[datetime | None]


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("workshop_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("workshop_id", "token"),
        UniqueConstraint("workshop_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    # The random id from the participant's signed cookie. No IP address or user agent is kept.
    token: Mapped[str] = mapped_column(String(64))
    # 1, 2, 3 … within the workshop: the only identifier that ever leaves the facilitator.
    number: Mapped[int]
    nickname: Mapped[str | None] = mapped_column(String(40))
    is_proxy: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Factor(Base):
    __tablename__ = "factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    removal_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("factors.id", ondelete="SET NULL")
    )
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("workshop_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    number: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The tally (tally.py), stored when the round closes: history never changes after.
    results: Mapped[dict[str, Any] | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    revealed_at: Mapped[datetime | None]


class Ballot(Base):
    """One participant's whole answer in one round; a new submission replaces the entries."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("round_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class BallotEntry(Base):
    __tablename__ = "ballot_entries"
    __table_args__ = (Index("ix_ballot_entries_factor_id", "factor_id"),)

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    factor_id: Mapped[int] = mapped_column(
        ForeignKey("factors.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int]
    # The second answer of a matrix entry (uncertainty; `value` holds the impact).
    value2: Mapped[int | None]


class LogEntry(Base):
    """The audit log: every change, in order, with the role that made it."""

    __tablename__ = "log_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    factor_id: Mapped[int | None] = mapped_column(ForeignKey("factors.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CommandRecord(Base):
    """The answer given to a client command, so that a repeated command id gets it again."""

    __tablename__ = "commands"
    __table_args__ = (UniqueConstraint("workshop_id", "actor", "command_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(24))
    command_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Deletion(Base):
    """That a workshop was deleted, and when: a line without content, kept after everything
    else of the workshop is gone."""

    __tablename__ = "deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(20))
    # How much went, in numbers only.
    participants: Mapped[int]
    factors: Mapped[int]
    rounds: Mapped[int]
