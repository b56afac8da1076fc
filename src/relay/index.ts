/**
 * `rmb-ts/relay` — an RMB relay byte-compatible with rmb-rs's `rmb-relay`: JWT websocket logins, store-and-forward
 * routing between twin sessions, app-level ping/pong, federation ingress, rate limits and Prometheus metrics.
 * Queues live in process memory (embedded mode) or, with the `redis` option, in Redis streams shared by every
 * relay process on the same Redis or Redis Cluster.
 *
 * @example
 * ```ts
 * import { RelayServer } from "rmb-ts/relay";
 * import { MemoryRegistry } from "rmb-ts/registry";
 * const relay = new RelayServer({ domains: ["relay.example"], registry: new MemoryRegistry() });
 * const { port } = await relay.start();
 * await relay.stop();
 * ```
 */
export { buildErrorEnvelope, ERROR_ENVELOPE_EXPIRATION, encodeErrorEnvelope } from "./error-envelope.js";
export {
  QueueStoreFullError,
  RelayErrorText,
  RelayOptionsError,
  RelayStateError,
  RouteError,
} from "./errors.js";
export { MemoryQueueStore, type MemoryQueueStoreOptions } from "./memory-queue-store.js";
export { RelayMetrics } from "./metrics.js";
export {
  type RateLimitOptions,
  RELAY_DEFAULTS,
  type RedisTarget,
  type RelayLog,
  type RelayOptions,
  type ResolvedRelayOptions,
  resolveRelayOptions,
} from "./options.js";
export type { DropListener, DropReason, QueuedMessage, QueueStore } from "./queue-store.js";
export { RATE_LIMIT_WINDOW, RateLimiter } from "./rate-limiter.js";
export { RedisQueueStore, type RedisQueueStoreOptions } from "./redis/redis-queue-store.js";
export { RelayServer } from "./relay-server.js";
export { pong } from "./router.js";
export type { SessionSignalHandlers, SessionSignals } from "./session-signals.js";
