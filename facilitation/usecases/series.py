"""Use cases of a series of workshops: create it, configure it, invite co-facilitators, add
workshops that start from its library, conclude it with the final agreed list.

Layer: use cases. One named command per action, each named with its payload schema and the
role it needs in registry.py (`SERIES_COMMANDS`) and run as every command is (commands.py:
command id, stored answer, one transaction with the series locked, version raised, published
after the commit); each logs what it did (with the role, never who). The library's commands
live in library.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facilitation.core import domain, factor_library, schemas
from facilitation.core.domain import N_, DomainError, SeedFactor
from facilitation.infrastructure import models
from facilitation.queries import transparency
from facilitation.queries.combined_record import combined_record
from facilitation.queries.series import series_workshops
from facilitation.usecases import library, workshops
from facilitation.usecases.accounts import digest
from facilitation.usecases.base import SeriesRole, SeriesTx, bump, parse

OWNER, MEMBER = SeriesRole.OWNER, SeriesRole.MEMBER

INVITATION_LIFETIME = timedelta(days=7)


# --- Access --------------------------------------------------------------------------------


def role_of(s: Session, organizer_id: int, series: models.Series) -> SeriesRole | None:
    if series.owner_id == organizer_id:
        return OWNER
    member = s.scalar(
        select(models.SeriesMember.id).where(
            models.SeriesMember.series_id == series.id,
            models.SeriesMember.organizer_id == organizer_id,
        )
    )
    return MEMBER if member is not None else None


def find(
    s: Session, organizer_id: int, series_id: int, *, lock: bool = False
) -> tuple[models.Series, SeriesRole]:
    """The series and the organizer's role in it. A series they have no part in is as
    unknown to them as one that does not exist."""
    query = select(models.Series).where(models.Series.id == series_id)
    series = s.scalars(query.with_for_update() if lock else query).one_or_none()
    role = role_of(s, organizer_id, series) if series is not None else None
    if series is None or role is None:
        raise DomainError("unknown_series", N_("There is no such series."))
    return series, role


# --- Creating and listing ------------------------------------------------------------------


def create(s: Session, organizer_id: int, raw: Any) -> models.Series:
    """A new series owned by the organizer, its library started from a template."""
    p: schemas.SeriesCreate = parse(schemas.SeriesCreate, raw)
    series = models.Series(
        owner_id=organizer_id,
        title=domain.clean_title(p.title, max_length=domain.WORKSHOP_TITLE_MAX),
        language=p.language,
        description=_description(p.description),
        follow_code=secrets.token_urlsafe(16),
    )
    s.add(series)
    s.flush()
    tx = SeriesTx(s, series, organizer_id, OWNER)
    tx.log("series.created", template=p.template)
    if p.template != "none":
        categories, seeds = factor_library.template(p.template, p.language)
        library.import_seeds(tx, categories, seeds, origin="template")
    return series


def _description(text: str) -> str:
    return domain.clean_text(
        text, field="description", max_length=domain.DESCRIPTION_MAX, required=False
    )


def home(s: Session, organizer_id: int) -> dict[str, Any]:
    """What the organizer's start page lists: their series (owned or co-facilitated), each
    with its workshops, and the workshops they own outside a series."""
    member_of = select(models.SeriesMember.series_id).where(
        models.SeriesMember.organizer_id == organizer_id
    )
    series = s.scalars(
        select(models.Series)
        .where((models.Series.owner_id == organizer_id) | models.Series.id.in_(member_of))
        .order_by(models.Series.created_at.desc(), models.Series.id.desc())
    ).all()
    own = s.scalars(
        select(models.Workshop)
        .where(models.Workshop.owner_id == organizer_id, models.Workshop.series_id.is_(None))
        .order_by(models.Workshop.created_at.desc())
    ).all()
    return {
        "series": [
            {
                "id": x.id,
                "title": x.title,
                "role": OWNER if x.owner_id == organizer_id else MEMBER,
                "concluded": x.concluded_at is not None,
                "public": x.public,
                "workshops": [_workshop_summary(w) for w in series_workshops(s, x)],
            }
            for x in series
        ],
        "workshops": [_workshop_summary(w) for w in own],
    }


def owned(s: Session, organizer_id: int) -> list[models.Series]:
    """The series the organizer owns."""
    return list(
        s.scalars(
            select(models.Series)
            .where(models.Series.owner_id == organizer_id)
            .order_by(models.Series.id)
        )
    )


def _workshop_summary(w: models.Workshop) -> dict[str, Any]:
    return {
        "code": w.code,
        "title": w.title,
        "stakeholder": w.stakeholder,
        "step": w.step,
        "language": w.language,
        "created_at": w.created_at.isoformat() + "Z",
    }


def page(s: Session, organizer_id: int, series_id: int) -> dict[str, Any]:
    """The series as its organizers see it: settings, workshops, co-facilitators, the log."""
    series, role = find(s, organizer_id, series_id)
    owner = s.get(models.Organizer, series.owner_id)
    members = s.execute(
        select(models.SeriesMember.organizer_id, models.Organizer.username)
        .join(models.Organizer)
        .where(models.SeriesMember.series_id == series.id)
        .order_by(models.SeriesMember.id)
    ).all()
    open_invitations = s.scalar(
        select(func.count())
        .select_from(models.Invitation)
        .where(
            models.Invitation.series_id == series.id,
            models.Invitation.accepted_at.is_(None),
            models.Invitation.expires_at > models.utcnow(),
        )
    )
    log = s.scalars(
        select(models.SeriesLogEntry)
        .where(models.SeriesLogEntry.series_id == series.id)
        .order_by(models.SeriesLogEntry.id.desc())
        .limit(50)
    )
    categories = s.scalars(
        select(models.LibraryCategory)
        .where(models.LibraryCategory.series_id == series.id)
        .order_by(models.LibraryCategory.position)
    ).all()
    factors = s.scalars(
        select(models.LibraryFactor)
        .where(models.LibraryFactor.series_id == series.id)
        .order_by(models.LibraryFactor.id)
    ).all()
    library = [
        {
            "id": c.id,
            "name": c.name,
            "factors": [
                {
                    "id": f.id,
                    "title": f.title,
                    "description": f.description,
                    "evidence": f.evidence,
                    "evidence_text": factor_library.evidence_lines(f.evidence),
                    "origin": f.origin,
                    "retired": f.retired,
                }
                for f in factors
                if f.category_id == c.id
            ],
        }
        for c in categories
    ]
    return {
        "id": series.id,
        "title": series.title,
        "language": series.language,
        "library": library,
        "description": series.description,
        "public": series.public,
        "follow_code": series.follow_code,
        "public_process": series.public_process,
        "public_coming": series.public_coming,
        "public_participation": series.public_participation,
        "removals": list(transparency.removals(s, series).values()),
        "public_text_max": PUBLIC_TEXT_MAX,
        "concluded_at": series.concluded_at,
        "final": series.final,
        "role": role,
        "owner": owner.username if owner else None,
        "members": [{"id": m[0], "username": m[1]} for m in members],
        "open_invitations": open_invitations or 0,
        "workshops": [_workshop_summary(w) for w in series_workshops(s, series)],
        "log": [
            {"at": e.at, "actor": e.actor, "action": e.action, "details": e.details} for e in log
        ],
    }


# --- Commands ------------------------------------------------------------------------------


def configure(tx: SeriesTx, p: schemas.SeriesConfigure) -> dict[str, Any]:
    """The owner changes the title, the description, or whether the follow page is public."""
    domain.check_something_to_change(p.title, p.description, p.public)
    changed: dict[str, Any] = {}
    if p.title is not None:
        changed["title"] = tx.series.title = domain.clean_title(
            p.title, max_length=domain.WORKSHOP_TITLE_MAX
        )
    if p.description is not None:
        changed["description"] = tx.series.description = _description(p.description)
    if p.public is not None:
        changed["public"] = tx.series.public = p.public
    tx.log("series.configured", **{k: v for k, v in changed.items() if k != "description"})
    return changed


# The organizer's words on the transparency page: a few paragraphs each.
PUBLIC_TEXT_MAX = 2000


def publish(tx: SeriesTx, p: schemas.SeriesPublish) -> dict[str, Any]:
    """The owner writes what the follow page tells of the process and of the coming
    workshops, chooses whether each workshop's participation is shown (never below a small
    group), and which removals' reasons are published (the others show without one)."""

    def text(value: str, field: str) -> str:
        return domain.clean_text(
            value, field=field, max_length=PUBLIC_TEXT_MAX, required=False
        ).strip()

    removals = set(transparency.removals(tx.session, tx.series))
    if not set(p.factor_ids) <= removals:
        raise DomainError("unknown_factor", N_("There is no such factor."))
    series = tx.series
    series.public_process = text(p.process, "description")
    series.public_coming = text(p.coming, "description")
    series.public_participation = p.participation
    series.public_reasons = sorted(set(p.factor_ids)) or None
    tx.log("series.published", reasons=len(p.factor_ids), participation=p.participation)
    return {}


