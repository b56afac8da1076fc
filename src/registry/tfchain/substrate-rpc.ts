import WebSocket, { type RawData } from "ws";
import { InvalidArgumentError } from "../../errors.js";
import { SubstrateRpcError } from "./errors.js";

/** A JSON value as JSON-RPC carries it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of {@link SubstrateRpcClient}. Times are in milliseconds. */
export interface SubstrateRpcOptions {
  /** WebSocket URLs of substrate nodes (`wss://…`), tried in order; the client fails over to the next one. */
  urls: readonly string[];
  /** How long a request may take, including any wait for a connection. @default 10000 */
  requestTimeout?: number;
  /** How long opening a WebSocket to one URL may take (rmb-rs uses 12 s). @default 12000 */
  connectTimeout?: number;
  /** Delay before the second round of reconnect attempts; doubles each round up to `maxReconnectDelay`. @default 1000 */
  reconnectDelay?: number;
  /** Longest delay between reconnect rounds (rmb-rs backs off from 1 s to 6 s). @default 6000 */
  maxReconnectDelay?: number;
  /** Rounds through all `urls` that `start()` tries before it gives up (rmb-rs: 2 × N attempts). @default 2 */
  startRounds?: number;
  /** Most requests waiting for an answer or a connection; more are refused (reason `overload`). @default 1000 */
  maxPendingRequests?: number;
  /** Largest message accepted from a node, in bytes (ws `maxPayload`). @default 16777216 */
  maxMessageSize?: number;
}

/** Defaults of {@link SubstrateRpcOptions}. */
export const SUBSTRATE_RPC_DEFAULTS = {
  requestTimeout: 10_000,
  connectTimeout: 12_000,
  reconnectDelay: 1_000,
  maxReconnectDelay: 6_000,
  startRounds: 2,
  maxPendingRequests: 1_000,
  maxMessageSize: 16 * 1024 * 1024,
} as const satisfies Required<Omit<SubstrateRpcOptions, "urls">>;

/** Connection events of a {@link SubstrateRpcClient}. */
export type SubstrateRpcStatus =
  /** A WebSocket to `url` is open; `reconnected` is true for every connection after the first. */
  | { kind: "connected"; url: string; reconnected: boolean }
  /** The connection to `url` was lost (the client reconnects unless closed). */
  | { kind: "disconnected"; url: string; reason: string }
  /** `close()` was called. */
  | { kind: "closed" };

/** Per-request options. */
export interface RpcRequestOptions {
  /**
   * Whether the request may be sent again on a new connection when the connection is lost before the answer
   * (reads: yes; submitting a transaction: no — it fails with reason `connection` instead). @default true
   */
  idempotent?: boolean;
  /** Overrides `requestTimeout` for this request. */
  timeout?: number;
}

/** How to open a subscription (e.g. `chain_subscribeNewHeads` / `chain_unsubscribeNewHeads`). */
export interface RpcSubscribeSpec {
  method: string;
  params: JsonValue[];
  unsubscribeMethod: string;
  /**
   * Subscribe again (with a new id) after a reconnect. When false, losing the connection ends the subscription
   * with `onError` (reason `connection`).
   */
  resubscribe: boolean;
}

/** A live subscription. */
export interface RpcSubscription {
  /** False once unsubscribed, ended by an error, or the client closed. */
  readonly active: boolean;
  /** Stops the subscription (best effort on the node side; never throws). */
  unsubscribe(): Promise<void>;
}

interface PendingRequest {
  method: string;
  params: JsonValue[];
  idempotent: boolean;
  id: number | undefined;
  sent: boolean;
  timer: NodeJS.Timeout;
  resolve: (value: JsonValue) => void;
  reject: (error: Error) => void;
}

interface SubscriptionState {
  spec: RpcSubscribeSpec;
  onNotification: (result: JsonValue) => void;
  onError: (error: SubstrateRpcError) => void;
  serverId: string | undefined;
  active: boolean;
  establishing: boolean;
}

type ClientState = "idle" | "starting" | "running" | "closed";

/** Most unknown subscription ids whose notifications are kept while subscriptions are being established. */
const MAX_EARLY_IDS = 64;
/** Most notifications kept per unknown subscription id. */
const MAX_EARLY_NOTIFICATIONS = 16;

