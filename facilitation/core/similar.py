"""Factors that look alike: what a phone is shown while it types a proposal, and the likely
duplicates the console offers to merge.

Layer: pure core. Imports nothing of the app; the fuzzy matching is rapidfuzz's.

Two titles are compared after `normalise`: case folded, accents stripped (å, ä, ö match a, a,
o, as people type them on a foreign keyboard), short function words dropped and simple
Swedish and English endings taken off ("urbaniseringen" and "Urbanisering", "ageing
populations" and "Ageing population" read alike). Their score is rapidfuzz's token set
ratio, 0-100: word order does not count, and a title whose words all appear in the other
scores 100 ("Elektrifiering" and "Elektrifiering av transporter").

The phones run the same comparison in JavaScript (static/js/similar.js) on the titles they
already hold, so typing costs the server nothing; tests/test_similar.py holds both to the
same scores.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

from rapidfuzz import fuzz, process

# A score at or above this is "looks alike". Among the distinct factors of real lists (the
# seed lists in Swedish and English, the factor library) no pair reaches 75; near-misses a
# facilitator would keep apart sit just below the line ("Hållbart jordbruk" and "Hållbart
# skogsbruk" 80, "Ökade regelkrav" and "Minskade regelkrav" 85), while a title with another
# ending, accents, case or extra words scores 100 and a typo or two stays above 86
# (tests/test_similar.py).
THRESHOLD = 86
# Fewer letters than this (after normalising) are too little to compare: "ny" is no factor.
MIN_LETTERS = 4
# Offered on a phone at most.
SHOWN = 3

# Words that tell nothing of what a factor is about, in Swedish and English (accents stripped).
_STOP = (
    "och av i for pa med till om som att det den de ett en the and of in for on to a an with by at"
)
STOP_WORDS = frozenset(_STOP.split())
# Endings taken off a word, longest first, as long as four letters remain; repeated, so that
# "befolkningen" and "befolkning" meet. Swedish: definite and plural forms, genitive -s;
# English: plural and genitive -s, -es, -ies.
_ENDINGS = "ernas arnas ornas erna arna orna ens ets ars ers ors ies en et na ar er or as es s"
ENDINGS = tuple(sorted(_ENDINGS.split(), key=len, reverse=True))
STEM_MIN = 4


def _stem(word: str) -> str:
    """A word without the endings it may carry."""
    stripped = True
    while stripped:
        stripped = False
        for ending in ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= STEM_MIN:
                word = word[: -len(ending)]
                stripped = True
                break
    return word


def normalise(title: str) -> str:
    """A title as it is compared: folded, without accents, function words or endings."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    # A single letter is no word (the genitive of "EU:s", an English "a"); a number is.
    words = [_stem(w) for w in re.findall(r"[a-z]{2,}|[0-9]+", plain) if w not in STOP_WORDS]
    return " ".join(words)


def _comparable(normalised: str) -> bool:
    return sum(c.isalnum() for c in normalised) >= MIN_LETTERS


def score(a: str, b: str) -> float:
    """How alike two titles are, 0-100 (0 when either is too short to compare)."""
    na, nb = normalise(a), normalise(b)
    if not (_comparable(na) and _comparable(nb)) or _numbers_differ(na, nb):
        return 0.0
    return float(fuzz.token_set_ratio(na, nb))


def _numbers_differ(na: str, nb: str) -> bool:
    """Whether both titles carry numbers, not the same ones: "Etapp 1" is not "Etapp 2"."""
    numbers_a = {w for w in na.split() if w.isdigit()}
    numbers_b = {w for w in nb.split() if w.isdigit()}
    return bool(numbers_a and numbers_b and numbers_a != numbers_b)


def alike(text: str, titles: Mapping[int, str], *, limit: int = SHOWN) -> list[tuple[int, float]]:
    """The factors (id → title) that look like `text`, best first, at most `limit`."""
    found = [(fid, score(text, title)) for fid, title in titles.items()]
    found = [(fid, s) for fid, s in found if s >= THRESHOLD]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))[:limit]


def duplicates(titles: Mapping[int, str]) -> list[tuple[int, int, float]]:
    """Pairs of factors (id → title) that look alike, as (later, earlier, score) with the
    later one (the higher id) first: the one to merge into the other. Best first. The same
    titles give the same pairs: the console asks every tick while people vote, so the
    answers for the last few sets of titles are kept."""
    return list(_duplicates(tuple(sorted(titles.items()))))


@functools.lru_cache(maxsize=64)
def _duplicates(items: tuple[tuple[int, str], ...]) -> tuple[tuple[int, int, float], ...]:
    titles = dict(items)
    ids = sorted(titles)
    normalised = [normalise(titles[i]) for i in ids]
    usable = [k for k, n in enumerate(normalised) if _comparable(n)]
    if len(usable) < 2:
        return ()
    names = [normalised[k] for k in usable]
    # One matrix of every pair, computed in C: a hundred factors are five thousand pairs.
    matrix = process.cdist(names, names, scorer=fuzz.token_set_ratio, score_cutoff=THRESHOLD)
    pairs: list[tuple[int, int, float]] = []
    for row in range(len(usable)):
        for col in range(row):
            value = float(matrix[row][col])
            if value >= THRESHOLD and not _numbers_differ(names[row], names[col]):
                pairs.append((ids[usable[row]], ids[usable[col]], value))
    return tuple(sorted(pairs, key=lambda p: (-p[2], p[1], p[0])))
