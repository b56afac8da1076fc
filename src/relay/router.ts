import {
  type Address,
  addressIsSession,
  addressOfSession,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  formatSessionId,
  hasFailFast,
  isExpired,
  isFarFuture,
  parseSessionId,
  sessionOfAddress,
  verifyEnvelope,
} from "../protocol/index.js";
import { DropReporter } from "./drop-reporter.js";
import { encodeErrorEnvelope } from "./error-envelope.js";
import { QueueStoreFullError, RelayErrorText, RouteError } from "./errors.js";
import type { FederationQueue } from "./federation/federation-queue.js";
import type { RelayMetrics } from "./metrics.js";
import type { ResolvedRelayOptions } from "./options.js";
import type { DropReason, QueueStore } from "./queue-store.js";
import type { RateLimiter } from "./rate-limiter.js";
import { type EnvelopeRoute, scanEnvelopeRoute } from "./route-scan.js";
import type { SessionConnection } from "./session.js";
import type { SessionSignals } from "./session-signals.js";

const HELLO_WORLD = new TextEncoder().encode("hello world");
/** Enqueues one connection may have issued and not yet seen completed. */
const MAX_PIPELINED = 128;

/** Outcome of a federation `POST /`. */
export interface IngressResult {
  status: number;
  body: string;
}

/**
 * Routing of one relay process (wire spec §4.3–4.6, §4.8.2): who is connected, where each frame goes, and which
 * error envelope goes back when it cannot.
 */
export class Router {
  /** Live connections by session string. One per session: a new login replaces the old one. */
  readonly sessions = new Map<string, SessionConnection>();
  readonly #options: ResolvedRelayOptions;
  readonly #store: QueueStore;
  readonly #metrics: RelayMetrics;
  readonly #limiter: RateLimiter | undefined;
  readonly #domains: Set<string>;
  readonly #signals: SessionSignals | undefined;
  readonly #federation: FederationQueue;
  readonly #drops: DropReporter;