def add_workshop(tx: SeriesTx, p: schemas.SeriesWorkshopAdd) -> dict[str, Any]:
    """A new workshop of the series for one stakeholder group, starting from the library:
    its categories, and every factor not retired, each linked to its library entry and
    carrying its evidence. Returns its join code. Its facilitator secret is shown to no
    one: the organizers open it through their logins (so removing one ends their access),
    and *Replace the link* makes a link to hand on."""
    s, series = tx.session, tx.series
    stakeholder = factor_library.clean_stakeholder(p.stakeholder)
    typed = domain.clean_title(p.title, max_length=domain.WORKSHOP_TITLE_MAX, required=False)
    title = typed or " – ".join(filter(None, [series.title, stakeholder]))
    categories = list(
        s.scalars(
            select(models.LibraryCategory)
            .where(models.LibraryCategory.series_id == series.id)
            .order_by(models.LibraryCategory.position)
        )
    )
    position = {c.id: c.position for c in categories}
    library = sorted(
        s.scalars(
            select(models.LibraryFactor).where(
                models.LibraryFactor.series_id == series.id,
                models.LibraryFactor.retired.is_(False),
            )
        ),
        key=lambda f: (position[f.category_id], f.id),
    )
    names = {c.id: c.name for c in categories}
    workshop, _ = workshops.create(
        s,
        title=title[: domain.WORKSHOP_TITLE_MAX],
        language=p.language or series.language,
        categories=[c.name for c in categories] or None,
        seeds=[SeedFactor(f.title, names[f.category_id], f.description) for f in library],
    )
    workshop.series_id = series.id
    workshop.stakeholder = stakeholder
    workshop.owner_id = series.owner_id
    s.flush()
    copies = s.scalars(
        select(models.Factor)
        .where(models.Factor.workshop_id == workshop.id)
        .order_by(models.Factor.id)
    ).all()
    for copy, entry in zip(copies, library, strict=True):
        copy.library_factor_id = entry.id
        copy.evidence = list(entry.evidence) or None
    tx.log("workshop.added", title=workshop.title, stakeholder=stakeholder, factors=len(library))
    return {"code": workshop.code, "workshop_id": workshop.id}


