"""The tables: workshops and everything that belongs to one; organizers, their sessions, and
the series of workshops with its factor library.

Layer: infrastructure. SQLAlchemy 2.0 typed models; status and step columns hold the values of
the core's enums (domain.py) as strings. Nothing from Flask. The schema itself is owned by
the Alembic migrations in `migrations/`; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from facilitation.core.domain import DEFAULT_TIME_ZONE


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
    # The IANA time zone the exports write its times in (domain.check_time_zone).
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    # Grows with every change, in the same transaction; clients order messages by it.
    version: Mapped[int] = mapped_column(default=1)
    approval_required: Mapped[bool] = mapped_column(default=False)
    proposal_quota: Mapped[int] = mapped_column(default=10)
    # Closed to new participants once the room is in (the facilitator's "doors"): those who
    # joined keep reconnecting and voting; a fresh cookie gets no participant.
    doors_closed: Mapped[bool] = mapped_column(default=False)
    # When the facilitator's countdown ends (UTC), if one runs: every screen counts to it.
    timer_ends_at: Mapped[datetime | None]
    # Whether a phone must pick a stakeholder group before it takes part (when groups exist),
    # and whether the room sees the groups' results side by side (the console always does).
    group_required: Mapped[bool] = mapped_column(default=False)
    groups_shown: Mapped[bool] = mapped_column(default=True)
    # The consensus rule's thresholds (consensus.Rule); empty means the defaults.
    consensus: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The facilitator's moderation policy, in their own words, which phones can read.
    moderation_policy: Mapped[str | None] = mapped_column(Text)
    facilitator_secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the retention command removed what could tell who took part (see retention.py).
    anonymised_at: Mapped[datetime | None]
    # A workshop of a series (usecases/series.py): its stakeholder group, e.g. "Companies".
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), index=True
    )
    stakeholder: Mapped[str | None] = mapped_column(String(120))
    # The organizer account that created it, if one did (the facilitator link works anyway).
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), index=True
    )


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("workshop_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))


class ParticipantGroup(Base):
    """A stakeholder group of a workshop (companies, business organisations, regional
    partners…) that a participant may say they belong to."""

    __tablename__ = "participant_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
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
    # The stakeholder group they said they belong to, if any; fixed once they have voted.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant_groups.id", ondelete="SET NULL"), index=True
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Factor(Base):
    __tablename__ = "factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    removal_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("factors.id", ondelete="SET NULL"), index=True
    )
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The series library's entry this factor is, across workshops (copied, promoted or
    # adopted); a merged factor keeps its own, so the merge is on record.
    library_factor_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_factors.id", ondelete="SET NULL"), index=True
    )
    # The analysis behind it, as the library held it when the workshop began:
    # [{"text": ..., "url": ...}] (factor_library.py).
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What a merge changed, so that it can be undone (factors.merge, factors.unmerge):
    # {"status": ..., "round_id": ..., "ballots": {participant: {"before": ..., "after": ...}}}.
    merge_record: Mapped[dict[str, Any] | None] = mapped_column(JSON)


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
    # The consensus rule (consensus.Rule) the round is judged by, and the one declared when
    # it opened: they differ once the facilitator changed the rule after the results were
    # seen, which the board and every export then say.
    rule: Mapped[dict[str, Any] | None]
    declared_rule: Mapped[dict[str, Any] | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    revealed_at: Mapped[datetime | None]


class Ballot(Base):
    """One participant's whole answer in one round; a new submission replaces the entries."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("round_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
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


