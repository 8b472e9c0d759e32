"""The rules of a series' factor library: the templates to start one from, the evidence behind
a factor, and reading a library from CSV.

Layer: pure core. Imports the standard library, pydantic and domain.py. The templates are
domain data written by us (like domain.CATEGORY_SETS), not UI text: a library stores the
words. The example trends, in Swedish and English, are data in data/factor_library.json,
read and checked when this module is imported (a malformed file stops the app with a
LibraryDataError naming what is wrong).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from facilitation.core.domain import (
    CATEGORY_MAX,
    CATEGORY_SETS,
    DESCRIPTION_MAX,
    FACTORS_MAX,
    N_,
    TITLE_MAX,
    DomainError,
    check_categories,
    clean_text,
    clean_title,
    plain_text,
    without_invisible,
)

EVIDENCE_MAX = 5  # items of evidence per factor
EVIDENCE_TEXT_MAX = 300
URL_MAX = 500
STAKEHOLDER_MAX = 120
CSV_BYTES_MAX = 512 * 1024

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True)
class LibrarySeed:
    """A factor for the library: its category's name, title, description and evidence."""

    category: str
    title: str
    description: str = ""
    evidence: tuple[dict[str, Any], ...] = field(default_factory=tuple)


# --- Evidence ------------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """A link as stored: http or https only (never javascript: or data:), one line, without
    characters that draw nothing (a right-to-left override can disguise where it leads)."""
    url = without_invisible(url).strip()
    if not _URL.fullmatch(url):
        raise DomainError(
            "bad_link", N_("A link must start with https:// or http://."), field="evidence"
        ).at("evidence")
    if len(url) > URL_MAX:
        raise DomainError(
            "too_long",
            N_("The %(field)s can be at most %(max)s characters."),
            field="evidence",
            max=URL_MAX,
        ).at("evidence")
    return url


def clean_evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence as stored: up to five items, each a text (a source, a figure) and an
    optional link; empty items are dropped."""
    cleaned = []
    for item in items:
        url = clean_url(item["url"]) if item.get("url") else None
        text = clean_title(
            str(item.get("text") or ""),
            field="evidence",
            max_length=EVIDENCE_TEXT_MAX,
            required=False,
        )
        if not text and not url:
            continue
        cleaned.append({"text": text or (url or ""), "url": url})
    if len(cleaned) > EVIDENCE_MAX:
        raise DomainError(
            "too_much_evidence",
            N_("A factor can have at most %(max)s items of evidence."),
            max=EVIDENCE_MAX,
        ).at("evidence")
    return cleaned


def parse_evidence(text: str) -> list[dict[str, Any]]:
    """Evidence typed one item a line: a source or a figure, with a link anywhere in it
    ("SCB, befolkningsprognos 2024 https://www.scb.se")."""
    items = []
    for line in text.splitlines():
        found = _URL.search(line)
        url = found.group(0).rstrip(".,;)") if found else None
        rest = (line[: found.start()] + line[found.end() :]) if found else line
        # What separated the text from its link goes with the link.
        items.append({"text": rest.strip(" \t–—-|:,;()" if found else " \t"), "url": url})
    return clean_evidence(items)


def evidence_lines(evidence: list[dict[str, Any]]) -> str:
    """Evidence as it is typed in the form (what parse_evidence reads back)."""
    lines = []
    for item in evidence:
        parts = [item["text"]] if item["text"] != item.get("url") else []
        lines.append(" ".join([*parts, *([item["url"]] if item.get("url") else [])]))
    return "\n".join(lines)


# --- Factors and names ---------------------------------------------------------------------


def library_seed(category: str, title: str, description: str, evidence: Any) -> LibrarySeed:
    """A factor for the library, cleaned as a workshop's factors are."""
    return LibrarySeed(
        category=clean_title(category, field="category", max_length=CATEGORY_MAX),
        title=clean_title(title),
        description=clean_text(
            description, field="description", max_length=DESCRIPTION_MAX, required=False
        ),
        evidence=tuple(
            clean_evidence(evidence) if isinstance(evidence, list) else parse_evidence(evidence)
        ),
    )


def clean_stakeholder(label: str) -> str | None:
    """A workshop's stakeholder group, e.g. "Companies, industry" (optional)."""
    return (
        clean_title(label, field="stakeholder", max_length=STAKEHOLDER_MAX, required=False) or None
    )


# --- CSV -----------------------------------------------------------------------------------

# Header names in either language, for the columns a library file may have.
_COLUMNS = {
    "category": {"category", "kategori"},
    "title": {"title", "factor", "titel", "faktor", "name", "namn"},
    "description": {"description", "beskrivning", "explanation", "förklaring"},
    "evidence": {"evidence", "underlag", "source", "källa", "sources", "källor"},
    "link": {"link", "länk", "url"},
}
_ORDER = ("category", "title", "description", "evidence", "link")


