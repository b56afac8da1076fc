import type { AddressInfo } from "node:net";
import { blake2b } from "@noble/hashes/blake2.js";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { ss58Decode } from "../../src/identity/ss58.js";
import { isValidSignature } from "../../src/identity/verify.js";
import {
  type ChainTwin,
  decodeChainTwin,
  encodeChainTwin,
  relayFieldProblem,
  ScaleReader,
  storagePrefix,
  termsAndConditionsStorageKey,
  twinIdByAccountStorageKey,
  twinStorageKey,
  twinToChainTwin,
} from "../../src/registry/tfchain/index.js";
import type { Twin } from "../../src/registry/twin.js";
import {
  balancesEvent,
  encodeEventRecords,
  type FakeEvent,
  type FakePhase,
  type FakeRuntimeVersion,
  fakeRuntimeMetadata,
  PALLET,
  probeEverythingEvent,
  systemExtrinsicEvent,
  tfgridEvent,
  twinRecordEvent,
} from "./fake-runtime.js";

/**
 * A small substrate node for tests: a real `ws` WebSocketServer on 127.0.0.1 speaking the JSON-RPC subset the
 * tfchain registry uses, over an in-memory storage map keyed by storage keys. It produces blocks (on demand, on an
 * interval, and for every accepted transaction), keeps a state snapshot per block for `state_getStorage(key, at)`,
 * serves `chain_subscribeNewHeads`/`chain_subscribeFinalizedHeads`/`state_subscribeStorage`, and accepts signed
 * extrinsics: it parses them itself, rebuilds the signed payload from the extrinsic's own bytes, verifies the
 * signature with the identity module, checks the nonce, and applies `TfgridModule.create_twin`/`update_twin` like
 * pallet-tfgrid (terms accepted, one twin per account, relay validation, owner only).
 *
 * Events: `state_getMetadata` serves the metadata V14 of a tfchain-like runtime (fake-runtime.ts), and every block
 * stores its `System.Events`: `TfgridModule.TwinStored`/`TwinUpdated` for applied `create_twin`/`update_twin`
 * (`System.ExtrinsicFailed` for failed ones), events queued by the test (`putTwin(…, { event })`, `queueEvent`),
 * and foreign events of System, Balances, Probe (every kind of type) and TfgridModule itself in every block.
 * `upgradeRuntime()` switches to a second runtime version whose metadata and event layout differ.
 * Faults: `hang(method)`, `paused`, `dropConnections()`, `restart()`, `metadata: false | "corrupt"`.
 */
export interface FakeSubstrateOptions {
  /** Port to listen on (0 = any free port). @default 0 */
  port?: number;
  /** Index of pallet-tfgrid. @default 25 */
  palletIndex?: number;
  /** @default 149 */
  specVersion?: number;
  /** @default 2 */
  transactionVersion?: number;
  /** Produce a block every this many ms (0 = only on demand and for transactions). @default 0 */
  blockInterval?: number;
  /** `create_twin` needs the account in `UsersTermsAndConditions`, like tfchain. @default true */
  requireTerms?: boolean;
  /**
   * What `state_getMetadata` answers: the runtime's metadata (`true`), "Method not found" (`false`), or bytes that
   * are not metadata (`"corrupt"`). @default true
   */
  metadata?: boolean | "corrupt";
}

/** What happened to one transaction put in a block. */
export interface AppliedExtrinsic {
  accountId: Uint8Array;
  signatureKind: number;
  nonce: number;
  call: "createTwin" | "updateTwin" | "unknown";
  ok: boolean;
  error?: string;
}

interface Subscription {
  kind: "heads" | "finalized" | "storage" | "extrinsic";
  keys: string[];
  last: Map<string, string | null>;
}

