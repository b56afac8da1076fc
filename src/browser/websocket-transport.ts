import { InvalidArgumentError } from "../errors.js";
import { assertBytes, assertInteger } from "../guards.js";
import type { Signer } from "../identity/signer.js";
import {
  atDeadline,
  parseRelayUrl,
  RELAY_EXPIRED_MESSAGE,
  RELAY_STOPPED_MESSAGE,
  type RelayLinkInfo,
  type RelayLinkState,
  type RelayLinkStats,
  type RelayLog,
  RelayUnavailableError,
} from "../peer/relay-link.js";
import { RELAY_POOL_DEFAULTS, type RelayPoolOptions } from "../peer/relay-pool.js";
import { addressOfSession, decodeEnvelope, type Envelope, encodeEnvelope } from "../protocol/index.js";
import { createJwt } from "../protocol/jwt.js";
import type { RelayTransport, RelayTransportFactory } from "../sdk/relay-transport.js";

/**
 * A {@link RelayTransport} over the standard `WebSocket` API (browsers; also Deno, Node ≥ 22, or the `ws` package
 * when passed as `WebSocket`): what `RmbClient` uses in a browser. It behaves like the Node `RelayPool`: one link
 * per relay URL, a fresh login token (JWT) on every (re)connect, reconnects with exponential backoff and jitter,
 * failover (a frame goes to the link that last took one, then the others), `send` waits for an open link until its
 * deadline. Where a browser differs:
 *
 * - **Keep-alive.** A page cannot send websocket ping frames, so after `pingAfterIdle` ms without sending, the link
 *   sends an RMB app-level ping envelope (wire spec §4.5); the relay answers with a pong envelope, which this
 *   transport swallows. After `silenceTimeout` ms without receiving anything the link is dropped and remade.
 * - **No pause.** A browser websocket cannot stop reading. `pauseReading(true)` queues received frames (at most
 *   `maxPausedFrames`, in order) and delivers them on `pauseReading(false)`; a frame arriving while the queue is
 *   full is dropped, counted in `stats.droppedFrames` and logged (its sender's call times out).
 * - **Backpressure.** There is no write callback: a frame counts as sent once handed to the socket. While a link's
 *   `bufferedAmount` exceeds `maxBufferedBytes`, frames wait (in order, polled every `drainInterval` ms) until
 *   their deadline.
 * - **Handshake errors.** A browser does not expose why a handshake failed (HTTP status, body): the log says
 *   only that it failed.
 *
 * @example
 * ```ts
 * const client = await RmbClient.connect({ identity, registry, relays: ["wss://relay.grid.tf"],
 *   transport: createWebSocketTransport() });
 * ```
 */

/** The part of the standard `WebSocket` API this transport uses. */
export interface StandardWebSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor (the global one in a browser). */
export type WebSocketConstructor = new (url: string) => StandardWebSocket;

/** `readyState` values of the standard API. */
const OPEN = 1;
const CONNECTING = 0;

/** Defaults of the options only this transport has. */
export const WEBSOCKET_TRANSPORT_DEFAULTS = {
  maxPausedFrames: 10_000,
  drainInterval: 10,
} as const;

/** Options only this transport has (next to the `RelayPoolOptions` the client computes). */
export interface WebSocketTransportExtras {
  /** The `WebSocket` implementation. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Frames queued while reading is paused; beyond it, frames are dropped (and counted). @default 10000 */
  maxPausedFrames?: number;
  /** Milliseconds between `bufferedAmount` checks while a frame waits for room. @default 10 */
  drainInterval?: number;
}

/**
 * Options of {@link WebSocketTransport}: the `RelayPoolOptions` (relays, signer, twin, session, callbacks and timers;
 * `pingAfterIdle` sends an app-level ping envelope here; `maxPayload` drops larger frames instead of the connection;
 * `closeTimeout` bounds how long `stop()` waits for a close handshake) plus {@link WebSocketTransportExtras}.
 */
export type WebSocketTransportOptions = RelayPoolOptions & WebSocketTransportExtras;

/** Counters of one link; `pings` counts app-level ping envelopes. */
export interface WebSocketLinkStats extends RelayLinkStats {
  /** Pong envelopes received in answer to this link's pings (not passed to `onFrame`). */
  pongs: number;
  /** Frames dropped: larger than `maxPayload`, or arriving while the paused queue was full. */
  droppedFrames: number;
}

