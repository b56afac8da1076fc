import { randomUUID } from "node:crypto";
import { RelayStateError } from "../errors.js";
import { RedisFederationQueue } from "../federation/redis-federation-queue.js";
import type { RedisTarget } from "../options.js";
import type { DropListener } from "../queue-store.js";
import { connectRedis, type RedisClient } from "./connection.js";
import { RedisQueueStore } from "./redis-queue-store.js";
import { RedisSessionSignals } from "./redis-session-signals.js";

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions {
  target: RedisTarget;
  prefix: string;
  maxLength: number;
  maxAge: number;
  clock: () => number;
  onDrop: DropListener;
  /** Pause before a federated envelope is tried again, in ms. */
  federationRetryDelay: number;
  federationQueueLength: number;
}

/**
 * Everything a relay process keeps in Redis: the queue store (commands connection) and the session signals
 * (a second connection in subscriber mode). `start()` fails fast when Redis cannot be reached.
 */
export class RedisBackend {
  /** Unique per process; prefixes connection owners and locks. */
  readonly processId = randomUUID();
  readonly client: RedisClient;
  readonly store: RedisQueueStore;
  readonly signals: RedisSessionSignals;
  readonly federation: RedisFederationQueue;
  readonly #subscriber: RedisClient;
  readonly #blocking: RedisClient;
  readonly #prefix: string;

  constructor(options: RedisBackendOptions) {
    this.#prefix = options.prefix;
    this.client = connectRedis(options.target, { name: "rmb-relay" });
    this.#subscriber = connectRedis(options.target, { name: "rmb-relay-signals" });
    this.#blocking = connectRedis(options.target, { name: "rmb-relay-federation" });
    // Errors surface through failed commands; without listeners ioredis would print every reconnect attempt.
    this.client.on("error", () => undefined);
    this.#subscriber.on("error", () => undefined);
    this.#blocking.on("error", () => undefined);
    this.store = new RedisQueueStore(this.client, {
      prefix: options.prefix,
      maxLength: options.maxLength,
      maxAge: options.maxAge,
      clock: options.clock,
      onDrop: options.onDrop,
    });
    this.signals = new RedisSessionSignals(this.client, this.#subscriber, options.prefix);
    this.federation = new RedisFederationQueue(
      this.client,
      this.#blocking,
      options.prefix,
      this.processId,
      options.federationRetryDelay,
      options.federationQueueLength,
    );
  }

  /** Connects both connections and checks that Redis answers. */
  async start(): Promise<void> {
    try {
      await Promise.all([this.client.connect(), this.#subscriber.connect(), this.#blocking.connect()]);
      await this.client.ping();
    } catch (cause) {
      await this.close();
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new RelayStateError(`cannot reach redis: ${reason}`);
    }
  }

  /**
   * Sweeps expired queue entries if no other process did within `intervalMs` (a `SET NX PX` lock), so a group of
   * relay processes sweeps once per interval.
   */
  async sweepOnce(intervalMs: number): Promise<boolean> {
    const lock = await this.client.set(
      `${this.#prefix}:relay:sweep-lock`,
      this.processId,
      "PX",
      intervalMs,
      "NX",
    );
    if (lock !== "OK") return false;
    await this.store.sweep();
    return true;
  }

  async close(): Promise<void> {
    await this.store.close().catch(() => undefined);
    await this.signals.close();
    await this.federation.close().catch(() => undefined);
    this.client.disconnect();
    this.#subscriber.disconnect();
    this.#blocking.disconnect();
  }
}