interface QueuedExtrinsic {
  bytes: Uint8Array;
  accountId: Uint8Array;
  signatureKind: number;
  nonce: number;
  call: Uint8Array;
  watcher: { socket: WebSocket; id: string } | undefined;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class RpcFailure extends Error {
  readonly code: number;
  readonly data: string | undefined;
  constructor(code: number, message: string, data?: string) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** `System.Events`. */
const SYSTEM_EVENTS = storagePrefix("System", "Events");

/** Errors of pallet-tfgrid reported in `ExtrinsicFailed` by their index (0 for anything else). */
const PALLET_ERRORS = [
  "TwinExists",
  "TwinNotExists",
  "TwinWithPubkeyExists",
  "UserDidNotSignTermsAndConditions",
];

const hex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString("hex")}`;
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/^0x/, ""), "hex"));

function blockHashOf(number: number): string {
  const seed = new Uint8Array(4 + 14);
  new DataView(seed.buffer).setUint32(0, number, true);
  seed.set(new TextEncoder().encode("fake-substrate"), 4);
  return hex(blake2b(seed, { dkLen: 32 }));
}

export class FakeSubstrate {
  readonly options: Required<FakeSubstrateOptions>;
  /** Every JSON-RPC method called, in order. */
  readonly calls: string[] = [];
  /** Transactions applied in blocks, in order. */
  readonly applied: AppliedExtrinsic[] = [];
  /** Numbers of the blocks whose `System.Events` were read (`state_getStorage` at a block), in order. */
  readonly eventReads: number[] = [];
  /** Requests to these methods are never answered. */
  readonly hung = new Set<string>();
  /** While true, no block is produced (neither on the interval nor for transactions). */
  paused = false;
  readonly #storage = new Map<string, string>();
  readonly #snapshots = new Map<string, Map<string, string>>();
  readonly #nonces = new Map<string, number>();
  readonly #subscriptions = new Map<WebSocket, Map<string, Subscription>>();
  readonly #queue: QueuedExtrinsic[] = [];
  #server: WebSocketServer | undefined;
  #port = 0;
  #number = 0;
  #nextSub = 1;
  #twinCount = 0;
  #interval: NodeJS.Timeout | undefined;
  #blockSoon: NodeJS.Timeout | undefined;
  readonly #numbers = new Map<string, number>([[blockHashOf(0), 0]]);
  /** Events queued by the test for the next block (their phase is given when the block is built). */
  readonly #queuedEvents: Array<(phase: FakePhase) => FakeEvent> = [];
  /** First block of runtime version 2 (`upgradeRuntime`). */
  #upgradedAt: number | undefined;

  private constructor(options: FakeSubstrateOptions) {
    this.options = {
      port: options.port ?? 0,
      palletIndex: options.palletIndex ?? 25,
      specVersion: options.specVersion ?? 149,
      transactionVersion: options.transactionVersion ?? 2,
      blockInterval: options.blockInterval ?? 0,
      requireTerms: options.requireTerms ?? true,
      metadata: options.metadata ?? true,
    };
    this.#snapshots.set(blockHashOf(0), new Map());
  }

  /** Starts a fake node; the caller must `stop()` it. */
  static async start(options: FakeSubstrateOptions = {}): Promise<FakeSubstrate> {
    const fake = new FakeSubstrate(options);
    await fake.#listen(fake.options.port);
    return fake;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  get genesisHash(): Uint8Array {
    return unhex(blockHashOf(0));
  }

  get bestNumber(): number {
    return this.#number;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#server?.clients.size ?? 0;
  }

  /** Number of open subscriptions of one kind, over all connections. */
  subscriptionCount(kind: Subscription["kind"]): number {
    let count = 0;
    for (const subs of this.#subscriptions.values())
      for (const sub of subs.values()) if (sub.kind === kind) count++;
    return count;
  }

  /** Hash of block `number` (any number up to the best block). */
  blockHash(number: number): string {
    return blockHashOf(number);
  }

  /** The runtime version of block `number` (2 from the block after `upgradeRuntime()`). */
  runtimeVersionAt(number: number): FakeRuntimeVersion {
    return this.#upgradedAt !== undefined && number >= this.#upgradedAt ? 2 : 1;
  }

  /**
   * A runtime upgrade: from the next block on, metadata and events are those of runtime version 2 (an event of the
   * Probe pallet gains a field), so events of those blocks decode only with their own block's metadata.
   */
  upgradeRuntime(): void {
    this.#upgradedAt = this.#number + 1;
  }

  /**
   * Stores a twin record (and its account index) as if created on chain; takes effect now (no block needed). With
   * `event`, the next block also carries that `TfgridModule` event with the record (a change made by someone
   * else's extrinsic).
   */
  putTwin(twin: Twin | ChainTwin, options: { event?: "TwinStored" | "TwinUpdated" } = {}): void {
    const chain: ChainTwin = "entities" in twin ? twin : twinToChainTwin(twin);
    const event = options.event;
    if (event !== undefined) this.#queuedEvents.push((phase) => twinRecordEvent(phase, event, chain));
    this.#storage.set(hex(twinStorageKey(chain.id)), hex(encodeChainTwin(chain)));
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, chain.id, true);
    this.#storage.set(hex(twinIdByAccountStorageKey(chain.accountId)), hex(id));
    this.#twinCount = Math.max(this.#twinCount, chain.id);
  }

  /** The stored record of twin `id`, decoded. */
  twin(id: number): ChainTwin | undefined {
    const value = this.#storage.get(hex(twinStorageKey(id)));
    return value === undefined ? undefined : decodeChainTwin(unhex(value));
  }

  /** Queues a `TfgridModule` event without a twin record for the next block. */
  queueEvent(event: Parameters<typeof tfgridEvent>[1]): void {
    this.#queuedEvents.push((phase) => tfgridEvent(phase, event));
  }

  /** The `System.Events` bytes stored for block `number` (`undefined` when pruned or before any event). */
  eventsAt(number: number): Uint8Array | undefined {
    const value = this.#snapshots.get(blockHashOf(number))?.get(hex(SYSTEM_EVENTS));
    return value === undefined ? undefined : unhex(value);
  }

  /** Marks an account as having accepted the terms and conditions. */
  acceptTerms(accountId: Uint8Array): void {
    this.#storage.set(hex(termsAndConditionsStorageKey(accountId)), "0x04");
  }

  /** Sets (or with `null` removes) a raw storage value. */
  setStorage(key: Uint8Array, value: Uint8Array | null): void {
    if (value === null) this.#storage.delete(hex(key));
    else this.#storage.set(hex(key), hex(value));
  }

  /** Requests to `method` get no answer until {@link unhang}. */
  hang(method: string): void {
    this.hung.add(method);
  }

  unhang(method: string): void {
    this.hung.delete(method);
  }

  /** Applies queued transactions in a new block and notifies subscribers (ignores `paused`). */
  produceBlock(): void {
    const included = this.#queue.splice(0);
    const number = this.#number + 1;
    const version = this.runtimeVersionAt(number);
    const treasury = new Uint8Array(32).fill(0x6d);
    const events: FakeEvent[] = [
      probeEverythingEvent("initialization", version, number),
      systemExtrinsicEvent({ applyExtrinsic: 0 }), // the timestamp inherent
      tfgridEvent(
        { applyExtrinsic: 0 },
        { kind: "NodeUptimeReported", node: 1, now: BigInt(number), uptime: 42n },
      ),
    ];
    included.forEach((ext, i) => {
      const phase = { applyExtrinsic: i + 1 };
      events.push(balancesEvent(phase, "Withdraw", ext.accountId, 1_000_000n + BigInt(i)));
      const outcome = this.#apply(ext);
      if (outcome.ok) {
        events.push(twinRecordEvent(phase, outcome.event, outcome.twin));
        events.push(systemExtrinsicEvent(phase));
      } else {
        events.push(systemExtrinsicEvent(phase, { pallet: PALLET.TfgridModule, error: outcome.error }));
      }
    });
    const queued = this.#queuedEvents.splice(0);
    queued.forEach((make, i) => {
      events.push(make({ applyExtrinsic: included.length + 1 + i }));
    });
    events.push(
      tfgridEvent("finalization", {
        kind: "TwinEntityStored",
        twin: 1,
        entity: 2,
        signature: Uint8Array.of(9, 9),
      }),
    );
    events.push({ ...balancesEvent("finalization", "Deposit", treasury, 1_000n), topics: [treasury] });
    this.#storage.set(hex(SYSTEM_EVENTS), hex(encodeEventRecords(events)));
    this.#number = number;
    const hash = blockHashOf(this.#number);
    this.#numbers.set(hash, this.#number);
    this.#snapshots.set(hash, new Map(this.#storage));
    this.#snapshots.delete(blockHashOf(this.#number - 100));
    const header = this.#header(this.#number);
    for (const [socket, subs] of this.#subscriptions) {
      for (const [id, sub] of subs) {
        if (sub.kind === "heads") this.#notify(socket, "chain_newHead", id, header);
        else if (sub.kind === "finalized") this.#notify(socket, "chain_finalizedHead", id, header);
        else if (sub.kind === "storage") {
          const changes: Json[] = [];
          for (const key of sub.keys) {
            const value = this.#storage.get(key) ?? null;
            if (sub.last.get(key) !== value) {
              sub.last.set(key, value);
              changes.push([key, value]);
            }
          }
          if (changes.length > 0) this.#notify(socket, "state_storage", id, { block: hash, changes });
        }
      }
    }
    for (const ext of included) {
      const watcher = ext.watcher;
      if (watcher === undefined || !this.#subscriptions.get(watcher.socket)?.has(watcher.id)) continue;
      this.#notify(watcher.socket, "author_extrinsicUpdate", watcher.id, { inBlock: hash });
      this.#notify(watcher.socket, "author_extrinsicUpdate", watcher.id, { finalized: hash });
    }
  }

  /** Closes every client connection abruptly (the server keeps listening). */
  dropConnections(): void {
    for (const client of this.#server?.clients ?? []) client.terminate();
  }

  /** Stops listening and drops every connection (state is kept for {@link restart}). */
  async stop(): Promise<void> {
    clearInterval(this.#interval);
    this.#interval = undefined;
    clearTimeout(this.#blockSoon);
    this.#blockSoon = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const client of server.clients) client.terminate();
    this.#subscriptions.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port, with the same chain state. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#listen(this.#port);
  }

  async #listen(port: number): Promise<void> {
    const server = new WebSocketServer({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    server.on("connection", (socket) => {
      this.#subscriptions.set(socket, new Map());
      socket.on("message", (data: RawData) => this.#onMessage(socket, data));
      socket.on("close", () => this.#subscriptions.delete(socket));
      socket.on("error", () => {});
    });
    if (this.options.blockInterval > 0) {
      this.#interval = setInterval(() => {
        if (!this.paused) this.produceBlock();
      }, this.options.blockInterval);
    }
  }

  #header(number: number): Json {
    const hash = blockHashOf(number);
    return {
      parentHash: blockHashOf(Math.max(0, number - 1)),
      number: `0x${number.toString(16)}`,
      stateRoot: hash,
      extrinsicsRoot: hash,
      digest: { logs: [] },
    };
  }

  #onMessage(socket: WebSocket, data: RawData): void {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString()
      : Buffer.from(data as Buffer).toString();
    const request = JSON.parse(text) as { id: number; method: string; params?: Json[] };
    this.calls.push(request.method);
    if (this.hung.has(request.method)) return;
    let result: Json;
    try {
      result = this.#handle(socket, request.method, request.params ?? []);
    } catch (err) {
      const failure = err instanceof RpcFailure ? err : new RpcFailure(-32603, String(err));
      const error: { [key: string]: Json } = { code: failure.code, message: failure.message };
      if (failure.data !== undefined) error.data = failure.data;
      socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, error }));
      return;
    }
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, result }));
    if (request.method === "state_subscribeStorage" && typeof result === "string") {
      // Like substrate: the current value of every key right after the subscription id.
      const sub = this.#subscriptions.get(socket)?.get(result);
      if (sub !== undefined) {
        const changes: Json[] = sub.keys.map((key) => [key, sub.last.get(key) ?? null]);
        this.#notify(socket, "state_storage", result, { block: blockHashOf(this.#number), changes });
      }
    }
    if (request.method === "chain_subscribeNewHeads" && typeof result === "string") {
      // Like substrate: the current best header right after the subscription id.
      this.#notify(socket, "chain_newHead", result, this.#header(this.#number));
    }
    if (request.method === "author_submitAndWatchExtrinsic" && typeof result === "string") {
      this.#notify(socket, "author_extrinsicUpdate", result, "ready");
    }
  }

  #handle(socket: WebSocket, method: string, params: Json[]): Json {
    switch (method) {
      case "state_getStorage": {
        const [key, at] = params;
        if (typeof key !== "string") throw new RpcFailure(-32602, "Invalid params");
        const state = typeof at === "string" ? this.#snapshots.get(at) : this.#storage;
        if (state === undefined) throw new RpcFailure(4003, "Client error: UnknownBlock: state not found");
        if (key.toLowerCase() === hex(SYSTEM_EVENTS) && typeof at === "string")
          this.eventReads.push(this.#numbers.get(at) ?? -1);
        return state.get(key.toLowerCase()) ?? null;
      }
      case "chain_getBlockHash": {
        const [number] = params;
        const n = typeof number === "number" ? number : this.#number;
        return n <= this.#number ? blockHashOf(n) : null;
      }
      case "chain_getHeader": {
        const [at] = params;
        const number = typeof at === "string" ? this.#numbers.get(at.toLowerCase()) : this.#number;
        return number === undefined ? null : this.#header(number);
      }
      case "state_getMetadata": {
        if (this.options.metadata === false) throw new RpcFailure(-32601, "Method not found");
        if (this.options.metadata === "corrupt") return "0x6d657461";
        const [at] = params;
        const number = typeof at === "string" ? this.#numbers.get(at.toLowerCase()) : this.#number;
        if (number === undefined) throw new RpcFailure(4003, "Client error: UnknownBlock: header not found");
        return hex(fakeRuntimeMetadata(this.runtimeVersionAt(number)));
      }
      case "state_getRuntimeVersion":
        return {
          specName: "substrate-threefold",
          implName: "substrate-threefold",
          authoringVersion: 1,
          specVersion: this.options.specVersion,
          implVersion: 1,
          apis: [],
          transactionVersion: this.options.transactionVersion,
          stateVersion: 0,
        };
      case "system_accountNextIndex": {
        const [address] = params;
        if (typeof address !== "string") throw new RpcFailure(-32602, "Invalid params");
        return this.#nextNonce(ss58Decode(address).publicKey);
      }
      case "chain_subscribeNewHeads":
      case "chain_subscribeFinalizedHeads":
        return this.#subscribe(socket, {
          kind: method === "chain_subscribeNewHeads" ? "heads" : "finalized",
          keys: [],
          last: new Map(),
        });
      case "state_subscribeStorage": {
        const [keys] = params;
        if (!Array.isArray(keys)) throw new RpcFailure(-32602, "Invalid params");
        const list = keys.map((k) => String(k).toLowerCase());
        const last = new Map<string, string | null>(list.map((k) => [k, this.#storage.get(k) ?? null]));
        return this.#subscribe(socket, { kind: "storage", keys: list, last });
      }
      case "chain_unsubscribeNewHeads":
      case "chain_unsubscribeFinalizedHeads":
      case "state_unsubscribeStorage":
      case "author_unwatchExtrinsic": {
        const [id] = params;
        return this.#subscriptions.get(socket)?.delete(String(id)) ?? false;
      }
      case "author_submitExtrinsic":
      case "author_submitAndWatchExtrinsic": {
        const [text] = params;
        if (typeof text !== "string") throw new RpcFailure(-32602, "Invalid params");
        const ext = this.#check(unhex(text));
        let result: string;
        if (method === "author_submitAndWatchExtrinsic") {
          result = this.#subscribe(socket, { kind: "extrinsic", keys: [], last: new Map() });
          ext.watcher = { socket, id: result };
        } else {
          result = hex(blake2b(ext.bytes, { dkLen: 32 }));
        }
        this.#queue.push(ext);
        if (!this.paused && this.#blockSoon === undefined) {
          this.#blockSoon = setTimeout(() => {
            this.#blockSoon = undefined;
            if (!this.paused) this.produceBlock();
          }, 5);
        }
        return result;
      }
      default:
        throw new RpcFailure(-32601, "Method not found");
    }
  }

  #subscribe(socket: WebSocket, sub: Subscription): string {
    const id = `sub${this.#nextSub++}`;
    this.#subscriptions.get(socket)?.set(id, sub);
    return id;
  }

