/**
 * Remembers which envelopes were already handed to the application, each until its lifetime ends, so that a
 * redelivery (a relay's at-least-once queues can repeat a message after a crash or reconnect) is dropped.
 * Entries are kept in one-second expiry buckets, so forgetting costs nothing per lookup; at `maxEntries` the oldest
 * are forgotten first.
 */
export class SeenMessages {
  readonly #expiry = new Map<string, number>();
  readonly #buckets = new Map<number, string[]>();
  readonly #maxEntries: number;
  #sweptUpTo = 0;
  /** Duplicates dropped so far. */
  duplicates = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#expiry.size;
  }

  /**
   * True the first time `key` is offered while unexpired; false for a repeat. `expiresAt` and `now` are unix
   * seconds; the key is remembered until `expiresAt`.
   */
  firstTime(key: string, expiresAt: number, now: number): boolean {
    this.#sweep(now);
    const known = this.#expiry.get(key);
    if (known !== undefined && known > now) {
      this.duplicates++;
      return false;
    }
    if (known === undefined && this.#expiry.size >= this.#maxEntries) {
      // Map iteration order is insertion order: forget the oldest entry.
      const oldest = this.#expiry.keys().next().value as string;
      this.#expiry.delete(oldest);
    }
    this.#expiry.set(key, expiresAt);
    const bucket = this.#buckets.get(expiresAt);
    if (bucket === undefined) this.#buckets.set(expiresAt, [key]);
    else bucket.push(key);
    return true;
  }

  /** When `key` is forgotten (unix seconds), or `undefined` if it is not remembered. */
  expiresAt(key: string): number | undefined {
    return this.#expiry.get(key);
  }

  #sweep(now: number): void {
    if (now <= this.#sweptUpTo) return;
    this.#sweptUpTo = now;
    for (const [second, keys] of this.#buckets) {
      if (second > now) continue;
      for (const key of keys) {
        if (this.#expiry.get(key) === second) this.#expiry.delete(key);
      }
      this.#buckets.delete(second);
    }
  }
}
