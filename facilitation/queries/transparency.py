"""The transparency page of a series: what the follow page tells of the process besides the
combined picture — when each workshop was held and when the list was concluded, the
decisions to remove a library factor (with the reasons the organizer chose to publish), the
organizer's own words about the process and the coming workshops, and, if the organizer
opted in, how many took part in each workshop's revealed rounds (like the picture, only what
the room was shown, so votes coming in change nothing public), never a figure below
GROUP_MIN, the small group of core/consensus.py: a smaller one would tell who was there.

Layer: queries (the read side). Imports the models and the core's threshold.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitation.core.consensus import GROUP_MIN
from facilitation.core.domain import FactorStatus, RoundState
from facilitation.infrastructure import models
from facilitation.queries.series import series_workshops
from facilitation.queries.views import Decision, HeldAt, Transparency


class Removal(TypedDict):
    """A library factor a workshop removed, as its organizers choose what to publish."""

    factor_id: int
    workshop: str  # the workshop's title
    title: str  # the library's wording
    reason: str
    at: str | None
    published: bool


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() + "Z" if at else None


def _removed(s: Session, series: models.Series) -> list[tuple[models.Workshop, models.Factor]]:
    """The series' workshops' removed factors that are library factors, workshop by
    workshop. A factor a workshop added is not the library's: its words are not public."""
    held = series_workshops(s, series)
    order = {w.id: i for i, w in enumerate(held)}
    by_id = {w.id: w for w in held}
    factors = s.scalars(
        select(models.Factor)
        .where(
            models.Factor.workshop_id.in_(list(by_id)),
            models.Factor.status == FactorStatus.REMOVED,
            models.Factor.library_factor_id.is_not(None),
        )
        .order_by(models.Factor.id)
    )
    return sorted(((by_id[f.workshop_id], f) for f in factors), key=lambda pair: order[pair[0].id])


def removals(s: Session, series: models.Series) -> dict[int, Removal]:
    """Every removal of a library factor in the series, by the workshop factor's id."""
    pairs = _removed(s, series)
    titles = _library_titles(s, series)
    when = _removed_at(s, [f.id for _, f in pairs])
    published = set(series.public_reasons or [])
    return {
        f.id: {
            "factor_id": f.id,
            "workshop": w.title,
            "title": titles.get(f.library_factor_id or 0, ""),
            "reason": f.removal_reason or "",
            "at": _iso(when.get(f.id)),
            "published": f.id in published,
        }
        for w, f in pairs
    }


def transparency(s: Session, series: models.Series) -> Transparency:
    """What the follow page tells of the process, for everyone."""
    held = series_workshops(s, series)
    ids = [w.id for w in held]
    opened = dict(
        s.execute(
            select(models.Round.workshop_id, func.min(models.Round.opened_at))
            .where(models.Round.workshop_id.in_(ids))
            .group_by(models.Round.workshop_id)
        ).all()
    )
    took_part = dict(
        s.execute(
            select(
                models.Round.workshop_id, func.count(func.distinct(models.Ballot.participant_id))
            )
            .join(models.Ballot, models.Ballot.round_id == models.Round.id)
            .where(models.Round.workshop_id.in_(ids), models.Round.state == RoundState.REVEALED)
            .group_by(models.Round.workshop_id)
        ).all()
    )
    workshops: list[HeldAt] = []
    for w in held:
        count = took_part.get(w.id, 0) if series.public_participation else 0
        workshops.append(
            {
                "key": f"w{w.id}",
                "held_at": _iso(opened.get(w.id)),
                "participants": count if count >= GROUP_MIN else None,
                "few": series.public_participation and 0 < count < GROUP_MIN,
            }
        )
    keys = {w.id: f"w{w.id}" for w in held}
    pairs = _removed(s, series)
    titles = _library_titles(s, series)
    when = _removed_at(s, [f.id for _, f in pairs])
    published = set(series.public_reasons or [])
    decisions: list[Decision] = [
        {
            "workshop": keys[w.id],
            "title": titles.get(f.library_factor_id or 0, ""),
            "at": _iso(when.get(f.id)),
            "reason": (f.removal_reason or None) if f.id in published else None,
        }
        for w, f in pairs
    ]
    return {
        "process": series.public_process,
        "coming": series.public_coming,
        "concluded_at": _iso(series.concluded_at),
        "workshops": workshops,
        "decisions": decisions,
        "group_min": GROUP_MIN,
    }


def _library_titles(s: Session, series: models.Series) -> dict[int, str]:
    return dict(
        s.execute(
            select(models.LibraryFactor.id, models.LibraryFactor.title).where(
                models.LibraryFactor.series_id == series.id
            )
        ).all()
    )


def _removed_at(s: Session, factor_ids: list[int]) -> dict[int, datetime]:
    """When each factor was last removed, from the workshops' logs."""
    if not factor_ids:
        return {}
    rows = s.execute(
        select(models.LogEntry.factor_id, func.max(models.LogEntry.at))
        .where(
            models.LogEntry.factor_id.in_(factor_ids),
            models.LogEntry.action == "factor.removed",
        )
        .group_by(models.LogEntry.factor_id)
    ).all()
    return {factor_id: at for factor_id, at in rows if factor_id is not None}