/** What applications may read of a link. */
export interface WebSocketLinkInfo extends RelayLinkInfo {
  readonly stats: Readonly<WebSocketLinkStats>;
}

interface Settings {
  WebSocket: WebSocketConstructor;
  signer: Signer;
  twin: number;
  session: string | undefined;
  jwtTtl: number;
  clock: () => number;
  reconnectDelay: number;
  maxReconnectDelay: number;
  connectTimeout: number;
  closeTimeout: number;
  pingAfterIdle: number;
  silenceTimeout: number;
  maxBufferedBytes: number;
  maxPayload: number;
  maxPausedFrames: number;
  drainInterval: number;
  onFrame: (bytes: Uint8Array, link: WebSocketLink) => void;
  onStateChange: (link: WebSocketLink, state: RelayLinkState) => void;
  log: RelayLog;
}

type Timer = ReturnType<typeof setTimeout>;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: { cancel(): void };
}

interface DrainWaiter extends Waiter {
  bytes: Uint8Array;
}

const MAX_DELAY = 2 ** 31 - 1;
/** Pong frames are small: frames up to this size are checked for being one of our pongs. */
const MAX_PONG_SIZE = 1024;
/** Ping uids a link remembers (to recognise their pongs). */
const MAX_PING_UIDS = 8;

