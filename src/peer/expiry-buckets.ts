/**
 * Keys listed by the second in which they expire, so that a map with per-key lifetimes forgets its expired keys
 * without a scan and without a timer: each second's list is visited once, when that second has passed. A key that
 * left its map early stays listed until its second passes or the lists are rebuilt; the owner rebuilds them when
 * {@link listed} grows past its bound. Used by {@link SeenMessages} and {@link BacklogCache}.
 */
export class ExpiryBuckets {
  readonly #buckets = new Map<number, string[]>();
  #listed = 0;
  #sweptUpTo = 0;

  /** Keys listed, counting those that already left their map. */
  get listed(): number {
    return this.#listed;
  }

  /** Lists `key` as expiring in `second`. */
  add(key: string, second: number): void {
    const bucket = this.#buckets.get(second);
    if (bucket === undefined) this.#buckets.set(second, [key]);
    else bucket.push(key);
    this.#listed++;
  }

  /**
   * Calls `expired(key, second)` for every key listed in a second up to `now` and unlists them (the owner forgets
   * the key if it still expires in that second). Does nothing if `now` was already swept.
   */
  sweep(now: number, expired: (key: string, second: number) => void): void {
    if (now <= this.#sweptUpTo) return;
    this.#sweptUpTo = now;
    for (const [second, keys] of this.#buckets) {
      if (second > now) continue;
      for (const key of keys) expired(key, second);
      this.#listed -= keys.length;
      this.#buckets.delete(second);
    }
  }

  /** Lists exactly `entries` (`[key, second]`), dropping the keys that left early. */
  rebuild(entries: Iterable<readonly [string, number]>): void {
    this.#buckets.clear();
    this.#listed = 0;
    for (const [key, second] of entries) this.add(key, second);
  }
}
