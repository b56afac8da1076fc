import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_MAX_CLOCK_SKEW } from "../protocol/ttl.js";
import { CachedRegistry, type TwinCacheOptions } from "../registry/cached-registry.js";
import { MemoryRegistry } from "../registry/memory-registry.js";
import type { TwinRegistry } from "../registry/twin-registry.js";
import { RelayOptionsError } from "./errors.js";

/** Per-twin rate limit over a fixed 60-second window (wire spec §4.11). */
export interface RateLimitOptions {
  /** Most frames a twin may send per window. */
  count: number;
  /** Most bytes a twin may send per window; also the largest single frame accepted. */
  size: number;
}

/** Options of {@link RelayServer}. Only `domains` and `registry` are required. */
export interface RelayOptions {
  /** The domains this relay serves (`--domain`); a twin whose chain relays include one of them is local. */
  domains: string[];
  /** Where twins are looked up (JWT account ids, destination relays). */
  registry: TwinRegistry;
  /**
   * Interface to listen on. Loopback by default so that a relay started by a test or by mistake is not exposed;
   * production deployments (behind a TLS proxy) pass `"::"` or `"0.0.0.0"` like rmb-rs's `[::]`.
   * @default "127.0.0.1"
   */
  host?: string;
  /** TCP port; `0` picks a free ephemeral port (read it from `start()`). @default 0 */
  port?: number;
  /** Most live sessions (websocket connections); further logins get `503 max number of users`. @default 500000 */
  maxSessions?: number;
  /**
   * Largest websocket message and federation `POST /` body accepted, in bytes. rmb-rs accepts 64 MiB frames
   * (tungstenite defaults) and unbounded POST bodies; 1 MiB is a safer default for a public relay.
   * @default 1048576
   */
  maxMessageSize?: number;
  /**
   * Most messages held per destination session; beyond it the oldest is dropped (like `XADD MAXLEN ~ 10000`), except
   * those the session's connection on this process is writing, and the sender of a dropped request is told.
   * @default 10000
   */
  sessionQueueLength?: number;
  /** Seconds a queued message waits for its destination before it is dropped (like `EXPIRE 3600`). @default 3600 */
  sessionQueueAge?: number;
  /**
   * Drop reports waiting for room, across all sessions. When a session's queue overflows and drops a response or an
   * error addressed to that session, the relay keeps the answer's uid and, once the queue has room again, sends the
   * session an error envelope with that uid (`session queue is full, dropped the response from twin N`), so the
   * pending call fails at once instead of timing out. Beyond this many waiting, further drops are only counted and
   * logged.
   * @default 100000
   */
  maxDropReports?: number;
  /**
   * Most bytes queued across all sessions (embedded mode). Beyond it a message is refused: a websocket sender
   * gets `failed to route message to peer '<dst>': relay queue storage is full (…)`, `POST /` gets 500.
   * @default 268435456 (256 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * Messages sent to one connection whose write has not completed yet; a slow reader holds at most this many
   * frames in memory (and the relay stops writing to a socket with 4 MiB unsent) and never stalls others. Above it,
   * a connection's messages are read back from the queue as writes complete.
   * @default 1024
   */
  maxInFlight?: number;
  /** Per-twin rate limit; disabled when absent (like rmb-rs without `--limit`). @default undefined */
  rateLimit?: RateLimitOptions;
  /**
   * Where session queues live. Absent: embedded mode, in-process queues that end with the process. A
   * `redis://host:port[/db]` URL (rmb-rs's `--redis`): Redis streams that survive relay restarts and are shared
   * by every relay process on the same Redis. `{ cluster: ["host:port", …] }`: a Redis Cluster (keys are
   * hash-tagged per session).
   * @default undefined (embedded)
   */
  redis?: RedisTarget;
  /**
   * Base URL to federate to for a relay domain, instead of `https://<domain>/` (for tests and private networks),
   * e.g. `{ "relay.b": "http://127.0.0.1:8081/" }`.
   * @default {}
   */
  federationUrls?: Record<string, string>;
  /** Envelopes being federated at once by this process (rmb-rs: 100 consumers × 4). @default 64 */
  federationConcurrency?: number;
  /**
   * Most envelopes waiting in the federation queue (shared by the processes of one Redis); beyond it, the sender of a
   * request gets an error envelope instead of the queue growing without bound. @default 100000
   */
  federationQueueLength?: number;
  /** Timeout of one `POST /` to another relay, in ms (rmb-rs: 3 s). @default 3000 */
  federationTimeout?: number;
  /** Pause before an envelope whose relays were all unreachable is tried again, in ms. @default 3000 */
  federationRetryDelay?: number;
  /** Window in seconds over which failed deliveries lower a relay domain's rank (`--ranker-period`). @default 3600 */
  rankerPeriod?: number;
  /**
   * Federation ingress (`POST /`) accepts only envelopes whose signature verifies against their source twin's
   * account key (rmb-rs accepts anything). Every rmb peer and SDK signs its envelopes; turn this off only to
   * accept traffic from a sender that does not.
   * @default true
   */
  verifyFederatedSignatures?: boolean;
  /**
   * Seconds the timestamp of an envelope offered to the federation ingress (`POST /`) may lie ahead of this relay's
   * clock; beyond it the body is refused with `400 bad request: envelope timestamp is in the future` (rmb-rs checks
   * no time there). Websocket frames are routed regardless: their receivers check times (peers and SDK clients
   * refuse such envelopes with code 102).
   * @default 300
   */
  maxClockSkew?: number;
  /**
   * Cache of twin lookups in front of `registry` (TTL 300 s, unknown ids 5 s, 100k entries, single-flight).
   * `false` turns it off. An in-process `MemoryRegistry` is never wrapped (it is already memory).
   * @default {}
   */
  twinCache?: TwinCacheOptions | false;
  /**
   * On `stop()`, how long to wait for sessions to finish routing received frames and confirming written ones
   * before their sockets are closed, in ms.
   * @default 5000
   */
  shutdownTimeout?: number;
  /**
   * Extra HTTP routes served on the relay's port, tried before the relay answers 404: return `true` when the
   * request was handled (e.g. `RegistrarService.handle` to host the registry on the relay, `rmb relay
   * --registry-data`). The relay's own routes (`POST /`, `GET /metrics`, the websocket upgrade) come first.
   * @default undefined
   */
  httpRoutes?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Prefix of every Redis key and channel this relay uses, so several deployments can share one Redis. @default "rmb" */
  redisPrefix?: string;
  /** Current unix time in seconds, for tests. @default () => Math.floor(Date.now() / 1000) */
  clock?: () => number;
  /** Where the relay logs what an operator should know (queue drops, once per session per second). @default none */
  log?: RelayLog | undefined;
}

