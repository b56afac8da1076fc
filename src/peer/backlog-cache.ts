import type { Backlog } from "./backlog.js";
import { ExpiryBuckets } from "./expiry-buckets.js";

interface Entry {
  backlog: Backlog;
  expiresAt: number;
  /** Destinations whose answer has not come yet. */
  waiting: number;
}

/**
 * The gateway's memory of the requests it sent (the `msgbus.backlog.<uid>` records it also keeps in Redis, which
 * stay the source of truth): an entry leaves when every destination answered, or when its lifetime ends (expiry
 * buckets per second, so forgetting costs nothing per lookup), or as the oldest once `maxEntries` are held. A miss
 * only means the record is read from Redis.
 */
export class BacklogCache {
  readonly #entries = new Map<string, Entry>();
  readonly #buckets = new ExpiryBuckets();
  readonly #maxEntries: number;
  readonly #forget = (uid: string, second: number): void => {
    if (this.#entries.get(uid)?.expiresAt === second) this.#entries.delete(uid);
  };

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Remembers a request sent to `destinations` twins, until `expiresAt` (unix seconds). */
  set(backlog: Backlog, expiresAt: number, destinations: number, now: number): void {
    this.#buckets.sweep(now, this.#forget);
    if (!this.#entries.has(backlog.uid) && this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(backlog.uid, { backlog, expiresAt, waiting: destinations });
    this.#buckets.add(backlog.uid, expiresAt);
    // Answered entries leave the map at once but stay listed in their bucket: keep the lists bounded too.
    if (this.#buckets.listed > 2 * this.#maxEntries) {
      this.#buckets.rebuild(Array.from(this.#entries, ([uid, e]) => [uid, e.expiresAt] as const));
    }
  }

  /** The backlog of `uid` while it lives, else `undefined`. */
  get(uid: string, now: number): Backlog | undefined {
    this.#buckets.sweep(now, this.#forget);
    const e = this.#entries.get(uid);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.#entries.delete(uid);
      return undefined;
    }
    return e.backlog;
  }

  /** One destination of `uid` answered; the entry goes once all have. */
  answered(uid: string): void {
    const e = this.#entries.get(uid);
    if (e === undefined) return;
    e.waiting -= 1;
    if (e.waiting <= 0) this.#entries.delete(uid);
  }
}
