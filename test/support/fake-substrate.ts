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
  termsAndConditionsStorageKey,
  twinIdByAccountStorageKey,
  twinStorageKey,
  twinToChainTwin,
} from "../../src/registry/tfchain/index.js";
import type { Twin } from "../../src/registry/twin.js";

/**
 * A small substrate node for tests: a real `ws` WebSocketServer on 127.0.0.1 speaking the JSON-RPC subset the
 * tfchain registry uses, over an in-memory storage map keyed by storage keys. It produces blocks (on demand, on an
 * interval, and for every accepted transaction), keeps a state snapshot per block for `state_getStorage(key, at)`,
 * serves `chain_subscribeNewHeads`/`chain_subscribeFinalizedHeads`/`state_subscribeStorage`, and accepts signed
 * extrinsics: it parses them itself, rebuilds the signed payload from the extrinsic's own bytes, verifies the
 * signature with the identity module, checks the nonce, and applies `TfgridModule.create_twin`/`update_twin` like
 * pallet-tfgrid (terms accepted, one twin per account, relay validation, owner only). It does not keep
 * `System.Events`. Faults: `hang(method)`, `paused`, `dropConnections()`, `restart()`.
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

  private constructor(options: FakeSubstrateOptions) {
    this.options = {
      port: options.port ?? 0,
      palletIndex: options.palletIndex ?? 25,
      specVersion: options.specVersion ?? 149,
      transactionVersion: options.transactionVersion ?? 2,
      blockInterval: options.blockInterval ?? 0,
      requireTerms: options.requireTerms ?? true,
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

  /** Stores a twin record (and its account index) as if created on chain; takes effect now (no block needed). */
  putTwin(twin: Twin | ChainTwin): void {
    const chain: ChainTwin = "entities" in twin ? twin : twinToChainTwin(twin);
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
    for (const ext of included) this.#apply(ext);
    this.#number += 1;
    const hash = blockHashOf(this.#number);
    this.#snapshots.set(hash, new Map(this.#storage));
    this.#snapshots.delete(blockHashOf(this.#number - 100));
    const header: Json = {
      parentHash: blockHashOf(this.#number - 1),
      number: `0x${this.#number.toString(16)}`,
      stateRoot: hash,
      extrinsicsRoot: hash,
      digest: { logs: [] },
    };
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
        return state.get(key.toLowerCase()) ?? null;
      }
      case "chain_getBlockHash": {
        const [number] = params;
        const n = typeof number === "number" ? number : this.#number;
        return n <= this.#number ? blockHashOf(n) : null;
      }
      case "chain_getHeader":
        return {
          parentHash: blockHashOf(Math.max(0, this.#number - 1)),
          number: `0x${this.#number.toString(16)}`,
          stateRoot: blockHashOf(this.#number),
          extrinsicsRoot: blockHashOf(this.#number),
          digest: { logs: [] },
        };
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

  /** Dispatches a transaction like pallet-tfgrid; a failed dispatch changes nothing but the nonce. */
  #apply(ext: QueuedExtrinsic): void {
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
      record.error = `undecodable call: ${String(err)}`;
      return;
    }
    const existingId = this.#storage.get(hex(twinIdByAccountStorageKey(ext.accountId)));
    if (relay !== undefined && relayFieldProblem(relay) !== undefined) {
      record.error = "InvalidRelayAddress";
      return;
    }
    if (callIndex === 17) {
      record.call = "createTwin";
      if (this.options.requireTerms && !this.#storage.has(hex(termsAndConditionsStorageKey(ext.accountId)))) {
        record.error = "UserDidNotSignTermsAndConditions";
        return;
      }
      if (existingId !== undefined) {
        record.error = "TwinWithPubkeyExists";
        return;
      }
      this.putTwin({ id: this.#twinCount + 1, accountId: ext.accountId, relay, entities: [], pk });
      record.ok = true;
    } else if (callIndex === 18) {
      record.call = "updateTwin";
      if (existingId === undefined) {
        record.error = "TwinNotExists";
        return;
      }
      const id = new DataView(unhex(existingId).buffer).getUint32(0, true);
      const twin = this.twin(id);
      if (twin === undefined) {
        record.error = "TwinNotExists";
        return;
      }
      this.putTwin({ ...twin, relay, pk });
      record.ok = true;
    } else {
      record.error = `unknown call index ${callIndex}`;
    }
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
