"""What a series' combined picture is made of: each workshop's result for every library
factor, read once, and their combination (combined.py). combined_record.py makes of it the
organizers' record (with every figure, for their pages and exports), follow_view.py the
public follow page (nothing about participants).

Layer: queries (the read side). Reads the database; the core combines. Only revealed rounds
count: the picture shows what the rooms were shown, never a result still held back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.core import combined, tally
from facilitation.core.ballots import PRIORITISING
from facilitation.core.combined import Outcome, Picture
from facilitation.core.consensus import AGREED, TOO_FEW, Rule
from facilitation.core.domain import FactorStatus, Method, RoundState
from facilitation.infrastructure import models
from facilitation.queries.series import series_workshops
from facilitation.queries.views import (
    Concordance,
    Figures,
    Final,
    KeepFigures,
    PictureFactor,
    PublicCell,
    PublicWorkshop,
    SeriesInfo,
    Similarity,
)
from facilitation.queries.views import (
    Rule as RuleView,
)

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


class Notes(TypedDict):
    """What the picture says of a library factor in a workshop, beside the core's outcome."""

    title: NotRequired[str]
    continued_as: NotRequired[str]
    merged_into: NotRequired[str | None]
    merged_into_library_id: NotRequired[int | None]
    figures: NotRequired[Figures]
    keep: NotRequired[KeepFigures]


def _latest(rounds: list[models.Round], methods: AbstractSet[Method]) -> models.Round | None:
    shown = [
        r
        for r in rounds
        if Method(r.method) in methods and r.state == RoundState.REVEALED and r.results
    ]
    return shown[-1] if shown else None


class HeldWorkshop:
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
        self.prioritised = _latest(rounds, PRIORITISING)
        # The rule the round was judged by (the workshop's, for a round that kept none).
        kept = self.prioritised.rule if self.prioritised else None
        self.rule = Rule.from_dict(kept if kept is not None else workshop.consensus or {})
        self.pruned = _latest(rounds, {Method.KEEP_REMOVE})
        self.rows = self._rows(self.prioritised)
        self.prune_rows = self._rows(self.pruned)
        results = self.prioritised.results if self.prioritised else None
        self.verdict = tally.judge(results, self.rule) if results else None
        self.verdicts = tally.factor_verdicts(results, self.rule) if results else {}
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

    def outcome(self, library_id: int) -> tuple[Outcome, Notes]:
        """The core's outcome for a library factor, and what the picture says beside it."""
        factor = self.factor_for(library_id)
        if factor is None:
            return Outcome(combined.ABSENT), {}
        status = _STATUS[FactorStatus(factor.status)]
        notes: Notes = {"title": factor.title}
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
            elif self.verdicts.get(factor.id, TOO_FEW) != TOO_FEW:
                agreed = self.verdicts[factor.id] in AGREED
            figures = {k: row[k] for k in _FIGURES if k in row}
            for axis in ("impact", "uncertainty"):
                if axis in row:
                    figures[axis] = row[axis]["median"]
            notes["figures"] = cast(Figures, figures)
        prune = self.prune_rows.get(factor.id)
        if prune is not None:
            notes["keep"] = {
                "keep": prune["keep"],
                "remove": prune["remove"],
                "agreement": prune["agreement"],
            }
        return Outcome(status, score, agreed), notes


@dataclass
class Read:
    """A series' library and workshops, read once, and the picture the core makes of them."""

    series: models.Series
    categories: list[models.LibraryCategory]
    library: list[models.LibraryFactor]
    names: dict[int, str]  # the categories' names, by id
    held: list[HeldWorkshop]
    notes: dict[str, dict[int, Notes]]  # by workshop key, then library id
    picture: Picture

    def __post_init__(self) -> None:
        self.by_id = {f.id: f for f in self.library}


def read(s: Session, series: models.Series) -> Read:
    """The series' library in its order, its workshops as they were held, and the picture."""
    categories = list(
        s.scalars(
            select(models.LibraryCategory)
            .where(models.LibraryCategory.series_id == series.id)
            .order_by(models.LibraryCategory.position)
        )
    )
    position = {c.id: c.position for c in categories}
    library = sorted(
        s.scalars(select(models.LibraryFactor).where(models.LibraryFactor.series_id == series.id)),
        key=lambda f: (position[f.category_id], f.id),
    )
    held = [HeldWorkshop(s, w) for w in series_workshops(s, series)]
    outcomes: dict[str, dict[int, Outcome]] = {}  # by workshop key, then library id
    notes: dict[str, dict[int, Notes]] = {}
    for w in held:
        outcomes[w.key], notes[w.key] = {}, {}
        for f in library:
            outcomes[w.key][f.id], notes[w.key][f.id] = w.outcome(f.id)
    picture = combined.combine([f.id for f in library], outcomes)
    names = {c.id: c.name for c in categories}
    return Read(series, categories, library, names, held, notes, picture)


def cell(placed: combined.Placed) -> PublicCell:
    """A library factor's place in one workshop, as everyone may see it."""
    return {
        "status": placed.status,
        "priority": placed.priority,
        "tier": placed.tier,
        "place": placed.place,
        "of": placed.of,
        "consensus": placed.consensus,
    }


def factor(read: Read, c: combined.CombinedFactor) -> tuple[models.LibraryFactor, PictureFactor]:
    """A library factor in the combined picture (without its cells), in the library's wording."""
    entry = read.by_id[int(str(c.key))]
    return entry, {
        "id": entry.id,
        "category": read.names[entry.category_id],
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
    }


def series_info(series: models.Series) -> SeriesInfo:
    return {
        "title": series.title,
        "language": series.language,
        "description": series.description,
        "created_at": series.created_at.isoformat() + "Z",
        "concluded_at": series.concluded_at.isoformat() + "Z" if series.concluded_at else None,
    }


def workshop(w: HeldWorkshop, index: int) -> PublicWorkshop:
    """A workshop of the series as everyone may see it; `index` gives its letter."""
    ws = w.workshop
    return {
        "key": w.key,
        "letter": _letter(index),
        "title": ws.title,
        "stakeholder": ws.stakeholder,
        "step": ws.step,
        "language": ws.language,
        "created_at": ws.created_at.isoformat() + "Z",
        "revealed_rounds": w.revealed,
        "method": w.prioritised.method if w.prioritised else None,
        "consensus": w.verdict.reached if w.verdict else None,
    }


def rule(w: HeldWorkshop) -> RuleView:
    """The workshop's consensus rule."""
    return cast(RuleView, w.rule.as_dict())


def concordance(read: Read) -> Concordance:
    return cast(Concordance, read.picture.concordance.as_dict())


def similarity(read: Read) -> list[Similarity]:
    return [
        {"a": str(a), "b": str(b), "rho": rho} for (a, b), rho in read.picture.similarity.items()
    ]


def final(series: models.Series) -> Final | None:
    """The final list, as frozen when the series was concluded."""
    return cast(Final | None, series.final)


def as_of() -> str:
    """Now, as the picture states when it was read."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _letter(index: int) -> str:
    """A, B, … Z, then AA, AB …: how charts and tables name the workshops."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
