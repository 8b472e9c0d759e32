"""The rules of a series' factor library: the templates to start one from, the evidence behind
a factor, and reading a library from CSV.

Layer: pure core. Imports only the standard library and domain.py. The templates are domain
data written by us (like domain.CATEGORY_SETS), not UI text: a library stores the words.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from facilitation.core.domain import (
    CATEGORY_MAX,
    CATEGORY_SETS,
    DESCRIPTION_MAX,
    FACTORS_MAX,
    N_,
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
        evidence=tuple(evidence if isinstance(evidence, list) else parse_evidence(evidence)),
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
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(map(plain_text, r))
    ]
    if not rows:
        raise DomainError("empty_file", N_("The file has no factors."))
    header = [c.strip().casefold() for c in rows[0]]
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
    for number, row in enumerate(rows, start=2 if "title" in header else 1):

        def cell(column: str, row: list[str] = row) -> str:
            index = named.get(column)
            return row[index] if index is not None and index < len(row) else ""

        evidence = [{"text": cell("evidence"), "url": cell("link").strip() or None}]
        try:
            seeds.append(
                library_seed(cell("category") or "–", cell("title"), cell("description"), evidence)
            )
        except DomainError as error:
            raise DomainError(
                "bad_row", N_("Row %(row)s: %(problem)s"), row=number, problem=str(error)
            ) from None
    check_categories(dict.fromkeys(s.category for s in seeds))
    return seeds


# --- Templates -----------------------------------------------------------------------------

_Trend = tuple[str, str, tuple[str, str] | None]
_TRENDS: dict[str, dict[str, list[_Trend]]] = {
    "sv": {
        "Globalisering": [
            (
                "Omställning av globala värdekedjor",
                "Företag ser över var de producerar och köper in, och flyttar delar närmare "
                "hem efter pandemin och kriget i Ukraina.",
                ("Kommerskollegium om handel och värdekedjor", "https://www.kommerskollegium.se"),
            ),
            (
                "Geopolitisk oro och ett nytt säkerhetsläge",
                "Ett osäkrare omvärldsläge påverkar handel, investeringar, försvarsindustri "
                "och krisberedskap, också lokalt.",
                ("MSB om totalförsvar och krisberedskap", "https://www.msb.se"),
            ),
            (
                "Konkurrens om etableringar och kapital",
                "Regioner i hela världen konkurrerar om investeringar, företag och "
                "kvalificerad arbetskraft.",
                ("Business Sweden om utländska investeringar", "https://www.business-sweden.com"),
            ),
            (
                "Internationell rekrytering och inflyttning",
                "Inflyttning från andra länder står för en stor del av befolkningsökningen och "
                "arbetskraften i många kommuner.",
                ("SCB:s statistik om in- och utvandring", "https://www.scb.se"),
            ),
        ],
        "Demografi": [
            (
                "Åldrande befolkning",
                "Andelen äldre ökar och andelen i arbetsför ålder minskar: större behov av vård "
                "och omsorg, färre som arbetar.",
                ("SCB:s befolkningsframskrivningar", "https://www.scb.se"),
            ),
            (
                "Urbanisering och regionförstoring",
                "Befolkningen växer i och kring de större städerna; pendling gör "
                "arbetsmarknaderna större.",
                None,
            ),
            (
                "Kompetensförsörjning",
                "Arbetsgivare har svårt att hitta personal med rätt utbildning, särskilt inom "
                "teknik, vård och hantverksyrken.",
                ("Arbetsförmedlingens yrkesprognoser", "https://arbetsformedlingen.se"),
            ),
            (
                "Unga som flyttar för att studera och arbeta",
                "Unga vuxna flyttar till studieorter och storstäder, och alla kommer inte "
                "tillbaka.",
                None,
            ),
        ],
        "Klimat och miljö": [
            (
                "Klimatomställning i näringslivet",
                "Krav på minskade utsläpp driver nya investeringar, t.ex. i fossilfri industri "
                "och transporter.",
                ("Naturvårdsverket om Sveriges klimatmål", "https://www.naturvardsverket.se"),
            ),
            (
                "Elektrifiering och tillgång till el",
                "Ökat elbehov och kapaciteten i elnätet avgör var nya verksamheter kan "
                "etablera sig.",
                ("Energimyndigheten", "https://www.energimyndigheten.se"),
            ),
            (
                "Klimatanpassning",
                "Skyfall, värmeböljor och översvämningar kräver att bebyggelse och "
                "infrastruktur anpassas.",
                ("SMHI:s klimatscenarier", "https://www.smhi.se"),
            ),
            (
                "Cirkulär ekonomi",
                "Återbruk, delning och resurseffektivitet ger nya affärsmodeller.",
                None,
            ),
        ],
        "Teknikutveckling": [
            (
                "Digitalisering och automatisering",
                "Automatisering förändrar yrken och arbetsuppgifter i industri, handel och "
                "offentlig sektor.",
                None,
            ),
            (
                "Artificiell intelligens",
                "AI-verktyg sprids snabbt och påverkar produktivitet, kompetensbehov och tjänster.",
                ("Myndigheten för digital förvaltning (Digg)", "https://www.digg.se"),
            ),
            (
                "Digital infrastruktur i hela kommunen",
                "Bredband och mobiltäckning är en förutsättning för företag, service och "
                "distansarbete.",
                ("PTS bredbandskartläggning", "https://www.pts.se"),
            ),
            (
                "Cybersäkerhet",
                "Fler verksamheter blir beroende av digitala system och sårbara för angrepp.",
                None,
            ),
        ],
        "Värderingar": [
            (
                "Hållbarhet som konkurrensfaktor",
                "Kunder, anställda och investerare väljer allt oftare det som är hållbart.",
                None,
            ),
            (
                "Nya sätt att arbeta",
                "Distans- och hybridarbete förändrar var människor bor och var företag finns.",
                None,
            ),
            (
                "Tillit och delaktighet",
                "Förtroendet för institutioner och viljan att delta påverkar hur förändringar "
                "tas emot.",
                ("SOM-institutet, Göteborgs universitet", "https://www.gu.se/som-institutet"),
            ),
            (
                "Livskvalitet och attraktiva livsmiljöer",
                "Natur, kultur och fritid väger tyngre när människor väljer var de ska bo och "
                "arbeta.",
                None,
            ),
        ],
    },
    "en": {
        "Globalisation": [
            (
                "Global value chains being rearranged",
                "Companies review where they produce and buy, and move parts closer to home "
                "after the pandemic and the war in Ukraine.",
                ("National Board of Trade Sweden on trade", "https://www.kommerskollegium.se"),
            ),
            (
                "Geopolitical unrest and a new security situation",
                "A less certain world affects trade, investment, the defence industry and "
                "preparedness, locally too.",
                ("Swedish Civil Contingencies Agency (MSB)", "https://www.msb.se"),
            ),
            (
                "Competition for investment and capital",
                "Regions all over the world compete for investment, companies and skilled people.",
                ("Business Sweden on foreign investment", "https://www.business-sweden.com"),
            ),
            (
                "International recruitment and immigration",
                "People moving from abroad make up much of the population growth and the "
                "workforce in many municipalities.",
                ("Statistics Sweden on migration", "https://www.scb.se"),
            ),
        ],
        "Demography": [
            (
                "An ageing population",
                "The share of older people grows and the share of working age shrinks: more "
                "need of care, fewer people working.",
                ("Statistics Sweden's population projections", "https://www.scb.se"),
            ),
            (
                "Urbanisation and larger labour markets",
                "The population grows in and around the larger cities; commuting makes labour "
                "markets larger.",
                None,
            ),
            (
                "Skills supply",
                "Employers find it hard to recruit people with the right training, above all "
                "in technology, care and the trades.",
                ("Swedish Public Employment Service forecasts", "https://arbetsformedlingen.se"),
            ),
            (
                "Young people moving away to study and work",
                "Young adults move to university towns and cities, and not all of them return.",
                None,
            ),
        ],
        "Climate and environment": [
            (
                "Climate transition in business",
                "Demands for lower emissions drive new investment, e.g. in fossil-free "
                "industry and transport.",
                ("Swedish EPA on the climate goals", "https://www.naturvardsverket.se"),
            ),
            (
                "Electrification and access to power",
                "Growing demand for electricity and the grid's capacity decide where new "
                "businesses can locate.",
                ("Swedish Energy Agency", "https://www.energimyndigheten.se"),
            ),
            (
                "Adapting to a changing climate",
                "Cloudbursts, heatwaves and floods call for adapting buildings and infrastructure.",
                ("SMHI climate scenarios", "https://www.smhi.se"),
            ),
            (
                "A circular economy",
                "Reuse, sharing and using resources well open new business models.",
                None,
            ),
        ],
        "Technology": [
            (
                "Digitalisation and automation",
                "Automation changes jobs and tasks in industry, retail and the public sector.",
                None,
            ),
            (
                "Artificial intelligence",
                "AI tools spread fast and affect productivity, skills and services.",
                ("Agency for Digital Government (Digg)", "https://www.digg.se"),
            ),
            (
                "Digital infrastructure across the municipality",
                "Broadband and mobile coverage are a condition for business, services and "
                "remote work.",
                ("Swedish Post and Telecom Authority (PTS)", "https://www.pts.se"),
            ),
            (
                "Cyber security",
                "More organisations depend on digital systems and are exposed to attacks.",
                None,
            ),
        ],
        "Values": [
            (
                "Sustainability as a competitive edge",
                "Customers, employees and investors choose what is sustainable more and more "
                "often.",
                None,
            ),
            (
                "New ways of working",
                "Remote and hybrid work change where people live and where companies are.",
                None,
            ),
            (
                "Trust and participation",
                "Trust in institutions and the will to take part shape how change is received.",
                ("SOM Institute, University of Gothenburg", "https://www.gu.se/som-institutet"),
            ),
            (
                "Quality of life and attractive places to live",
                "Nature, culture and leisure weigh more when people choose where to live and work.",
                None,
            ),
        ],
    },
}

TEMPLATES = ("pestel", "swot", "municipal_trends")


def template(name: str, language: str) -> tuple[list[str], list[LibrarySeed]]:
    """A template's categories and factors in `language`: the PESTEL and SWOT skeletons
    (categories only), or our example list of municipal trends along five forces."""
    if name in ("pestel", "swot"):
        return list(CATEGORY_SETS[name][language]), []
    if name != "municipal_trends":
        raise DomainError("unknown_template", N_("Choose one of the templates."))
    trends = _TRENDS[language]
    seeds = [
        LibrarySeed(
            category,
            title,
            description,
            ({"text": source[0], "url": source[1]},) if source else (),
        )
        for category, factors in trends.items()
        for title, description, source in factors
    ]
    return list(trends), seeds
