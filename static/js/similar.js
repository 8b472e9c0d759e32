// Factors that look alike, as facilitation/core/similar.py judges them, run on the phone on
// the titles it already holds: typing a proposal costs the server nothing. The same
// normalising (case, accents, function words, Swedish and English endings) and the same
// score (rapidfuzz's token set ratio, 0-100); tests/test_similar.py holds the two to the same
// scores. Keep the lists below as they are in similar.py.

export const THRESHOLD = 86;
const MIN_LETTERS = 4;
const SHOWN = 3;
const STOP_WORDS = new Set(("och av i for pa med till om som att det den de ett en "
  + "the and of in for on to a an with by at").split(" "));
const ENDINGS = ("ernas arnas ornas erna arna orna ens ets ars ers ors ies "
  + "en et na ar er or as es s").split(" ").sort((a, b) => b.length - a.length);
const STEM_MIN = 4;

function stem(word) {
  let stripped = true;
  while (stripped) {
    stripped = false;
    for (const ending of ENDINGS) {
      if (word.endsWith(ending) && word.length - ending.length >= STEM_MIN) {
        word = word.slice(0, -ending.length);
        stripped = true;
        break;
      }
    }
  }
  return word;
}

/** A title as it is compared: folded, without accents, function words or endings. */
export function normalise(title) {
  const plain = title.toLowerCase().replace(/ß/g, "ss").normalize("NFKD").replace(/\p{M}/gu, "");
  // A single letter is no word (the genitive of "EU:s", an English "a"); a number is.
  return (plain.match(/[a-z]{2,}|[0-9]+/g) ?? []).filter((w) => !STOP_WORDS.has(w)).map(stem).join(" ");
}

function comparable(normalised) {
  return normalised.replace(/ /g, "").length >= MIN_LETTERS;
}

/** The insertions and deletions that turn a into b (no substitutions). */
function indel(a, b) {
  let previous = new Array(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    const row = new Array(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], row[j - 1]);
    }
    previous = row;
  }
  return a.length + b.length - 2 * previous[b.length];
}

const ratioOf = (distance, lengths) => (lengths ? 100 - (100 * distance) / lengths : 100);
const sorted = (words) => [...words].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

/** rapidfuzz's fuzz.token_set_ratio on two normalised titles. */
function tokenSetRatio(s1, s2) {
  const a = new Set(s1.split(" ").filter(Boolean));
  const b = new Set(s2.split(" ").filter(Boolean));
  if (!a.size || !b.size) return 0;
  const both = [...a].filter((w) => b.has(w));
  const onlyA = sorted([...a].filter((w) => !b.has(w))).join(" ");
  const onlyB = sorted([...b].filter((w) => !a.has(w))).join(" ");
  if (both.length && (!onlyA || !onlyB)) return 100;
  const sect = both.join(" ").length;
  const sectA = sect + (sect ? 1 : 0) + onlyA.length;
  const sectB = sect + (sect ? 1 : 0) + onlyB.length;
  const result = ratioOf(indel(onlyA, onlyB), sectA + sectB);
  if (!sect) return result;
  return Math.max(result,
    ratioOf((sect ? 1 : 0) + onlyA.length, sect + sectA),
    ratioOf((sect ? 1 : 0) + onlyB.length, sect + sectB));
}

/** Whether both titles carry numbers, not the same ones: "Etapp 1" is not "Etapp 2". */
function numbersDiffer(na, nb) {
  const numbers = (n) => [...new Set(n.split(" ").filter((w) => /^[0-9]+$/.test(w)))].sort().join(" ");
  const a = numbers(na);
  const b = numbers(nb);
  return Boolean(a && b && a !== b);
}

/** How alike two titles are, 0-100 (0 when either is too short to compare). */
export function score(a, b) {
  const na = normalise(a);
  const nb = normalise(b);
  if (!comparable(na) || !comparable(nb) || numbersDiffer(na, nb)) return 0;
  return tokenSetRatio(na, nb);
}

/** The factors ({id, title}) that look like `text`, best first, at most `limit`. */
export function alike(text, factors, limit = SHOWN) {
  return factors.map((f) => ({ factor: f, score: score(text, f.title) }))
    .filter((found) => found.score >= THRESHOLD)
    .sort((x, y) => y.score - x.score || x.factor.id - y.factor.id)
    .slice(0, limit);
}
