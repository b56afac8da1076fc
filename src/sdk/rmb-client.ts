import { randomBytes, randomUUID } from "node:crypto";
import { E2eCipher } from "../crypto/index.js";
import { InvalidArgumentError, messageOf } from "../errors.js";
import type { Identity } from "../identity/index.js";
import { EnvelopeOpener } from "../peer/envelope-opener.js";
import { EnvelopeSealer } from "../peer/envelope-sealer.js";
import { PeerProtocolError } from "../peer/errors.js";
import type { PeerLog } from "../peer/options.js";
import { RelayPool } from "../peer/relay-pool.js";
import { SeenMessages } from "../peer/seen-messages.js";
import {
  addressOfSession,
  DEFAULT_MAX_CLOCK_SKEW,
  decodeEnvelope,
  type Envelope,
  FAIL_FAST_TAG,
  formatSessionId,
  sessionOfAddress,
  unixNow,
  WireErrorCode,
} from "../protocol/index.js";
import { CachedRegistry, type TwinRegistry } from "../registry/index.js";
import {
  type CallOptions,
  type CallResult,
  DEFAULT_CALL_TIMEOUT,
  type Destination,
  type Handler,
  type RmbCaller,
  RmbRequest,
  RmbResponse,
  toDestination,
} from "./api.js";
import { RmbCallError, RmbClientClosedError, RmbHandlerError, RmbTimeoutError } from "./errors.js";
import { type PayloadInput, toPayload } from "./payload.js";
import type { RelayTransport, RelayTransportFactory } from "./relay-transport.js";

/** Options of {@link RmbClient.connect}. */
export interface RmbClientOptions {
  /**
   * This twin's keys (`loadIdentity(secret, keyType)`). Payloads to twins with a key are encrypted when this twin's
   * registry record carries this identity's key (else they travel plain, since nobody could decrypt them).
   */
  identity: Identity;
  /** Where twins (this one included) are looked up. */
  registry: TwinRegistry;
  /** Relay websocket URLs; the client stays connected to all of them and sends through the one that last worked. */
  relays: string[];
  /**
   * Session id to log in with. Without one (the default) the client is the twin itself, as rmb-peer and the Go SDK's
   * peer are: requests addressed to the twin reach it, so it can serve. A twin has one such connection at a time, so
   * a client that only calls and shares its twin with an rmb-peer (or another client) should take a session of its
   * own (`"random"` picks `rmb-ts-` + 8 hex digits); requests then reach it only when addressed to that session.
   */
  session?: string;
  /** This twin's id; looked up by account key when absent. */
  twinId?: number;
  /** Milliseconds `connect` waits for a first relay connection. @default 10000 */
  connectTimeout?: number;
  /** Requests handled at once; beyond it, reading from the relays pauses. @default 256 */
  maxConcurrentRequests?: number;
  /** Envelope uids remembered to drop redeliveries. @default 100000 */
  maxSeenMessages?: number;
  /**
   * Seconds an incoming envelope's timestamp may lie ahead of this client's clock; beyond it the envelope is refused
   * (a request is answered with code 102 `envelope validation error: message timestamp is too far in the future`,
   * an answer is dropped and its call times out).
   * @default 300
   */
  maxClockSkew?: number;
  /** Seconds a looked-up twin is cached. @default 300 */
  twinCacheTtl?: number;
  /** Relay connection timers (see `RELAY_POOL_DEFAULTS`). */
  relay?: {
    pingAfterIdle?: number;
    silenceTimeout?: number;
    reconnectDelay?: number;
    maxReconnectDelay?: number;
    maxBufferedBytes?: number;
  };
  log?: PeerLog;
  /** Makes the relay connections; default: `RelayPool` over the `ws` package (Node). */
  transport?: RelayTransportFactory;
}

interface Pending {
  destination: Destination;
  resolve: (response: RmbResponse) => void;
  reject: (err: Error) => void;
}

