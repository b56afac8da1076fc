import type { Twin } from "../twin.js";
import { getBlockHash, getMetadataBytes, getStorage } from "./chain-calls.js";
import { MetadataError, ScaleDecodeError } from "./errors.js";
import { type ChainEvent, EventsDecoder, SYSTEM_EVENTS_STORAGE_KEY } from "./events.js";
import { decodeMetadata, type RuntimeMetadata } from "./metadata.js";
import type { SubstrateRpcClient } from "./substrate-rpc.js";
import { decodeTwin } from "./twin-codec.js";

/** Events of the tfgrid pallet that carry a twin record. */
export const TWIN_RECORD_EVENTS = ["TwinStored", "TwinUpdated"] as const;

/**
 * Events of the tfgrid pallet after which a cached twin may be wrong but that carry no record to replace it with
 * (`TwinDeleted(u32)`, `TwinAccountBounded(u32, AccountId)`): they reset the caches.
 */
export const TWIN_RESET_EVENTS = ["TwinDeleted", "TwinAccountBounded"] as const;

/** Blocks read at the same time while catching up (rmb-rs replays 20 at a time). */
export const CATCHUP_PARALLEL = 20;

/** Options of {@link TwinEventFollower}. */
export interface TwinEventFollowerOptions {
  /** Runtime name of pallet-tfgrid (`TfgridModule`). */
  palletName: string;
  /** Most blocks replayed to catch up; a longer gap resets instead. */
  catchupThreshold: number;
  /** A twin record from a `TwinStored`/`TwinUpdated` event of block `block` (`record` = its SCALE bytes). */
  onTwin(twin: Twin, record: Uint8Array, block: number): void;
  /** Changes may have been missed or cannot be described as twins: caches must start over. */
  onReset(reason: string): void;
  /** Background failures worth logging (each is followed by an `onReset` or `onUnusable`). */
  onError(error: Error): void;
  /** The node's metadata can no longer be used (e.g. a runtime upgrade removed the events): stop following. */
  onUnusable(error: Error): void;
}

interface BlockEvents {
  number: number;
  hash: Uint8Array;
  events: Uint8Array | undefined;
}

/**
 * Follows `TfgridModule.TwinStored` / `TwinUpdated` events block by block, as rmb-rs's relay does: for every best
 * block announced (`onHead`) it reads `System.Events` at that block, decodes it with the runtime metadata (see
 * events.ts) and reports each twin record. Blocks are processed in order; when heads were missed (a reconnect, a
 * node that fell behind) the blocks in between are replayed, {@link CATCHUP_PARALLEL} read at a time, unless there
 * are more than `catchupThreshold` of them, in which case `onReset` is called instead. A block whose events cannot
 * be read also resets. A best block at or below one already processed (a re-org) is read again.
 *
 * Events that fail to decode make the follower read the metadata of their own block once (runtime upgrades change
 * event layouts) and retry.
 */
export class TwinEventFollower {
  readonly #rpc: SubstrateRpcClient;
  readonly #options: TwinEventFollowerOptions;
  #decoder: EventsDecoder | undefined;
  #active = false;
  /** Next block to process; `undefined` = the next head announced. */
  #next: number | undefined;
  /** Newest best block announced. */
  #target: number | undefined;
  /** Bumped when the plan changes under a running catch-up (stop, start, re-org): its results are dropped. */
  #epoch = 0;
  #draining = false;
  #idle: Promise<void> = Promise.resolve();

  constructor(rpc: SubstrateRpcClient, options: TwinEventFollowerOptions) {
    this.#rpc = rpc;
    this.#options = options;
  }

  /** Whether the metadata was read and fits. */
  get ready(): boolean {
    return this.#decoder !== undefined;
  }

  /** The runtime metadata in use (the last one read). */
  get metadata(): RuntimeMetadata | undefined {
    return this.#decoder?.metadata;
  }

  /** Whether blocks are being followed. */
  get active(): boolean {
    return this.#active;
  }

  /** The last block whose events were processed (or skipped by a reset). */
  get lastBlock(): number | undefined {
    return this.#next === undefined ? undefined : this.#next - 1;
  }

  /** Resolves when no block is being processed (for tests and orderly shutdown). */
  idle(): Promise<void> {
    return this.#idle;
  }

