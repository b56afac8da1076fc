/**
 * A bounded set of recently seen ids (duplicate suppression): an id is remembered for `ttlMs`, and at most
 * `maxSize` ids are kept (the oldest go first).
 */
export class ExpiringSet {
  readonly #seen = new Map<string, number>();
  readonly #maxSize: number;
  readonly #ttlMs: number;

  constructor(maxSize: number, ttlMs: number) {
    this.#maxSize = maxSize;
    this.#ttlMs = ttlMs;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True if `id` was added less than `ttlMs` ago. */
  has(id: string, now: number): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && now - at < this.#ttlMs;
  }

  /** Remembers `id`; returns false if it was already there (and not expired). */
  add(id: string, now: number): boolean {
    if (this.has(id, now)) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now);
    while (this.#seen.size > this.#maxSize) {
      const oldest = this.#seen.keys().next();
      if (oldest.done === true) break;
      this.#seen.delete(oldest.value);
    }
    // Drop expired ids at the front (insertion order is time order).
    for (const [key, at] of this.#seen) {
      if (now - at < this.#ttlMs) break;
      this.#seen.delete(key);
    }
    return true;
  }
}
