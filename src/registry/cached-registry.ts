import { bytesKey, LruCache } from "../lru-cache.js";
import { copyTwin, type Twin } from "./twin.js";
import type { TwinChange, TwinChangeListener, TwinRegistry } from "./twin-registry.js";

/** Options of {@link CachedRegistry}. */
export interface TwinCacheOptions {
  /** Seconds a looked-up twin (or an account's twin id) is served from the cache. @default 300 */
  ttl?: number;
  /**
   * Seconds an unknown twin id, or an account without a twin, is remembered as such (shields the backend from
   * lookups of random ids). @default 5
   */
  negativeTtl?: number;
  /** Most twins cached, and most accounts cached (least recently used go first). @default 100000 */
  maxEntries?: number;
  /** Milliseconds clock, for tests. @default Date.now */
  now?: () => number;
  /**
   * Follow the backend's change events (when it has `watch`): a changed twin replaces its cached entry, a `reset`
   * clears the cache. `close()` stops following. @default true
   */
  followChanges?: boolean;
}

interface Entry {
  twin: Twin | undefined;
  expires: number;
}

interface AccountEntry {
  id: number | undefined;
  expires: number;
}

/** Counters of the account → twin id cache ({@link CachedRegistry.getTwinIdByAccount}). */
export interface AccountCacheStats {
  hits: number;
  misses: number;
  entries: number;
}

/** Cache counters of twins by id (the relay exports them as `rmb_cache_*`). */
export interface TwinCacheStats {
  hits: number;
  misses: number;
  flushes: number;
  entries: number;
}

/**
 * A {@link TwinRegistry} in front of another: twins by id, and twin ids by account, are cached for `ttl` seconds
 * (unknown ids and accounts without a twin for `negativeTtl`), concurrent lookups of one key share a single backend
 * call, and `invalidate`/`clear` drop entries when the backend reports a change. A changed twin also maps its
 * account to its id (so a new twin replaces a remembered "no twin"), and an account that no longer owns the twin
 * is forgotten. A backend error is never cached.
 */
export class CachedRegistry implements TwinRegistry {
  readonly backend: TwinRegistry;
  readonly #cache: LruCache<number, Entry>;
  readonly #inflight = new Map<number, Promise<Twin | undefined>>();
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  /** Bumped by invalidate/clear so that a lookup started before it does not store a stale answer. */
  #generation = 0;
  readonly stats: TwinCacheStats = { hits: 0, misses: 0, flushes: 0, entries: 0 };
  /** Counters of {@link getTwinIdByAccount}'s cache. */
  readonly accountStats: AccountCacheStats = { hits: 0, misses: 0, entries: 0 };
  /** Account (as {@link bytesKey}) → twin id, or `undefined` for an account known to have no twin. */
  readonly #accounts: LruCache<string, AccountEntry>;
  readonly #accountInflight = new Map<string, Promise<number | undefined>>();
  /** Twin id → the account key cached for it, to forget that account when the twin changes hands. */
  readonly #accountOf: LruCache<number, string>;
  readonly #listeners = new Set<TwinChangeListener>();
  #unwatch: (() => void) | undefined;

  constructor(backend: TwinRegistry, options: TwinCacheOptions = {}) {
    this.backend = backend;
    this.#ttlMs = (options.ttl ?? 300) * 1000;
    this.#negativeTtlMs = (options.negativeTtl ?? 5) * 1000;
    this.#cache = new LruCache(options.maxEntries ?? 100_000);
    this.#accounts = new LruCache(options.maxEntries ?? 100_000);
    this.#accountOf = new LruCache(options.maxEntries ?? 100_000);
    this.#now = options.now ?? Date.now;
    if (options.followChanges !== false && backend.watch !== undefined) {
      this.#unwatch = backend.watch((change) => this.#onChange(change));
    }
  }

