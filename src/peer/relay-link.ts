import type { ClientRequest, IncomingMessage } from "node:http";
import WebSocket, { type RawData } from "ws";
import { InvalidArgumentError, RmbError } from "../errors.js";
import type { Signer } from "../identity/signer.js";
import { createJwt } from "../protocol/jwt.js";
import { type Corkable, corkForThisTurn } from "./cork.js";

/**
 * One websocket to one relay for the peer's twin (wire spec §5.3, rmb-rs `src/peer/socket.rs`): a fresh JWT in the
 * query on every (re)connect, reconnects forever with exponential backoff and jitter, websocket pings when idle,
 * and a silence timeout. Links are built and driven by {@link RelayPool}; applications see them as
 * {@link RelayLinkInfo}.
 */

/**
 * No relay connection could take a message before its deadline, or the pool was stopped with the message pending.
 * (Defined here rather than in `relay-pool.ts` so that links can raise it without an import cycle.)
 */
export class RelayUnavailableError extends RmbError {
  constructor(message: string = RELAY_EXPIRED_MESSAGE, options?: { cause?: unknown }) {
    super("RMB_ERR_RELAY_UNAVAILABLE", message, options);
  }
}

/** Message of the `RelayUnavailableError` raised when a send's deadline passes. */
export const RELAY_EXPIRED_MESSAGE = "no relay connection before the message expired";
/** Message of the `RelayUnavailableError` that pending sends get from `RelayPool.stop()`. */
export const RELAY_STOPPED_MESSAGE = "relay pool stopped";

/** `connecting`: a websocket handshake is under way; `open`: ready to send; `closed`: waiting to retry, or stopped. */
export type RelayLinkState = "connecting" | "open" | "closed";

export type RelayLogLevel = "info" | "warn" | "debug";

/** Log sink; messages never contain the login token. */
export type RelayLog = (level: RelayLogLevel, message: string) => void;

/** Counters of one link since it was created. */
export interface RelayLinkStats {
  /** Handshakes that succeeded. */
  connects: number;
  /** Connection attempts that failed before the handshake completed (refused, HTTP error, timeout). */
  connectFailures: number;
  /** Open connections that were lost or closed. */
  disconnects: number;
  /** Binary frames received (delivered to `onFrame`). */
  framesIn: number;
  bytesIn: number;
  /** Binary frames written (the `ws` send callback reported success). */
  framesOut: number;
  bytesOut: number;
  /** Keep-alive ping frames sent. */
  pings: number;
  /** Text frames received and dropped. */
  textFrames: number;
}

/** What applications may read of a link. */
export interface RelayLinkInfo {
  /** The relay URL without the query (never contains the token). */
  readonly url: string;
  readonly state: RelayLinkState;
  readonly stats: Readonly<RelayLinkStats>;
  /** Bytes handed to the websocket and not yet written to the kernel. */
  readonly bufferedAmount: number;
}

/** Settings a link gets from its pool (already validated). */
export interface RelayLinkSettings {
  signer: Signer;
  twin: number;
  /** Session id put in the token (`sid`); `undefined` = the twin itself, as rmb-peer logs in. */
  session: string | undefined;
  /** Token lifetime in seconds. */
  jwtTtl: number;
  /** Unix seconds, used as the token's `iat`. */
  clock: () => number;
  reconnectDelay: number;
  maxReconnectDelay: number;
  connectTimeout: number;
  closeTimeout: number;
  pingAfterIdle: number;
  silenceTimeout: number;
  maxBufferedBytes: number;
  maxPayload: number;
  onFrame: (bytes: Uint8Array, link: RelayLink) => void;
  onStateChange: (link: RelayLink, state: RelayLinkState) => void;
  /**
   * Asked when the relay closed the connection with code 4000 (another login of the same session replaced it):
   * `true` makes the link stand by, without reconnecting, until `wake()`; `false` reconnects as after any loss.
   */
  standByWhenReplaced: (link: RelayLink) => boolean;
  log: RelayLog;
}

