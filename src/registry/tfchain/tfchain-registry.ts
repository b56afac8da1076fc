import { InvalidArgumentError } from "../../errors.js";
import { assertBytes, assertInteger } from "../../guards.js";
import type { Signer } from "../../identity/signer.js";
import { ss58Encode } from "../../identity/ss58.js";
import { LruCache } from "../../lru-cache.js";
import {
  InvalidTwinError,
  RegistryRejectedError,
  RegistryUnavailableError,
  TwinExistsError,
  TwinNotFoundError,
} from "../errors.js";
import type { Twin } from "../twin.js";
import type { TwinChange, TwinChangeListener, TwinFields, WritableTwinRegistry } from "../twin-registry.js";
import {
  accountNextIndex,
  getBlockHash,
  getHeader,
  getRuntimeVersion,
  getStorage,
  parseExtrinsicStatus,
  parseHeader,
} from "./chain-calls.js";
import { SubstrateRpcError } from "./errors.js";
import {
  CREATE_TWIN_CALL_INDEX,
  encodeTwinCall,
  signExtrinsic,
  TFGRID_PALLET_INDEX,
  type TwinCallArgs,
  UPDATE_TWIN_CALL_INDEX,
} from "./extrinsic.js";
import { fromHex, isHex, toHex } from "./hex.js";
import { ScaleReader } from "./scale.js";
import {
  TFGRID_PALLET_NAME,
  termsAndConditionsStorageKey,
  twinIdByAccountStorageKey,
  twinStorageKey,
} from "./storage-key.js";
import { SUBSTRATE_RPC_DEFAULTS, SubstrateRpcClient, type SubstrateRpcOptions } from "./substrate-rpc.js";
import {
  decodeChainTwin,
  decodeTwin,
  E2E_PUBLIC_KEY_LENGTH,
  encodeRelayField,
  relayFieldProblem,
} from "./twin-codec.js";
import { TwinEventFollower } from "./twin-events.js";
import { TwinStorageWatcher } from "./twin-watcher.js";

/** When a write counts as done. */
export type TfchainWaitFor = "inBlock" | "finalized";

/**
 * Options of {@link TfchainRegistry}. Times are in milliseconds. The connection options are those of
 * {@link SubstrateRpcOptions} (same defaults).
 */
export interface TfchainRegistryOptions extends SubstrateRpcOptions {
  /**
   * Index of pallet-tfgrid in the runtime, the first byte of its calls. Verified from tfchain's
   * `construct_runtime!` (`TfgridModule: pallet_tfgrid = 25`, substrate-node/runtime/src/lib.rs). @default 25
   */
  palletIndex?: number;
  /** Storage prefix (runtime name) of pallet-tfgrid. @default "TfgridModule" */
  palletName?: string;
  /** Call index of `create_twin`. @default 17 */
  createTwinCallIndex?: number;
  /** Call index of `update_twin`. @default 18 */
  updateTwinCallIndex?: number;
  /** SS58 prefix used to name accounts to the node (`system_accountNextIndex`); tfchain's is 42. @default 42 */
  ss58Prefix?: number;
  /**
   * Follow twin changes through `TfgridModule.TwinStored`/`TwinUpdated` events (decoded with the runtime metadata)
   * while someone `watch`es. When false, or when the node's metadata cannot be read or used, changes are followed
   * through storage subscriptions of the twins looked up instead (see `changeSource`). @default true
   */
  followEvents?: boolean;
  /**
   * Most blocks whose events are replayed to catch up after missing some (a reconnect, a node that fell behind;
   * rmb-relay's `--catchup-threshold`). A longer gap reports `reset` instead. @default 600
   */
  catchupThreshold?: number;
  /**
   * Most twins whose storage `watch` follows when following storage (see twin-watcher.ts); also the most twins
   * whose last reported record is remembered to report each change once. @default 10000
   */
  maxWatchedTwins?: number;
  /**
   * Also follow ids that had no twin when looked up, so that their creation is reported. Off by default: a relay
   * is asked about arbitrary ids by anyone, and following them would let junk ids crowd out real twins and make
   * the node renew subscriptions; a `CachedRegistry`'s short `negativeTtl` covers new twins instead.
   * @default false
   */
  watchUnknownTwins?: boolean;
  /** Most twin keys per `state_subscribeStorage` subscription. @default 500 */
  keysPerSubscription?: number;
  /** Milliseconds new watched keys are batched before a subscription is renewed. @default 200 */
  watchDebounce?: number;
  /**
   * Reconnect (to the next URL) when no new block arrives for this long — a node that stopped following the chain
   * serves stale twins. tfchain makes a block every 6 s (rmb-rs uses 7 s). 0 turns the check off. @default 30000
   */
  stallTimeout?: number;
  /** How long a write may wait for its transaction to be included (or finalized). @default 60000 */
  submitTimeout?: number;
  /** Whether a write returns once its block is imported (`inBlock`) or finalized. @default "inBlock" */
  waitFor?: TfchainWaitFor;
  /**
   * Check before `createTwin` that the account accepted the terms and conditions (`TfgridModule.userAcceptTc`),
   * without which the chain refuses to create a twin, and fail early with `RegistryRejectedError`. @default true
   */
  checkTermsAccepted?: boolean;
  /** Receives background failures (subscriptions that cannot be renewed, undecodable records). @default ignore */
  onError?: (error: Error) => void;
}

