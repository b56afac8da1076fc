import type { Backlog } from "./backlog.js";

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
  readonly #buckets = new Map<number, string[]>();
  readonly #maxEntries: number;
  /** Uids in `#buckets`, counting those that already left (they go at their second or at a rebuild). */
  #bucketed = 0;
  #sweptUpTo = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Remembers a request sent to `destinations` twins, until `expiresAt` (unix seconds). */
  set(backlog: Backlog, expiresAt: number, destinations: number, now: number): void {
    this.#sweep(now);
    if (!this.#entries.has(backlog.uid) && this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(backlog.uid, { backlog, expiresAt, waiting: destinations });
    const bucket = this.#buckets.get(expiresAt);
    if (bucket === undefined) this.#buckets.set(expiresAt, [backlog.uid]);
    else bucket.push(backlog.uid);
    // Answered entries leave the map at once but stay listed in their bucket: keep the lists bounded too.
    if (++this.#bucketed > 2 * this.#maxEntries) this.#rebuild();
  }

  #rebuild(): void {
    this.#buckets.clear();
    for (const [uid, e] of this.#entries) {
      const bucket = this.#buckets.get(e.expiresAt);
      if (bucket === undefined) this.#buckets.set(e.expiresAt, [uid]);
      else bucket.push(uid);
    }
    this.#bucketed = this.#entries.size;
  }

  /** The backlog of `uid` while it lives, else `undefined`. */
  get(uid: string, now: number): Backlog | undefined {
    this.#sweep(now);
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

  #sweep(now: number): void {
    if (now <= this.#sweptUpTo) return;
    this.#sweptUpTo = now;
    for (const [second, uids] of this.#buckets) {
      if (second > now) continue;
      for (const uid of uids) if (this.#entries.get(uid)?.expiresAt === second) this.#entries.delete(uid);
      this.#bucketed -= uids.length;
      this.#buckets.delete(second);
    }
  }
}
