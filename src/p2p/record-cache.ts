import { matchesQuery, type NormalizedQuery, queryKey, type ServiceRecord, tagValues } from "./records.js";

interface Entry {
  record: ServiceRecord;
  /** Dropped after this (clock ms): the record's expiry or the cache TTL, whichever is first. */
  until: number;
}

/**
 * Verified records of other agents (the "public key | address | tag | reputation" table: a twin id is its RMB
 * address and the key to its public key; reputation is looked up in the agent's table). Least recently used
 * records go first beyond `maxSize`; each entry lives until its record expires or `ttlMs` after it was cached.
 * Records are indexed by tag value, so a lookup costs the records having that tag, not the whole cache.
 */
export class RecordCache {
  readonly #entries = new Map<number, Entry>();
  readonly #byTag = new Map<string, Set<number>>();
  readonly #maxSize: number;
  readonly #ttlMs: number;
  /** Lookups that found at least one record, and all lookups. */
  hits = 0;
  lookups = 0;

  constructor(maxSize: number, ttlMs: number) {
    this.#maxSize = maxSize;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Caches a (verified) record; an older record of the same twin is replaced, a newer one kept. */
  put(record: ServiceRecord, now: number): void {
    const old = this.#entries.get(record.twin);
    if (old !== undefined) {
      if (old.record.issuedAt > record.issuedAt) return;
      this.delete(record.twin);
    }
    this.#entries.set(record.twin, { record, until: Math.min(record.expiresAt, now + this.#ttlMs) });
    for (const v of tagValues(record.tags)) {
      let set = this.#byTag.get(v);
      if (set === undefined) {
        set = new Set();
        this.#byTag.set(v, set);
      }
      set.add(record.twin);
    }
    while (this.#entries.size > this.#maxSize) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  get(twin: number, now: number): ServiceRecord | undefined {
    const e = this.#entries.get(twin);
    if (e === undefined) return undefined;
    if (e.until <= now) {
      this.delete(twin);
      return undefined;
    }
    return e.record;
  }

  delete(twin: number): boolean {
    const e = this.#entries.get(twin);
    if (e === undefined) return false;
    this.#entries.delete(twin);
    for (const v of tagValues(e.record.tags)) {
      const set = this.#byTag.get(v);
      set?.delete(twin);
      if (set?.size === 0) this.#byTag.delete(v);
    }
    return true;
  }

  /**
   * Up to `limit` unexpired records matching `query` and `accept`; with `better`, the best `limit` of them in that
   * order (`better(a, b) < 0`: `a` goes first), otherwise the first found. Each record returned becomes most
   * recently used.
   */
  find(
    query: NormalizedQuery,
    now: number,
    limit: number,
    accept?: (r: ServiceRecord) => boolean,
    better?: (a: ServiceRecord, b: ServiceRecord) => number,
  ): ServiceRecord[] {
    this.lookups++;
    let out: ServiceRecord[] = [];
    const set = this.#byTag.get(queryKey(query));
    if (set !== undefined && limit > 0) {
      for (const twin of [...set]) {
        if (better === undefined && out.length >= limit) break;
        const e = this.#entries.get(twin);
        if (e === undefined) continue;
        if (e.until <= now) {
          this.delete(twin);
          continue;
        }
        if (!matchesQuery(e.record.tags, query) || (accept !== undefined && !accept(e.record))) continue;
        out.push(e.record);
      }
      if (better !== undefined) out = out.sort(better).slice(0, limit);
      for (const r of out) {
        const e = this.#entries.get(r.twin)!;
        this.#entries.delete(r.twin);
        this.#entries.set(r.twin, e);
      }
    }
    if (out.length > 0) this.hits++;
    return out;
  }
}
