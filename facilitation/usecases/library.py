"""Use cases of a series' factor library: its categories, its factors and their evidence,
importing a template or a CSV file, and taking factors over from the workshops.

Layer: use cases. Commands as in series.py (named in registry.py's `SERIES_COMMANDS`). A library
factor is never deleted once a workshop may have copied it: it is retired, and new
workshops leave it out, while the workshops that had it keep their link to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from facilitation.core import domain, factor_library, schemas
from facilitation.core.domain import N_, DomainError, FactorStatus
from facilitation.core.factor_library import LibrarySeed
from facilitation.infrastructure import models
from facilitation.usecases.base import SeriesTx


def _categories(tx: SeriesTx) -> list[models.LibraryCategory]:
    return list(
        tx.session.scalars(
            select(models.LibraryCategory)
            .where(models.LibraryCategory.series_id == tx.series.id)
            .order_by(models.LibraryCategory.position)
        )
    )


def _count(tx: SeriesTx) -> int:
    return (
        tx.session.scalar(
            select(func.count())
            .select_from(models.LibraryFactor)
            .where(models.LibraryFactor.series_id == tx.series.id)
        )
        or 0
    )


def _category_named(tx: SeriesTx, name: str) -> models.LibraryCategory:
    """The library's category of this name (regardless of case), added at the end if new."""
    existing = _categories(tx)
    for category in existing:
        if category.name.casefold() == name.casefold():
            return category
    names = domain.check_categories([*(c.name for c in existing), name])
    category = models.LibraryCategory(
        series_id=tx.series.id, position=len(existing), name=names[-1]
    )
    tx.session.add(category)
    tx.session.flush()
    return category


def import_seeds(
    tx: SeriesTx, categories: list[str], seeds: list[LibrarySeed], *, origin: str
) -> int:
    """Add categories (those missing) and factors to the library; how many factors."""
    domain.check_factor_count(_count(tx) + len(seeds))
    for name in categories:
        _category_named(tx, name)
    for seed in seeds:
        tx.session.add(
            models.LibraryFactor(
                series_id=tx.series.id,
                category_id=_category_named(tx, seed.category).id,
                title=seed.title,
                description=seed.description,
                evidence=factor_library.clean_evidence(list(seed.evidence)),
                origin=origin,
            )
        )
    tx.session.flush()
    return len(seeds)


def import_(tx: SeriesTx, p: schemas.LibraryImport) -> dict[str, Any]:
    """Add a template's categories and factors, or a CSV file's, to the library."""
    if (p.template is None) == (p.csv is None):
        raise DomainError("choose_import", N_("Choose a template or a file."))
    if p.csv is not None:
        seeds = factor_library.parse_csv(p.csv)
        categories: list[str] = []
        origin = "imported"
    else:
        assert p.template is not None
        if p.template == "none":
            raise DomainError("choose_import", N_("Choose a template or a file."))
        categories, seeds = factor_library.template(p.template, tx.series.language)
        origin = "template"
    added = import_seeds(tx, categories, seeds, origin=origin)
    tx.log("library.imported", source=p.template or "csv", factors=added)
    return {"factors": added}


def add_category(tx: SeriesTx, p: schemas.LibraryCategoryAdd) -> dict[str, Any]:
    """Add a category at the end of the library's."""
    names = domain.check_categories([*(c.name for c in _categories(tx)), p.name])
    category = _category_named(tx, names[-1])
    tx.log("library.category_added", name=category.name)
    return {"category_id": category.id}


def rename_category(tx: SeriesTx, p: schemas.LibraryCategoryRename) -> dict[str, Any]:
    """Rename a library category (workshops made before keep the name they had)."""
    category = tx.category(p.category_id)
    others = [c.name for c in _categories(tx) if c.id != category.id]
    name = domain.check_categories([*others, p.name])[-1]
    tx.log("library.category_renamed", before=category.name, after=name)
    category.name = name
    return {"category_id": category.id}


def add(tx: SeriesTx, p: schemas.LibraryFactorAdd) -> dict[str, Any]:
    """Add a factor to the library, with its evidence; the next workshop starts with it."""
    domain.check_factor_count(_count(tx) + 1)
    seed = factor_library.library_seed(
        tx.category(p.category_id).name, p.title, p.description, p.evidence
    )
    factor = models.LibraryFactor(
        series_id=tx.series.id,
        category_id=p.category_id,
        title=seed.title,
        description=seed.description,
        evidence=list(seed.evidence),
        origin="added",
    )
    tx.session.add(factor)
    tx.session.flush()
    tx.log("library.added", factor_id=factor.id, title=factor.title)
    return {"factor_id": factor.id}