/** Log sink of the relay: a level and a line of text. */
export type RelayLog = (level: "error" | "warn" | "info" | "debug", message: string) => void;

/** A single Redis server (URL) or the seed nodes of a Redis Cluster. */
export type RedisTarget = string | { cluster: string[] };

/** Every option with its default filled in. */
export interface ResolvedRelayOptions {
  domains: string[];
  /** The registry the relay uses: the given one, or a `CachedRegistry` in front of it. */
  registry: TwinRegistry;
  host: string;
  port: number;
  maxSessions: number;
  maxMessageSize: number;
  sessionQueueLength: number;
  sessionQueueAge: number;
  maxDropReports: number;
  maxQueuedBytes: number;
  maxInFlight: number;
  rateLimit: RateLimitOptions | undefined;
  redis: RedisTarget | undefined;
  redisPrefix: string;
  federationUrls: Record<string, string>;
  federationConcurrency: number;
  federationQueueLength: number;
  federationTimeout: number;
  federationRetryDelay: number;
  rankerPeriod: number;
  verifyFederatedSignatures: boolean;
  maxClockSkew: number;
  shutdownTimeout: number;
  httpRoutes: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  clock: () => number;
  log: RelayLog | undefined;
}

/** The defaults of every optional {@link RelayOptions} field. */
export const RELAY_DEFAULTS = {
  host: "127.0.0.1",
  port: 0,
  maxSessions: 500_000,
  maxMessageSize: 1024 * 1024,
  sessionQueueLength: 10_000,
  sessionQueueAge: 3600,
  maxDropReports: 100_000,
  maxQueuedBytes: 256 * 1024 * 1024,
  maxInFlight: 1024,
  redisPrefix: "rmb",
  federationConcurrency: 64,
  federationQueueLength: 100_000,
  federationTimeout: 3000,
  federationRetryDelay: 3000,
  rankerPeriod: 3600,
  verifyFederatedSignatures: true,
  maxClockSkew: DEFAULT_MAX_CLOCK_SKEW,
  shutdownTimeout: 5000,
  clock: (): number => Math.floor(Date.now() / 1000),
} as const;

/** The integer options, each validated against its minimum and defaulted from {@link RELAY_DEFAULTS}. */
type IntOption =
  | "maxSessions"
  | "maxMessageSize"
  | "sessionQueueLength"
  | "sessionQueueAge"
  | "maxDropReports"
  | "maxQueuedBytes"
  | "maxInFlight"
  | "federationConcurrency"
  | "federationQueueLength"
  | "federationTimeout"
  | "federationRetryDelay"
  | "rankerPeriod"
  | "maxClockSkew"
  | "shutdownTimeout";

