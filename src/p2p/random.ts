/** A source of uniform numbers in `[0, 1)` (`Math.random` or a seeded generator). */
export type Random = () => number;

/** A fast seeded generator (sfc32 seeded through splitmix32): same seed, same sequence. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** An integer in `[0, n)`. */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/**
 * Up to `k` distinct items of `items` chosen uniformly, skipping those for which `exclude` is true. Cheap for
 * `k` much smaller than `items.length` (rejection sampling, then a partial shuffle when too many are excluded).
 */
export function sample<T>(
  items: readonly T[],
  k: number,
  random: Random,
  exclude?: (item: T) => boolean,
): T[] {
  const out: T[] = [];
  if (k <= 0 || items.length === 0) return out;
  if (items.length > 4 * k) {
    const picked = new Set<number>();
    for (let tries = 0; out.length < k && tries < 8 * k; tries++) {
      const i = Math.floor(random() * items.length);
      if (picked.has(i)) continue;
      picked.add(i);
      const item = items[i]!;
      if (exclude?.(item) !== true) out.push(item);
    }
    if (out.length === k) return out;
    out.length = 0;
  }
  const pool = exclude === undefined ? [...items] : items.filter((x) => !exclude(x));
  for (let i = 0; i < pool.length && i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const picked = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = picked;
    out.push(picked);
  }
  return out;
}

/** A 32-bit FNV-1a hash of a string, finalised with murmur3's mixer (for rendezvous hashing). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A random id of 16 hex digits. */
export function randomId(random: Random): string {
  const hi = Math.floor(random() * 0x100000000);
  const lo = Math.floor(random() * 0x100000000);
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
