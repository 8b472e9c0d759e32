"""What a series' combined picture holds: each workshop's result for every library factor,
side by side, and their combination (combined.py) — for its organizers (with every figure),
for its exports, and for the public follow page (nothing about participants).

Layer: services (queries). Reads the database; the core combines. Only revealed rounds
count: the picture shows what the rooms were shown, never a result still held back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.core import combined, tally
from facilitation.core.ballots import PRIORITISING
from facilitation.core.combined import Outcome
from facilitation.core.consensus import Rule
from facilitation.core.domain import FactorStatus, Method, RoundState
from facilitation.infrastructure import models
from facilitation.queries.series import series_workshops

_STATUS = {
    FactorStatus.ACTIVE: combined.KEPT,
    FactorStatus.REMOVED: combined.REMOVED,
    FactorStatus.MERGED: combined.MERGED,
    FactorStatus.HIDDEN: combined.HIDDEN,
    FactorStatus.PROPOSED: combined.HIDDEN,
}
# A round's figures for one factor, as the organizer's picture and exports show them.
_FIGURES = (
    "rank",
    "dots",
    "points",
    "share",
    "median",
    "q1",
    "q3",
    "iqr",
    "mean_rank",
    "agreement",
    "quadrant",
)


def _latest(rounds: list[models.Round], methods: AbstractSet[Method]) -> models.Round | None:
    shown = [
        r
        for r in rounds
        if Method(r.method) in methods and r.state == RoundState.REVEALED and r.results
    ]
    return shown[-1] if shown else None


class _Workshop:
    """One workshop's factors and revealed results, read once."""

    def __init__(self, s: Session, workshop: models.Workshop) -> None:
        self.workshop = workshop
        self.key = f"w{workshop.id}"
        self.factors = list(
            s.scalars(
                select(models.Factor)
                .where(models.Factor.workshop_id == workshop.id)
                .order_by(models.Factor.id)
            )
        )
        self.by_id = {f.id: f for f in self.factors}
        rounds = list(
            s.scalars(
                select(models.Round)
                .where(models.Round.workshop_id == workshop.id)
                .order_by(models.Round.number)
            )
        )
        self.revealed = sum(1 for r in rounds if r.state == RoundState.REVEALED)
        self.rule = Rule.from_dict(workshop.consensus or {})
        self.prioritised = _latest(rounds, PRIORITISING)
        self.pruned = _latest(rounds, {Method.KEEP_REMOVE})
        self.rows = self._rows(self.prioritised)
        self.prune_rows = self._rows(self.pruned)
        results = self.prioritised.results if self.prioritised else None
        self.verdict = tally.judge(results, self.rule) if results else None
        # Library factors merged into a factor the workshop added live on in it.
        self.absorbed: dict[int, list[int]] = defaultdict(list)
        for f in self.factors:
            if f.merged_into_id and f.library_factor_id:
                self.absorbed[f.merged_into_id].append(f.library_factor_id)

    @staticmethod
    def _rows(r: models.Round | None) -> dict[int, dict[str, Any]]:
        return {row["factor_id"]: row for row in r.results["factors"]} if r and r.results else {}

    def factor_for(self, library_id: int) -> models.Factor | None:
        """The workshop's factor that is this library factor: its own copy unless that was
        merged away, else the factor the group merged it into when that one came from the
        workshop itself (it continues the library factor there)."""
        linked = [f for f in self.factors if f.library_factor_id == library_id]
        for f in linked:
            if f.status != FactorStatus.MERGED:
                return f
        for f in linked:
            survivor = self.by_id.get(f.merged_into_id or 0)
            if survivor is not None and survivor.library_factor_id is None:
                return survivor
        return linked[0] if linked else None

    def outcome(self, library_id: int) -> tuple[Outcome, dict[str, Any]]:
        """The core's outcome for a library factor, and what the picture says beside it."""
        factor = self.factor_for(library_id)
        if factor is None:
            return Outcome(combined.ABSENT), {}
        status = _STATUS[FactorStatus(factor.status)]
        notes: dict[str, Any] = {"title": factor.title}
        if factor.library_factor_id != library_id:
            notes["continued_as"] = factor.title
        if status == combined.MERGED:
            into = self.by_id.get(factor.merged_into_id or 0)
            notes["merged_into"] = into.title if into else None
            notes["merged_into_library_id"] = into.library_factor_id if into else None
        row = self.rows.get(factor.id)
        score = None
        agreed = None
        if row is not None and status == combined.KEPT and self.prioritised is not None:
            score = (self.prioritised.results or {})["scores"].get(str(factor.id))
            if Method(self.prioritised.method) in tally.BY_CONCORDANCE:
                agreed = bool(self.verdict and self.verdict.reached)
            elif row.get("agreement") is not None:
                agreed = row["agreement"] >= self.rule.agreement
            notes["figures"] = {k: row[k] for k in _FIGURES if k in row}
            for axis in ("impact", "uncertainty"):
                if axis in row:
                    notes["figures"][axis] = row[axis]["median"]
        prune = self.prune_rows.get(factor.id)
        if prune is not None:
            notes["keep"] = {k: prune[k] for k in ("keep", "remove", "agreement")}
        return Outcome(status, score, agreed), notes