/**
 * A JSON-RPC 2.0 client for substrate nodes over WebSocket.
 *
 * - `start()` connects to the first reachable URL (up to `startRounds` rounds through `urls`).
 * - When the connection drops, the client reconnects in the background, rotating to the next URL; the first round
 *   through the URLs is immediate, then rounds are spaced by `reconnectDelay` doubling up to `maxReconnectDelay`.
 * - Requests wait for a connection within their timeout; idempotent ones are re-sent after a reconnect.
 * - Subscriptions with `resubscribe` are renewed after a reconnect; listeners of {@link onStatus} learn about it
 *   (`connected` with `reconnected: true`) and must assume notifications were missed in between.
 *
 * Every failure is a {@link SubstrateRpcError} (`rpc`, `timeout`, `connection`, `protocol`, `overload`).
 */
export class SubstrateRpcClient {
  readonly urls: readonly string[];
  readonly #options: Required<Omit<SubstrateRpcOptions, "urls">>;
  #state: ClientState = "idle";
  #socket: WebSocket | undefined;
  #connecting: WebSocket | undefined;
  #url: string | undefined;
  #urlIndex = 0;
  #attempt = 0;
  #connections = 0;
  #lastError: Error | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  readonly #inflight = new Map<number, PendingRequest>();
  readonly #waiting = new Set<PendingRequest>();
  readonly #subscriptions = new Set<SubscriptionState>();
  readonly #subscriptionsById = new Map<string, SubscriptionState>();
  readonly #statusListeners = new Set<(status: SubstrateRpcStatus) => void>();
  readonly #closeReasons = new WeakMap<WebSocket, string>();
  /**
   * Notifications for subscription ids not registered yet. A node may send the first notification right after the
   * subscription id (substrate does for new heads and storage), and both can arrive in one read: the second message
   * is then handled before the code waiting for the id has run. They are delivered once the id is registered.
   */
  readonly #early = new Map<string, JsonValue[]>();