  constructor(
    options: ResolvedRelayOptions,
    store: QueueStore,
    metrics: RelayMetrics,
    limiter: RateLimiter | undefined,
    federation: FederationQueue,
    signals?: SessionSignals,
  ) {
    this.#federation = federation;
    this.#options = options;
    this.#store = store;
    this.#metrics = metrics;
    this.#limiter = limiter;
    this.#domains = new Set(options.domains);
    this.#signals = signals;
    this.#drops = new DropReporter({
      options,
      metrics,
      queueLength: (session) => store.length(session),
      deliver: (session, data) => this.deliver(session, data),
    });
    signals?.onResync(() => {
      for (const conn of this.sessions.values()) conn.wake();
    });
  }

  /**
   * Registers a connection, closing the one it replaces (here or, through the signals, in another relay process)
   * and starts delivering its queue once it listens for wake-ups.
   */
  register(conn: SessionConnection): void {
    const old = this.sessions.get(conn.key);
    this.sessions.set(conn.key, conn);
    this.#metrics.connections = this.sessions.size;
    if (old !== undefined) this.#evict(old);
    if (this.#signals === undefined) {
      conn.pump();
      return;
    }
    this.#signals
      .attach(conn.key, conn.owner, {
        wake: () => this.sessions.get(conn.key)?.wake(),
        evict: () => {
          const current = this.sessions.get(conn.key);
          if (current !== undefined) this.#evict(current);
        },
      })
      .catch(() => undefined)
      .finally(() => conn.pump());
  }

  #evict(conn: SessionConnection): void {
    this.#metrics.evictions.replaced += 1;
    // What the old connection sent before it heard of its eviction is still routed: its peer counts it as sent.
    conn.close(4000, "session replaced by a new connection", true);
  }

  /** Forgets a connection, only if it is still the registered one (rmb-rs drops the replacement here, §4.2). */
  unregister(conn: SessionConnection): void {
    conn.markClosed();
    if (this.sessions.get(conn.key) === conn) {
      this.sessions.delete(conn.key);
      this.#metrics.evictions.closed += 1;
      this.#signals?.detach(conn.key, conn.owner);
    }
    this.#metrics.connections = this.sessions.size;
  }

  /**
   * Queues raw bytes for a session and wakes its connection, if any. A store failure becomes rmb-rs's
   * `failed to route message to peer '<dst>': <err>` (§4.4 step 4).
   */
  async deliver(session: string, data: Uint8Array): Promise<void> {
    const live = this.sessions.get(session);
    // The entries its connection is writing are spared by the length cap (they are on their way). A connection
    // of the session on another relay process is not known here: there the cap may still pick one of them.
    const keepHead = live === undefined || live.closed ? 0 : live.unacked;
    let id: string;
    try {
      id = await this.#store.enqueue(session, data, keepHead);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RouteError(`failed to route message to peer '${session}': ${reason}`, { cause });
    }
    const local = this.sessions.get(session);
    // A connection being closed here (evicted by a login on another process, or going away) delivers nothing
    // more: whoever holds the session now must be woken, or the entry waits until the session reconnects.
    if (id === "") return; // the cap dropped it at once (its sender was told)
    if (local !== undefined && !local.closed) local.offer(id, data);
    else this.#signals?.wake(session);
  }

  /**
   * Routes one binary frame from a connection. The common case (a well-formed message from the session itself to
   * a session connected to this process) is handled at once, without promises; anything else — and every frame
   * behind one still in the slow path, so the connection's order holds — goes through {@link handleFrame}.
   * `frame` may be a view into the socket's read buffer: it is copied before it is kept.
   */
  onFrame(conn: SessionConnection, frame: Uint8Array): void {
    if (conn.closedByRelay) return;
    if (conn.pendingFrames === 0 && conn.outstanding < MAX_PIPELINED && this.#routeNow(conn, frame)) return;
    const copy = new Uint8Array(frame);
    conn.enqueueFrame(() => this.handleFrame(conn, copy));
  }

  /** The fast path of {@link onFrame}; false (having changed nothing) when the frame needs the slow path. */
  #routeNow(conn: SessionConnection, frame: Uint8Array): boolean {
    let route: EnvelopeRoute;
    try {
      route = scanEnvelopeRoute(frame);
    } catch {
      return false; // the slow path closes the connection (1007)
    }
    if (route.kind === "ping" || !route.hasSource || !route.hasDestination || route.destinationTwin === 0) {
      return false;
    }
    const id = conn.id;
    if (route.sourceTwin !== id.twin || route.sourceConnection !== id.sid) return false;
    const dstKey =
      route.destinationConnection === undefined
        ? `${route.destinationTwin}`
        : `${route.destinationTwin}:${route.destinationConnection}`;
    const live = this.sessions.get(dstKey);
    if (live === undefined || live.closed) return false;
    const store = this.#store;
    this.#metrics.messageRx += 1;
    this.#metrics.messageRxBytes += frame.byteLength;
    if (this.#limiter !== undefined && !this.#limiter.measure(id.twin, frame.byteLength)) {
      void this.#replyErrorTo(frame, RelayErrorText.RateLimited, conn.key);
      return true;
    }
    if (store.enqueueSync === undefined) {
      // Redis: the enqueue is issued now (so the queue keeps the frames' order) and completes later.
      if (store.enqueueWith === undefined) {
        void this.#pipelined(conn, frame, this.deliver(dstKey, frame));
        return true;
      }
      conn.outstanding += 1;
      store.enqueueWith(dstKey, frame, live.unacked, (err, id) => {
        conn.outstanding -= 1;
        if (err !== undefined) {
          const reason = err instanceof Error ? err.message : String(err);
          void this.#replyErrorTo(frame, `failed to route message to peer '${dstKey}': ${reason}`, conn.key);
          return;
        }
        if (id === "") return; // the cap dropped it at once (its sender was told)
        const local = this.sessions.get(dstKey);
        if (local !== undefined && !local.closed) local.offer(id, frame);
        else this.#signals?.wake(dstKey);
      });
      return true;
    }
    // A view of the socket's read buffer is fine for a message written in this turn; one that waits in the queue
    // gets its own copy (a view would keep the whole read buffer alive).
    const data = live.writesAtOnce ? frame : new Uint8Array(frame);
    let entry: string;
    try {
      entry = store.enqueueSync(dstKey, data, live.unacked);
    } catch (err) {
      const reason = err instanceof QueueStoreFullError ? err.message : String(err);
      void this.#replyErrorTo(frame, `failed to route message to peer '${dstKey}': ${reason}`, conn.key);
      return true;
    }
    if (entry !== "") live.offer(entry, data); // "": the cap dropped it at once (its sender was told)
    return true;
  }

  /** {@link #replyError} for a frame not decoded yet (decoded here: only on error paths). */
  async #replyErrorTo(frame: Uint8Array, text: string, senderKey: string): Promise<void> {
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch {
      return;
    }
    await this.#replyError(env, text, senderKey).catch(() => undefined);
  }

  /**
   * Handles one binary frame from a connection (§4.3). Undecodable frames close the connection. Frames that
   * arrived before the peer closed its socket are still routed (the peer sent them); after the relay closed the
   * connection, nothing more is.
   */
  async handleFrame(conn: SessionConnection, frame: Uint8Array): Promise<void> {
    if (conn.closedByRelay) return;
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch {
      conn.close(1007, "invalid envelope");
      return;
    }
    this.#metrics.messageRx += 1;
    this.#metrics.messageRxBytes += frame.byteLength;
    if (this.#limiter !== undefined && !this.#limiter.measure(conn.id.twin, frame.byteLength)) {
      await this.#replyError(env, RelayErrorText.RateLimited, conn.key).catch(() => undefined);
      return;
    }
    try {
      await this.#route(conn, env, frame);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      // If even the error reply cannot be queued (storage full), the frame is dropped; the connection stays.
      await this.#replyError(env, text, conn.key).catch(() => undefined);
    }
  }

  async #route(conn: SessionConnection, env: Envelope, frame: Uint8Array): Promise<void> {
    if (!addressIsSession(env.source, conn.id)) throw new RouteError(RelayErrorText.WrongSource);
    if (env.message?.kind === "ping") {
      await this.#pipelined(conn, env, this.deliver(conn.key, encodeEnvelope(pong(env))));
      return;
    }
    const dst = env.destination;
    if (dst === undefined || dst.twin === 0) throw new RouteError(RelayErrorText.MissingDestination);
    const dstKey = formatSessionId(sessionOfAddress(dst));
    if (this.sessions.has(dstKey)) {
      await this.#pipelined(conn, env, this.deliver(dstKey, frame));
      return;
    }
    const twin = await this.#options.registry.getTwin(dst.twin);
    if (twin === undefined) throw new RouteError(RelayErrorText.UnknownTwin);
    if (twin.relays === undefined) throw new RouteError(RelayErrorText.RelayNotSet);
    if (!twin.relays.some((d) => this.#domains.has(d))) {
      await this.#pipelined(conn, env, this.#federate(dst.twin, frame));
      return;
    }
    if (hasFailFast(env.tags)) throw new RouteError(RelayErrorText.DestinationOffline);
    await this.#pipelined(conn, env, this.deliver(dstKey, frame));
  }

  /**
   * Lets the connection's next frame be routed while `queued` (an enqueue already issued, so the order in the
   * queue is the order of the frames) completes; a failure becomes the sender's error envelope. Waits when the
   * connection has `MAX_PIPELINED` enqueues outstanding, which bounds the memory a fast sender can tie up.
   */
  async #pipelined(
    conn: SessionConnection,
    env: Envelope | Uint8Array,
    queued: Promise<void>,
  ): Promise<void> {
    conn.outstanding += 1;
    const settled = queued.then(
      () => {
        conn.outstanding -= 1;
      },
      (err: unknown) => {
        conn.outstanding -= 1;
        const text = err instanceof Error ? err.message : String(err);
        if (env instanceof Uint8Array) return this.#replyErrorTo(env, text, conn.key);
        return this.#replyError(env, text, conn.key).catch(() => undefined);
      },
    );
    if (conn.outstanding > MAX_PIPELINED) await settled;
  }

  /** Queues a frame for another relay (§4.8.1); a queue failure is the sender's route error. */
  async #federate(twin: number, frame: Uint8Array): Promise<void> {
    try {
      await this.#federation.push(frame);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RouteError(`failed to route message to twin '${twin}' on another relay: ${reason}`, {
        cause,
      });
    }
  }

  /**
   * Federation ingress `POST /` (§4.8.2): 400 undecodable, expired, dated more than `maxClockSkew` ahead or without
   * destination, 401 when the signature does not verify against the source twin (unless `verifyFederatedSignatures`
   * is off), 404 fail-fast offline, else queued and 202.
   */
  async ingest(body: Uint8Array): Promise<IngressResult> {
    let env: Envelope;
    try {
      env = decodeEnvelope(body);
    } catch (err) {
      return { status: 400, body: `bad request: ${err instanceof Error ? err.message : String(err)}` };
    }
    const dst = env.destination;
    if (dst === undefined || dst.twin === 0) {
      return { status: 400, body: `bad request: ${RelayErrorText.MissingDestination}` };
    }
    if (isExpired(this.#options.clock(), env.timestamp ?? 0, env.expiration ?? 0)) {
      return { status: 400, body: "bad request: envelope expired" };
    }
    if (isFarFuture(this.#options.clock(), env.timestamp ?? 0, this.#options.maxClockSkew)) {
      return { status: 400, body: "bad request: envelope timestamp is in the future" };
    }
    if (this.#options.verifyFederatedSignatures) {
      const refusal = await this.#checkSignature(env);
      if (refusal !== undefined) return { status: 401, body: `unauthorized: ${refusal}` };
    }
    const dstKey = formatSessionId(sessionOfAddress(dst));
    if (hasFailFast(env.tags) && !this.sessions.has(dstKey)) {
      return { status: 404, body: RelayErrorText.DestinationOffline };
    }
    this.#metrics.messageRx += 1;
    this.#metrics.messageRxBytes += body.byteLength;
    await this.deliver(dstKey, body);
    return { status: 202, body: "" };
  }

  /** Why `env` is not authentically from its source twin, or `undefined` when it is. */
  async #checkSignature(env: Envelope): Promise<string | undefined> {
    const source = env.source?.twin ?? 0;
    if (source === 0) return "envelope has no source";
    const twin = await this.#options.registry.getTwin(source);
    if (twin === undefined) return `unknown source twin ${source}`;
    try {
      verifyEnvelope(env, twin.accountId);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** Federation gave up on a request: the relay's error envelope goes to the sender's session. */
  async federationFailed(env: Envelope, text: string): Promise<void> {
    if (env.source === undefined || env.source.twin === 0) return;
    await this.#replyError(env, text, formatSessionId(sessionOfAddress(env.source)));
  }

  /**
   * A queue dropped a message: tell the sender of a request (better than rmb-rs's silent loss); the drop reporter
   * counts and logs every drop and tells the session of a dropped response or error once its queue has room.
   */
  onDrop(session: string, data: Uint8Array, reason: DropReason): void {
    let env: Envelope | undefined;
    try {
      env = decodeEnvelope(data);
    } catch {
      env = undefined;
    }
    this.#drops.dropped(session, env, reason);
    if (env?.source === undefined || env.source.twin === 0) return;
    const text = reason === "queue_full" ? RelayErrorText.QueueFull : RelayErrorText.QueueExpired;
    const sender = formatSessionId(sessionOfAddress(env.source));
    void this.#replyError(env, text, sender).catch(() => undefined);
  }

  async #replyError(offending: Envelope, text: string, senderKey: string): Promise<void> {
    const destination: Address = addressOfSession(parseSessionId(senderKey));
    const bytes = encodeErrorEnvelope(offending, text, this.#options.clock(), destination);
    if (bytes === undefined) return;
    this.#metrics.errorsSent += 1;
    await this.deliver(senderKey, bytes);
  }
}

/** The relay's answer to an app-level ping (§4.5): Pong, source and destination swapped, `hello world` appended. */
export function pong(ping: Envelope): Envelope {
  const out: Envelope = { ...ping, message: { kind: "pong" } };
  delete out.source;
  delete out.destination;
  if (ping.destination !== undefined) out.source = ping.destination;
  if (ping.source !== undefined) out.destination = ping.source;
  const prior = ping.payload?.kind === "plain" ? ping.payload.data : new Uint8Array(0);
  const data = new Uint8Array(prior.length + HELLO_WORLD.length);
  data.set(prior);
  data.set(HELLO_WORLD, prior.length);
  out.payload = { kind: "plain", data };
  return out;
}