  /**
   * Reads the runtime metadata (of block `at`, else of the best block) and checks that it describes
   * `System.Events` and the twin events. Throws `MetadataError`, `ScaleDecodeError` or `SubstrateRpcError`.
   */
  async load(at?: Uint8Array): Promise<void> {
    const decoder = new EventsDecoder(decodeMetadata(await getMetadataBytes(this.#rpc, at)));
    const events = decoder.palletEvents(this.#options.palletName);
    if (events === undefined)
      throw new MetadataError(`the runtime has no ${this.#options.palletName} pallet with events`);
    for (const name of TWIN_RECORD_EVENTS) {
      if (events.get(name)?.fields.length !== 1) {
        throw new MetadataError(`${this.#options.palletName} has no ${name} event with one field (the twin)`);
      }
    }
    this.#decoder = decoder;
  }

  /**
   * Starts following after block `after` (the best block when the caller started to listen: changes up to it are
   * in the state the caller reads), or, when unknown, from the next head announced.
   */
  start(after: number | undefined): void {
    this.#active = true;
    this.#epoch += 1;
    this.#next = after === undefined ? undefined : after + 1;
    this.#target = after;
    this.#kick();
  }

  /** Stops following; blocks being read are dropped. */
  stop(): void {
    this.#active = false;
    this.#epoch += 1;
    this.#next = undefined;
    this.#target = undefined;
  }

  /** A new best block was announced. */
  onHead(number: number): void {
    if (!this.#active) return;
    if (this.#next === undefined) {
      this.#next = number;
    } else if (number < this.#next) {
      // A re-org to a shorter or equal chain, or a node that is behind: read from the new best block again.
      this.#epoch += 1;
      this.#next = number;
    }
    this.#target = number;
    this.#kick();
  }

  #kick(): void {
    if (this.#draining || this.#decoder === undefined) return;
    this.#draining = true;
    this.#idle = this.#drain()
      .catch((err: unknown) => {
        // Not expected (every step handles its failures); never leave the caches trusting a broken follower.
        this.#options.onError(asError(err));
        this.#next = this.#target === undefined ? undefined : this.#target + 1;
        this.#options.onReset("the event follower failed");
      })
      .finally(() => {
        this.#draining = false;
        // A head announced while the loop was finishing.
        if (this.#pending()) this.#kick();
      });
  }

  #pending(): boolean {
    return (
      this.#active && this.#next !== undefined && this.#target !== undefined && this.#next <= this.#target
    );
  }

  async #drain(): Promise<void> {
    while (this.#pending()) {
      const epoch = this.#epoch;
      const from = this.#next as number;
      const to = this.#target as number;
      const gap = to - from + 1;
      if (gap > this.#options.catchupThreshold) {
        this.#next = to + 1;
        this.#options.onReset(
          `blocks ${from}-${to} were missed: ${gap} blocks, more than catchupThreshold ${this.#options.catchupThreshold}`,
        );
        continue;
      }
      const last = Math.min(to, from + CATCHUP_PARALLEL - 1);
      let blocks: BlockEvents[];
      try {
        const numbers = Array.from({ length: last - from + 1 }, (_, i) => from + i);
        blocks = await Promise.all(numbers.map((n) => this.#read(n)));
      } catch (err) {
        if (epoch !== this.#epoch) continue;
        this.#options.onError(asError(err));
        this.#next = (this.#target ?? last) + 1;
        this.#options.onReset(`the events of blocks ${from}-${last} could not be read`);
        continue;
      }
      for (const block of blocks) {
        if (epoch !== this.#epoch || !this.#active) break;
        await this.#apply(block);
        if (epoch !== this.#epoch || !this.#active) break;
        this.#next = block.number + 1;
      }
    }
  }

  async #read(number: number): Promise<BlockEvents> {
    const hash = await getBlockHash(this.#rpc, number);
    const events = await getStorage(this.#rpc, SYSTEM_EVENTS_STORAGE_KEY, hash);
    return { number, hash, events };
  }

  async #apply(block: BlockEvents): Promise<void> {
    if (block.events === undefined || this.#decoder === undefined) return;
    let events: ChainEvent[];
    try {
      events = this.#decoder.decode(block.events);
    } catch (err) {
      if (!(err instanceof ScaleDecodeError || err instanceof MetadataError)) throw err;
      try {
        // A runtime upgrade changes event layouts: decode with the metadata of this very block.
        await this.load(block.hash);
        events = this.#decoder.decode(block.events);
      } catch (again) {
        if (again instanceof MetadataError) {
          this.#options.onUnusable(again);
          return;
        }
        this.#options.onError(asError(again));
        this.#options.onReset(`the events of block ${block.number} do not decode`);
        return;
      }
    }
    const pallet = this.#options.palletName;
    for (const event of events) {
      if (event.pallet !== pallet) continue;
      if ((TWIN_RESET_EVENTS as readonly string[]).includes(event.name)) {
        this.#options.onReset(`${pallet}.${event.name} in block ${block.number}`);
        continue;
      }
      if (!(TWIN_RECORD_EVENTS as readonly string[]).includes(event.name)) continue;
      const record = event.fields[0] as Uint8Array;
      let twin: Twin;
      try {
        twin = decodeTwin(record);
      } catch (err) {
        this.#options.onError(asError(err));
        this.#options.onReset(`a ${pallet}.${event.name} record in block ${block.number} does not decode`);
        continue;
      }
      this.#options.onTwin(twin, record, block.number);
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
