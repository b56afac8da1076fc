import { LruCache } from "../lru-cache.js";
import type { RateLimitOptions } from "./options.js";

/** Length of the fixed rate-limit window in seconds (rmb-rs §4.11). */
export const RATE_LIMIT_WINDOW = 60;

interface Usage {
  window: number;
  count: number;
  bytes: number;
}

/**
 * Fixed-window per-twin limiter (wire spec §4.11): windows are aligned to `floor(now / 60)`; a frame is refused if
 * it alone exceeds `size`, or if after counting it the window holds more than `count` frames or `size` bytes.
 * State is kept in an LRU of `capacity` twins, so memory is bounded.
 */
export class RateLimiter {
  readonly #limit: RateLimitOptions;
  readonly #clock: () => number;
  readonly #usage: LruCache<number, Usage>;

  constructor(limit: RateLimitOptions, capacity: number, clock: () => number) {
    this.#limit = { ...limit };
    this.#clock = clock;
    this.#usage = new LruCache(capacity);
  }

  /** Counts a frame of `size` bytes from `twin`; `false` when the frame must be dropped. */
  measure(twin: number, size: number): boolean {
    if (size > this.#limit.size) return false;
    const window = Math.floor(this.#clock() / RATE_LIMIT_WINDOW);
    let usage = this.#usage.get(twin);
    if (usage === undefined || usage.window !== window) {
      usage = { window, count: 0, bytes: 0 };
      this.#usage.set(twin, usage);
    }
    usage.count += 1;
    usage.bytes += size;
    return usage.count <= this.#limit.count && usage.bytes <= this.#limit.size;
  }
}
