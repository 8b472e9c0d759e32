"""Factors that look alike (core/similar.py) and the phones' copy of the rule
(static/js/similar.js): real lists of distinct factors give no false duplicate, near
duplicates in case, accents, endings and extra words are found, and the browser's matcher
scores every pair as the server does (issue #18, item 10)."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from facilitation.core import similar

ROOT = Path(__file__).resolve().parent.parent
# Seed lists a municipality used, in Swedish and English.
SEED_LISTS = Path(__file__).resolve().parent / "data"


def real_lists() -> dict[str, list[str]]:
    """Lists of distinct factors: the factor library in both languages, and seed lists."""
    library = json.loads((ROOT / "facilitation/core/data/factor_library.json").read_text())
    lists = {
        f"library-{lang}": [
            t[lang]["title"] for c in library["municipal_trends"] for t in c["trends"]
        ]
        for lang in ("sv", "en")
    }
    lists["numbered"] = [f"Faktor {n}" for n in range(1, 21)]
    for path in sorted(SEED_LISTS.glob("*.csv")):
        with path.open(encoding="utf-8") as f:
            lists[path.stem] = [row["title"] for row in csv.DictReader(f)]
    return lists


# Near duplicates a phone or the console must catch: another ending, accents lost on a
# foreign keyboard, case, an article, a preposition, extra words, a typo.
NEAR = [
    ("Urbanisering", "urbaniseringen"),
    ("Åldrande befolkning", "aldrande befolkningen"),
    ("Åldrande befolkning", "En åldrande befolkning"),
    ("Klimatomställning", "KLIMATOMSTÄLLNINGEN"),
    ("Kompetensförsörjning och matchning", "kompetensforsorjning"),
    ("Elektrifiering av transporter", "Elektrifieringen av transporterna"),
    ("Elektrifiering av transporter", "Elektrifiering"),
    ("Cirkulär ekonomi", "cirkular ekonomi"),
    ("Digitalisering av tjänster och produktion", "Digitaliseringen av tjänster"),
    ("Tillgång till riskkapital", "tillgång på riskkapital"),
    ("Förnybar energi och energipriser", "Förnybar energi"),
    ("Urbanisering", "Urbanisring"),
    ("Kompetensförsörjning", "Kompetensförsörjningen i kommunerna"),
    ("Ageing population", "ageing populations"),
    ("Agenda 2030", "Agenda 2030 i kommunen"),
    ("Circular economy", "The circular economy"),
    ("Electrification of transport", "electrification of transports"),
]
# Distinct factors that share words: they stay apart.
APART = [
    ("Hållbart jordbruk", "Hållbart skogsbruk"),
    ("Ökade regelkrav", "Minskade regelkrav"),
    ("Klimatanpassning", "Klimatomställning"),
    ("Arbetsrätt", "Arbetsmarknad"),
    ("Förnybar energi", "Energipriser"),
    ("Cyber security", "Geopolitical unrest and a new security situation"),
    ("Retail in transition", "Climate transition"),
    ("Faktor 1", "Faktor 10"),
    ("Etapp 2 av bygget", "Etapp 3 av bygget"),
]


def test_no_two_distinct_factors_of_a_real_list_look_alike() -> None:
    lists = real_lists()
    assert len(lists) == 5 and sum(map(len, lists.values())) > 80
    for name, titles in lists.items():
        for a, b in itertools.combinations(titles, 2):
            assert similar.score(a, b) < similar.THRESHOLD, (name, a, b)
        ids = dict(enumerate(titles))
        assert similar.duplicates(ids) == [], name


@pytest.mark.parametrize(("a", "b"), NEAR)
def test_near_duplicates_look_alike(a: str, b: str) -> None:
    assert similar.score(a, b) >= similar.THRESHOLD
    assert similar.score(b, a) >= similar.THRESHOLD


@pytest.mark.parametrize(("a", "b"), APART)
def test_distinct_factors_sharing_words_stay_apart(a: str, b: str) -> None:
    assert similar.score(a, b) < similar.THRESHOLD


def test_normalising_folds_case_accents_endings_and_small_words() -> None:
    assert similar.normalise("Åldrande befolkningen") == similar.normalise("aldrande BEFOLKNING")
    assert similar.normalise("EU:s gröna giv och taxonomi") == "eu grona giv taxonomi"
    assert similar.score("ny", "Nya sätt att arbeta") == 0  # too short to compare
    assert similar.score("och", "och") == 0  # nothing but small words


def test_a_typed_proposal_is_shown_the_factors_it_looks_like() -> None:
    titles = {1: "Urbanisering", 2: "Åldrande befolkning", 3: "Elektrifiering av transporter"}
    assert similar.alike("urbaniseringen", titles) == [(1, 100.0)]
    assert similar.alike("elektrifiering", titles) == [(3, 100.0)]
    assert similar.alike("Bredband", titles) == []


def test_the_console_is_offered_the_later_of_two_alike_to_merge() -> None:
    titles = {4: "Urbanisering", 9: "Cirkulär ekonomi", 12: "urbaniseringen", 15: "Bredband"}
    assert similar.duplicates(titles) == [(12, 4, 100.0)]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the phones' matcher")
def test_the_phones_matcher_scores_as_the_server_does(tmp_path: Path) -> None:
    titles = [t for ts in real_lists().values() for t in ts]
    pairs = [*NEAR, *APART, *itertools.combinations(titles[:40], 2), ("ny", "nya"), ("", "x")]
    module = tmp_path / "similar.mjs"  # as an ES module whatever the package says
    module.write_text((ROOT / "static/js/similar.js").read_text(encoding="utf-8"), encoding="utf-8")
    script = tmp_path / "run.mjs"
    script.write_text(
        "import { score, normalise } from './similar.mjs';\n"
        "import { readFileSync } from 'node:fs';\n"
        "const pairs = JSON.parse(readFileSync(process.argv[2], 'utf8'));\n"
        "console.log(JSON.stringify(pairs.map(([a, b]) => [normalise(a), score(a, b)])));\n",
        encoding="utf-8",
    )
    given = tmp_path / "pairs.json"
    given.write_text(json.dumps(pairs), encoding="utf-8")
    out = subprocess.run(
        ["node", str(script), str(given)], capture_output=True, text=True, check=True, timeout=60
    )
    for (a, b), (normalised, js_score) in zip(pairs, json.loads(out.stdout), strict=True):
        assert normalised == similar.normalise(a), a
        assert js_score == pytest.approx(similar.score(a, b), abs=1e-6), (a, b)


def test_the_console_lists_likely_duplicates_and_merges_one(make_room: Any) -> None:
    factors = [
        {"title": "Urbanisering", "category": "Sociala"},
        {"title": "Åldrande befolkning", "category": "Sociala"},
    ]
    room = make_room(factors=factors)
    phone = room.phone()[1]
    room.ok(room.console, "workshop.configure", approval_required=True)
    room.ok(room.console, "step.set", step="complete")
    category = room.state(room.console)["state"]["categories"][0]["id"]
    room.ok(phone, "factor.propose", title="urbaniseringen", category_id=category)
    room.ok(phone, "factor.propose", title="Bredband", category_id=category)
    console = room.state(room.console)["state"]
    ids = {f["title"]: f["id"] for f in console["factors"]}
    assert console["duplicates"] == [
        {"factor_id": ids["urbaniseringen"], "into_id": ids["Urbanisering"], "score": 100.0}
    ]
    (pair,) = console["duplicates"]
    room.ok(room.console, "factor.merge", factor_id=pair["factor_id"], into_id=pair["into_id"])
    assert room.state(room.console)["state"]["duplicates"] == []
    room.flush()
    assert "duplicates" not in room.latest(room.board)  # the console's alone