class Reason(Base):
    """A participant's reason for an answer that lay outside the middle half of the group in
    a revealed round (core/reasons.py): one per participant, factor and round, a new one
    replacing the old. Shown without anyone's name; after anonymisation it keeps no link
    to the participant (usecases/retention.py)."""

    __tablename__ = "reasons"
    __table_args__ = (UniqueConstraint("round_id", "factor_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    # The revealed round whose result the reason answers.
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    factor_id: Mapped[int] = mapped_column(ForeignKey("factors.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    # core/reasons.ReasonStatus: pending, shown or hidden.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    factor_id: Mapped[int | None] = mapped_column(
        ForeignKey("factors.id", ondelete="SET NULL"), index=True
    )
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


# --- Organizers and series (issue #7) ------------------------------------------------------


class Organizer(Base):
    """An account that owns series and workshops. The password is stored as an Argon2id hash
    (facilitation/usecases/accounts.py); an account made by single sign-on has none, and is
    known by its provider's issuer and subject instead. Nothing else is known of the person
    than the name shown (the username, or the e-mail address the provider gave)."""

    __tablename__ = "organizers"
    __table_args__ = (
        Index("uq_organizers_first_run", "first_run", unique=True),
        Index("uq_organizers_identity", "oidc_issuer", "oidc_subject", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed, cleaned; `login` is its case-folded form, the one looked up.
    username: Mapped[str] = mapped_column(String(254))
    login: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # True on the account the first-run page made, NULL on every other: the unique index
    # lets the database refuse a second first account, however many pages post at once.
    first_run: Mapped[bool | None]
    # An account made by single sign-on: the identity provider's issuer and the subject it
    # names the person by (both NULL on password accounts, which the unique index allows
    # many of). Such an account has no password: `password_hash` holds a mark no password
    # matches (accounts.NO_PASSWORD).
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))


class OrganizerSession(Base):
    """One login: the cookie holds a random token, the database its SHA-256. Logging out
    deletes the row, so a copied cookie is worthless afterwards."""

    __tablename__ = "organizer_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(
        ForeignKey("organizers.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleGrant(Base):
    """A workshop's console opened through an organizer's login instead of the facilitator
    link: valid while that login lives and the organizer may run the workshop."""

    __tablename__ = "console_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("organizer_sessions.id", ondelete="CASCADE"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Series(Base):
    """Workshops with different stakeholder groups on the same starting factors, and the
    factor library they start from."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    # The public follow page's address: random, so that it cannot be guessed, and shown
    # only while `public` is on.
    follow_code: Mapped[str] = mapped_column(String(32), unique=True)
    public: Mapped[bool] = mapped_column(default=False)
    # Grows with every change of the series itself (its workshops count on their own).
    version: Mapped[int] = mapped_column(default=1)
    # The final agreed list, frozen when the organizer concludes the series.
    final: Mapped[dict[str, Any] | None]
    concluded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The transparency page (the follow page's account of the process): the organizer's
    # own words about the process and the coming workshops, whether each workshop's
    # participation is shown (never below a small group), and the workshop factors whose
    # removal reasons are published.
    public_process: Mapped[str] = mapped_column(Text, default="")
    public_coming: Mapped[str] = mapped_column(Text, default="")
    public_participation: Mapped[bool] = mapped_column(default=False)
    public_reasons: Mapped[list[int] | None] = mapped_column(JSON)


class SeriesMember(Base):
    """A co-facilitator of a series: runs its workshops and keeps its library."""

    __tablename__ = "series_members"
    __table_args__ = (UniqueConstraint("series_id", "organizer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    organizer_id: Mapped[int] = mapped_column(
        ForeignKey("organizers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesCommandRecord(Base):
    """The answer given to a series or library command, so that a repeated command id (a
    form sent twice) gets it again and changes nothing. Never holds an invitation's link."""

    __tablename__ = "series_commands"
    __table_args__ = (UniqueConstraint("series_id", "organizer_id", "command_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    organizer_id: Mapped[int] = mapped_column(
        ForeignKey("organizers.id", ondelete="CASCADE"), index=True
    )
    command_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """A link that makes its holder a co-facilitator of a series (with a new account, or
    their own): used once, for a limited time; only its SHA-256 is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]


class LibraryCategory(Base):
    __tablename__ = "library_categories"
    __table_args__ = (UniqueConstraint("series_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))


class LibraryFactor(Base):
    """A starting factor of a series, with its evidence; a new workshop of the series copies
    every one not retired, each copy linked back (factors.library_factor_id)."""

    __tablename__ = "library_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("library_categories.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # "template", "added", "imported" or "promoted" (from a workshop).
    origin: Mapped[str] = mapped_column(String(20))
    promoted_from_workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="SET NULL"), index=True
    )
    # Retired factors stay for the workshops that had them; new workshops leave them out.
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesLogEntry(Base):
    """The series' own log: library changes, workshops added, the conclusion, with the role
    that made each (owner or co-facilitator), never who."""

    __tablename__ = "series_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