/** Defaults of {@link TfchainRegistryOptions}. */
export const TFCHAIN_REGISTRY_DEFAULTS = {
  ...SUBSTRATE_RPC_DEFAULTS,
  palletIndex: TFGRID_PALLET_INDEX,
  palletName: TFGRID_PALLET_NAME,
  createTwinCallIndex: CREATE_TWIN_CALL_INDEX,
  updateTwinCallIndex: UPDATE_TWIN_CALL_INDEX,
  ss58Prefix: 42,
  followEvents: true,
  catchupThreshold: 600,
  maxWatchedTwins: 10_000,
  keysPerSubscription: 500,
  watchDebounce: 200,
  watchUnknownTwins: false,
  stallTimeout: 30_000,
  submitTimeout: 60_000,
  waitFor: "inBlock",
  checkTermsAccepted: true,
} as const;

interface ResolvedOptions {
  palletIndex: number;
  palletName: string;
  createTwinCallIndex: number;
  updateTwinCallIndex: number;
  ss58Prefix: number;
  stallTimeout: number;
  submitTimeout: number;
  waitFor: TfchainWaitFor;
  checkTermsAccepted: boolean;
  watchUnknownTwins: boolean;
  followEvents: boolean;
  onError: (error: Error) => void;
}

/** How {@link TfchainRegistry.watch} learns about changes. */
export type TfchainChangeSource = "events" | "storage";

type RegistryState = "idle" | "starting" | "running" | "closed";

/**
 * A {@link WritableTwinRegistry} on tfchain, spoken to directly over substrate JSON-RPC (no polkadot.js).
 *
 * - `getTwin(id)` reads `TfgridModule.Twins(id)`, `getTwinIdByAccount` reads `TfgridModule.TwinIdByAccountID`.
 * - `watch` reports every twin created or changed, from the `TfgridModule.TwinStored`/`TwinUpdated` events of each
 *   best block (read from `System.Events` and decoded with the runtime metadata, see twin-events.ts); after a
 *   reconnect the missed blocks are replayed up to `catchupThreshold`, beyond it `reset` is reported. When the
 *   node's metadata cannot be read or used (or `followEvents` is false) it falls back to storage subscriptions of
 *   the twins looked up (twin-watcher.ts) and reports `reset` after every reconnect. `changeSource` says which.
 * - `createTwin`/`updateTwin` sign and submit `TfgridModule.create_twin`/`update_twin` (immortal, tip 0) and then
 *   read the result from the state of the block that included them. The dispatch error is not read from the
 *   block's events; a call that was included but changed nothing is reported as rejected.
 * - Several URLs fail over in turn; a node that stops producing blocks for `stallTimeout` is left for the next.
 *
 * Reads and writes throw `RegistryUnavailableError` (with the {@link SubstrateRpcError} or `ScaleDecodeError` as
 * `cause`) when the chain cannot be asked or answers nonsense, and `RegistryRejectedError` when the node or the
 * runtime refuses a transaction.
 *
 * @example
 * const registry = new TfchainRegistry({ urls: ["wss://tfchain.grid.tf:443"] });
 * await registry.start();
 * const cached = new CachedRegistry(registry); // follows registry.watch
 * await cached.getTwin(55);
 * await registry.close();
 */