  constructor(options: SubstrateRpcOptions) {
    this.urls = validateUrls(options.urls);
    this.#options = {
      requestTimeout: positive(
        "requestTimeout",
        options.requestTimeout,
        SUBSTRATE_RPC_DEFAULTS.requestTimeout,
      ),
      connectTimeout: positive(
        "connectTimeout",
        options.connectTimeout,
        SUBSTRATE_RPC_DEFAULTS.connectTimeout,
      ),
      reconnectDelay: positive(
        "reconnectDelay",
        options.reconnectDelay,
        SUBSTRATE_RPC_DEFAULTS.reconnectDelay,
      ),
      maxReconnectDelay: positive(
        "maxReconnectDelay",
        options.maxReconnectDelay,
        SUBSTRATE_RPC_DEFAULTS.maxReconnectDelay,
      ),
      startRounds: positive("startRounds", options.startRounds, SUBSTRATE_RPC_DEFAULTS.startRounds),
      maxPendingRequests: positive(
        "maxPendingRequests",
        options.maxPendingRequests,
        SUBSTRATE_RPC_DEFAULTS.maxPendingRequests,
      ),
      maxMessageSize: positive(
        "maxMessageSize",
        options.maxMessageSize,
        SUBSTRATE_RPC_DEFAULTS.maxMessageSize,
      ),
    };
  }

  /** The URL of the open connection, if any. */
  get url(): string | undefined {
    return this.#socket === undefined ? undefined : this.#url;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** Requests waiting for an answer or for a connection. */
  get pendingRequests(): number {
    return this.#inflight.size + this.#waiting.size;
  }

  /** Calls `listener` on every {@link SubstrateRpcStatus} change; returns a function that stops it. */
  onStatus(listener: (status: SubstrateRpcStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /**
   * Connects to the first reachable URL. Rejects with reason `connection` when none answers in `startRounds` rounds
   * (the client can then be started again) or when `close()` is called meanwhile.
   */
  async start(): Promise<void> {
    if (this.#state === "running" || this.#state === "starting") {
      throw new SubstrateRpcError("connection", "the substrate client is already started");
    }
    if (this.#state === "closed") throw new SubstrateRpcError("connection", "the substrate client is closed");
    this.#state = "starting";
    const rounds = this.#options.startRounds;
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await delay(this.#backoff(round));
      for (let i = 0; i < this.urls.length; i++) {
        if (this.#state !== "starting") throw this.#closedError();
        const url = this.urls[this.#urlIndex] as string;
        try {
          const socket = await this.#open(url);
          if (this.#state !== "starting") {
            socket.terminate();
            throw this.#closedError();
          }
          this.#state = "running";
          this.#attach(socket, url);
          return;
        } catch (err) {
          if (this.#state !== "starting") throw this.#closedError();
          this.#lastError = err instanceof Error ? err : new Error(String(err));
          this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
        }
      }
    }
    if (this.#state === "starting") this.#state = "idle";
    throw new SubstrateRpcError(
      "connection",
      `cannot connect to any substrate node (${this.urls.join(", ")}): ${this.#lastError?.message ?? "unknown error"}`,
      { cause: this.#lastError },
    );
  }

  /** Closes the connection and fails everything pending with reason `connection`. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#connecting?.terminate();
    this.#connecting = undefined;
    const error = this.#closedError();
    for (const pending of [...this.#inflight.values(), ...this.#waiting]) this.#settle(pending, error);
    for (const sub of this.#subscriptions) sub.active = false;
    this.#subscriptions.clear();
    this.#subscriptionsById.clear();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await closeSocket(socket);
    this.#emit({ kind: "closed" });
  }

  /**
   * Drops the current connection (e.g. because the node stopped producing blocks) and reconnects to the next URL.
   * Pending idempotent requests are re-sent on the new connection.
   */
  reconnect(reason: string): void {
    const socket = this.#socket;
    if (socket === undefined || this.#state !== "running") return;
    this.#closeReasons.set(socket, reason);
    socket.terminate();
  }

  /** Calls `method` with `params`; resolves with the node's `result`. Rejects with {@link SubstrateRpcError}. */
  request(method: string, params: JsonValue[] = [], options: RpcRequestOptions = {}): Promise<JsonValue> {
    if (this.#state !== "running") {
      return Promise.reject(
        this.#state === "closed"
          ? this.#closedError(method)
          : new SubstrateRpcError("connection", "the substrate client is not started", { method }),
      );
    }
    if (this.pendingRequests >= this.#options.maxPendingRequests) {
      return Promise.reject(
        new SubstrateRpcError(
          "overload",
          `too many pending substrate requests (maxPendingRequests ${this.#options.maxPendingRequests})`,
          { method },
        ),
      );
    }
    const timeout = options.timeout ?? this.#options.requestTimeout;
    return new Promise<JsonValue>((resolve, reject) => {
      const pending: PendingRequest = {
        method,
        params,
        idempotent: options.idempotent ?? true,
        id: undefined,
        sent: false,
        resolve,
        reject,
        timer: setTimeout(() => {
          const error = pending.sent
            ? new SubstrateRpcError("timeout", `substrate request ${method} timed out after ${timeout} ms`, {
                method,
              })
            : new SubstrateRpcError(
                "connection",
                `no substrate node reachable within ${timeout} ms for ${method}` +
                  (this.#lastError === undefined ? "" : `: ${this.#lastError.message}`),
                { method, cause: this.#lastError },
              );
          this.#settle(pending, error);
        }, timeout),
      };
      if (this.#socket !== undefined) this.#send(pending, this.#socket);
      else this.#waiting.add(pending);
    });
  }

  /**
   * Opens a subscription; `onNotification` receives each notification's `result`, `onError` a failure that ends it
   * (or, with `resubscribe`, a failed renewal after a reconnect, after which the client reconnects again).
   */
  async subscribe(
    spec: RpcSubscribeSpec,
    onNotification: (result: JsonValue) => void,
    onError: (error: SubstrateRpcError) => void = () => {},
  ): Promise<RpcSubscription> {
    const sub: SubscriptionState = {
      spec,
      onNotification,
      onError,
      serverId: undefined,
      active: true,
      establishing: false,
    };
    this.#subscriptions.add(sub);
    try {
      await this.#establish(sub);
    } catch (err) {
      sub.active = false;
      this.#subscriptions.delete(sub);
      throw err;
    }
    return {
      get active() {
        return sub.active;
      },
      unsubscribe: () => this.#unsubscribe(sub),
    };
  }

  async #establish(sub: SubscriptionState): Promise<void> {
    sub.establishing = true;
    let result: JsonValue;
    try {
      result = await this.request(sub.spec.method, sub.spec.params, { idempotent: sub.spec.resubscribe });
    } finally {
      sub.establishing = false;
    }
    if (typeof result !== "string" && typeof result !== "number") {
      throw new SubstrateRpcError("protocol", `${sub.spec.method} did not return a subscription id`, {
        method: sub.spec.method,
      });
    }
    const serverId = String(result);
    const early = this.#early.get(serverId);
    this.#early.delete(serverId);
    if (!sub.active) {
      this.#sendUnsubscribe(sub.spec.unsubscribeMethod, serverId);
      return;
    }
    sub.serverId = serverId;
    this.#subscriptionsById.set(serverId, sub);
    for (const notification of early ?? []) {
      if (sub.active && sub.serverId === serverId) sub.onNotification(notification);
    }
  }

  async #unsubscribe(sub: SubscriptionState): Promise<void> {
    if (!sub.active) return;
    sub.active = false;
    this.#subscriptions.delete(sub);
    const serverId = sub.serverId;
    sub.serverId = undefined;
    if (serverId === undefined) return;
    this.#subscriptionsById.delete(serverId);
    await this.#sendUnsubscribe(sub.spec.unsubscribeMethod, serverId);
  }

  async #sendUnsubscribe(method: string, serverId: string): Promise<void> {
    if (this.#socket === undefined || this.#state !== "running") return;
    try {
      await this.request(method, [serverId], { idempotent: false });
    } catch {
      // Best effort: the node drops the subscription with the connection anyway.
    }
  }

  #backoff(round: number): number {
    return Math.min(this.#options.reconnectDelay * 2 ** (round - 1), this.#options.maxReconnectDelay);
  }

  #open(url: string): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const timeout = this.#options.connectTimeout;
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, {
          handshakeTimeout: timeout,
          maxPayload: this.#options.maxMessageSize,
          perMessageDeflate: false,
        });
      } catch (err) {
        reject(
          new SubstrateRpcError("connection", `cannot connect to ${url}: ${message(err)}`, { cause: err }),
        );
        return;
      }
      this.#connecting = socket;
      let done = false;
      const fail = (text: string, cause?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.#connecting === socket) this.#connecting = undefined;
        socket.terminate();
        reject(new SubstrateRpcError("connection", `cannot connect to ${url}: ${text}`, { cause }));
      };
      const timer = setTimeout(() => fail(`no connection within ${timeout} ms`), timeout);
      socket.on("error", (err: Error) => fail(err.message, err));
      socket.once("close", () => fail("connection closed during the handshake"));
      socket.once("open", () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.#connecting === socket) this.#connecting = undefined;
        socket.removeAllListeners("close");
        resolve(socket);
      });
    });
  }

  #attach(socket: WebSocket, url: string): void {
    this.#socket = socket;
    this.#url = url;
    this.#attempt = 0;
    this.#connections += 1;
    socket.on("message", (data: RawData) => this.#onMessage(data));
    socket.on("error", (err: Error) => {
      this.#lastError = err;
    });
    socket.on("close", () => this.#onClose(socket, url));
    for (const pending of this.#waiting) {
      this.#waiting.delete(pending);
      this.#send(pending, socket);
    }
    this.#emit({ kind: "connected", url, reconnected: this.#connections > 1 });
    for (const sub of this.#subscriptions) {
      if (!sub.active || sub.serverId !== undefined || sub.establishing) continue;
      this.#establish(sub).catch((err: unknown) => {
        if (!sub.active) return;
        const error =
          err instanceof SubstrateRpcError
            ? err
            : new SubstrateRpcError("protocol", `cannot renew ${sub.spec.method}: ${message(err)}`);
        sub.onError(error);
        this.reconnect(`cannot renew ${sub.spec.method}: ${error.message}`);
      });
    }
  }

  #onClose(socket: WebSocket, url: string): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    const reason = this.#closeReasons.get(socket) ?? this.#lastError?.message ?? "connection closed";
    const lost = new SubstrateRpcError("connection", `connection to ${url} lost: ${reason}`);
    for (const pending of this.#inflight.values()) {
      if (pending.idempotent) {
        pending.id = undefined;
        this.#waiting.add(pending);
      } else {
        this.#settle(pending, new SubstrateRpcError("connection", lost.message, { method: pending.method }));
      }
    }
    this.#inflight.clear();
    this.#subscriptionsById.clear();
    this.#early.clear();
    for (const sub of this.#subscriptions) {
      sub.serverId = undefined;
      if (!sub.spec.resubscribe && sub.active && !sub.establishing) {
        sub.active = false;
        this.#subscriptions.delete(sub);
        sub.onError(new SubstrateRpcError("connection", lost.message, { method: sub.spec.method }));
      }
    }
    this.#emit({ kind: "disconnected", url, reason });
    if (this.#state !== "running") return;
    this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state !== "running" || this.#reconnectTimer !== undefined || this.#socket !== undefined) return;
    const round = Math.floor(this.#attempt / this.urls.length);
    const wait = round === 0 ? 0 : this.#backoff(round);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#attempt += 1;
      const url = this.urls[this.#urlIndex] as string;
      this.#open(url).then(
        (socket) => {
          if (this.#state !== "running") {
            socket.terminate();
            return;
          }
          this.#attach(socket, url);
        },
        (err: unknown) => {
          this.#lastError = err instanceof Error ? err : new Error(String(err));
          this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
          this.#scheduleReconnect();
        },
      );
    }, wait);
  }

  #send(pending: PendingRequest, socket: WebSocket): void {
    const id = this.#nextId++;
    pending.id = id;
    pending.sent = true;
    this.#inflight.set(id, pending);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method: pending.method, params: pending.params }));
  }

  #settle(pending: PendingRequest, outcome: Error | { result: JsonValue }): void {
    clearTimeout(pending.timer);
    this.#waiting.delete(pending);
    if (pending.id !== undefined && this.#inflight.get(pending.id) === pending)
      this.#inflight.delete(pending.id);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome.result);
  }

  #onMessage(data: RawData): void {
    let message: unknown;
    try {
      message = JSON.parse(rawToString(data));
    } catch {
      return; // Not JSON: nothing can be matched to it.
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) return;
    const record = message as { [key: string]: JsonValue | undefined };
    if (typeof record.id === "number") {
      const pending = this.#inflight.get(record.id);
      if (pending === undefined) return;
      const error = record.error;
      if (error !== undefined && error !== null) {
        this.#settle(pending, rpcError(pending.method, error));
      } else if ("result" in record) {
        this.#settle(pending, { result: record.result ?? null });
      } else {
        this.#settle(
          pending,
          new SubstrateRpcError("protocol", `answer to ${pending.method} has neither result nor error`, {
            method: pending.method,
          }),
        );
      }
      return;
    }
    const params = record.params;
    if (typeof record.method !== "string" || typeof params !== "object" || params === null) return;
    if (Array.isArray(params)) return;
    const subscription = params.subscription;
    if (typeof subscription !== "string" && typeof subscription !== "number") return;
    const sub = this.#subscriptionsById.get(String(subscription));
    if (sub === undefined) {
      this.#keepEarly(String(subscription), params.result ?? null);
      return;
    }
    if (!sub.active) return;
    sub.onNotification(params.result ?? null);
  }

  /** Keeps a notification for an id that a subscription being established may be about to get (bounded). */
  #keepEarly(serverId: string, result: JsonValue): void {
    let establishing = false;
    for (const sub of this.#subscriptions) establishing ||= sub.establishing;
    if (!establishing) return;
    let list = this.#early.get(serverId);
    if (list === undefined) {
      if (this.#early.size >= MAX_EARLY_IDS) {
        const oldest = this.#early.keys().next();
        if (oldest.done !== true) this.#early.delete(oldest.value);
      }
      list = [];
      this.#early.set(serverId, list);
    }
    if (list.length < MAX_EARLY_NOTIFICATIONS) list.push(result);
  }

  #emit(status: SubstrateRpcStatus): void {
    for (const listener of this.#statusListeners) listener(status);
  }

  #closedError(method?: string): SubstrateRpcError {
    return new SubstrateRpcError(
      "connection",
      "the substrate client is closed",
      method === undefined ? undefined : { method },
    );
  }
}

