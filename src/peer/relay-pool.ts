import { InvalidArgumentError } from "../errors.js";
import { assertBytes, assertInteger } from "../guards.js";
import type { Signer } from "../identity/signer.js";
import { DEFAULT_JWT_TTL } from "../protocol/jwt.js";
import {
  atDeadline,
  parseRelayUrl,
  RELAY_EXPIRED_MESSAGE,
  RELAY_STOPPED_MESSAGE,
  RelayLink,
  type RelayLinkInfo,
  type RelayLinkSettings,
  type RelayLinkState,
  type RelayLog,
  RelayUnavailableError,
} from "./relay-link.js";

export {
  RELAY_EXPIRED_MESSAGE,
  RELAY_STOPPED_MESSAGE,
  type RelayLinkInfo,
  type RelayLinkState,
  type RelayLinkStats,
  type RelayLog,
  type RelayLogLevel,
  RelayUnavailableError,
} from "./relay-link.js";

/**
 * The peer's connections to its relays (wire spec §5.3): one {@link RelayLink} per relay URL, frames from all of
 * them merged into `onFrame`, and `send` with failover — the frame goes to the first open link in the current
 * order, the link that last succeeded first (as rmb-rs does).
 *
 * @example
 * ```ts
 * const pool = new RelayPool({ relays: ["wss://relay.grid.tf"], signer, twin: 42,
 *   onFrame: (bytes) => handleEnvelope(decodeEnvelope(bytes)) });
 * pool.start();
 * await pool.waitConnected(10_000);
 * await pool.send(encodeEnvelope(env), Date.now() + 60_000);
 * await pool.stop();
 * ```
 */

/** Defaults of every limit and timer of {@link RelayPoolOptions}. */
export const RELAY_POOL_DEFAULTS = {
  maxRelays: 4,
  jwtTtl: DEFAULT_JWT_TTL,
  reconnectDelay: 250,
  maxReconnectDelay: 5000,
  connectTimeout: 10_000,
  closeTimeout: 1000,
  pingAfterIdle: 20_000,
  silenceTimeout: 40_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxPayload: 64 * 1024 * 1024,
} as const;

/** Options of {@link RelayPool}. `relays`, `signer`, `twin` and `onFrame` are required. */
export interface RelayPoolOptions {
  /** Relay websocket URLs (`ws://` or `wss://`); any query is replaced by the login token. */
  relays: readonly string[];
  /** Signs the login tokens; its public key must be the twin's account id. */
  signer: Signer;
  /** The peer's twin id. */
  twin: number;
  /** Session id to log in with (the token's `sid`); absent = the twin itself, as rmb-peer. */
  session?: string;
  /** Every binary frame received from any relay, as received. */
  onFrame: (bytes: Uint8Array, link: RelayLinkInfo) => void;
  /** Called when a link changes state. */
  onStateChange?: (link: RelayLinkInfo, state: RelayLinkState) => void;
  /** Log sink (the token is never logged). @default no logging */
  log?: RelayLog;
  /** Unix seconds, the login token's `iat`; for tests. @default () => Math.floor(Date.now() / 1000) */
  clock?: () => number;
  /** Most relay URLs accepted (rmb-peer's `--relay` limit). @default 4 */
  maxRelays?: number;
  /** Login token lifetime in seconds; a fresh token is made for every connection. @default 300 */
  jwtTtl?: number;
  /** First reconnect delay in ms; doubles (with jitter) per failed attempt. @default 250 */
  reconnectDelay?: number;
  /** Largest reconnect delay in ms; also how long a connection must stay up to reset the backoff. @default 5000 */
  maxReconnectDelay?: number;
  /** Most ms for the TCP, TLS and websocket handshakes of one attempt. @default 10000 */
  connectTimeout?: number;
  /** Most ms `stop()` waits for a relay to answer the close handshake before dropping the socket. @default 1000 */
  closeTimeout?: number;
  /** A websocket ping is sent after this many ms without sending anything (rmb-rs: 20 s). @default 20000 */
  pingAfterIdle?: number;
  /** The connection is dropped and remade after this many ms without receiving anything, pongs included
   * (rmb-rs: 40 s). Must exceed `pingAfterIdle`. @default 40000 */
  silenceTimeout?: number;
  /** `send` waits while a link has more than this many bytes buffered (8 MiB). @default 8388608 */
  maxBufferedBytes?: number;
  /** Largest incoming frame in bytes (rmb-rs's tungstenite default, 64 MiB); a larger one drops the connection.
   * @default 67108864 */
  maxPayload?: number;
}

