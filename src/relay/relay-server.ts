import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  formatSessionId,
  JwtError,
  type ParsedJwt,
  parseJwt,
  type SessionId,
  verifyParsedJwt,
} from "../protocol/index.js";
import { CachedRegistry } from "../registry/cached-registry.js";
import { CloseCode } from "../ws/frame.js";
import { acceptWebSocket, rejectUpgrade } from "../ws/server-handshake.js";
import type { WsConnection } from "../ws/ws-connection.js";
import { RelayStateError } from "./errors.js";
import type { FederationQueue } from "./federation/federation-queue.js";
import { Federator } from "./federation/federator.js";
import { MemoryFederationQueue } from "./federation/memory-federation-queue.js";
import { RelayRanker } from "./federation/ranker.js";
import { MemoryQueueStore } from "./memory-queue-store.js";
import { RelayMetrics } from "./metrics.js";
import { type RelayOptions, type ResolvedRelayOptions, resolveRelayOptions } from "./options.js";
import type { DropListener, QueueStore } from "./queue-store.js";
import { RateLimiter } from "./rate-limiter.js";
import { RedisBackend } from "./redis/redis-backend.js";
import { Router } from "./router.js";
import { SessionConnection } from "./session.js";

/** How often in-process queues are swept for messages older than `sessionQueueAge`. */
const SWEEP_INTERVAL_MS = 10_000;
/** How often one of the relay processes sharing a Redis sweeps its queues (a keyspace scan). */
const REDIS_SWEEP_INTERVAL_MS = 60_000;

class HttpReject extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(body);
    this.status = status;
  }
}

/**
 * An RMB relay (embedded mode: in-process queues). Serves websocket logins (`?<jwt>` on any path), federation
 * ingress `POST /`, and `GET /metrics`.
 *
 * @example
 * ```ts
 * const relay = new RelayServer({ domains: ["relay.example"], registry });
 * const { port } = await relay.start();
 * // clients connect to ws://127.0.0.1:<port>/?<jwt>
 * await relay.stop();
 * ```
 */
export class RelayServer {
  readonly options: Readonly<ResolvedRelayOptions>;
  readonly metrics = new RelayMetrics();
  /** The registry as given; when the relay wrapped it in its own cache, `stop()` closes that cache. */
  readonly #givenRegistry: unknown;
  readonly #store: QueueStore;
  readonly #redis: RedisBackend | undefined;
  readonly #federation: FederationQueue;
  readonly #federator: Federator;
  readonly #router: Router;
  readonly #instance = randomUUID();
  #connections = 0;
  /** Every websocket still open (registered, or evicted and closing). */
  readonly #sockets = new Set<WsConnection>();
  #http: Server | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #starting = false;
  #address: AddressInfo | undefined;