function rpcError(method: string, error: JsonValue): SubstrateRpcError {
  if (typeof error === "object" && error !== null && !Array.isArray(error)) {
    const code = typeof error.code === "number" ? error.code : undefined;
    const text = typeof error.message === "string" ? error.message : "error";
    const data = error.data;
    const detail =
      data === undefined || data === null
        ? ""
        : `: ${typeof data === "string" ? data : JSON.stringify(data)}`;
    const options: { method: string; rpcCode?: number; data?: unknown } = { method, data };
    if (code !== undefined) options.rpcCode = code;
    return new SubstrateRpcError("rpc", `${method} failed (${code ?? "no code"}): ${text}${detail}`, options);
  }
  return new SubstrateRpcError("rpc", `${method} failed: ${JSON.stringify(error)}`, { method, data: error });
}

function validateUrls(urls: unknown): readonly string[] {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new InvalidArgumentError("options.urls", "expected a non-empty array of ws:// or wss:// URLs");
  }
  return urls.map((url: unknown, i) => {
    if (typeof url !== "string") throw new InvalidArgumentError(`options.urls[${i}]`, "expected a string");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidArgumentError(`options.urls[${i}]`, `not a URL: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new InvalidArgumentError(
        `options.urls[${i}]`,
        `expected ws:// or wss://, got ${parsed.protocol}`,
      );
    }
    return url;
  });
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`options.${name}`, `expected a positive integer, got ${String(value)}`);
  }
  return value;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function closeSocket(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) {
      resolve();
      return;
    }
    const timer = setTimeout(() => socket.terminate(), 1_000);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1000);
  });
}