def edit(tx: SeriesTx, p: schemas.LibraryFactorEdit) -> dict[str, Any]:
    """Edit a library factor: its wording, category or evidence. Workshops that began before
    keep what they were given (and their link)."""
    domain.check_something_to_change(p.title, p.description, p.category_id, p.evidence)
    factor = tx.library_factor(p.factor_id)
    if p.title is not None:
        factor.title = domain.clean_title(p.title)
    if p.description is not None:
        factor.description = domain.clean_text(
            p.description, field="description", max_length=domain.DESCRIPTION_MAX, required=False
        )
    if p.category_id is not None:
        factor.category_id = tx.category(p.category_id).id
    if p.evidence is not None:
        factor.evidence = factor_library.parse_evidence(p.evidence)
    tx.log("library.edited", factor_id=factor.id, title=factor.title)
    return {"factor_id": factor.id}


def retire(tx: SeriesTx, p: schemas.LibraryFactorRef) -> dict[str, Any]:
    """Leave a factor out of the workshops to come; those that had it keep it."""
    factor = tx.library_factor(p.factor_id)
    factor.retired = True
    tx.log("library.retired", factor_id=factor.id, title=factor.title)
    return {"factor_id": factor.id}


def restore(tx: SeriesTx, p: schemas.LibraryFactorRef) -> dict[str, Any]:
    """Bring a retired factor back for the workshops to come."""
    factor = tx.library_factor(p.factor_id)
    factor.retired = False
    tx.log("library.restored", factor_id=factor.id, title=factor.title)
    return {"factor_id": factor.id}


def promote(tx: SeriesTx, p: schemas.WorkshopFactorRef) -> dict[str, Any]:
    """Take a factor that a workshop added (proposed by a participant, or added by its
    facilitator) into the library, for the workshops to come. The workshop's factor is
    linked to the new entry, so its result counts in the combined picture; factors merged
    into it that came from the library stay linked to theirs."""
    factor, workshop = tx.workshop_factor(p.factor_id)
    if factor.library_factor_id is not None:
        raise DomainError("already_in_library", N_("That factor is in the library already."))
    if factor.status in (FactorStatus.MERGED, FactorStatus.PROPOSED):
        raise DomainError(
            "wrong_status",
            N_("This factor is %(status)s; it cannot be changed that way."),
            status=factor.status,
        )
    domain.check_factor_count(_count(tx) + 1)
    category = tx.session.get(models.Category, factor.category_id)
    assert category is not None
    entry = models.LibraryFactor(
        series_id=tx.series.id,
        category_id=_category_named(tx, category.name).id,
        title=factor.title,
        description=factor.description,
        evidence=list(factor.evidence or []),
        origin="promoted",
        promoted_from_workshop_id=workshop.id,
    )
    tx.session.add(entry)
    tx.session.flush()
    factor.library_factor_id = entry.id
    tx.workshops.add(workshop.id)
    tx.log("library.promoted", factor_id=entry.id, title=entry.title, workshop=workshop.code)
    return {"library_factor_id": entry.id}


def adopt(tx: SeriesTx, p: schemas.WorkshopFactorRef) -> dict[str, Any]:
    """Take a workshop's wording of a factor into the library: the factor's own library
    entry (it was edited there), or — for a factor the workshop added — the entry it is
    named to continue (`library_factor_id`, e.g. one merged into it), which it is then
    linked to."""
    factor, workshop = tx.workshop_factor(p.factor_id)
    target_id = factor.library_factor_id or p.library_factor_id
    if target_id is None:
        raise DomainError("unknown_factor", N_("There is no such factor."))
    if factor.library_factor_id is not None and p.library_factor_id not in (None, target_id):
        raise DomainError("already_in_library", N_("That factor is in the library already."))
    entry = tx.library_factor(target_id)
    before = entry.title
    entry.title, entry.description = factor.title, factor.description
    factor.library_factor_id = entry.id
    tx.workshops.add(workshop.id)
    tx.log("library.adopted", factor_id=entry.id, before=before, after=entry.title)
    return {"library_factor_id": entry.id}
