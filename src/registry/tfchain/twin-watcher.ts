import type { Twin } from "../twin.js";
import type { TwinChange } from "../twin-registry.js";
import { parseStorageChangeSet } from "./chain-calls.js";
import { SubstrateRpcError } from "./errors.js";
import { fromHex } from "./hex.js";
import type { JsonValue, RpcSubscription, SubstrateRpcClient } from "./substrate-rpc.js";

/**
 * Follows the storage of the twins a registry was asked about, through `state_subscribeStorage` on their
 * `TfgridModule.Twins(id)` keys, and reports each change as a {@link TwinChange}.
 *
 * The tfchain registry's fallback for following changes, used when `TwinStored`/`TwinUpdated` events cannot be
 * followed (the node's metadata cannot be read or is not a version the decoder knows, or `followEvents` is off):
 * storage subscriptions need no metadata; the node sends the new value of a watched key in every block where it
 * changes, and the value is the `Twin` record we decode anyway.
 *
 * Limits, by design: only watched ids are followed — the twins looked up through the registry (and, if asked,
 * ids without a twin, so that their creation is seen) and the ones it wrote, at most `maxWatched`, least recently
 * looked up first out. A `CachedRegistry` whose `maxEntries` is not above `maxWatched` therefore hears of every
 * change to what it caches; past that, its `ttl` bounds staleness. After a reconnect the registry emits `reset`
 * (changes may have been missed) and the renewed subscriptions report the current values.
 *
 * Keys are spread over subscriptions of at most `keysPerSubscription` keys; a new key renews only its own
 * subscription (subscribe the new set, then unsubscribe the old one, so nothing is missed in between), batched by
 * `debounce` milliseconds.
 */
export interface TwinStorageWatcherOptions {
  /** Most twin keys followed. */
  maxWatched: number;
  /** Most keys per `state_subscribeStorage` subscription. */
  keysPerSubscription: number;
  /** Milliseconds to batch new keys before renewing a subscription. */
  debounce: number;
  /** Decodes a twin record (throws on bad bytes). */
  decode: (bytes: Uint8Array) => Twin;
  /** Receives the changes. */
  emit: (change: TwinChange) => void;
  /** Receives background failures (a subscription that cannot be renewed, a record that does not decode). */
  onError: (error: Error) => void;
}

interface Entry {
  id: number;
  /** Lowercase hex of the last value the registry returned or reported; `null` = no twin. */
  last: string | null;
  chunk: Chunk;
}

interface Chunk {
  keys: Set<string>;
  subscription: RpcSubscription | undefined;
  dirty: boolean;
}