  /** Stops following the backend's changes (see `followChanges`). */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /** Listeners see the backend's changes after the cache has applied them. */
  watch(listener: TwinChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #onChange(change: TwinChange): void {
    if (change.kind === "reset") {
      this.clear();
    } else {
      this.#generation += 1;
      this.#inflight.delete(change.twin.id);
      this.#cache.set(change.twin.id, { twin: copyTwin(change.twin), expires: this.#now() + this.#ttlMs });
      this.stats.entries = this.#cache.size;
      const key = bytesKey(change.twin.accountId);
      this.#forgetAccountOf(change.twin.id, key);
      this.#accountInflight.delete(key);
      if (this.#ttlMs > 0) this.#storeAccount(key, change.twin.id, this.#ttlMs);
    }
    for (const listener of this.#listeners) listener(change);
  }

  async getTwin(id: number): Promise<Twin | undefined> {
    const hit = this.#cache.get(id);
    if (hit !== undefined && hit.expires > this.#now()) {
      this.stats.hits += 1;
      return hit.twin === undefined ? undefined : copyTwin(hit.twin);
    }
    this.stats.misses += 1;
    let pending = this.#inflight.get(id);
    if (pending === undefined) {
      const generation = this.#generation;
      pending = this.backend.getTwin(id).then(
        (twin) => {
          this.#inflight.delete(id);
          if (generation === this.#generation) {
            const ttl = twin === undefined ? this.#negativeTtlMs : this.#ttlMs;
            if (ttl > 0)
              this.#cache.set(id, {
                twin: twin === undefined ? undefined : copyTwin(twin),
                expires: this.#now() + ttl,
              });
            this.stats.entries = this.#cache.size;
          }
          return twin;
        },
        (err: unknown) => {
          this.#inflight.delete(id);
          throw err;
        },
      );
      this.#inflight.set(id, pending);
    }
    const twin = await pending;
    return twin === undefined ? undefined : copyTwin(twin);
  }

  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    const key = bytesKey(accountId);
    const hit = this.#accounts.get(key);
    if (hit !== undefined && hit.expires > this.#now()) {
      this.accountStats.hits += 1;
      return hit.id;
    }
    this.accountStats.misses += 1;
    let pending = this.#accountInflight.get(key);
    if (pending === undefined) {
      const generation = this.#generation;
      pending = this.backend.getTwinIdByAccount(Uint8Array.from(accountId)).then(
        (id) => {
          if (this.#accountInflight.get(key) === pending) this.#accountInflight.delete(key);
          if (generation === this.#generation) {
            const ttl = id === undefined ? this.#negativeTtlMs : this.#ttlMs;
            if (ttl > 0) this.#storeAccount(key, id, ttl);
          }
          return id;
        },
        (err: unknown) => {
          if (this.#accountInflight.get(key) === pending) this.#accountInflight.delete(key);
          throw err;
        },
      );
      this.#accountInflight.set(key, pending);
    }
    return pending;
  }

  #storeAccount(key: string, id: number | undefined, ttlMs: number): void {
    this.#accounts.set(key, { id, expires: this.#now() + ttlMs });
    if (id !== undefined) this.#accountOf.set(id, key);
    this.accountStats.entries = this.#accounts.size;
  }

  /** Forgets the account cached as owning twin `id`, unless it is `keep`. */
  #forgetAccountOf(id: number, keep?: string): void {
    const key = this.#accountOf.get(id);
    if (key === undefined || key === keep) return;
    this.#accountOf.delete(id);
    if (this.#accounts.get(key)?.id === id) this.#accounts.delete(key);
    this.accountStats.entries = this.#accounts.size;
  }

  /**
   * Drops one twin (e.g. on a `TwinUpdated` event) and the account cached as its owner; the next lookups ask the
   * backend.
   */
  invalidate(id: number): void {
    this.#generation += 1;
    this.#inflight.delete(id);
    this.#cache.delete(id);
    this.stats.entries = this.#cache.size;
    this.#forgetAccountOf(id);
  }

  /** Drops everything (e.g. after missing change events). */
  clear(): void {
    this.#generation += 1;
    this.#inflight.clear();
    this.#cache.clear();
    this.#accountInflight.clear();
    this.#accounts.clear();
    this.#accountOf.clear();
    this.stats.flushes += 1;
    this.stats.entries = 0;
    this.accountStats.entries = 0;
  }
}
