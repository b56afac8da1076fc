/**
 * Used `X-Auth` headers, remembered until they expire, so that a captured header cannot be replayed. Bounded by
 * `maxEntries`: when full of unexpired entries a claim is refused (`"full"`) rather than forgetting one.
 */
export class AuthClaims {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `"ok"` the first time, `"replay"` for a token seen before that has not expired, `"full"` when no room is left. */
  claim(token: string, expiresAt: number, now: number): "ok" | "replay" | "full" {
    const known = this.#entries.get(token);
    if (known !== undefined && known > now) return "replay";
    if (this.#entries.size >= this.#maxEntries) this.sweep(now);
    if (this.#entries.size >= this.#maxEntries) return "full";
    this.#entries.set(token, expiresAt);
    return "ok";
  }

  /** Drops expired entries. */
  sweep(now: number): void {
    for (const [token, expiresAt] of this.#entries) if (expiresAt <= now) this.#entries.delete(token);
  }
}