export class TfchainRegistry implements WritableTwinRegistry {
  /** The JSON-RPC client (for diagnostics: `rpc.url`, `rpc.onStatus`). */
  readonly rpc: SubstrateRpcClient;
  readonly #options: ResolvedOptions;
  readonly #watcher: TwinStorageWatcher;
  readonly #follower: TwinEventFollower;
  /** Last record reported per twin (hex) and the block it came from, so that each change is reported once. */
  readonly #reported: LruCache<number, { block: number; hex: string }>;
  #changeSource: TfchainChangeSource | undefined;
  #deciding = false;
  /** The best block when listening started: events after it are followed. */
  #baseline: number | undefined;
  readonly #listeners = new Set<TwinChangeListener>();
  #state: RegistryState = "idle";
  #genesisHash: Uint8Array | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #bestBlock: number | undefined;
  #unsubscribeStatus: (() => void) | undefined;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: TfchainRegistryOptions) {
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError("options", "expected an options object with urls");
    }
    this.rpc = new SubstrateRpcClient(options);
    const d = TFCHAIN_REGISTRY_DEFAULTS;
    const waitFor = options.waitFor ?? d.waitFor;
    if (waitFor !== "inBlock" && waitFor !== "finalized") {
      throw new InvalidArgumentError(
        "options.waitFor",
        `expected "inBlock" or "finalized", got ${String(waitFor)}`,
      );
    }
    const palletName = options.palletName ?? d.palletName;
    if (typeof palletName !== "string" || palletName.length === 0) {
      throw new InvalidArgumentError("options.palletName", "expected a non-empty string");
    }
    this.#options = {
      palletIndex: integer("palletIndex", options.palletIndex, d.palletIndex, 0, 255),
      palletName,
      createTwinCallIndex: integer(
        "createTwinCallIndex",
        options.createTwinCallIndex,
        d.createTwinCallIndex,
        0,
        255,
      ),
      updateTwinCallIndex: integer(
        "updateTwinCallIndex",
        options.updateTwinCallIndex,
        d.updateTwinCallIndex,
        0,
        255,
      ),
      ss58Prefix: integer("ss58Prefix", options.ss58Prefix, d.ss58Prefix, 0, 16_383),
      stallTimeout: integer("stallTimeout", options.stallTimeout, d.stallTimeout, 0, 2 ** 31 - 1),
      submitTimeout: integer("submitTimeout", options.submitTimeout, d.submitTimeout, 1, 2 ** 31 - 1),
      waitFor,
      checkTermsAccepted: options.checkTermsAccepted ?? d.checkTermsAccepted,
      watchUnknownTwins: options.watchUnknownTwins ?? d.watchUnknownTwins,
      followEvents: options.followEvents ?? d.followEvents,
      onError: options.onError ?? (() => {}),
    };
    const maxWatched = integer("maxWatchedTwins", options.maxWatchedTwins, d.maxWatchedTwins, 1, 2 ** 31 - 1);
    this.#reported = new LruCache(maxWatched);
    this.#follower = new TwinEventFollower(this.rpc, {
      palletName,
      catchupThreshold: integer(
        "catchupThreshold",
        options.catchupThreshold,
        d.catchupThreshold,
        1,
        2 ** 31 - 1,
      ),
      onTwin: (twin, record, block) => {
        if (this.#state === "running") this.#report(twin, record, block, "event");
      },
      onReset: () => {
        if (this.#state === "running") this.#emit({ kind: "reset" });
      },
      onError: (error) => this.#backgroundError(error),
      onUnusable: (error) => {
        if (this.#state !== "running") return;
        this.#backgroundError(
          new RegistryUnavailableError(
            `cannot follow twin events any longer, following storage instead: ${error.message}`,
            { cause: error },
          ),
        );
        this.#useStorage();
        this.#emit({ kind: "reset" });
      },
    });
    this.#watcher = new TwinStorageWatcher(this.rpc, {
      maxWatched,
      keysPerSubscription: integer(
        "keysPerSubscription",
        options.keysPerSubscription,
        d.keysPerSubscription,
        1,
        2 ** 31 - 1,
      ),
      debounce: integer("watchDebounce", options.watchDebounce, d.watchDebounce, 0, 2 ** 31 - 1),
      decode: decodeTwin,
      emit: (change) => this.#emit(change),
      onError: (error) => this.#options.onError(error),
    });
  }

  /** Number of the best block last announced by the node (`undefined` before the first). */
  get bestBlock(): number | undefined {
    return this.#bestBlock;
  }

  /** Number of twins whose storage `watch` follows (storage subscriptions only; events cover every twin). */
  get watchedTwins(): number {
    return this.#watcher.size;
  }

  /**
   * How `watch` follows changes: `"events"` (twin events of every block), `"storage"` (storage subscriptions of
   * the twins looked up: `followEvents` is false or the metadata could not be used), or `undefined` before anyone
   * watched (or while the metadata is being read).
   */
  get changeSource(): TfchainChangeSource | undefined {
    return this.#changeSource;
  }

  /** The last block whose events were processed (`changeSource` `"events"`). */
  get lastEventBlock(): number | undefined {
    return this.#follower.lastBlock;
  }

  /**
   * Connects to the first reachable URL. Throws `RegistryUnavailableError` when none answers. Calling it on a
   * started registry does nothing.
   */
  async start(): Promise<void> {
    if (this.#state === "running") return;
    if (this.#state === "closed") throw new RegistryUnavailableError("the tfchain registry is closed");
    if (this.#state === "starting")
      throw new RegistryUnavailableError("the tfchain registry is already starting");
    this.#state = "starting";
    this.#unsubscribeStatus = this.rpc.onStatus((status) => {
      if (status.kind === "connected") {
        this.#genesisHash = undefined;
        this.#armStallTimer();
        // Changes may have happened while disconnected. Following events, the missed blocks are replayed from the
        // first head of the new connection (or a reset is reported if there are too many). Otherwise caches must
        // start over; renewed storage subscriptions then report the current value of every watched twin.
        if (status.reconnected && !(this.#changeSource === "events" && this.#follower.active)) {
          this.#emit({ kind: "reset" });
        }
      } else {
        clearTimeout(this.#stallTimer);
        this.#stallTimer = undefined;
      }
    });
    try {
      await this.rpc.start();
    } catch (err) {
      this.#unsubscribeStatus();
      this.#unsubscribeStatus = undefined;
      this.#state = "idle";
      throw unavailable("cannot start the tfchain registry", err);
    }
    this.#state = "running";
    this.#armStallTimer();
    void this.#followHeads();
    if (this.#listeners.size > 0) this.#enableChanges();
  }

  /** Stops following the chain and closes the connection. Further calls throw `RegistryUnavailableError`. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#unsubscribeStatus?.();
    this.#unsubscribeStatus = undefined;
    // Closing the connection ends every subscription on the node: no need to unsubscribe one by one.
    this.#watcher.stop();
    this.#follower.stop();
    await this.rpc.close();
  }

  async getTwin(id: number): Promise<Twin | undefined> {
    assertInteger("id", id, 0, 0xffff_ffff);
    this.#assertRunning();
    const key = twinStorageKey(id, this.#options.palletName);
    const raw = await this.#read(key, `twin ${id}`);
    // Events report every twin; storage subscriptions only the ones looked up.
    const observe = this.#changeSource !== "events";
    if (raw === undefined) {
      if (observe && this.#options.watchUnknownTwins) this.#watcher.observe(id, toHex(key), null);
      return undefined;
    }
    const twin = this.#decodeTwin(id, raw);
    if (observe) this.#watcher.observe(id, toHex(key), toHex(raw));
    return twin;
  }

  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    assertBytes("accountId", accountId, 32);
    this.#assertRunning();
    return this.#readTwinId(accountId);
  }

  watch(listener: TwinChangeListener): () => void {
    this.#listeners.add(listener);
    if (this.#state === "running") this.#enableChanges();
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      this.#baseline = undefined;
      this.#follower.stop();
      this.#watcher.disable().catch((err: unknown) => this.#backgroundError(err));
    };
  }

  /** Someone listens: follow changes from now on (events, storage, or first find out which). */
  #enableChanges(): void {
    if (this.#changeSource === "storage") {
      this.#watcher.enable();
    } else if (this.#changeSource === "events") {
      if (!this.#follower.active) {
        this.#baseline = this.#bestBlock;
        this.#startFollower();
      }
    } else {
      this.#baseline ??= this.#bestBlock;
      void this.#decideChangeSource();
    }
  }

  #startFollower(): void {
    this.#reported.clear();
    this.#follower.start(this.#baseline);
    if (this.#bestBlock !== undefined) this.#follower.onHead(this.#bestBlock);
  }

  /** Reads the metadata once: events if it fits, storage subscriptions if it cannot be used. */
  async #decideChangeSource(): Promise<void> {
    if (this.#deciding || this.#changeSource !== undefined) return;
    if (!this.#options.followEvents) {
      this.#useStorage();
      return;
    }
    this.#deciding = true;
    try {
      await this.#follower.load();
      if (this.#state !== "running") return;
      this.#changeSource = "events";
      this.#checkCallIndices();
      if (this.#listeners.size > 0) this.#startFollower();
    } catch (err) {
      if (this.#state !== "running") return;
      if (err instanceof SubstrateRpcError && (err.reason === "timeout" || err.reason === "connection")) {
        // Tried again with the next block.
        this.#backgroundError(unavailable("cannot read the runtime metadata (will try again)", err));
        return;
      }
      this.#backgroundError(
        unavailable("cannot follow twin events, following the storage of looked-up twins instead", err),
      );
      this.#useStorage();
    } finally {
      this.#deciding = false;
    }
  }

  /**
   * Warns (through `onError`) when the runtime's metadata places pallet-tfgrid or its twin calls elsewhere than
   * the options the writes use: such writes would fail on chain. (tfchain moved the pallet from index 11 to 25 in
   * 2023.)
   */
  #checkCallIndices(): void {
    const metadata = this.#follower.metadata;
    const pallet = metadata?.pallets.find((p) => p.name === this.#options.palletName);
    if (metadata === undefined || pallet === undefined) return;
    const calls = pallet.callType === undefined ? undefined : metadata.types.get(pallet.callType).def;
    const index = (name: string) =>
      calls?.kind === "variant" ? calls.variants.find((v) => v.name === name)?.index : undefined;
    const actual = [pallet.index, index("create_twin"), index("update_twin")];
    const used = [
      this.#options.palletIndex,
      this.#options.createTwinCallIndex,
      this.#options.updateTwinCallIndex,
    ];
    if (actual.every((value, i) => value === used[i])) return;
    this.#backgroundError(
      new RegistryUnavailableError(
        `the node's runtime has ${this.#options.palletName} at index ${actual[0]} (create_twin ${actual[1]}, ` +
          `update_twin ${actual[2]}) but writes use ${used.join("/")}: set palletIndex, createTwinCallIndex and ` +
          "updateTwinCallIndex",
      ),
    );
  }

  #useStorage(): void {
    this.#changeSource = "storage";
    this.#follower.stop();
    if (this.#listeners.size > 0 && this.#state === "running") this.#watcher.enable();
  }

  /**
   * Reports a twin record once: an event repeating the record last reported is dropped (the registry's own write
   * was reported already), and so is a write read from a block older than one whose record was reported.
   */
  #report(twin: Twin, record: Uint8Array, block: number | undefined, from: "event" | "write"): void {
    const hex = toHex(record);
    const last = this.#reported.get(twin.id);
    if (last !== undefined) {
      if (last.hex === hex) return;
      if (from === "write" && block !== undefined && last.block > block) return;
    }
    this.#reported.set(twin.id, { block: block ?? last?.block ?? 0, hex });
    this.#emit({ kind: "twin", twin });
  }

  async createTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const args = this.#callArgs(signer, fields);
    this.#assertRunning();
    return this.#exclusive(async () => {
      const account = signer.publicKey;
      const existing = await this.#readTwinId(account);
      if (existing !== undefined) throw new TwinExistsError(existing);
      if (this.#options.checkTermsAccepted) {
        const accepted = await this.#read(
          termsAndConditionsStorageKey(account, this.#options.palletName),
          "terms and conditions",
        );
        if (accepted === undefined) {
          throw new RegistryRejectedError(
            "the account has not accepted the terms and conditions (TfgridModule.userAcceptTc); " +
              "tfchain refuses createTwin with UserDidNotSignTermsAndConditions",
          );
        }
      }
      const call = encodeTwinCall(this.#options.palletIndex, this.#options.createTwinCallIndex, args);
      const block = await this.#submit(signer, call, "createTwin");
      const id = await this.#readTwinId(account, block);
      if (id === undefined) {
        throw new RegistryRejectedError(
          `createTwin was included in block ${toHex(block)} but created no twin (the call failed on chain)`,
        );
      }
      return this.#readWritten(id, block, "createTwin");
    });
  }

  async updateTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const args = this.#callArgs(signer, fields);
    this.#assertRunning();
    return this.#exclusive(async () => {
      const id = await this.#readTwinId(signer.publicKey);
      if (id === undefined) throw new TwinNotFoundError(undefined, "the account has no twin");
      const call = encodeTwinCall(this.#options.palletIndex, this.#options.updateTwinCallIndex, args);
      const block = await this.#submit(signer, call, "updateTwin");
      const twin = await this.#readWritten(id, block, "updateTwin", args);
      return twin;
    });
  }

  /** Reads twin `id` at `block` after a write, checks it holds `expected`, and reports it to watchers. */
  async #readWritten(id: number, block: Uint8Array, what: string, expected?: TwinCallArgs): Promise<Twin> {
    const key = twinStorageKey(id, this.#options.palletName);
    const raw = await this.#read(key, `twin ${id}`, block);
    if (raw === undefined) {
      throw new RegistryUnavailableError(`${what}: twin ${id} has no record in block ${toHex(block)}`);
    }
    if (expected !== undefined) {
      let chain: ReturnType<typeof decodeChainTwin>;
      try {
        chain = decodeChainTwin(raw);
      } catch (err) {
        throw unavailable(`twin ${id}'s record does not decode`, err);
      }
      if (!sameBytes(chain.relay, expected.relay) || !sameBytes(chain.pk, expected.pk)) {
        throw new RegistryRejectedError(
          `${what} was included in block ${toHex(block)} but twin ${id} did not change (the call failed on chain)`,
        );
      }
    }
    const twin = this.#decodeTwin(id, raw);
    if (this.#changeSource === "events") {
      let number: number | undefined;
      try {
        number = (await getHeader(this.rpc, block)).number;
      } catch {
        // reported without its block number
      }
      this.#report(twin, raw, number, "write");
    } else {
      this.#watcher.wrote(id, toHex(key), toHex(raw), twin);
    }
    return twin;
  }

  #callArgs(signer: Signer, fields: TwinFields): TwinCallArgs {
    if (typeof signer !== "object" || signer === null)
      throw new InvalidArgumentError("signer", "expected a Signer");
    assertBytes("signer.publicKey", signer.publicKey, 32);
    if (typeof fields !== "object" || fields === null || !Array.isArray(fields.relays)) {
      throw new InvalidArgumentError("fields", "expected { relays: string[], pk?: Uint8Array }");
    }
    let relay: Uint8Array | undefined;
    try {
      relay = encodeRelayField(fields.relays);
    } catch (err) {
      throw new InvalidTwinError(err instanceof Error ? err.message : String(err));
    }
    if (relay !== undefined) {
      const problem = relayFieldProblem(relay);
      if (problem !== undefined) throw new InvalidTwinError(`tfchain would refuse the relays: ${problem}`);
    }
    if (
      fields.pk !== undefined &&
      (!(fields.pk instanceof Uint8Array) || fields.pk.length !== E2E_PUBLIC_KEY_LENGTH)
    ) {
      throw new InvalidTwinError("pk must be 33 bytes (compressed secp256k1)");
    }
    return { relay, pk: fields.pk === undefined ? undefined : Uint8Array.from(fields.pk) };
  }

  /** Signs and submits `call`, then resolves with the hash of the block that included (or finalized) it. */
  async #submit(signer: Signer, call: Uint8Array, what: string): Promise<Uint8Array> {
    let extrinsic: Uint8Array;
    try {
      const [version, genesisHash, nonce] = await Promise.all([
        getRuntimeVersion(this.rpc),
        this.#genesis(),
        accountNextIndex(this.rpc, ss58Encode(signer.publicKey, this.#options.ss58Prefix)),
      ]);
      extrinsic = signExtrinsic(
        signer,
        call,
        { nonce },
        { specVersion: version.specVersion, transactionVersion: version.transactionVersion, genesisHash },
      );
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw unavailable(`${what}: cannot prepare the transaction`, err);
    }
    const timeout = this.#options.submitTimeout;
    const waitFor = this.#options.waitFor;
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      let subscription: { unsubscribe(): Promise<void> } | undefined;
      const finish = (outcome: Error | Uint8Array): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        subscription?.unsubscribe().catch(() => {});
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(
        () =>
          finish(
            new RegistryUnavailableError(
              `${what}: the transaction was not ${waitFor === "inBlock" ? "included" : "finalized"} within ${timeout} ms; it may still be applied`,
            ),
          ),
        timeout,
      );
      this.rpc
        .subscribe(
          {
            method: "author_submitAndWatchExtrinsic",
            params: [toHex(extrinsic)],
            unsubscribeMethod: "author_unwatchExtrinsic",
            resubscribe: false,
          },
          (result) => {
            let status: ReturnType<typeof parseExtrinsicStatus>;
            try {
              status = parseExtrinsicStatus(result);
            } catch (err) {
              finish(unavailable(`${what}: unexpected transaction status`, err));
              return;
            }
            switch (status.kind) {
              case "inBlock":
                if (waitFor === "inBlock") finish(blockHash(status.block, what));
                break;
              case "finalized":
                finish(blockHash(status.block, what));
                break;
              case "invalid":
              case "dropped":
                finish(new RegistryRejectedError(`${what}: the node reports the transaction ${status.kind}`));
                break;
              case "usurped":
                finish(
                  new RegistryRejectedError(
                    `${what}: the transaction was replaced by ${status.by} (same nonce)`,
                  ),
                );
                break;
              case "finalityTimeout":
                finish(new RegistryUnavailableError(`${what}: finality timed out for block ${status.block}`));
                break;
              default:
                break; // future, ready, broadcast, retracted: keep waiting
            }
          },
          (err) =>
            finish(
              unavailable(
                `${what}: lost the node while waiting for the transaction; it may still be applied`,
                err,
              ),
            ),
        )
        .then(
          (sub) => {
            subscription = sub;
            if (done) sub.unsubscribe().catch(() => {});
          },
          (err: unknown) => {
            if (err instanceof SubstrateRpcError && err.reason === "rpc") {
              finish(
                new RegistryRejectedError(`${what}: the node refused the transaction: ${err.message}`, {
                  cause: err,
                }),
              );
            } else {
              finish(unavailable(`${what}: cannot submit the transaction`, err));
            }
          },
        );
    });
  }

  async #genesis(): Promise<Uint8Array> {
    if (this.#genesisHash === undefined) this.#genesisHash = await getBlockHash(this.rpc, 0);
    return this.#genesisHash;
  }

  async #readTwinId(accountId: Uint8Array, at?: Uint8Array): Promise<number | undefined> {
    const raw = await this.#read(
      twinIdByAccountStorageKey(accountId, this.#options.palletName),
      "twin id",
      at,
    );
    if (raw === undefined) return undefined;
    try {
      const reader = new ScaleReader(raw);
      const id = reader.u32("twin id");
      reader.end("twin id");
      return id;
    } catch (err) {
      throw unavailable("the twin id of the account does not decode", err);
    }
  }

  async #read(key: Uint8Array, what: string, at?: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      return await getStorage(this.rpc, key, at);
    } catch (err) {
      throw unavailable(`cannot read ${what} from tfchain`, err);
    }
  }

  #decodeTwin(id: number, raw: Uint8Array): Twin {
    let twin: Twin;
    try {
      twin = decodeTwin(raw);
    } catch (err) {
      throw unavailable(`twin ${id}'s record does not decode`, err);
    }
    if (twin.id !== id)
      throw new RegistryUnavailableError(`the record stored for twin ${id} has id ${twin.id}`);
    return twin;
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    // Writes of one registry go one at a time: each needs the nonce that the previous one used up.
    const run = this.#writes.then(task, task);
    this.#writes = run.catch(() => {});
    return run;
  }

  #assertRunning(): void {
    if (this.#state === "running") return;
    throw new RegistryUnavailableError(
      this.#state === "closed" ? "the tfchain registry is closed" : "the tfchain registry is not started",
    );
  }

  async #followHeads(): Promise<void> {
    try {
      await this.rpc.subscribe(
        {
          method: "chain_subscribeNewHeads",
          params: [],
          unsubscribeMethod: "chain_unsubscribeNewHeads",
          resubscribe: true,
        },
        (result) => {
          let number: number;
          try {
            number = parseHeader(result, "chain_newHead").number;
          } catch (err) {
            this.#backgroundError(err);
            return;
          }
          this.#bestBlock = number;
          this.#armStallTimer();
          if (this.#listeners.size === 0) return;
          if (this.#changeSource === "events") this.#follower.onHead(number);
          else if (this.#changeSource === undefined) void this.#decideChangeSource();
        },
        (err) => this.#backgroundError(err),
      );
    } catch (err) {
      this.#backgroundError(err);
      // Without the heads subscription the stall timer fires and the client moves to the next node.
    }
  }

  #armStallTimer(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    const timeout = this.#options.stallTimeout;
    if (timeout === 0 || this.#state === "closed" || !this.rpc.connected) return;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      this.rpc.reconnect(`no new block for ${timeout} ms`);
    }, timeout);
  }

  #emit(change: TwinChange): void {
    if (change.kind === "reset") this.#reported.clear();
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#backgroundError(err);
      }
    }
  }

  #backgroundError(err: unknown): void {
    if (this.#state === "closed") return; // e.g. a renewal cut short by close()
    this.#options.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

function unavailable(message: string, err: unknown): RegistryUnavailableError {
  const detail = err instanceof Error ? err.message : String(err);
  return new RegistryUnavailableError(`${message}: ${detail}`, { cause: err });
}

/** The 32-byte block hash of a status update, or the error to fail the write with. */
function blockHash(hex: string, what: string): Uint8Array | RegistryUnavailableError {
  if (!isHex(hex) || hex.length !== 66) {
    return new RegistryUnavailableError(
      `${what}: the node reported an invalid block hash ${JSON.stringify(hex)}`,
    );
  }
  return fromHex(hex, "block hash");
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `options.${name}`,
      `expected an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}