def combined_record(s: Session, series: models.Series, *, public: bool = False) -> dict[str, Any]:
    """The series' combined picture. With `public`, only what the follow page may show
    (docs/process.md): the workshops' titles, stakeholder groups and steps; the library's
    categories and factors in the library's wording; and per workshop each factor's fate,
    place and whether consensus was reached — no counts, no figures, no codes, no wording
    of a workshop's (a participant's or a facilitator's edit), nothing of anyone."""
    categories = list(
        s.scalars(
            select(models.LibraryCategory)
            .where(models.LibraryCategory.series_id == series.id)
            .order_by(models.LibraryCategory.position)
        )
    )
    names = {c.id: c.name for c in categories}
    position = {c.id: c.position for c in categories}
    library = sorted(
        s.scalars(select(models.LibraryFactor).where(models.LibraryFactor.series_id == series.id)),
        key=lambda f: (position[f.category_id], f.id),
    )
    held = [_Workshop(s, w) for w in series_workshops(s, series)]
    outcomes: dict[str, dict[int, Outcome]] = {}  # by workshop key, then library id
    notes: dict[str, dict[int, dict[str, Any]]] = {}
    for w in held:
        outcomes[w.key], notes[w.key] = {}, {}
        for f in library:
            outcomes[w.key][f.id], notes[w.key][f.id] = w.outcome(f.id)
    picture = combined.combine([f.id for f in library], outcomes)
    by_id = {f.id: f for f in library}
    factors = []
    for c in picture.factors:
        entry = by_id[int(str(c.key))]
        cells = {}
        for w in held:
            placed = c.cells[w.key]
            cell: dict[str, Any] = {
                "status": placed.status,
                "priority": placed.priority,
                "tier": placed.tier,
                "place": placed.place,
                "of": placed.of,
                "consensus": placed.consensus,
            }
            note = notes[w.key][entry.id]
            if public:
                # Only the library's wording is public. What a workshop called a factor may
                # be a participant's (a library factor merged into their proposal continues
                # as it) or a facilitator's edit: neither was published by the organizers.
                into = by_id.get(note.get("merged_into_library_id") or 0)
                if "merged_into" in note and into is not None:
                    cell["merged_into"] = into.title
            else:
                if note.get("title") and note["title"] != entry.title:
                    cell["title_here"] = note["title"]
                if "merged_into" in note:
                    cell["merged_into"] = note["merged_into"]
                cell.update({k: note[k] for k in ("figures", "keep") if k in note})
            cells[w.key] = cell
        factors.append(
            {
                "id": entry.id,
                "category": names[entry.category_id],
                "title": entry.title,
                "description": entry.description,
                "evidence": entry.evidence,
                "retired": entry.retired,
                "origin": entry.origin,
                "rank": c.rank,
                "priority": c.priority,
                "coverage": c.coverage,
                "spread": c.spread,
                "agreement": c.agreement,
                "kept": c.kept,
                "removed": c.removed,
                "kept_overall": c.kept_overall,
                "cells": cells,
            }
        )
    letters = {w.key: _letter(i) for i, w in enumerate(held)}
    record: dict[str, Any] = {
        "series": {
            "title": series.title,
            "language": series.language,
            "description": series.description,
            "created_at": series.created_at.isoformat() + "Z",
            "concluded_at": series.concluded_at.isoformat() + "Z" if series.concluded_at else None,
        },
        "workshops": [_workshop(w, letters[w.key], public=public) for w in held],
        "categories": [c.name for c in categories],
        "factors": factors,
        "concordance": picture.concordance.as_dict(),
        "similarity": [{"a": a, "b": b, "rho": rho} for (a, b), rho in picture.similarity.items()],
        "final": series.final,
        "as_of": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if not public:
        record["added"] = [a for w in held for a in _added(w, names_in_library=by_id)]
    return record


def _letter(index: int) -> str:
    """A, B, … Z, then AA, AB …: how charts and tables name the workshops."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _workshop(w: _Workshop, letter: str, *, public: bool) -> dict[str, Any]:
    ws = w.workshop
    out: dict[str, Any] = {
        "key": w.key,
        "letter": letter,
        "title": ws.title,
        "stakeholder": ws.stakeholder,
        "step": ws.step,
        "language": ws.language,
        "created_at": ws.created_at.isoformat() + "Z",
        "revealed_rounds": w.revealed,
        "method": w.prioritised.method if w.prioritised else None,
        "consensus": w.verdict.reached if w.verdict else None,
    }
    if not public:
        out["code"] = ws.code
        out["ballots"] = (w.prioritised.results or {}).get("ballots") if w.prioritised else None
        out["rule"] = w.rule.as_dict()
    return out


def _added(
    w: _Workshop, *, names_in_library: dict[int, models.LibraryFactor]
) -> list[dict[str, Any]]:
    """The factors a workshop added that are not in the library (for its organizers to take
    over), with the library factors merged into each."""
    return [
        {
            "factor_id": f.id,
            "workshop": w.key,
            "workshop_title": w.workshop.title,
            "title": f.title,
            "description": f.description,
            "origin": f.origin,
            "status": f.status,
            "absorbed": [
                {"id": i, "title": names_in_library[i].title}
                for i in w.absorbed.get(f.id, [])
                if i in names_in_library
            ],
        }
        for f in w.factors
        if f.library_factor_id is None and f.status in (FactorStatus.ACTIVE, FactorStatus.REMOVED)
    ]


def follow_view(s: Session, series: models.Series) -> dict[str, Any]:
    """The public follow page's state: the series, its workshops, the combined picture and
    the final list, with nothing about any participant."""
    record = combined_record(s, series, public=True)
    record["follow_code"] = series.follow_code
    return record