/**
 * A direct RMB client: connects to relays as one twin (its own session), calls commands on other twins and serves
 * commands, with no rmb-peer in between. Every request is signed and, when the destination has a key, encrypted;
 * every answer is verified. Answers are matched by envelope uid; each reaches its caller once.
 *
 * @example
 * const client = await RmbClient.connect({ identity: loadIdentity(mnemonic, KeyType.Sr25519),
 *   registry: new RegistrarClient({ url: "http://127.0.0.1:8080" }), relays: ["ws://localhost:8080"] });
 * client.serve("calc.add", (req) => { const { a, b } = req.json<{ a: number; b: number }>(); return a + b; });
 * const sum = (await client.call(7, "calc.add", { a: 1, b: 2 }, { timeout: 5000 })).json<number>();
 * await client.close();
 */
export class RmbClient implements RmbCaller {
  readonly #identity: Identity;
  readonly #registry: CachedRegistry;
  readonly #pool: RelayTransport;
  readonly #sealer: EnvelopeSealer;
  readonly #opener: EnvelopeOpener;
  readonly #seen: SeenMessages;
  readonly #pending = new Map<string, Pending>();
  readonly #handlers = new Map<string, Handler>();
  readonly #listeners = new Set<(connected: number) => void>();
  readonly #log: PeerLog;
  readonly #maxConcurrent: number;
  readonly twinId: number;
  /**
   * Counters: `duplicates` — envelopes dropped as redeliveries of one already handled (same kind, source and uid
   * within its lifetime); `unmatched` — answers whose uid matched no pending call (it had timed out, was aborted, or
   * was answered already).
   */
  readonly stats = { duplicates: 0, unmatched: 0 };
  /** The session this client is logged in as (`undefined`: the twin itself). */
  readonly session: string | undefined;
  #active = 0;
  #lastCount = 0;
  #paused = false;
  #closed = false;