function positiveInt(name: string, value: unknown, min = 1): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RelayOptionsError(name, `expected an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults and validates; throws `RelayOptionsError` naming the first bad option. */
export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  if (typeof options !== "object" || options === null)
    throw new RelayOptionsError("options", "expected an object");
  const { domains, registry } = options;
  if (!Array.isArray(domains) || domains.length === 0) {
    throw new RelayOptionsError("domains", "expected a non-empty array of domain names");
  }
  for (const d of domains) {
    if (typeof d !== "string" || d.length === 0 || d.includes("_")) {
      throw new RelayOptionsError("domains", `invalid domain ${JSON.stringify(d)}`);
    }
  }
  if (
    typeof registry !== "object" ||
    registry === null ||
    typeof registry.getTwin !== "function" ||
    typeof registry.getTwinIdByAccount !== "function"
  ) {
    throw new RelayOptionsError("registry", "expected a TwinRegistry");
  }
  const host = options.host ?? RELAY_DEFAULTS.host;
  if (typeof host !== "string" || host.length === 0)
    throw new RelayOptionsError("host", "expected a host name");
  const port = options.port ?? RELAY_DEFAULTS.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RelayOptionsError("port", `expected an integer in [0, 65535], got ${String(port)}`);
  }
  let rateLimit: RateLimitOptions | undefined;
  if (options.rateLimit !== undefined) {
    rateLimit = {
      count: positiveInt("rateLimit.count", options.rateLimit.count),
      size: positiveInt("rateLimit.size", options.rateLimit.size),
    };
  }
  const redis = options.redis;
  if (redis !== undefined) {
    if (typeof redis === "string") {
      if (!/^rediss?:\/\//.test(redis))
        throw new RelayOptionsError("redis", `expected a redis:// URL, got ${JSON.stringify(redis)}`);
    } else if (
      typeof redis !== "object" ||
      redis === null ||
      !Array.isArray(redis.cluster) ||
      redis.cluster.length === 0 ||
      !redis.cluster.every((a) => typeof a === "string" && /^[^:\s]+:\d+$/.test(a))
    ) {
      throw new RelayOptionsError("redis", 'expected a URL or { cluster: ["host:port", ...] }');
    }
  }
  if (options.httpRoutes !== undefined && typeof options.httpRoutes !== "function")
    throw new RelayOptionsError("httpRoutes", "expected a function");
  const redisPrefix = options.redisPrefix ?? RELAY_DEFAULTS.redisPrefix;
  if (typeof redisPrefix !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(redisPrefix)) {
    throw new RelayOptionsError("redisPrefix", "expected 1-64 characters of [A-Za-z0-9_.-]");
  }
  const federationUrls = options.federationUrls ?? {};
  if (typeof federationUrls !== "object" || federationUrls === null) {
    throw new RelayOptionsError("federationUrls", "expected an object of domain → URL");
  }
  for (const [domain, url] of Object.entries(federationUrls)) {
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw new RelayOptionsError("federationUrls", `expected an http(s) URL for ${JSON.stringify(domain)}`);
    }
  }
  const verify = options.verifyFederatedSignatures ?? RELAY_DEFAULTS.verifyFederatedSignatures;
  if (typeof verify !== "boolean")
    throw new RelayOptionsError("verifyFederatedSignatures", "expected a boolean");
  const clock = options.clock ?? RELAY_DEFAULTS.clock;
  if (typeof clock !== "function") throw new RelayOptionsError("clock", "expected a function");
  if (options.log !== undefined && typeof options.log !== "function")
    throw new RelayOptionsError("log", "expected a function");
  const cached =
    options.twinCache === false || registry instanceof MemoryRegistry || registry instanceof CachedRegistry
      ? registry
      : new CachedRegistry(registry, options.twinCache ?? {});
  const int = (name: IntOption, min = 1): number =>
    positiveInt(name, options[name] ?? RELAY_DEFAULTS[name], min);
  return {
    domains: [...domains],
    registry: cached,
    host,
    port,
    maxSessions: int("maxSessions"),
    maxMessageSize: int("maxMessageSize"),
    sessionQueueLength: int("sessionQueueLength"),
    sessionQueueAge: int("sessionQueueAge"),
    maxDropReports: int("maxDropReports", 0),
    maxQueuedBytes: int("maxQueuedBytes"),
    maxInFlight: int("maxInFlight"),
    rateLimit,
    redis: typeof redis === "object" ? { cluster: [...redis.cluster] } : redis,
    redisPrefix,
    federationUrls: { ...federationUrls },
    federationConcurrency: int("federationConcurrency"),
    federationQueueLength: int("federationQueueLength"),
    federationTimeout: int("federationTimeout"),
    federationRetryDelay: int("federationRetryDelay"),
    rankerPeriod: int("rankerPeriod"),
    verifyFederatedSignatures: verify,
    maxClockSkew: int("maxClockSkew", 0),
    shutdownTimeout: int("shutdownTimeout", 0),
    httpRoutes: options.httpRoutes,
    clock,
    log: options.log,
  };
}
