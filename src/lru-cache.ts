import { assertInteger } from "./guards.js";

/**
 * A small least-recently-used cache on top of `Map` insertion order: `get` moves a hit to the back, `set` evicts
 * from the front once `maxSize` entries are held.
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly #maxSize: number;

  /** @param maxSize - the most entries kept (≥ 1) */
  constructor(maxSize: number) {
    assertInteger("maxSize", maxSize, 1, Number.MAX_SAFE_INTEGER);
    this.#maxSize = maxSize;
  }

  /** The most entries kept. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** How many entries are held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key` (marking it most recently used), or `undefined`. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** Stores `value` under `key` as the most recently used entry, evicting the least recently used if full. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#maxSize) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }

  /** Drops every entry. */
  /** Removes `key`; true if it was held. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}

/** A compact, collision-free string key for bytes (one char per byte), for `Map` lookups without hex encoding. */
export function bytesKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