def invite(tx: SeriesTx, _: schemas.Nothing) -> dict[str, Any]:
    """The owner makes an invitation link for a co-facilitator: good once, for seven days.
    Only its hash is kept, so the link is shown this once."""
    token = secrets.token_urlsafe(24)
    tx.session.add(
        models.Invitation(
            series_id=tx.series.id,
            token_hash=digest(token),
            expires_at=models.utcnow() + INVITATION_LIFETIME,
        )
    )
    tx.log("invitation.made")
    return {"token": token}


def remove_member(tx: SeriesTx, p: schemas.MemberRemove) -> dict[str, Any]:
    """The owner removes a co-facilitator: their consoles of the series' workshops stop
    working at once (every open screen of those workshops is checked again)."""
    member = tx.session.scalars(
        select(models.SeriesMember).where(
            models.SeriesMember.series_id == tx.series.id,
            models.SeriesMember.organizer_id == p.organizer_id,
        )
    ).one_or_none()
    if member is None:
        raise DomainError("unknown_member", N_("That person is not a co-facilitator here."))
    tx.session.delete(member)
    tx.access |= {w.id for w in series_workshops(tx.session, tx.series)}
    tx.log("member.removed")
    return {}


def conclude(tx: SeriesTx, p: schemas.SeriesConclude) -> dict[str, Any]:
    """The owner concludes the series: the chosen factors, in the combined picture's order,
    become the final agreed list, frozen with their priorities."""
    record = combined_record(tx.session, tx.series)
    chosen = set(p.factor_ids)
    known = {f["id"] for f in record["factors"]}
    if not chosen or not chosen <= known:
        raise DomainError("choose_factors", N_("Choose the factors of the final list."))
    final = [
        {k: f[k] for k in ("id", "category", "title", "rank", "priority")}
        for f in record["factors"]
        if f["id"] in chosen
    ]
    tx.series.final = {"factors": final, "concordance": record["concordance"]}
    tx.series.concluded_at = models.utcnow()
    tx.log("series.concluded", factors=len(final))
    return {"factors": len(final)}