  private constructor(
    options: RmbClientOptions,
    twinId: number,
    session: string | undefined,
    encryptOutgoing: boolean,
  ) {
    this.#identity = options.identity;
    this.twinId = twinId;
    this.session = session;
    this.#log = options.log ?? (() => {});
    this.#maxConcurrent = options.maxConcurrentRequests ?? 256;
    this.#registry =
      options.registry instanceof CachedRegistry
        ? options.registry
        : new CachedRegistry(options.registry, { ttl: options.twinCacheTtl ?? 300 });
    const e2e = options.identity.e2e === undefined ? undefined : new E2eCipher(options.identity.e2e.secret);
    this.#sealer = new EnvelopeSealer(
      addressOfSession(session === undefined ? { twin: twinId } : { twin: twinId, sid: session }),
      options.identity.signer,
      encryptOutgoing ? e2e : undefined,
      this.#registry,
    );
    this.#opener = new EnvelopeOpener(
      e2e,
      this.#registry,
      (id) => this.#registry.invalidate(id),
      undefined,
      options.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW,
    );
    this.#seen = new SeenMessages(options.maxSeenMessages ?? 100_000);
    const makeTransport: RelayTransportFactory = options.transport ?? ((o) => new RelayPool(o));
    this.#pool = makeTransport({
      relays: options.relays,
      signer: options.identity.signer,
      twin: twinId,
      ...(session === undefined ? {} : { session }),
      ...options.relay,
      onFrame: (bytes) => this.#onFrame(bytes),
      onStateChange: () => {
        const n = this.#pool.connectedCount;
        if (n === this.#lastCount) return;
        this.#lastCount = n;
        for (const l of this.#listeners) l(n);
      },
      log: (level, message) => this.#log(level === "info" ? "debug" : level, message),
    });
  }

  /**
   * Finds this twin (unless `twinId` is given), connects to the relays and resolves once one connection is open.
   * Rejects with `RelayUnavailableError` when none opens within `connectTimeout`.
   */
  static async connect(options: RmbClientOptions): Promise<RmbClient> {
    const skew = options.maxClockSkew;
    if (skew !== undefined && (!Number.isSafeInteger(skew) || skew < 0)) {
      throw new InvalidArgumentError("maxClockSkew", "expected an integer number of seconds >= 0");
    }
    let twinId = options.twinId;
    if (twinId === undefined) {
      twinId = await options.registry.getTwinIdByAccount(options.identity.publicKey);
      if (twinId === undefined) {
        throw new RmbCallError(
          WireErrorCode.UnknownTwin,
          `no twin found for this key (${options.identity.ss58})`,
          undefined,
        );
      }
    }
    const session =
      options.session === "random" ? `rmb-ts-${randomBytes(4).toString("hex")}` : options.session;
    // Encrypt only when this twin's published key is this identity's: otherwise nobody could decrypt.
    const own = await options.registry.getTwin(twinId);
    const published = own?.pk;
    const mine = options.identity.e2e?.publicKey;
    const encrypt =
      published !== undefined &&
      mine !== undefined &&
      published.length === mine.length &&
      published.every((b, i) => b === mine[i]);
    if (!encrypt) {
      options.log?.(
        "info",
        `twin ${twinId} has no matching encryption key in the registry: payloads are sent plain`,
      );
    }
    const client = new RmbClient(options, twinId, session, encrypt);
    client.#pool.start();
    try {
      await client.#pool.waitConnected(options.connectTimeout ?? 10_000);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** Relay connections open now. */
  get connectedRelays(): number {
    return this.#pool.connectedCount;
  }

  /** Calls `listener` with the number of open relay connections whenever it changes; returns an unsubscribe. */
  onConnectionChange(listener: (connected: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async call(
    destination: number | Destination,
    command: string,
    payload?: PayloadInput,
    options: CallOptions = {},
  ): Promise<RmbResponse> {
    if (this.#closed) throw new RmbClientClosedError();
    if (typeof command !== "string" || command === "")
      throw new InvalidArgumentError("command", "expected a name");
    const dst = toDestination(destination);
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT;
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new InvalidArgumentError("timeout", "expected ms > 0");
    options.signal?.throwIfAborted();
    const body = toPayload(payload);
    const uid = randomUUID();
    const env: Envelope = {
      uid,
      timestamp: unixNow(),
      expiration: Math.ceil(timeout / 1000),
      destination: addressOfSession(
        dst.session === undefined ? { twin: dst.twin } : { twin: dst.twin, sid: dst.session },
      ),
      message: { kind: "request", command },
      payload: { kind: "plain", data: body.data },
      relays: [],
    };
    const schema = options.schema ?? body.schema;
    if (schema !== undefined) env.schema = schema;
    if (options.failFast === true) env.tags = FAIL_FAST_TAG;

    return new Promise<RmbResponse>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(uid);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new RmbTimeoutError(
            `no answer from ${formatDestination(dst)} to '${command}' within ${timeout} ms`,
          ),
        );
      }, timeout);
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason ?? new DOMException("the call was aborted", "AbortError"));
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(uid, {
        destination: dst,
        resolve: (r) => {
          cleanup();
          resolve(r);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      this.#send(env).catch((err: unknown) => {
        const pending = this.#pending.get(uid);
        if (pending === undefined) return;
        pending.reject(
          err instanceof PeerProtocolError
            ? new RmbCallError(err.wireCode, err.message, undefined, { cause: err })
            : err instanceof Error
              ? err
              : new Error(String(err)),
        );
      });
    });
  }

  async callMany(
    destinations: readonly (number | Destination)[],
    command: string,
    payload?: PayloadInput,
    options: CallOptions = {},
  ): Promise<CallResult[]> {
    return Promise.all(
      destinations.map(async (d): Promise<CallResult> => {
        const destination = toDestination(d);
        try {
          return { destination, ok: true, response: await this.call(destination, command, payload, options) };
        } catch (err) {
          return { destination, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
        }
      }),
    );
  }

  serve(command: string, handler: Handler): () => void {
    if (typeof command !== "string" || command === "")
      throw new InvalidArgumentError("command", "expected a name");
    if (typeof handler !== "function") throw new InvalidArgumentError("handler", "expected a function");
    this.#handlers.set(command, handler);
    return () => {
      if (this.#handlers.get(command) === handler) this.#handlers.delete(command);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of [...this.#pending.values()]) pending.reject(new RmbClientClosedError());
    await this.#pool.stop();
    this.#registry.close();
  }

  async #send(env: Envelope): Promise<void> {
    const bytes = await this.#sealer.seal(env, unixNow());
    await this.#pool.send(bytes, (env.timestamp + env.expiration) * 1000);
  }

  #onFrame(bytes: Uint8Array): void {
    this.#active++;
    if (this.#active >= this.#maxConcurrent && !this.#paused) {
      this.#paused = true;
      this.#pool.pauseReading(true);
    }
    this.#handleFrame(bytes)
      .catch((err: unknown) => this.#log("error", `incoming envelope failed: ${messageOf(err)}`))
      .finally(() => {
        this.#active--;
        if (this.#paused && this.#active <= this.#maxConcurrent / 2) {
          this.#paused = false;
          this.#pool.pauseReading(false);
        }
      });
  }

  async #handleFrame(bytes: Uint8Array): Promise<void> {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch (err) {
      this.#log("debug", `dropped an undecodable frame: ${messageOf(err)}`);
      return;
    }
    const message = env.message;
    if (message === undefined) return;
    const now = unixNow();
    try {
      await this.#opener.open(env, now);
    } catch (err) {
      if (!(err instanceof PeerProtocolError)) throw err;
      this.#log("debug", `refused envelope ${env.uid}: ${err.message}`);
      if (message.kind === "request") await this.#answerError(env, err.wireCode, err.message);
      return;
    }
    const source = sessionOfAddress(env.source ?? { twin: 0 });
    const key = `${message.kind}|${formatSessionId(source)}|${env.uid}`;
    if (!this.#seen.firstTime(key, env.timestamp + env.expiration, now)) {
      this.stats.duplicates++;
      return;
    }
    const data = env.payload?.kind === "plain" ? env.payload.data : new Uint8Array(0);
    if (message.kind === "request") {
      await this.#handleRequest(env, message.command, source, data);
      return;
    }
    if (message.kind !== "response" && message.kind !== "error") return;
    const pending = this.#pending.get(env.uid);
    if (pending === undefined) {
      this.stats.unmatched++; // late, cancelled or not ours
      return;
    }
    if (source.twin !== 0 && source.twin !== pending.destination.twin) {
      this.#log(
        "warn",
        `answer to ${env.uid} from twin ${source.twin}, expected ${pending.destination.twin}: dropped`,
      );
      return;
    }
    const from: Destination =
      source.sid === undefined ? { twin: source.twin } : { twin: source.twin, session: source.sid };
    if (message.kind === "error") {
      pending.reject(new RmbCallError(message.code, message.message, source.twin));
    } else {
      pending.resolve(new RmbResponse(from, data, env.schema));
    }
  }

  async #handleRequest(
    env: Envelope,
    command: string,
    source: { twin: number; sid?: string },
    data: Uint8Array,
  ): Promise<void> {
    const handler = this.#handlers.get(command);
    if (handler === undefined) {
      await this.#answerError(env, WireErrorCode.Other, `other: unknown command '${command}'`);
      return;
    }
    const request = new RmbRequest(
      {
        uid: env.uid,
        command,
        source: source.sid === undefined ? { twin: source.twin } : { twin: source.twin, session: source.sid },
        expiresAt: env.timestamp + env.expiration,
      },
      data,
      env.schema,
    );
    let answer: ReturnType<typeof toPayload>;
    try {
      answer = toPayload(await handler(request));
    } catch (err) {
      const code = err instanceof RmbHandlerError ? err.wireCode : WireErrorCode.Handler;
      await this.#answerError(env, code, messageOf(err));
      return;
    }
    const reply: Envelope = {
      uid: env.uid,
      timestamp: 0,
      expiration: Math.max(1, env.timestamp + env.expiration - unixNow()),
      destination: { ...(env.source ?? { twin: 0 }) },
      message: { kind: "response" },
      payload: { kind: "plain", data: answer.data },
      relays: [],
    };
    if (answer.schema !== undefined) reply.schema = answer.schema;
    await this.#send(reply).catch((err: unknown) =>
      this.#log("warn", `answer to ${env.uid} not sent: ${messageOf(err)}`),
    );
  }

  async #answerError(req: Envelope, code: number, message: string): Promise<void> {
    if (req.source === undefined || req.source.twin === 0) return;
    const env: Envelope = {
      uid: req.uid,
      timestamp: 0,
      expiration: Math.max(1, Math.min(req.expiration || 300, 1800)),
      destination: { ...req.source },
      message: { kind: "error", code, message },
      relays: [],
    };
    await this.#send(env).catch((err: unknown) =>
      this.#log("debug", `error answer not sent: ${messageOf(err)}`),
    );
  }

  /** The identity this client signs with. */
  get identity(): Identity {
    return this.#identity;
  }
}

function formatDestination(d: Destination): string {
  return d.session === undefined ? `twin ${d.twin}` : `twin ${d.twin} session '${d.session}'`;
}