/** Close code of a relay (rmb-ts) that closes a session's connection because a newer login replaced it. */
export const SESSION_REPLACED_CODE = 4000;

/** A parsed relay URL: what to connect to (query to be replaced by the token) and what to show. */
export interface RelayUrl {
  /** `href` without query and fragment; the token is appended as `?<jwt>`. */
  base: string;
  /** Scheme, host, port and path: safe to log. */
  display: string;
}

/** Parses a configured relay URL; throws `InvalidArgumentError` naming `argument` unless it is `ws://` or `wss://`. */
export function parseRelayUrl(argument: string, value: unknown): RelayUrl {
  if (typeof value !== "string") throw new InvalidArgumentError(argument, "expected a URL string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(argument, `not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new InvalidArgumentError(argument, `expected a ws:// or wss:// URL, got '${url.protocol}//'`);
  }
  url.search = "";
  url.hash = "";
  return { base: url.href, display: `${url.protocol}//${url.host}${url.pathname}` };
}

/** `setTimeout`'s largest delay; longer ones fire at once. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Calls `fn` at `deadline` (epoch ms), even when that is beyond `setTimeout`'s 24.8-day range. */
export function atDeadline(deadline: number, fn: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = deadline - Date.now();
    timer = left > MAX_TIMER_DELAY ? setTimeout(arm, MAX_TIMER_DELAY) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/** Body bytes of a refused handshake kept for the log. */
const MAX_REFUSAL_BODY = 256;

interface DrainWaiter {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: { cancel(): void };
}

export class RelayLink implements RelayLinkInfo {
  readonly url: string;
  readonly stats: RelayLinkStats = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    pings: 0,
    textFrames: 0,
  };
  /** Times the relay closed the connection because another login of this session replaced it (code 4000). */
  replaced = 0;
  readonly #base: string;
  readonly #s: RelayLinkSettings;
  #state: RelayLinkState = "closed";
  #running = false;
  #ws: WebSocket | undefined;
  /** The token of the current socket, only to scrub it from error texts. */
  #token = "";
  /** The one timer of the link: the reconnect delay while closed, the keep-alive check while open. */
  #timer: NodeJS.Timeout | undefined;
  /** Consecutive connections that did not stay up; drives the backoff. */
  #attempt = 0;
  #openedAt = 0;
  #lastSent = 0;
  #lastReceived = 0;
  #receivedSinceOpen = false;
  #paused = false;
  #standingBy = false;
  #failure: string | undefined;
  readonly #drainWaiters: DrainWaiter[] = [];
  readonly #closeWaiters: (() => void)[] = [];

  constructor(url: string, settings: RelayLinkSettings) {
    const parsed = parseRelayUrl("url", url);
    this.#base = parsed.base;
    this.url = parsed.display;
    this.#s = settings;
  }

  get state(): RelayLinkState {
    return this.#state;
  }

  /** True when a send can be attempted now (handshake done and no close started). */
  get isOpen(): boolean {
    return this.#state === "open" && this.#ws?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Closed because another connection of this session replaced it, and waiting for that one to go (see
   * `RelayLinkSettings.standByWhenReplaced`). */
  get standingBy(): boolean {
    return this.#standingBy;
  }

  /** Ends standing by (see `standByWhenReplaced`): reconnects after the usual short delay. */
  wake(): void {
    if (!this.#standingBy) return;
    this.#standingBy = false;
    if (this.#running && this.#ws === undefined && this.#timer === undefined) {
      this.#scheduleReconnect(`${this.url}: the connection that replaced this session is gone`);
    }
  }

  /** Starts connecting (immediately) and keeps reconnecting until `stop()`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#standingBy = false;
    this.#attempt = 0;
    if (this.#ws === undefined) this.#connect();
  }

  /** Closes the socket (a close handshake bounded by `closeTimeout`), cancels the timer and rejects sends waiting
   * for buffer room; resolves once the socket is closed. No reconnect follows. */
  stop(): Promise<void> {
    this.#running = false;
    this.#standingBy = false;
    this.#clearTimer();
    this.#rejectDrainWaiters(new RelayUnavailableError(RELAY_STOPPED_MESSAGE));
    const ws = this.#ws;
    if (ws === undefined) {
      this.#setState("closed");
      return Promise.resolve();
    }
    const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, "peer stopping");
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    return closed;
  }

  /**
   * Writes `bytes` as one binary frame. Resolves when `ws` reports the frame written; rejects if the link is not
   * open or the write fails (the pool then tries another link). While more than `maxBufferedBytes` are buffered
   * the frame waits (in order) for room, at most until `deadline` (epoch ms).
   */
  send(bytes: Uint8Array, deadline: number): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined || !this.isOpen) {
      return Promise.reject(new RelayUnavailableError(`relay ${this.url} is not connected`));
    }
    if (this.#drainWaiters.length === 0 && ws.bufferedAmount <= this.#s.maxBufferedBytes) {
      return this.#write(ws, bytes);
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
    });
  }

  #write(ws: WebSocket, bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#lastSent = Date.now();
      const done = (err?: Error | null): void => {
        if (err) {
          reject(err);
        } else {
          this.stats.framesOut += 1;
          this.stats.bytesOut += bytes.length;
          resolve();
        }
        this.#wakeDrainWaiters(ws);
      };
      try {
        // Frames sent in one event-loop turn share one write.
        corkForThisTurn((ws as unknown as { _socket?: Corkable })._socket);
        ws.send(bytes, { binary: true }, done);
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Called from every send callback: hands waiting frames to the socket while there is room. */
  #wakeDrainWaiters(ws: WebSocket): void {
    while (this.#drainWaiters.length > 0 && ws === this.#ws && this.isOpen) {
      if (ws.bufferedAmount > this.#s.maxBufferedBytes) return;
      const waiter = this.#drainWaiters.shift()!;
      waiter.timer.cancel();
      this.#write(ws, waiter.bytes).then(waiter.resolve, waiter.reject);
    }
  }

  #rejectDrainWaiters(err: Error): void {
    for (const waiter of this.#drainWaiters.splice(0)) {
      waiter.timer.cancel();
      waiter.reject(err);
    }
  }

  #connect(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    let token: string;
    try {
      // Without a session id the peer logs in as the twin itself (`sid` null on the wire).
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
    let ws: WebSocket;
    try {
      // `closeTimeout` (ws >= 8.18) is not in @types/ws yet.
      const wsOptions: WebSocket.ClientOptions & { closeTimeout: number } = {
        perMessageDeflate: false,
        maxPayload: this.#s.maxPayload,
        handshakeTimeout: this.#s.connectTimeout,
        closeTimeout: this.#s.closeTimeout,
      };
      ws = new WebSocket(`${this.#base}?${token}`, wsOptions);
    } catch (err) {
      this.stats.connectFailures += 1;
      this.#setState("closed");
      this.#scheduleReconnect(`cannot connect to ${this.url}: ${this.#scrub(errorText(err))}`);
      return;
    }
    this.#ws = ws;
    // Every listener is attached before "open": frames queued for the twin can arrive with the 101 response.
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(ws, data, isBinary));
    ws.on("pong", () => this.#onReceived(ws)); // swallowed: only proves the link is alive
    ws.on("ping", () => this.#onReceived(ws)); // `ws` answers it
    ws.on("open", () => this.#onOpen(ws));
    ws.on("unexpected-response", (_req: ClientRequest, res: IncomingMessage) => this.#onRefused(ws, res));
    ws.on("error", (err: Error) => {
      this.#failure ??= this.#scrub(errorText(err));
    });
    ws.on("close", (code: number, reason: Buffer) => this.#onClose(ws, code, reason.toString()));
  }

  /** A non-101 answer: keep the status and the start of the body (the relay's reason) for the log. */
  #onRefused(ws: WebSocket, res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY).toString("utf8").trim();
      this.#failure = this.#scrub(`HTTP ${res.statusCode ?? 0}${body === "" ? "" : ` ${body}`}`);
      ws.terminate();
    };
    res.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_REFUSAL_BODY) finish();
    });
    res.once("end", finish);
    res.once("close", finish);
    res.once("error", finish);
  }

  /**
   * Stops (`true`) or restarts (`false`) reading frames from the relay, e.g. while the receiver is saturated: the
   * socket stops being read, so TCP flow control pushes back on the relay. Applies to later connections too; the
   * silence check is suspended while reading is paused.
   */
  pauseReading(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    if (paused) ws.pause();
    else {
      this.#lastReceived = Date.now();
      ws.resume();
    }
  }

  #onOpen(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    if (this.#paused) ws.pause();
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

  #onReceived(ws: WebSocket): void {
    if (ws !== this.#ws) return;
    this.#lastReceived = Date.now();
    this.#receivedSinceOpen = true;
  }

  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.#ws) return;
    this.#onReceived(ws);
    if (!isBinary) {
      this.stats.textFrames += 1;
      this.#s.log("debug", `dropped a text frame from ${this.url}`);
      return;
    }
    const bytes = toBytes(data);
    this.stats.framesIn += 1;
    this.stats.bytesIn += bytes.length;
    try {
      this.#s.onFrame(bytes, this);
    } catch (err) {
      this.#s.log("warn", `onFrame threw for a frame from ${this.url}: ${errorText(err)}`);
    }
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
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
      what = `connection to ${this.url} closed (${detail})`;
    } else {
      this.stats.connectFailures += 1;
      what = `cannot connect to ${this.url}: ${this.#failure ?? `code ${code}`}`;
    }
    if (wasOpen && code === SESSION_REPLACED_CODE) {
      this.replaced += 1;
      // Another connection of this session won (a second URL of the same relay group, or another process of
      // this twin): fighting it back would only make the two evict each other for ever.
      this.#standingBy = this.#running && this.#s.standByWhenReplaced(this);
    }
    this.#setState("closed");
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
    if (this.#standingBy)
      this.#s.log("info", `${what}; standing by while another connection holds the session`);
    else if (this.#running) this.#scheduleReconnect(what);
    else this.#s.log("info", what);
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

  /** One timer per link: due at the earlier of "idle long enough to ping" and "silent long enough to drop". */
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
    if (this.#paused) this.#lastReceived = now; // not reading: silence means nothing
    if (now - this.#lastReceived >= this.#s.silenceTimeout) {
      // Timers run before the event loop polls sockets: after a stall of the loop, data may be waiting unread.
      // Decide after the poll phase (setImmediate) so that a busy process does not drop a healthy link.
      setImmediate(() => {
        if (ws !== this.#ws || this.#state !== "open") return;
        const silent = Date.now() - this.#lastReceived;
        if (silent < this.#s.silenceTimeout) {
          this.#armKeepalive();
          return;
        }
        this.#failure = `nothing received for ${silent} ms`;
        ws.terminate(); // "close" follows and schedules the reconnect
      });
      return;
    }
    if (now - this.#lastSent >= this.#s.pingAfterIdle && ws.readyState === WebSocket.OPEN) {
      try {
        ws.ping();
        this.#lastSent = now;
        this.stats.pings += 1;
      } catch (err) {
        this.#s.log("debug", `ping to ${this.url} failed: ${errorText(err)}`);
      }
    }
    this.#armKeepalive();
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

  /** Error texts from `ws` or Node may quote the URL; never let the token reach a log. */
  #scrub(text: string): string {
    return this.#token === "" ? text : text.split(this.#token).join("<jwt>");
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