/** See {@link TwinStorageWatcherOptions}. */
export class TwinStorageWatcher {
  readonly #rpc: SubstrateRpcClient;
  readonly #options: TwinStorageWatcherOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #chunks: Chunk[] = [];
  #enabled = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(rpc: SubstrateRpcClient, options: TwinStorageWatcherOptions) {
    this.#rpc = rpc;
    this.#options = options;
  }

  /** Number of keys followed. */
  get size(): number {
    return this.#entries.size;
  }

  /** Number of storage subscriptions held. */
  get subscriptions(): number {
    return this.#chunks.filter((chunk) => chunk.subscription?.active === true).length;
  }

  /** Starts following (when the registry has listeners). */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    for (const chunk of this.#chunks) chunk.dirty = true;
    this.#schedule(0);
  }

  /** Stops following; the keys are remembered for a later {@link enable}. */
  async disable(): Promise<void> {
    this.#enabled = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    const subscriptions = this.#chunks.map((chunk) => chunk.subscription);
    for (const chunk of this.#chunks) chunk.subscription = undefined;
    await Promise.all(subscriptions.map((s) => s?.unsubscribe()));
  }

  /** Stops for good without talking to the node (its connection is about to close, which ends the subscriptions). */
  stop(): void {
    this.#enabled = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const chunk of this.#chunks) chunk.subscription = undefined;
  }

  /**
   * Records that the registry just read `value` (lowercase hex, or `null`) at `key` for twin `id`, and follows the
   * key from now on. A key already followed keeps the value its subscription reported (which may be newer).
   */
  observe(id: number, key: string, value: string | null): void {
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, existing);
      return;
    }
    this.#add(id, key, value);
  }

  /**
   * Records a value the registry itself wrote and reports it as a change (unless it is already the value known).
   */
  wrote(id: number, key: string, value: string, twin: Twin): void {
    const existing = this.#entries.get(key);
    if (existing === undefined) this.#add(id, key, value);
    else if (existing.last === value) return;
    else existing.last = value;
    this.#options.emit({ kind: "twin", twin });
  }

  #add(id: number, key: string, value: string | null): void {
    while (this.#entries.size >= this.#options.maxWatched) {
      const oldest = this.#entries.entries().next();
      if (oldest.done === true) break;
      const [oldKey, entry] = oldest.value;
      this.#entries.delete(oldKey);
      // The key stays in its subscription until that one is renewed (the new key below may take its place);
      // its notifications are ignored meanwhile.
      entry.chunk.keys.delete(oldKey);
    }
    let chunk = this.#chunks.find((c) => c.keys.size < this.#options.keysPerSubscription);
    if (chunk === undefined) {
      chunk = { keys: new Set(), subscription: undefined, dirty: false };
      this.#chunks.push(chunk);
    }
    chunk.keys.add(key);
    chunk.dirty = true;
    this.#entries.set(key, { id, last: value, chunk });
    if (this.#enabled) this.#schedule(this.#options.debounce);
  }

  #schedule(wait: number): void {
    if (this.#timer !== undefined || !this.#enabled) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#flushing !== undefined) {
        // A flush is running: look again once it is done.
        this.#flushing.then(() => this.#schedule(0));
        return;
      }
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    }, wait);
  }

  async #flush(): Promise<void> {
    let failed = false;
    for (const chunk of [...this.#chunks]) {
      if (!this.#enabled) return;
      if (!chunk.dirty) continue;
      chunk.dirty = false;
      const old = chunk.subscription;
      if (chunk.keys.size === 0) {
        this.#chunks.splice(this.#chunks.indexOf(chunk), 1);
        chunk.subscription = undefined;
        await old?.unsubscribe();
        continue;
      }
      try {
        const subscription = await this.#rpc.subscribe(
          {
            method: "state_subscribeStorage",
            params: [[...chunk.keys]],
            unsubscribeMethod: "state_unsubscribeStorage",
            resubscribe: true,
          },
          (result) => this.#onChangeSet(result),
          (error) => this.#options.onError(error),
        );
        if (!this.#enabled) {
          await subscription.unsubscribe();
          return;
        }
        chunk.subscription = subscription;
        await old?.unsubscribe();
      } catch (err) {
        chunk.dirty = true;
        failed = true;
        this.#options.onError(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (failed) this.#schedule(Math.max(this.#options.debounce, 1_000));
  }

  #onChangeSet(result: JsonValue): void {
    let changeSet: ReturnType<typeof parseStorageChangeSet>;
    try {
      changeSet = parseStorageChangeSet(result);
    } catch (err) {
      this.#options.onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const { key, value } of changeSet.changes) {
      const entry = this.#entries.get(key);
      if (entry === undefined || entry.last === value) continue;
      entry.last = value;
      if (value === null) {
        // The twin was deleted: there is no "deleted" change, so drop every cached twin.
        this.#options.emit({ kind: "reset" });
        continue;
      }
      let twin: Twin;
      try {
        twin = this.#options.decode(fromHex(value, "twin record"));
        if (twin.id !== entry.id) {
          throw new SubstrateRpcError(
            "protocol",
            `the record under twin ${entry.id}'s key has id ${twin.id}`,
          );
        }
      } catch (err) {
        this.#options.onError(err instanceof Error ? err : new Error(String(err)));
        this.#options.emit({ kind: "reset" });
        continue;
      }
      this.#options.emit({ kind: "twin", twin });
    }
  }
}