function intOption(
  options: WebSocketTransportOptions,
  name: keyof typeof RELAY_POOL_DEFAULTS | keyof typeof WEBSOCKET_TRANSPORT_DEFAULTS,
  fallback: number,
): number {
  const value = (options as unknown as Record<string, unknown>)[name] ?? fallback;
  assertInteger(name, value, 1, MAX_DELAY);
  return value;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function")
    throw new InvalidArgumentError(name, "expected a function");
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ignore(): void {}

function randomHex(bytes: number): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** One websocket to one relay. Built and driven by {@link WebSocketTransport}. */
export class WebSocketLink implements WebSocketLinkInfo {
  readonly url: string;
  readonly stats: WebSocketLinkStats = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    pings: 0,
    pongs: 0,
    textFrames: 0,
    droppedFrames: 0,
  };
  readonly #base: string;
  readonly #s: Settings;
  #state: RelayLinkState = "closed";
  #running = false;
  #ws: StandardWebSocket | undefined;
  /** The token of the current socket, only to scrub it from error texts. */
  #token = "";
  /** Reconnect delay while closed, handshake timeout while connecting, keep-alive check while open. */
  #timer: Timer | undefined;
  #drainTimer: Timer | undefined;
  #attempt = 0;
  #openedAt = 0;
  #lastSent = 0;
  #lastReceived = 0;
  #receivedSinceOpen = false;
  #failure: string | undefined;
  readonly #pingUids: string[] = [];
  readonly #drainWaiters: DrainWaiter[] = [];
  readonly #closeWaiters: (() => void)[] = [];

  constructor(url: string, settings: Settings) {
    const parsed = parseRelayUrl("url", url);
    this.#base = parsed.base;
    this.url = parsed.display;
    this.#s = settings;
  }

  get state(): RelayLinkState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#state === "open" && this.#ws?.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    if (this.#ws === undefined) this.#connect();
  }

  /** Closes the socket (close handshake, at most `closeTimeout` ms) and stops reconnecting. */
  stop(): Promise<void> {
    this.#running = false;
    this.#clearTimer();
    this.#rejectDrainWaiters(new RelayUnavailableError(RELAY_STOPPED_MESSAGE));
    const ws = this.#ws;
    if (ws === undefined) {
      this.#setState("closed");
      return Promise.resolve();
    }
    const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    try {
      ws.close(1000, "client stopping");
    } catch {
      // already closing
    }
    // A dead connection may never finish the close handshake: give up on it after closeTimeout.
    const giveUp = setTimeout(
      () => this.#onClose(ws, 1006, "close handshake timed out"),
      this.#s.closeTimeout,
    );
    return closed.finally(() => clearTimeout(giveUp));
  }

  /** Hands `bytes` to the socket as one binary frame, after the frames waiting for buffer room. */
  send(bytes: Uint8Array, deadline: number): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined || !this.isOpen) {
      return Promise.reject(new RelayUnavailableError(`relay ${this.url} is not connected`));
    }
    if (this.#drainWaiters.length === 0 && ws.bufferedAmount <= this.#s.maxBufferedBytes) {
      try {
        this.#write(ws, bytes);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: DrainWaiter = {
        bytes,
        resolve,
        reject,
        timer: atDeadline(deadline, () => {
          const i = this.#drainWaiters.indexOf(waiter);
          if (i >= 0) this.#drainWaiters.splice(i, 1);
          reject(
            new RelayUnavailableError(
              `relay ${this.url} did not drain its send buffer before the message expired`,
            ),
          );
        }),
      };
      this.#drainWaiters.push(waiter);
      this.#armDrain();
    });
  }

  #write(ws: StandardWebSocket, bytes: Uint8Array): void {
    ws.send(bytes);
    this.#lastSent = Date.now();
    this.stats.framesOut += 1;
    this.stats.bytesOut += bytes.length;
  }

  #armDrain(): void {
    if (this.#drainTimer !== undefined) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      const ws = this.#ws;
      if (ws === undefined || !this.isOpen) return; // close rejects the waiters
      while (this.#drainWaiters.length > 0 && ws.bufferedAmount <= this.#s.maxBufferedBytes) {
        const waiter = this.#drainWaiters.shift()!;
        waiter.timer.cancel();
        try {
          this.#write(ws, waiter.bytes);
          waiter.resolve();
        } catch (err) {
          waiter.reject(err);
        }
      }
      if (this.#drainWaiters.length > 0) this.#armDrain();
    }, this.#s.drainInterval);
  }

  #rejectDrainWaiters(err: Error): void {
    for (const waiter of this.#drainWaiters.splice(0)) {
      waiter.timer.cancel();
      waiter.reject(err);
    }
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  #connect(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    let token: string;
    try {
      token = createJwt(this.#s.signer, {
        twin: this.#s.twin,
        ttl: this.#s.jwtTtl,
        iat: this.#s.clock(),
        ...(this.#s.session === undefined ? {} : { sid: this.#s.session }),
      });
    } catch (err) {
      this.stats.connectFailures += 1;
      this.#scheduleReconnect(`cannot create a login token: ${errorText(err)}`);
      return;
    }
    this.#token = token;
    this.#failure = undefined;
    this.#setState("connecting");
    this.#s.log("debug", `connecting to ${this.url}`);
    let ws: StandardWebSocket;
    try {
      ws = new this.#s.WebSocket(`${this.#base}?${token}`);
    } catch (err) {
      this.stats.connectFailures += 1;
      this.#scheduleReconnect(`cannot connect to ${this.url}: ${this.#scrub(errorText(err))}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    ws.onopen = () => this.#onOpen(ws);
    ws.onmessage = (event) => this.#onMessage(ws, event.data);
    ws.onerror = () => {
      this.#failure ??= "websocket error";
    };
    ws.onclose = (event) => this.#onClose(ws, event.code, event.reason);
    this.#timer = setTimeout(() => {
      if (ws !== this.#ws || ws.readyState !== CONNECTING) return;
      this.#failure = `no handshake within ${this.#s.connectTimeout} ms`;
      this.#drop(ws);
    }, this.#s.connectTimeout);
  }

  #onOpen(ws: StandardWebSocket): void {
    if (ws !== this.#ws) return;
    const now = Date.now();
    this.#openedAt = now;
    this.#lastSent = now;
    this.#lastReceived = now;
    this.#receivedSinceOpen = false;
    this.stats.connects += 1;
    this.#s.log("info", `connected to ${this.url}`);
    this.#armKeepalive();
    this.#setState("open");
  }

  #onMessage(ws: StandardWebSocket, data: unknown): void {
    if (ws !== this.#ws) return;
    this.#lastReceived = Date.now();
    this.#receivedSinceOpen = true;
    if (!(data instanceof ArrayBuffer)) {
      this.stats.textFrames += 1;
      this.#s.log("debug", `dropped a text frame from ${this.url}`);
      return;
    }
    const bytes = new Uint8Array(data);
    if (bytes.length > this.#s.maxPayload) {
      this.stats.droppedFrames += 1;
      this.#s.log(
        "warn",
        `dropped a ${bytes.length}-byte frame from ${this.url} (maxPayload ${this.#s.maxPayload})`,
      );
      return;
    }
    if (bytes.length <= MAX_PONG_SIZE && this.#isOurPong(bytes)) {
      this.stats.pongs += 1;
      return;
    }
    this.stats.framesIn += 1;
    this.stats.bytesIn += bytes.length;
    this.#s.onFrame(bytes, this);
  }

  #isOurPong(bytes: Uint8Array): boolean {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      return false; // the client reports undecodable frames
    }
    if (env.message?.kind !== "pong") return false;
    const i = this.#pingUids.indexOf(env.uid);
    if (i < 0) return false;
    this.#pingUids.splice(i, 1);
    return true;
  }

  #onClose(ws: StandardWebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = ignore; // some implementations (the `ws` package) throw on an error event nobody listens to
    this.#ws = undefined;
    this.#clearTimer();
    const wasOpen = this.#state === "open";
    this.#rejectDrainWaiters(new RelayUnavailableError(`relay ${this.url} disconnected`));
    let what: string;
    if (wasOpen) {
      this.stats.disconnects += 1;
      // A connection that proved itself resets the backoff.
      if (this.#receivedSinceOpen || Date.now() - this.#openedAt >= this.#s.maxReconnectDelay)
        this.#attempt = 0;
      const detail = this.#failure ?? (reason === "" ? `code ${code}` : `code ${code} ${reason}`);
      what = `connection to ${this.url} closed (${this.#scrub(detail)})`;
    } else {
      this.stats.connectFailures += 1;
      // Browsers hide the HTTP answer of a refused handshake (401, 403, 429, …) on purpose.
      const detail = this.#failure ?? `code ${code}`;
      what = `cannot connect to ${this.url}: ${this.#scrub(detail)} (the browser does not tell why)`;
    }
    this.#setState("closed");
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
    if (this.#running) this.#scheduleReconnect(what);
    else this.#s.log("info", what);
  }

  /** Closes `ws` without waiting for the close handshake (which a dead connection never completes). */
  #drop(ws: StandardWebSocket): void {
    try {
      ws.close(4000, this.#failure ?? "dropped");
    } catch {
      // not closable in this state: it is going away anyway
    }
    this.#onClose(ws, 1006, "");
  }

  #scheduleReconnect(what: string): void {
    this.#setState("closed");
    if (!this.#running) return;
    // Exponential backoff with "equal jitter": half fixed, half random, capped at maxReconnectDelay.
    const ceiling = Math.min(
      this.#s.maxReconnectDelay,
      this.#s.reconnectDelay * 2 ** Math.min(this.#attempt, 30),
    );
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#attempt += 1;
    this.#s.log("warn", `${what}; reconnecting in ${delay} ms`);
    this.#clearTimer();
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  /** Due at the earlier of "idle long enough to ping" and "silent long enough to drop". */
  #armKeepalive(): void {
    this.#clearTimer();
    const due = Math.min(this.#lastSent + this.#s.pingAfterIdle, this.#lastReceived + this.#s.silenceTimeout);
    this.#timer = setTimeout(() => this.#onKeepalive(), Math.max(0, due - Date.now()));
  }

  #onKeepalive(): void {
    this.#timer = undefined;
    const ws = this.#ws;
    if (ws === undefined || this.#state !== "open") return;
    const now = Date.now();
    const silent = now - this.#lastReceived;
    if (silent >= this.#s.silenceTimeout) {
      this.#failure = `nothing received for ${silent} ms`;
      this.#drop(ws);
      return;
    }
    if (now - this.#lastSent >= this.#s.pingAfterIdle && ws.readyState === OPEN) {
      try {
        this.#write(ws, this.#ping(now));
        this.stats.pings += 1;
      } catch (err) {
        this.#s.log("debug", `ping to ${this.url} failed: ${errorText(err)}`);
      }
    }
    this.#armKeepalive();
  }

  /** The app-level ping (§4.5), as the official TS client sends it: from this session to an empty address,
   * unsigned (the relay answers without checking signatures). */
  #ping(now: number): Uint8Array {
    const uid = `ping-${randomHex(8)}`;
    this.#pingUids.push(uid);
    if (this.#pingUids.length > MAX_PING_UIDS) this.#pingUids.shift();
    return encodeEnvelope({
      uid,
      timestamp: Math.floor(now / 1000),
      expiration: Math.max(1, Math.ceil(this.#s.silenceTimeout / 1000)),
      source: addressOfSession(
        this.#s.session === undefined ? { twin: this.#s.twin } : { twin: this.#s.twin, sid: this.#s.session },
      ),
      destination: { twin: 0 },
      message: { kind: "ping" },
      relays: [],
    });
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #setState(state: RelayLinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#s.onStateChange(this, state);
  }

  /** Error texts may quote the URL; never let the token reach a log. */
  #scrub(text: string): string {
    return this.#token === "" ? text : text.split(this.#token).join("<jwt>");
  }
}

/** Validates `options` and fills in defaults; throws `InvalidArgumentError` naming the first bad option. */
function resolveSettings(
  options: WebSocketTransportOptions,
  onFrame: Settings["onFrame"],
  onLinkState: (state: RelayLinkState) => void,
): { urls: string[]; settings: Settings } {
  if (typeof options !== "object" || options === null)
    throw new InvalidArgumentError("options", "expected an object");
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? undefined;
  if (typeof WebSocketImpl !== "function") {
    throw new InvalidArgumentError(
      "WebSocket",
      "no WebSocket implementation: pass one (e.g. the `ws` package)",
    );
  }
  const maxRelays = intOption(options, "maxRelays", RELAY_POOL_DEFAULTS.maxRelays);
  const { relays } = options;
  if (!Array.isArray(relays)) throw new InvalidArgumentError("relays", "expected an array of relay URLs");
  if (relays.length === 0) throw new InvalidArgumentError("relays", "at least one relay URL is required");
  if (relays.length > maxRelays) {
    throw new InvalidArgumentError(
      "relays",
      `at most ${maxRelays} relay URLs are allowed, got ${relays.length}`,
    );
  }
  const seen = new Map<string, number>();
  relays.forEach((raw, i) => {
    const { base } = parseRelayUrl(`relays[${i}]`, raw);
    const first = seen.get(base);
    if (first !== undefined) throw new InvalidArgumentError(`relays[${i}]`, `duplicate of relays[${first}]`);
    seen.set(base, i);
  });
  const { signer, twin } = options;
  if (typeof signer !== "object" || signer === null || typeof signer.sign !== "function") {
    throw new InvalidArgumentError("signer", "expected a Signer");
  }
  assertInteger("twin", twin, 1, 0xffffffff);
  if (typeof options.onFrame !== "function") throw new InvalidArgumentError("onFrame", "expected a function");
  if (options.session !== undefined && typeof options.session !== "string") {
    throw new InvalidArgumentError("session", "expected a string");
  }
  const onStateChange = optionalFunction("onStateChange", options.onStateChange);
  const log = optionalFunction("log", options.log) ?? ((): void => undefined);
  const clock = optionalFunction("clock", options.clock) ?? ((): number => Math.floor(Date.now() / 1000));
  const reconnectDelay = intOption(options, "reconnectDelay", RELAY_POOL_DEFAULTS.reconnectDelay);
  const maxReconnectDelay = intOption(options, "maxReconnectDelay", RELAY_POOL_DEFAULTS.maxReconnectDelay);
  if (maxReconnectDelay < reconnectDelay) {
    throw new InvalidArgumentError("maxReconnectDelay", `must be >= reconnectDelay (${reconnectDelay})`);
  }
  const pingAfterIdle = intOption(options, "pingAfterIdle", RELAY_POOL_DEFAULTS.pingAfterIdle);
  const silenceTimeout = intOption(options, "silenceTimeout", RELAY_POOL_DEFAULTS.silenceTimeout);
  if (silenceTimeout <= pingAfterIdle) {
    throw new InvalidArgumentError("silenceTimeout", `must be greater than pingAfterIdle (${pingAfterIdle})`);
  }
  const settings: Settings = {
    WebSocket: WebSocketImpl,
    signer,
    twin,
    session: options.session,
    jwtTtl: intOption(options, "jwtTtl", RELAY_POOL_DEFAULTS.jwtTtl),
    clock,
    reconnectDelay,
    maxReconnectDelay,
    connectTimeout: intOption(options, "connectTimeout", RELAY_POOL_DEFAULTS.connectTimeout),
    closeTimeout: intOption(options, "closeTimeout", RELAY_POOL_DEFAULTS.closeTimeout),
    pingAfterIdle,
    silenceTimeout,
    maxBufferedBytes: intOption(options, "maxBufferedBytes", RELAY_POOL_DEFAULTS.maxBufferedBytes),
    maxPayload: intOption(options, "maxPayload", RELAY_POOL_DEFAULTS.maxPayload),
    maxPausedFrames: intOption(options, "maxPausedFrames", WEBSOCKET_TRANSPORT_DEFAULTS.maxPausedFrames),
    drainInterval: intOption(options, "drainInterval", WEBSOCKET_TRANSPORT_DEFAULTS.drainInterval),
    onFrame,
    onStateChange: (link, state) => {
      onLinkState(state);
      if (onStateChange === undefined) return;
      try {
        onStateChange(link, state);
      } catch (err) {
        log("warn", `onStateChange threw: ${errorText(err)}`);
      }
    },
    log,
  };
  return { urls: [...relays], settings };
}

/**
 * The browser's relay connections: one {@link WebSocketLink} per relay URL, frames merged into `onFrame`, `send`
 * with failover. See the module description for what differs from the Node `RelayPool`.
 */
export class WebSocketTransport implements RelayTransport {
  readonly #links: WebSocketLink[];
  /** Send order: the link that last took a frame first. */
  readonly #order: WebSocketLink[];
  readonly #openWaiters = new Set<Waiter>();
  readonly #paused: { bytes: Uint8Array; link: WebSocketLink }[] = [];
  readonly #onFrame: (bytes: Uint8Array, link: RelayLinkInfo) => void;
  readonly #log: RelayLog;
  readonly #maxPausedFrames: number;
  #reading = true;
  /** A drop while paused was logged (once per pause). */
  #dropWarned = false;
  #stopped = false;

  constructor(options: WebSocketTransportOptions) {
    const { urls, settings } = resolveSettings(
      options,
      (bytes, link) => this.#receive(bytes, link),
      (state) => {
        if (state === "open") this.#wakeOpenWaiters();
      },
    );
    this.#onFrame = options.onFrame;
    this.#log = settings.log;
    this.#maxPausedFrames = settings.maxPausedFrames;
    this.#links = urls.map((url) => new WebSocketLink(url, settings));
    this.#order = [...this.#links];
  }

  /** The links in configuration order. */
  get links(): readonly WebSocketLinkInfo[] {
    return this.#links;
  }

  get connectedCount(): number {
    return this.#links.filter((l) => l.isOpen).length;
  }

  /** Frames received while reading was paused, not yet delivered. */
  get pausedFrames(): number {
    return this.#paused.length;
  }

  start(): void {
    this.#stopped = false;
    for (const link of this.#links) link.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#rejectOpenWaiters(new RelayUnavailableError(RELAY_STOPPED_MESSAGE));
    this.#paused.length = 0;
    await Promise.all(this.#links.map((l) => l.stop()));
  }

  async waitConnected(timeoutMs: number): Promise<void> {
    assertInteger("timeoutMs", timeoutMs, 0, MAX_DELAY);
    if (this.#stopped) throw new RelayUnavailableError(RELAY_STOPPED_MESSAGE);
    if (this.connectedCount > 0) return;
    await this.#nextOpen(
      Date.now() + timeoutMs,
      () => new RelayUnavailableError(`no relay connection within ${timeoutMs} ms`),
    );
  }

  /**
   * Hands one frame to one relay: the first open link in the current order (the one that last took a frame
   * first); with none open, waits for one. Rejects with `RelayUnavailableError` when `deadline` (epoch ms) passes
   * first or the transport stops. A frame handed to a socket that dies before writing it is lost (the browser does
   * not say); the call it belongs to then times out.
   */
  async send(bytes: Uint8Array, deadline: number): Promise<void> {
    assertBytes("bytes", bytes);
    if (typeof deadline !== "number" || !Number.isFinite(deadline)) {
      throw new InvalidArgumentError("deadline", "expected a finite time in epoch milliseconds");
    }
    const failed = new Set<WebSocketLink>();
    let lastError: unknown;
    for (;;) {
      const cause = lastError === undefined ? undefined : { cause: lastError };
      if (this.#stopped) throw new RelayUnavailableError(RELAY_STOPPED_MESSAGE, cause);
      if (Date.now() >= deadline) throw new RelayUnavailableError(RELAY_EXPIRED_MESSAGE, cause);
      const link = this.#order.find((l) => l.isOpen && !failed.has(l));
      if (link === undefined) {
        await this.#nextOpen(deadline, () =>
          this.#stopped
            ? new RelayUnavailableError(RELAY_STOPPED_MESSAGE, cause)
            : new RelayUnavailableError(RELAY_EXPIRED_MESSAGE, cause),
        );
        failed.clear();
        continue;
      }
      try {
        await link.send(bytes, deadline);
        this.#promote(link);
        return;
      } catch (err) {
        lastError = err;
        failed.add(link);
        this.#log("debug", `sending via ${link.url} failed: ${errorText(err)}`);
      }
    }
  }

  /**
   * `true`: frames are queued instead of delivered (a browser websocket cannot stop reading), at most
   * `maxPausedFrames`; `false`: the queue is delivered in order, then frames flow again.
   */
  pauseReading(paused: boolean): void {
    this.#reading = !paused;
    if (paused) return;
    this.#dropWarned = false;
    const queued = this.#paused.splice(0);
    for (let i = 0; i < queued.length; i++) {
      if (!this.#reading) {
        // A handler paused again: the rest waits for the next resume, still first in line.
        this.#paused.unshift(...queued.slice(i));
        return;
      }
      const next = queued[i]!;
      this.#deliver(next.bytes, next.link);
    }
  }

  #receive(bytes: Uint8Array, link: WebSocketLink): void {
    if (this.#reading) {
      this.#deliver(bytes, link);
      return;
    }
    if (this.#paused.length >= this.#maxPausedFrames) {
      link.stats.droppedFrames += 1;
      if (!this.#dropWarned) {
        this.#dropWarned = true;
        this.#log(
          "warn",
          `dropping frames from the relays: ${this.#maxPausedFrames} frames already wait while reading is paused`,
        );
      }
      return;
    }
    this.#paused.push({ bytes, link });
  }

  #deliver(bytes: Uint8Array, link: WebSocketLink): void {
    try {
      this.#onFrame(bytes, link);
    } catch (err) {
      this.#log("warn", `onFrame threw for a frame from ${link.url}: ${errorText(err)}`);
    }
  }

  #promote(link: WebSocketLink): void {
    const i = this.#order.indexOf(link);
    if (i > 0) {
      this.#order.splice(i, 1);
      this.#order.unshift(link);
    }
  }

  #nextOpen(deadline: number, onTimeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: atDeadline(deadline, () => {
          this.#openWaiters.delete(waiter);
          reject(onTimeout());
        }),
      };
      this.#openWaiters.add(waiter);
    });
  }

  #wakeOpenWaiters(): void {
    for (const waiter of this.#openWaiters) {
      waiter.timer.cancel();
      waiter.resolve();
    }
    this.#openWaiters.clear();
  }

  #rejectOpenWaiters(err: Error): void {
    for (const waiter of this.#openWaiters) {
      waiter.timer.cancel();
      waiter.reject(err);
    }
    this.#openWaiters.clear();
  }
}

/**
 * A transport factory for `RmbClientOptions.transport`: `RmbClient.connect({ …, transport:
 * createWebSocketTransport() })`. `extras` are this transport's own options; `onCreate` receives the transport
 * (e.g. to read its links' stats).
 */
export function createWebSocketTransport(
  extras: WebSocketTransportExtras = {},
  onCreate?: (transport: WebSocketTransport) => void,
): RelayTransportFactory {
  return (options) => {
    const transport = new WebSocketTransport({ ...options, ...extras });
    onCreate?.(transport);
    return transport;
  };
}
