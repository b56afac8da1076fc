import { Cluster } from "ioredis";
import type { DropListener, DropReason, QueuedMessage, QueueStore } from "../queue-store.js";
import { queueKey, type RedisClient, toBuffer } from "./connection.js";

/**
 * Appends an entry `t <unix seconds> m <bytes>`, refreshes the key's expiry and, when the stream is longer than
 * its cap, deletes the oldest entries after the first `ARGV[5]` (those being written to the session's connection;
 * at worst the new one) and returns their bytes after the new id (so the relay can tell their senders, where
 * rmb-rs's `XADD MAXLEN ~` trims silently). Atomic, so concurrent relay processes agree.
 */
const ENQUEUE_LUA = `
local id = redis.call('XADD', KEYS[1], '*', 't', ARGV[2], 'm', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local out = { id }
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[5]) + excess)
  local first = math.min(tonumber(ARGV[5]), #old - excess) + 1
  for i = first, first + excess - 1 do
    local entry = old[i]
    redis.call('XDEL', KEYS[1], entry[1])
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'm' then out[#out + 1] = fields[j + 1] end
    end
  end
end
return out
`;

interface EnqueueCommand {
  rmbEnqueueBuffer(
    key: string,
    data: Uint8Array,
    now: number,
    maxLength: number,
    ttl: number,
    keepHead: number,
  ): Promise<Buffer[]>;
}

/** Options of {@link RedisQueueStore}. */
export interface RedisQueueStoreOptions {
  /** Key prefix. @default "rmb" */
  prefix?: string;
  /** Most entries per session; enqueueing beyond it drops (and reports) the oldest. @default 10000 */
  maxLength?: number;
  /** Seconds an entry may wait before it is dropped and reported. @default 3600 */
  maxAge?: number;
  /** Unix seconds. @default Date.now()/1000 */
  clock?: () => number;
  /** Told about every dropped entry. */
  onDrop?: DropListener;
}

/** Extra lifetime of a stream key past `maxAge`, so the sweep reports expiries before Redis deletes the key. */
const KEY_TTL_GRACE = 600;
/** Entries examined per `XRANGE` while sweeping one stream. */
const SWEEP_BATCH = 256;

/**
 * {@link QueueStore} on Redis streams, one stream per session (`<prefix>:relay:queue:{<session>}`, hash-tagged
 * for Redis Cluster). Entry ids are stream ids. Acks are batched: all acks of one event-loop turn for a session
 * become one `XDEL`. Every relay process on the same Redis sees the same queues.
 */
export class RedisQueueStore implements QueueStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #maxLength: number;
  readonly #maxAge: number;
  readonly #clock: () => number;
  readonly #onDrop: DropListener | undefined;
  #pendingAcks = new Map<string, string[]>();
  #ackFlush: Promise<void> | undefined;

  constructor(client: RedisClient, options: RedisQueueStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? "rmb";
    this.#maxLength = options.maxLength ?? 10_000;
    this.#maxAge = options.maxAge ?? 3600;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#onDrop = options.onDrop;
    client.defineCommand("rmbEnqueue", { numberOfKeys: 1, lua: ENQUEUE_LUA });
  }

  async enqueue(session: string, data: Uint8Array, keepHead = 0): Promise<string> {
    const cmd = this.#client as unknown as EnqueueCommand;
    const ttl = this.#maxAge + KEY_TTL_GRACE;
    const reply = await cmd.rmbEnqueueBuffer(
      this.#key(session),
      toBuffer(data),
      this.#clock(),
      this.#maxLength,
      ttl,
      keepHead,
    );
    for (let i = 1; i < reply.length; i++) this.#drop(session, reply[i]!, "queue_full");
    return reply[0]!.toString();
  }

  async read(session: string, after: string | undefined, count: number): Promise<QueuedMessage[]> {
    const key = this.#key(session);
    let start = after === undefined ? "-" : `(${after}`;
    for (;;) {
      const entries = await this.#client.xrangeBuffer(key, start, "+", "COUNT", count);
      const out: QueuedMessage[] = [];
      const expired: string[] = [];
      const cutoff = this.#clock() - this.#maxAge;
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString();
        const entry = parseEntry(fields);
        if (entry === undefined) {
          expired.push(id); // not ours (or damaged): remove it
          continue;
        }
        if (entry.at <= cutoff) {
          expired.push(id);
          this.#drop(session, entry.data, "expired");
          continue;
        }
        out.push({ id, data: entry.data });
      }
      if (expired.length > 0) await this.#client.xdel(key, ...expired);
      if (out.length > 0 || entries.length < count) return out;
      start = `(${entries[entries.length - 1]![0].toString()}`;
    }
  }

  ack(session: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const list = this.#pendingAcks.get(session);
    if (list === undefined) this.#pendingAcks.set(session, [...ids]);
    else list.push(...ids);
    this.#ackFlush ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        const batch = this.#pendingAcks;
        this.#pendingAcks = new Map();
        this.#ackFlush = undefined;
        Promise.all([...batch].map(([s, list]) => this.#client.xdel(this.#key(s), ...list))).then(
          () => resolve(),
          reject,
        );
      });
    });
    return this.#ackFlush;
  }

  async length(session: string): Promise<number> {
    return this.#client.xlen(this.#key(session));
  }

  /**
   * Drops and reports entries older than `maxAge` in every queue. Scans the keyspace (each master of a cluster);
   * callers should run it rarely and from one process at a time (see `RedisBackend`).
   */
  async sweep(): Promise<void> {
    const nodes = this.#client instanceof Cluster ? this.#client.nodes("master") : [this.#client];
    const pattern = `${this.#prefix}:relay:queue:*`;
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500, "TYPE", "stream");
        cursor = next;
        for (const key of keys) await this.#sweepKey(key);
      } while (cursor !== "0");
    }
  }

  /** A read from the start drops (and reports) expired entries until it reaches fresh ones. */
  async #sweepKey(key: string): Promise<void> {
    const session = key.slice(key.indexOf("{") + 1, -1);
    await this.read(session, undefined, SWEEP_BATCH);
  }

  /** Waits for batched acks to reach Redis. The connection itself belongs to the caller. */
  async close(): Promise<void> {
    await this.#ackFlush;
  }

  #key(session: string): string {
    return queueKey(this.#prefix, session);
  }

  #drop(session: string, data: Buffer, reason: DropReason): void {
    this.#onDrop?.(session, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), reason);
  }
}

function parseEntry(fields: Buffer[]): { at: number; data: Buffer } | undefined {
  let at: number | undefined;
  let data: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length !== 1) continue;
    if (name[0] === 0x74 /* t */) at = Number(fields[i + 1]!.toString());
    else if (name[0] === 0x6d /* m */) data = fields[i + 1];
  }
  if (at === undefined || data === undefined || !Number.isFinite(at)) return undefined;
  return { at, data };
}
