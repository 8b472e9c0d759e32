"""The series' combined record: the combined picture with every figure, for its organizers'
pages and exports — each workshop's code, ballots and rule, its own wording of a library
factor and its figures, and the factors the workshops added that the library lacks.

Layer: queries (the read side). Built from what picture.py reads.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from facilitation.core.domain import FactorStatus
from facilitation.infrastructure import models
from facilitation.queries import picture
from facilitation.queries.picture import HeldWorkshop, Notes, Read
from facilitation.queries.views import (
    Added,
    Cell,
    CombinedFactor,
    CombinedRecord,
    PublicCell,
    SeriesWorkshop,
)


def combined_record(s: Session, series: models.Series) -> CombinedRecord:
    """The series' combined picture, with every figure."""
    read = picture.read(s, series)
    factors: list[CombinedFactor] = []
    for c in read.picture.factors:
        entry, shown = picture.factor(read, c)
        cells = {
            w.key: _cell(picture.cell(c.cells[w.key]), read.notes[w.key][entry.id], entry)
            for w in read.held
        }
        factors.append({**shown, "cells": cells})
    return {
        "series": picture.series_info(series),
        "workshops": [_workshop(w, i) for i, w in enumerate(read.held)],
        "categories": [c.name for c in read.categories],
        "factors": factors,
        "concordance": picture.concordance(read),
        "similarity": picture.similarity(read),
        "final": picture.final(series),
        "as_of": picture.as_of(),
        "added": [a for w in read.held for a in _added(w, read)],
    }


def _cell(placed: PublicCell, note: Notes, entry: models.LibraryFactor) -> Cell:
    """A library factor in one workshop, with what the workshop called it and its figures."""
    cell = cast(Cell, placed)  # the public cell, and what the organizers see besides
    if note.get("title") and note["title"] != entry.title:
        cell["title_here"] = note["title"]
    if "merged_into" in note:
        cell["merged_into"] = note["merged_into"]
    if "figures" in note:
        cell["figures"] = note["figures"]
    if "keep" in note:
        cell["keep"] = note["keep"]
    return cell


def _workshop(w: HeldWorkshop, index: int) -> SeriesWorkshop:
    """A workshop of the series, with its code, its ballots and its rule."""
    return {
        **picture.workshop(w, index),
        "code": w.workshop.code,
        "ballots": (w.prioritised.results or {}).get("ballots") if w.prioritised else None,
        "rule": picture.rule(w),
    }


def _added(w: HeldWorkshop, read: Read) -> list[Added]:
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
                {"id": i, "title": read.by_id[i].title}
                for i in w.absorbed.get(f.id, [])
                if i in read.by_id
            ],
        }
        for f in w.factors
        if f.library_factor_id is None and f.status in (FactorStatus.ACTIVE, FactorStatus.REMOVED)
    ]
