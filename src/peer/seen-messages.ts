import { ExpiryBuckets } from "./expiry-buckets.js";

/**
 * Remembers which envelopes were already handed to the application, each until its lifetime ends, so that a
 * redelivery (a relay's at-least-once queues can repeat a message after a crash or reconnect) is dropped.
 * Entries are kept in one-second expiry buckets, so forgetting costs nothing per lookup; at `maxEntries` the oldest
 * are forgotten first. A key forgotten that way stays in its bucket until its second passes, and a sender picks that
 * second (an envelope's lifetime is its own): once the buckets hold twice `maxEntries` keys they are rebuilt from the
 * entries still remembered, so memory stays bounded by `maxEntries` whatever the lifetimes.
 */
export class SeenMessages {
  readonly #expiry = new Map<string, number>();
  readonly #buckets = new ExpiryBuckets();
  readonly #maxEntries: number;
  readonly #forget = (key: string, second: number): void => {
    if (this.#expiry.get(key) === second) this.#expiry.delete(key);
  };
  /** Duplicates dropped so far. */
  duplicates = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#expiry.size;
  }

  /** Keys held in the expiry buckets (at most `2 × maxEntries`). */
  get retained(): number {
    return this.#buckets.listed;
  }

  /**
   * True the first time `key` is offered while unexpired; false for a repeat. `expiresAt` and `now` are unix
   * seconds; the key is remembered until `expiresAt`.
   */
  firstTime(key: string, expiresAt: number, now: number): boolean {
    this.#buckets.sweep(now, this.#forget);
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
    this.#buckets.add(key, expiresAt);
    // Forgotten keys stay listed: rebuilt from the keys still remembered (amortised: once per `maxEntries` adds).
    if (this.#buckets.listed > 2 * this.#maxEntries) this.#buckets.rebuild(this.#expiry);
    return true;
  }

  /** When `key` is forgotten (unix seconds), or `undefined` if it is not remembered. */
  expiresAt(key: string): number | undefined {
    return this.#expiry.get(key);
  }
}