  constructor(options: RelayOptions) {
    this.options = resolveRelayOptions(options);
    this.#givenRegistry = options.registry;
    const o = this.options;
    const onDrop: DropListener = (session, data, reason) => this.#router.onDrop(session, data, reason);
    if (o.redis === undefined) {
      this.#store = new MemoryQueueStore({
        maxLength: o.sessionQueueLength,
        maxAge: o.sessionQueueAge,
        maxBytes: o.maxQueuedBytes,
        clock: o.clock,
        onDrop,
      });
    } else {
      this.#redis = new RedisBackend({
        target: o.redis,
        prefix: o.redisPrefix,
        maxLength: o.sessionQueueLength,
        maxAge: o.sessionQueueAge,
        clock: o.clock,
        onDrop,
        federationRetryDelay: o.federationRetryDelay,
        federationQueueLength: o.federationQueueLength,
      });
      this.#store = this.#redis.store;
    }
    this.#federation =
      this.#redis?.federation ?? new MemoryFederationQueue(o.federationRetryDelay, o.federationQueueLength);
    this.#federator = new Federator({
      registry: o.registry,
      ranker: new RelayRanker(o.rankerPeriod, o.clock),
      clock: o.clock,
      urlFor: (domain) => o.federationUrls[domain] ?? `https://${domain}/`,
      attemptTimeoutMs: o.federationTimeout,
      onPermanentFailure: (env, text) => this.#router.federationFailed(env, text),
      onResult: (domain, ok) => this.metrics.countFederation(domain, ok),
    });
    const limiter =
      o.rateLimit === undefined
        ? undefined
        : new RateLimiter(o.rateLimit, 2 * Math.min(o.maxSessions, 1_000_000), o.clock);
    this.#router = new Router(o, this.#store, this.metrics, limiter, this.#federation, this.#redis?.signals);
  }

  /** The bound address after `start()`, else `undefined`. */
  get address(): AddressInfo | undefined {
    return this.#address;
  }

  /** Drops a twin from the relay's twin cache (call when the registry reports a change). */
  invalidateTwin(id: number): void {
    const r = this.options.registry;
    if (r instanceof CachedRegistry) r.invalidate(id);
  }

  /** Live sessions (for tests and monitoring). */
  get sessionCount(): number {
    return this.#router.sessions.size;
  }

  /** Connects to Redis (when configured) and starts listening; resolves with the bound port. */
  async start(): Promise<{ port: number }> {
    if (this.#http !== undefined || this.#starting) throw new RelayStateError("relay already started");
    this.#starting = true;
    try {
      await this.#redis?.start();
      await this.#federation.start(
        (data) => this.#federator.process(data),
        this.options.federationConcurrency,
      );
      return await this.#listen();
    } finally {
      this.#starting = false;
    }
  }

  /** Runs the sweep of expired queue entries now (normally periodic). */
  async sweep(): Promise<void> {
    if (this.#redis !== undefined) await this.#redis.store.sweep();
    else await this.#store.sweep();
  }

  async #listen(): Promise<{ port: number }> {
    const http = createServer((req, res) => this.#onRequest(req, res));
    http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.#http = http;
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(this.options.port, this.options.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    this.#address = http.address() as AddressInfo;
    const redis = this.#redis;
    this.#sweep =
      redis === undefined
        ? setInterval(() => void this.#store.sweep().catch(() => undefined), SWEEP_INTERVAL_MS)
        : setInterval(
            () => void redis.sweepOnce(REDIS_SWEEP_INTERVAL_MS).catch(() => undefined),
            REDIS_SWEEP_INTERVAL_MS,
          );
    this.#sweep.unref();
    return { port: this.#address.port };
  }

  /**
   * Closes every session and the listener. In embedded mode queued messages are discarded; with Redis they stay
   * queued for the next relay process.
   */
  async stop(): Promise<void> {
    const http = this.#http;
    if (http === undefined) return;
    this.#http = undefined;
    this.#address = undefined;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    // Graceful: stop accepting connections, let every session finish routing what it received and confirm what
    // was written to it, then close.
    const listenerClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    const deadline = Date.now() + this.options.shutdownTimeout;
    await Promise.all([...this.#router.sessions.values()].map((conn) => conn.drained(deadline)));
    for (const conn of [...this.#router.sessions.values()]) conn.close(1001, "relay shutting down");
    for (const ws of this.#sockets) ws.terminate();
    http.closeAllConnections();
    await listenerClosed;
    await this.#federation.close();
    await this.#store.close();
    await this.#redis?.close();
    const registry = this.options.registry;
    if (registry instanceof CachedRegistry && registry !== this.#givenRegistry) registry.close();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      const r = this.options.registry;
      const cache = r instanceof CachedRegistry ? r.stats : undefined;
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.metrics.render(cache));
      return;
    }
    if (req.method === "POST" && path === "/") {
      this.#onFederation(req, res);
      return;
    }
    if (this.options.httpRoutes?.(req, res) === true) return;
    sendText(res, 404, "page not found");
  }

  #onFederation(req: IncomingMessage, res: ServerResponse): void {
    const limit = this.options.maxMessageSize;
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      this.metrics.countIngress(413);
      sendText(res, 413, "payload too large", true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on("data", (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > limit) {
        aborted = true;
        this.metrics.countIngress(413);
        sendText(res, 413, "payload too large", true);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (aborted) return;
      this.#router.ingest(Buffer.concat(chunks)).then(
        (result) => {
          this.metrics.countIngress(result.status);
          sendText(res, result.status, result.body);
        },
        (err: unknown) => {
          this.metrics.countIngress(500);
          sendText(res, 500, `switch error: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    });
    req.on("error", () => undefined);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    this.#authenticate(req).then(
      (id) => {
        if (socket.destroyed) return;
        const key = formatSessionId(id);
        if (!this.#router.sessions.has(key) && this.#router.sessions.size >= this.options.maxSessions) {
          rejectUpgrade(socket, 503, "max number of users");
          return;
        }
        const ws = acceptWebSocket(req, socket, head, { maxPayload: this.options.maxMessageSize });
        if (ws !== undefined) this.#onConnection(id, ws);
      },
      (err: unknown) => {
        if (err instanceof HttpReject) rejectUpgrade(socket, err.status, err.message);
        else rejectUpgrade(socket, 500, `internal error: ${String(err)}`);
      },
    );
  }

  /** JWT checks in rmb-rs order (wire spec §3.3). */
  async #authenticate(req: IncomingMessage): Promise<SessionId> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    if (q < 0) throw new HttpReject(400, "missing jwt");
    const token = url.slice(q + 1);
    let jwt: ParsedJwt;
    try {
      jwt = parseJwt(token);
    } catch (err) {
      throw new HttpReject(401, `invalid jwt: ${err instanceof Error ? err.message : String(err)}`);
    }
    const now = this.options.clock();
    if (now > jwt.claims.exp) throw new HttpReject(401, "invalid jwt: jwt has expired");
    let twin: Awaited<ReturnType<typeof this.options.registry.getTwin>>;
    try {
      twin = await this.options.registry.getTwin(jwt.claims.sub);
    } catch (err) {
      throw new HttpReject(500, `failed to get twin: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (twin === undefined) throw new HttpReject(401, `twin not found ${jwt.claims.sub}`);
    try {
      verifyParsedJwt(jwt, { accountId: twin.accountId, now });
    } catch (err) {
      const message = err instanceof JwtError || err instanceof Error ? err.message : String(err);
      throw new HttpReject(401, `invalid jwt: ${message}`);
    }
    return jwt.claims.sid === undefined
      ? { twin: jwt.claims.sub }
      : { twin: jwt.claims.sub, sid: jwt.claims.sid };
  }

  #onConnection(id: SessionId, ws: WsConnection): void {
    const owner = `${this.#instance}:${++this.#connections}`;
    const conn = new SessionConnection(id, ws, owner, this.#store, this.metrics, this.options.maxInFlight);
    const router = this.#router;
    ws.onMessage = (data, binary) => {
      if (!binary) conn.close(CloseCode.UnsupportedData, "unsupported (text) message");
      else router.onFrame(conn, data);
    };
    ws.onClose = () => {
      this.#sockets.delete(ws);
      router.unregister(conn);
    };
    this.#sockets.add(ws);
    router.register(conn);
  }
}

function sendText(res: ServerResponse, status: number, body: string, close = false): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  };
  if (close) headers.connection = "close";
  res.writeHead(status, headers).end(body);
}
