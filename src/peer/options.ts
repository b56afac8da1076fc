import type { Identity } from "../identity/index.js";
import { DEFAULT_MAX_CLOCK_SKEW } from "../protocol/index.js";
import type { TwinRegistry } from "../registry/index.js";

/** Log sink of the peer: `level` and a line of text (never secrets). */
export type PeerLog = (level: "error" | "warn" | "info" | "debug", message: string) => void;

/** Options of {@link RmbPeer}. Every limit has a default in {@link PEER_DEFAULTS}. */
export interface PeerOptions {
  /** The twin's keys (`loadIdentity(secret, keyType)`); must have an end-to-end key (a bare mnemonic or seed). */
  identity: Identity;
  /** Where twins are looked up (and, unless `update` is false, where this twin's record is updated). */
  registry: TwinRegistry;
  /** Relay websocket URLs (`wss://relay.grid.tf`), at most `maxRelays`. */
  relays: string[];
  /** Local Redis URL. @default "redis://localhost:6379" */
  redis?: string;
  /**
   * Make the registry's record of this twin list the relays' domains and carry this twin's secp256k1 key (compared
   * as sets, so an equal record in another order is left alone). @default true
   */
  update?: boolean;
  /** This twin's id; looked up by account key when absent. */
  twinId?: number;
  /** Answer of `rmb.version`. @default the package version */
  version?: string;
  log?: PeerLog;
  /** Most relay URLs. @default 4 */
  maxRelays?: number;
  /** Newest entries kept in `msgbus.<cmd>` and reply lists (`LTRIM 0 listCap-1`). @default 10000 */
  listCap?: number;
  /** Lifetime in seconds of a request sent with `exp: 0`. @default 300 */
  defaultTtl?: number;
  /** Longest lifetime in seconds of an outgoing envelope and of a backlog record. @default 1800 */
  maxTtl?: number;
  /** Items popped from the Redis API in one go (`RPOP key count` after a `BRPOP`). @default 256 */
  popBatch?: number;
  /**
   * Most API items and incoming envelopes being processed at once: beyond it the API is not read and reading from
   * the relays pauses (until half of it is done), so a slow Redis pushes back instead of filling memory.
   * @default 1024
   */
  maxInFlight?: number;
  /** Largest payload (decoded `dat`) accepted from the Redis API, in bytes. @default 8 MiB */
  maxPayloadSize?: number;
  /** Most envelope uids remembered in memory to drop redeliveries (the fast path; Redis keeps the rest). @default 1000000 */
  maxSeenMessages?: number;
  /**
   * Longest time in seconds a delivered envelope stays marked in Redis (`rmb-peer.seen.*`, so that a restarted peer
   * still drops its redelivery); the mark lives for the envelope's remaining lifetime, at most this. @default 86400
   */
  maxSeenTtl?: number;
  /**
   * Seconds an incoming envelope's timestamp may lie ahead of this peer's clock; beyond it the envelope is refused
   * with code 102 (`envelope validation error: message timestamp is too far in the future`), answered to the sender
   * of a request. rmb-rs accepts any future timestamp, which lets a sender stretch an envelope's lifetime.
   * @default 300
   */
  maxClockSkew?: number;
  /** Seconds a looked-up twin is cached (changes reported by the registry refresh it sooner). @default 300 */
  twinCacheTtl?: number;
  /** Milliseconds to wait after a failed Redis read before trying again. @default 500 */
  redisRetryDelay?: number;
  /** Relay connection timers and limits (see `RELAY_POOL_DEFAULTS`). */
  relay?: {
    pingAfterIdle?: number;
    silenceTimeout?: number;
    reconnectDelay?: number;
    maxReconnectDelay?: number;
    maxBufferedBytes?: number;
  };
}

export const PEER_DEFAULTS = {
  redis: "redis://localhost:6379",
  maxRelays: 4,
  listCap: 10_000,
  defaultTtl: 300,
  maxTtl: 1800,
  popBatch: 256,
  maxInFlight: 1024,
  maxPayloadSize: 8 * 1024 * 1024,
  maxSeenMessages: 1_000_000,
  maxSeenTtl: 86_400,
  maxClockSkew: DEFAULT_MAX_CLOCK_SKEW,
  twinCacheTtl: 300,
  redisRetryDelay: 500,
} as const;

/** Redis keys of the gateway API (rmb-rs `redis_storage.rs`). */
export const PeerKeys = {
  /** Local clients push requests here. */
  local: "msgbus.system.local",
  /** Local services push responses here. */
  reply: "msgbus.system.reply",
  /** Incoming requests for `cmd` go here. */
  command: (cmd: string) => `msgbus.${cmd}`,
  /** The record of a sent request. */
  backlog: (uid: string) => `msgbus.backlog.${uid}`,
  /**
   * rmb-ts only: marks an envelope already handed to the application (`request|<src>|<uid>`, …) for its lifetime.
   * Outside `msgbus.*`, where every name may be a command's queue.
   */
  seen: (id: string) => `rmb-peer.seen.${id}`,
} as const;
