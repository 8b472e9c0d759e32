"""The public follow page's state: a series' combined picture with only what the page may
show (docs/process.md) — the workshops' titles, stakeholder groups and steps; the library's
categories and factors in the library's wording; and per workshop each factor's fate, place
and whether consensus was reached. No counts, no figures, no codes, no wording of a
workshop's (a participant's or a facilitator's edit), nothing of anyone.

Layer: queries (the read side). Built from what picture.py reads.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from facilitation.infrastructure import models
from facilitation.queries import picture
from facilitation.queries.picture import Notes, Read
from facilitation.queries.transparency import transparency
from facilitation.queries.views import FollowView, PublicCell, PublicFactor


def follow_view(s: Session, series: models.Series) -> FollowView:
    """The follow page's state: the series, its workshops, the combined picture and the
    final list, with nothing about any participant."""
    read = picture.read(s, series)
    factors: list[PublicFactor] = []
    for c in read.picture.factors:
        entry, shown = picture.factor(read, c)
        cells = {
            w.key: _cell(picture.cell(c.cells[w.key]), read.notes[w.key][entry.id], read)
            for w in read.held
        }
        factors.append({**shown, "cells": cells})
    return {
        "series": picture.series_info(series),
        "workshops": [picture.workshop(w, i) for i, w in enumerate(read.held)],
        "categories": [c.name for c in read.categories],
        "factors": factors,
        "concordance": picture.concordance(read),
        "similarity": picture.similarity(read),
        "final": picture.final(series),
        "as_of": picture.as_of(),
        "follow_code": series.follow_code,
        "transparency": transparency(s, series),
    }


def _cell(cell: PublicCell, note: Notes, read: Read) -> PublicCell:
    """Only the library's wording is public. What a workshop called a factor may be a
    participant's (a library factor merged into their proposal continues as it) or a
    facilitator's edit: neither was published by the organizers."""
    into = read.by_id.get(note.get("merged_into_library_id") or 0)
    if "merged_into" in note and into is not None:
        cell["merged_into"] = into.title
    return cell