  #notify(socket: WebSocket, method: string, subscription: string, result: Json): void {
    socket.send(JSON.stringify({ jsonrpc: "2.0", method, params: { subscription, result } }));
  }

  #nextNonce(accountId: Uint8Array): number {
    const key = hex(accountId);
    const queued = this.#queue.filter((ext) => hex(ext.accountId) === key).length;
    return (this.#nonces.get(key) ?? 0) + queued;
  }

  /** Parses a signed extrinsic and checks its signature and nonce, like a node's transaction pool. */
  #check(bytes: Uint8Array): QueuedExtrinsic {
    const badFormat = (why: string): RpcFailure => new RpcFailure(1001, "Extrinsic has invalid format", why);
    let accountId: Uint8Array;
    let signatureKind: number;
    let signature: Uint8Array;
    let nonce: number;
    let extra: Uint8Array;
    let call: Uint8Array;
    try {
      const outer = new ScaleReader(bytes);
      const length = outer.compactNumber();
      if (length !== outer.remaining) throw badFormat("length prefix does not match");
      const body = bytes.subarray(outer.offset);
      const reader = new ScaleReader(body);
      if (reader.u8() !== 0x84) throw badFormat("not a signed v4 extrinsic");
      if (reader.u8() !== 0) throw badFormat("only MultiAddress::Id is supported");
      accountId = reader.accountId32();
      signatureKind = reader.u8();
      if (signatureKind > 1) throw badFormat("only ed25519 and sr25519 signatures are supported");
      signature = reader.fixed(64);
      const extraStart = reader.offset;
      if (reader.u8() !== 0) throw badFormat("only immortal transactions are supported");
      nonce = reader.compactNumber();
      reader.compact(); // tip
      extra = body.slice(extraStart, reader.offset);
      call = body.slice(reader.offset);
    } catch (err) {
      if (err instanceof RpcFailure) throw err;
      throw badFormat(String(err));
    }
    const additional = new Uint8Array(8 + 64);
    const view = new DataView(additional.buffer);
    view.setUint32(0, this.options.specVersion, true);
    view.setUint32(4, this.options.transactionVersion, true);
    additional.set(this.genesisHash, 8);
    additional.set(this.genesisHash, 40); // immortal: the era's block is the genesis block
    let payload = new Uint8Array(call.length + extra.length + additional.length);
    payload.set(call, 0);
    payload.set(extra, call.length);
    payload.set(additional, call.length + extra.length);
    if (payload.length > 256) payload = blake2b(payload, { dkLen: 32 });
    const rmbSignature = new Uint8Array(65);
    rmbSignature[0] = signatureKind === 0 ? 0x65 : 0x73;
    rmbSignature.set(signature, 1);
    if (!isValidSignature(accountId, payload, rmbSignature)) {
      throw new RpcFailure(1010, "Invalid Transaction", "Transaction has a bad signature");
    }
    const expected = this.#nextNonce(accountId);
    if (nonce < expected) throw new RpcFailure(1010, "Invalid Transaction", "Transaction is outdated");
    if (nonce > expected)
      throw new RpcFailure(1010, "Invalid Transaction", "Transaction will be valid in the future");
    return { bytes, accountId, signatureKind, nonce, call, watcher: undefined };
  }

  /**
   * Dispatches a transaction like pallet-tfgrid; a failed dispatch changes nothing but the nonce. Returns the twin
   * record written (for its event) or the index of the pallet error.
   */
  #apply(
    ext: QueuedExtrinsic,
  ): { ok: true; event: "TwinStored" | "TwinUpdated"; twin: ChainTwin } | { ok: false; error: number } {
    const account = hex(ext.accountId);
    this.#nonces.set(account, (this.#nonces.get(account) ?? 0) + 1);
    const record: AppliedExtrinsic = {
      accountId: ext.accountId,
      signatureKind: ext.signatureKind,
      nonce: ext.nonce,
      call: "unknown",
      ok: false,
    };
    this.applied.push(record);
    const fail = (error: string) => {
      record.error = error;
      return { ok: false as const, error: Math.max(0, PALLET_ERRORS.indexOf(error)) };
    };
    let relay: Uint8Array | undefined;
    let pk: Uint8Array | undefined;
    let callIndex: number;
    try {
      const reader = new ScaleReader(ext.call);
      if (reader.u8() !== this.options.palletIndex) throw new Error("unknown pallet");
      callIndex = reader.u8();
      relay = reader.option((r) => r.bytes("relay", 1024));
      pk = reader.option((r) => r.bytes("pk", 128));
      reader.end();
    } catch (err) {
      return fail(`undecodable call: ${String(err)}`);
    }
    const existingId = this.#storage.get(hex(twinIdByAccountStorageKey(ext.accountId)));
    if (relay !== undefined && relayFieldProblem(relay) !== undefined) return fail("InvalidRelayAddress");
    if (callIndex === 17) {
      record.call = "createTwin";
      if (this.options.requireTerms && !this.#storage.has(hex(termsAndConditionsStorageKey(ext.accountId)))) {
        return fail("UserDidNotSignTermsAndConditions");
      }
      if (existingId !== undefined) return fail("TwinWithPubkeyExists");
      const twin: ChainTwin = { id: this.#twinCount + 1, accountId: ext.accountId, relay, entities: [], pk };
      this.putTwin(twin);
      record.ok = true;
      return { ok: true, event: "TwinStored", twin };
    }
    if (callIndex === 18) {
      record.call = "updateTwin";
      if (existingId === undefined) return fail("TwinNotExists");
      const id = new DataView(unhex(existingId).buffer).getUint32(0, true);
      const existing = this.twin(id);
      if (existing === undefined) return fail("TwinNotExists");
      const twin: ChainTwin = { ...existing, relay, pk };
      this.putTwin(twin);
      record.ok = true;
      return { ok: true, event: "TwinUpdated", twin };
    }
    return fail(`unknown call index ${callIndex}`);
  }
}

/** A `ws://127.0.0.1:<port>` URL where nothing listens (the port was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ws://127.0.0.1:${port}`;
}