def parse_csv(data: bytes) -> list[LibrarySeed]:
    """A library from a CSV file: UTF-8 (with or without the BOM Excel writes), separated by
    semicolons, commas or tabs, with a header row naming the columns (category, title,
    description, evidence, link — in English or Swedish), or without one in that order."""
    if len(data) > CSV_BYTES_MAX:
        raise DomainError("file_too_large", N_("The file is too large (at most 512 KB)."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(
            "not_utf8", N_("Save the file as UTF-8 (in Excel: CSV UTF-8) and try again.")
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    # Each row with its number as a spreadsheet shows it: blank rows and the header count,
    # a line break inside quotes does not.
    rows = [
        (number, r)
        for number, r in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)
        if any(map(plain_text, r))
    ]
    if not rows:
        raise DomainError("empty_file", N_("The file has no factors."))
    header = [c.strip().casefold() for c in rows[0][1]]
    named = {
        column: header.index(name)
        for column, names in _COLUMNS.items()
        for name in names
        if name in header
    }
    if "title" in named:
        rows = rows[1:]
    else:
        named = {column: i for i, column in enumerate(_ORDER)}
    if len(rows) > FACTORS_MAX:
        raise DomainError(
            "too_many_factors", N_("A workshop can have at most %(max)s factors."), max=FACTORS_MAX
        )
    seeds = []
    for number, row in rows:

        def cell(column: str, row: list[str] = row) -> str:
            index = named.get(column)
            return row[index] if index is not None and index < len(row) else ""

        evidence = [{"text": cell("evidence"), "url": cell("link").strip() or None}]
        try:
            seeds.append(
                library_seed(cell("category") or "–", cell("title"), cell("description"), evidence)
            )
        except DomainError as error:
            # The problem travels as a message of its own, translated with the row's.
            problem = {"message": error.message, "params": error.params}
            raise DomainError(
                "bad_row", N_("Row %(row)s: %(problem)s"), row=number, problem=problem
            ) from None
    check_categories(dict.fromkeys(s.category for s in seeds))
    return seeds


# --- Templates -----------------------------------------------------------------------------

LIBRARY_FILE = Path(__file__).with_name("data") / "factor_library.json"


class LibraryDataError(Exception):
    """The library's data file is not as this module reads it; the message names the entry
    and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
_Name = Annotated[str, Field(min_length=1, max_length=CATEGORY_MAX)]


class _Words(_Strict):
    """A trend in one language, and the name of its source if it has one."""

    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX)]
    source: Annotated[str, Field(min_length=1, max_length=EVIDENCE_TEXT_MAX)] | None = None


class _Trend(_Strict):
    """A trend in both languages, with the link to its source (the same in both)."""

    id: _Id
    link: Annotated[str, Field(pattern=_URL.pattern, max_length=URL_MAX)] | None = None
    sv: _Words
    en: _Words

    @model_validator(mode="after")
    def _source_with_link(self) -> _Trend:
        for language in (self.sv, self.en):
            if (self.link is None) != (language.source is None):
                raise ValueError(
                    "a link needs its source named in both languages, and a source a link"
                )
        return self

    def seed(self, category: str, language: str) -> LibrarySeed:
        words = {"sv": self.sv, "en": self.en}[language]
        evidence = ({"text": words.source, "url": self.link},) if self.link else ()
        return LibrarySeed(category, words.title, words.description, evidence)


class _Force(_Strict):
    """One of the forces the trends are grouped by: a category of the library."""

    id: _Id
    sv: _Name
    en: _Name
    trends: Annotated[list[_Trend], Field(min_length=1)]


class _Library(_Strict):
    municipal_trends: Annotated[list[_Force], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> _Library:
        forces = self.municipal_trends
        ids = [f.id for f in forces] + [t.id for f in forces for t in f.trends]
        for language in ("sv", "en"):
            names = [getattr(f, language) for f in forces]
            titles = [getattr(t, language).title for f in forces for t in f.trends]
            for kind, values in (
                ("id", ids),
                (f"{language} name", names),
                (f"{language} title", titles),
            ):
                twice = sorted({v for v in values if values.count(v) > 1})
                if twice:
                    raise ValueError(f"each {kind} must be used once: {', '.join(twice)}")
        return self


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise LibraryDataError(f"a field is given twice: {', '.join(twice)}")
    return dict(pairs)


def load_library(path: Path) -> _Library:
    """The trends of `path`, checked: every field known, both languages, ids used once."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_repeated_keys)
        return _Library.model_validate(data)
    except LibraryDataError as error:
        raise LibraryDataError(f"{path.name}: {error}") from None
    except json.JSONDecodeError as error:
        raise LibraryDataError(f"{path.name}: not JSON: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(the file)'}: {e['msg']}"
            for e in error.errors()
        )
        raise LibraryDataError(f"{path.name}: {problems}") from None


_LIBRARY = load_library(LIBRARY_FILE)


def template(name: str, language: str) -> tuple[list[str], list[LibrarySeed]]:
    """A template's categories and factors in `language`: the PESTEL and SWOT skeletons
    (categories only), or our example list of municipal trends along five forces."""
    if name in ("pestel", "swot"):
        return list(CATEGORY_SETS[name][language]), []
    if name != "municipal_trends":
        raise DomainError("unknown_template", N_("Choose one of the templates."))
    forces = _LIBRARY.municipal_trends
    categories = [{"sv": f.sv, "en": f.en}[language] for f in forces]
    seeds = [t.seed(c, language) for c, f in zip(categories, forces, strict=True) for t in f.trends]
    return categories, seeds
