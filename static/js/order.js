// Against anchoring: each phone shows the factors of a round in an order of its own, so that
// no factor gets the room's attention just for being first. The order is a pure function of
// the workshop's code and the participant's number (both stable: the same after a reload, a
// reconnect, another round), never of Math.random, so a test can compute it too.

/** A 32-bit hash of a text (FNV-1a). */
function hashText(text) {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Scramble a 32-bit number (MurmurHash3's finaliser): neighbours land far apart. */
function mix(x) {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The seed of one participant's order in one workshop. */
export function orderSeed(code, number) {
  return hashText(`${code}/${number}`);
}

/** Items with an `id`, sorted by a key that the seed and the id alone decide: a new item
 * finds its place without moving the others, and a departed one leaves the rest as they
 * were. */
export function shuffled(items, seed) {
  const key = new Map(items.map((item) => [item.id, mix(seed ^ mix(item.id))]));
  return [...items].sort((a, b) => key.get(a.id) - key.get(b.id) || a.id - b.id);
}

/** A participant's own order of the categories and of the factors (both shuffled, so that
 * the first category is not always the one read most freshly either). */
export function ownOrder(seed, categories, factors) {
  return { categories: shuffled(categories, mix(seed + 1)), factors: shuffled(factors, seed) };
}