interface OpenWaiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: { cancel(): void };
}

const MAX_DELAY = 2 ** 31 - 1; // setTimeout's limit

function positiveInteger(options: RelayPoolOptions, name: keyof typeof RELAY_POOL_DEFAULTS): number {
  const value = options[name] ?? RELAY_POOL_DEFAULTS[name];
  assertInteger(name, value, 1, MAX_DELAY);
  return value;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new InvalidArgumentError(name, "expected a function");
  }
  return value;
}

/** Validates `options` and fills in defaults; throws `InvalidArgumentError` naming the first bad option. */
function resolveSettings(
  options: RelayPoolOptions,
  onLinkOpen: () => void,
  onLinkState: (link: RelayLink, state: RelayLinkState) => void,
  standByWhenReplaced: (link: RelayLink) => boolean,
): { urls: string[]; settings: RelayLinkSettings } {
  if (typeof options !== "object" || options === null)
    throw new InvalidArgumentError("options", "expected an object");
  const maxRelays = positiveInteger(options, "maxRelays");
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
  const { signer, twin, onFrame } = options;
  if (typeof signer !== "object" || signer === null || typeof signer.sign !== "function") {
    throw new InvalidArgumentError("signer", "expected a Signer");
  }
  assertInteger("twin", twin, 1, 0xffffffff);
  if (typeof onFrame !== "function") throw new InvalidArgumentError("onFrame", "expected a function");
  const onStateChange = optionalFunction("onStateChange", options.onStateChange);
  const log = optionalFunction("log", options.log) ?? ((): void => undefined);
  const clock = optionalFunction("clock", options.clock) ?? ((): number => Math.floor(Date.now() / 1000));
  const reconnectDelay = positiveInteger(options, "reconnectDelay");
  const maxReconnectDelay = positiveInteger(options, "maxReconnectDelay");
  if (maxReconnectDelay < reconnectDelay) {
    throw new InvalidArgumentError("maxReconnectDelay", `must be >= reconnectDelay (${reconnectDelay})`);
  }
  const pingAfterIdle = positiveInteger(options, "pingAfterIdle");
  const silenceTimeout = positiveInteger(options, "silenceTimeout");
  if (silenceTimeout <= pingAfterIdle) {
    throw new InvalidArgumentError("silenceTimeout", `must be greater than pingAfterIdle (${pingAfterIdle})`);
  }
  if (options.session !== undefined && typeof options.session !== "string") {
    throw new InvalidArgumentError("session", "expected a string");
  }
  const settings: RelayLinkSettings = {
    signer,
    twin,
    session: options.session,
    jwtTtl: positiveInteger(options, "jwtTtl"),
    clock,
    reconnectDelay,
    maxReconnectDelay,
    connectTimeout: positiveInteger(options, "connectTimeout"),
    closeTimeout: positiveInteger(options, "closeTimeout"),
    pingAfterIdle,
    silenceTimeout,
    maxBufferedBytes: positiveInteger(options, "maxBufferedBytes"),
    maxPayload: positiveInteger(options, "maxPayload"),
    onFrame,
    standByWhenReplaced,
    onStateChange: (link, state) => {
      if (state === "open") onLinkOpen();
      onLinkState(link, state);
      if (onStateChange !== undefined) {
        try {
          onStateChange(link, state);
        } catch (err) {
          log("warn", `onStateChange threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    },
    log,
  };
  return { urls: [...relays], settings };
}

export class RelayPool {
  readonly #links: RelayLink[];
  /** Send order: the link that last took a frame first. */
  readonly #order: RelayLink[];
  readonly #openWaiters = new Set<OpenWaiter>();
  readonly #log: RelayLog;
  /** Links whose last state was `open`. */
  readonly #wasOpen = new Set<RelayLink>();
  #pendingSends = 0;
  #stopped = false;

  constructor(options: RelayPoolOptions) {
    const { urls, settings } = resolveSettings(
      options,
      () => this.#wakeOpenWaiters(),
      (link, state) => this.#onLinkState(link, state),
      // Two URLs of one relay group (processes sharing a Redis) hold one session between them: the link that lost
      // it stands by while another of ours is open, and takes over when that one's connection is lost.
      (link) => this.#links.some((l) => l !== link && l.isOpen),
    );
    this.#log = settings.log;
    this.#links = urls.map((url) => new RelayLink(url, settings));
    this.#order = [...this.#links];
  }

  /** The links in configuration order. */
  get links(): readonly RelayLinkInfo[] {
    return this.#links;
  }

  /** Links open now. */
  get connectedCount(): number {
    return this.#links.filter((l) => l.isOpen).length;
  }

  /** Stops or restarts reading frames on every link (see `RelayLink.pauseReading`): backpressure towards the
   * relays while the receiver is saturated. */
  pauseReading(paused: boolean): void {
    for (const link of this.#links) link.pauseReading(paused);
  }

  /** `send` calls not settled yet (waiting for a link, for buffer room, or for the write). */
  get pendingSends(): number {
    return this.#pendingSends;
  }

  /** Starts connecting every link (without waiting); they reconnect until `stop()`. A stopped pool may start
   * again. */
  start(): void {
    this.#stopped = false;
    for (const link of this.#links) link.start();
  }

  /** Closes every link and cancels its timers; pending sends reject with `RelayUnavailableError`
   * (`relay pool stopped`). Resolves once every socket is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#rejectOpenWaiters(new RelayUnavailableError(RELAY_STOPPED_MESSAGE));
    await Promise.all(this.#links.map((l) => l.stop()));
  }

  /** Resolves as soon as at least one link is open; rejects with `RelayUnavailableError` after `timeoutMs` or on
   * `stop()`. */
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
   * Sends one frame (an encoded envelope) to one relay: the first open link in the current order; if its write
   * fails, the next one. With no link open it waits for one. Rejects with `RelayUnavailableError` when `deadline`
   * (epoch ms, normally the envelope's expiry) passes first, or when the pool is stopped. The deadline bounds the
   * waits for a link and for buffer room; a frame already handed to a socket is awaited until that socket reports
   * it written or fails (a dead socket fails within `silenceTimeout`). A frame whose write failed may still have
   * reached the relay, so a receiver can see it twice (as with rmb-rs).
   */
  async send(bytes: Uint8Array, deadline: number): Promise<void> {
    assertBytes("bytes", bytes);
    if (typeof deadline !== "number" || !Number.isFinite(deadline)) {
      throw new InvalidArgumentError("deadline", "expected a finite time in epoch milliseconds");
    }
    if (this.#stopped) throw new RelayUnavailableError(RELAY_STOPPED_MESSAGE);
    this.#pendingSends += 1;
    try {
      const failed = new Set<RelayLink>();
      let lastError: unknown;
      for (;;) {
        if (this.#stopped) throw new RelayUnavailableError(RELAY_STOPPED_MESSAGE, causeOf(lastError));
        if (Date.now() >= deadline)
          throw new RelayUnavailableError(RELAY_EXPIRED_MESSAGE, causeOf(lastError));
        const link = this.#order.find((l) => l.isOpen && !failed.has(l));
        if (link === undefined) {
          // Nothing (left) to try: wait for a link to (re)open. Links that failed are retried after that.
          await this.#nextOpen(deadline, () =>
            this.#stopped
              ? new RelayUnavailableError(RELAY_STOPPED_MESSAGE, causeOf(lastError))
              : new RelayUnavailableError(RELAY_EXPIRED_MESSAGE, causeOf(lastError)),
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
          this.#log(
            "debug",
            `sending via ${link.url} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    } finally {
      this.#pendingSends -= 1;
    }
  }

  /** A link that lost a live connection (not one replaced by another login) wakes the links standing by. */
  #onLinkState(link: RelayLink, state: RelayLinkState): void {
    if (state === "open") {
      this.#wasOpen.add(link);
      return;
    }
    if (!this.#wasOpen.delete(link) || link.standingBy || this.#stopped) return;
    for (const other of this.#links) if (other !== link) other.wake();
  }

  #wakeOpenWaiters(): void {
    for (const waiter of this.#openWaiters) {
      waiter.timer.cancel();
      waiter.resolve();
    }
    this.#openWaiters.clear();
  }

  #promote(link: RelayLink): void {
    const i = this.#order.indexOf(link);
    if (i > 0) {
      this.#order.splice(i, 1);
      this.#order.unshift(link);
    }
  }

  /** Resolves on the next link opening; rejects with `onTimeout()` at `deadline`. */
  #nextOpen(deadline: number, onTimeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: OpenWaiter = {
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

  #rejectOpenWaiters(err: Error): void {
    for (const waiter of this.#openWaiters) {
      waiter.timer.cancel();
      waiter.reject(err);
    }
    this.#openWaiters.clear();
  }
}

function causeOf(err: unknown): { cause?: unknown } | undefined {
  return err === undefined ? undefined : { cause: err };
}