def reopen(tx: SeriesTx, _: schemas.Nothing) -> dict[str, Any]:
    """The owner reopens a concluded series: the final list is withdrawn (the log keeps
    that it was made)."""
    if tx.series.concluded_at is None:
        raise DomainError("not_concluded", N_("The series is not concluded."))
    tx.series.final = None
    tx.series.concluded_at = None
    tx.log("series.reopened")
    return {}


# --- Deleting, invitations, lookups ----------------------------------------------------------


def delete(s: Session, organizer_id: int, series_id: int) -> list[int]:
    """The owner deletes the series with its library and all its workshops (each leaving
    its line without content, as a deleted workshop does); the ids of those workshops."""
    series, role = find(s, organizer_id, series_id, lock=True)
    if role != OWNER:
        raise DomainError("owner_only", N_("Only the series' owner may do that."))
    gone = []
    for workshop in series_workshops(s, series):
        gone.append(workshop.id)
        s.add(workshops.deletion(s, workshop))
        s.delete(workshop)
    s.flush()
    s.delete(series)
    return gone


BAD_INVITATION = DomainError("bad_invitation", N_("This invitation is used up or has expired."))


def invitation(s: Session, token: str) -> models.Invitation:
    """The invitation this link holds, if it is still good."""
    found = s.scalars(
        select(models.Invitation).where(models.Invitation.token_hash == digest(token))
    ).one_or_none()
    if found is None or found.accepted_at is not None or found.expires_at <= models.utcnow():
        raise BAD_INVITATION
    return found


def accept(s: Session, organizer_id: int, token: str) -> int:
    """The organizer takes up an invitation and becomes a co-facilitator of its series;
    the series' id. One conditional UPDATE marks the invitation used, and its row count
    decides: of several taking it up at once, one gets it, the others the refusal of a used
    link (and their transactions, with any account made for it, roll back)."""
    found = invitation(s, token)
    now = models.utcnow()
    taken = cast(
        CursorResult[Any],
        s.execute(
            update(models.Invitation)
            .where(
                models.Invitation.id == found.id,
                models.Invitation.accepted_at.is_(None),
                models.Invitation.expires_at > now,
            )
            .values(accepted_at=now)
        ),
    )
    if taken.rowcount != 1:
        raise BAD_INVITATION
    series = s.get(models.Series, found.series_id)
    assert series is not None
    if role_of(s, organizer_id, series) is None:
        try:
            with s.begin_nested():
                s.add(models.SeriesMember(series_id=series.id, organizer_id=organizer_id))
        except IntegrityError:
            # Another invitation to the same series, taken up by the same organizer at the
            # same moment, made them a co-facilitator: once is all it takes.
            return series.id
        SeriesTx(s, series, organizer_id, MEMBER).log("member.joined")
        bump(series)
    return series.id


def series_of(s: Session, workshop_ids: set[int]) -> dict[int, int]:
    """The series of each of these workshops that belongs to one."""
    if not workshop_ids:
        return {}
    rows = s.execute(
        select(models.Workshop.id, models.Workshop.series_id).where(
            models.Workshop.id.in_(workshop_ids), models.Workshop.series_id.is_not(None)
        )
    )
    return {w: x for w, x in rows if x is not None}


def public(s: Session, follow_code: str) -> models.Series:
    """The series with this follow page, if its owner made it public."""
    found = s.scalars(
        select(models.Series).where(models.Series.follow_code == follow_code)
    ).one_or_none()
    if found is None or not found.public:
        raise DomainError("unknown_series", N_("There is no such series."))
    return found


def evidence(s: Session, workshop: models.Workshop) -> dict[int, list[dict[str, Any]]]:
    """The evidence behind a workshop's factors, by factor id (those that have some)."""
    rows = s.execute(
        select(models.Factor.id, models.Factor.evidence).where(
            models.Factor.workshop_id == workshop.id, models.Factor.evidence.is_not(None)
        )
    )
    return {factor_id: items for factor_id, items in rows if items}
