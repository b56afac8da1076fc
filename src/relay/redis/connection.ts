import { Cluster, Redis } from "ioredis";
import type { RedisTarget } from "../options.js";

/** A connection to a single Redis server or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Options shared by every connection the relay opens. */
export interface RedisConnectOptions {
  /** Name shown by `CLIENT LIST`. */
  name?: string;
}

/**
 * Opens a connection to `target` with auto-pipelining (commands issued in the same tick share one write) and
 * unlimited reconnect attempts with capped backoff. Commands issued while Redis is unreachable fail after a
 * few retries instead of waiting forever, so a sender learns about the outage from an error envelope.
 */
export function connectRedis(target: RedisTarget, options: RedisConnectOptions = {}): RedisClient {
  const common = {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: true,
    ...(options.name === undefined ? {} : { connectionName: options.name }),
  };
  if (typeof target === "string") return new Redis(target, common);
  const nodes = target.cluster.map((address) => {
    const i = address.lastIndexOf(":");
    return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
  });
  return new Cluster(nodes, {
    enableAutoPipelining: true,
    clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: true,
    redisOptions: common,
  });
}

/** Key of a session's queue stream, hash-tagged so that one session's keys share a cluster slot. */
export function queueKey(prefix: string, session: string): string {
  return `${prefix}:relay:queue:{${session}}`;
}

/** Pub/sub channel that wakes (or evicts) the connection of a session wherever it lives. */
export function sessionChannel(prefix: string, session: string): string {
  return `${prefix}:relay:session:{${session}}`;
}

/** `data` as a Buffer without copying: ioredis sends only Buffers as bytes (a plain Uint8Array is stringified). */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
