import { Cluster } from "ioredis";
import type { DropListener, DropReason, EnqueueCallback, QueuedMessage, QueueStore } from "../queue-store.js";
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
    if entry[1] == id then out[1] = '' end
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'm' then out[#out + 1] = fields[j + 1] end
    end
  end
end
return out
`;

/**
 * The batched form of {@link ENQUEUE_LUA} for a single Redis server: every enqueue of one event-loop turn, for any
 * number of sessions, in one script call with one packed argument (so the client encodes O(1) arguments per batch).
 * `ARGV` = now, maxLength, ttl, n, then the entries packed as `uint16 key index (into KEYS) ‖ uint32 keepHead ‖
 * uint32 length ‖ bytes` (big-endian). Returns the n new ids joined by `,`, then `key index, bytes` for each entry
 * dropped by a length cap (the oldest beyond the first keepHead of the key's last entry). Atomic, like the single
 * form.
 */
const ENQUEUE_MANY_LUA = `
local now = ARGV[1]
local maxlen = tonumber(ARGV[2])
local ttl = ARGV[3]
local n = tonumber(ARGV[4])
local packed = ARGV[5]
local nk = tonumber(ARGV[6])
local refresh = ARGV[7]
for a = nk + 1, #KEYS do
  local ids = {}
  for id in string.gmatch(ARGV[7 + a - nk], '[^,]+') do
    ids[#ids + 1] = id
    if #ids == 1000 then
      redis.call('XDEL', KEYS[a], unpack(ids))
      ids = {}
    end
  end
  if #ids > 0 then redis.call('XDEL', KEYS[a], unpack(ids)) end
end
local pos = 1
local ids = {}
local keep = {}
for i = 1, n do
  local k, kh, len, at = struct.unpack('>I2I4I4', packed, pos)
  pos = at + len
  ids[i] = redis.call('XADD', KEYS[k], '*', 't', now, 'm', string.sub(packed, at, pos - 1))
  keep[k] = kh
end
local out = { '' }
local gone = {}
for k = 1, nk do
  if string.byte(refresh, k) == 49 then redis.call('EXPIRE', KEYS[k], ttl) end
  local excess = redis.call('XLEN', KEYS[k]) - maxlen
  if excess > 0 then
    local old = redis.call('XRANGE', KEYS[k], '-', '+', 'COUNT', keep[k] + excess)
    local first = math.min(keep[k], #old - excess) + 1
    for i = first, first + excess - 1 do
      local entry = old[i]
      redis.call('XDEL', KEYS[k], entry[1])
      gone[k .. ' ' .. entry[1]] = true
      local fields = entry[2]
      for j = 1, #fields, 2 do
        if fields[j] == 'm' then
          out[#out + 1] = k
          out[#out + 1] = fields[j + 1]
        end
      end
    end
  end
end
if next(gone) ~= nil then
  pos = 1
  for i = 1, n do
    local k, kh, len, at = struct.unpack('>I2I4I4', packed, pos)
    pos = at + len
    if gone[k .. ' ' .. ids[i]] then ids[i] = '' end
  end
end
out[1] = table.concat(ids, ',')
return out
`;

/** Removes acked entries of several streams: `ARGV[k]` holds the ids of `KEYS[k]` joined by `,`. */
const ACK_MANY_LUA = `
for k = 1, #KEYS do
  local ids = {}
  for id in string.gmatch(ARGV[k], '[^,]+') do
    ids[#ids + 1] = id
    if #ids == 1000 then
      redis.call('XDEL', KEYS[k], unpack(ids))
      ids = {}
    end
  end
  if #ids > 0 then redis.call('XDEL', KEYS[k], unpack(ids)) end
end
return 0
`;

/** Most entries, and bytes, in one batched enqueue (the rest go in the next call, issued at once). */
const MAX_BATCH = 512;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** A stream's expiry (maxAge + 600 s) is refreshed by a batched enqueue at most this often (ms). */
const EXPIRE_REFRESH_MS = 60_000;

interface AckSettle {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingEnqueue {
  session: string;
  data: Buffer;
  keepHead: number;
  done: EnqueueCallback;
}

interface EnqueueCommand {
  rmbEnqueueManyBuffer(...args: (string | number | Buffer)[]): Promise<(Buffer | number)[]>;
  rmbAckMany(...args: (string | number)[]): Promise<number>;
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
  /** What the callers of `ack` since the last flush wait on, and how to settle it. */
  #acksDone: Promise<void> | undefined;
  #acksSettle: AckSettle | undefined;
  /** Batching (one script call per turn) on a single server; a cluster gets one call per message (its slots). */
  readonly #batching: boolean;
  #batch: PendingEnqueue[] = [];
  /** When this process last refreshed a session stream's expiry (ms). */
  readonly #expireRefreshed = new Map<string, number>();
  readonly #flushBatch = (): void => this.#sendBatch();

  constructor(client: RedisClient, options: RedisQueueStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? "rmb";
    this.#maxLength = options.maxLength ?? 10_000;
    this.#maxAge = options.maxAge ?? 3600;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#onDrop = options.onDrop;
    client.defineCommand("rmbEnqueue", { numberOfKeys: 1, lua: ENQUEUE_LUA });
    client.defineCommand("rmbEnqueueMany", { lua: ENQUEUE_MANY_LUA });
    client.defineCommand("rmbAckMany", { lua: ACK_MANY_LUA });
    this.#batching = !(client instanceof Cluster);
  }

  enqueue(session: string, data: Uint8Array, keepHead = 0): Promise<string> {
    return new Promise<string>((resolve, reject) =>
      this.enqueueWith(session, data, keepHead, (err, id) => (err === undefined ? resolve(id) : reject(err))),
    );
  }

  /**
   * {@link enqueue} with a callback instead of a promise (the relay's fast path issues one per message):
   * `done(undefined, id)` once queued (`id` is `""` when the cap dropped the entry at once), or `done(err, "")`.
   */
  enqueueWith(session: string, data: Uint8Array, keepHead: number, done: EnqueueCallback): void {
    if (!this.#batching) {
      this.#enqueueOne(session, data, keepHead).then(
        (id) => done(undefined, id),
        (err: unknown) => done(err, ""),
      );
      return;
    }
    if (this.#batch.length === 0) queueMicrotask(this.#flushBatch);
    this.#batch.push({ session, data: toBuffer(data), keepHead, done });
  }

  /** Sends the enqueues collected this turn, in order, as script calls of up to {@link MAX_BATCH} entries. */
  #sendBatch(): void {
    const all = this.#batch;
    this.#batch = [];
    let first = true;
    for (let from = 0; from < all.length; ) {
      // A part holds up to MAX_BATCH entries and MAX_BATCH_BYTES (at least one entry, however big).
      let to = from + 1;
      let bytes = all[from]!.data.length;
      while (to < all.length && to - from < MAX_BATCH && bytes + all[to]!.data.length <= MAX_BATCH_BYTES) {
        bytes += all[to]!.data.length;
        to += 1;
      }
      const part = from === 0 && to === all.length ? all : all.slice(from, to);
      from = to;
      const keyIndex = new Map<string, number>();
      const keys: string[] = [];
      let size = 0;
      for (const e of part) size += 10 + e.data.length;
      const packed = Buffer.allocUnsafe(size);
      let at = 0;
      for (const e of part) {
        let k = keyIndex.get(e.session);
        if (k === undefined) {
          keys.push(this.#key(e.session));
          k = keys.length;
          keyIndex.set(e.session, k);
        }
        at = packed.writeUInt16BE(k, at);
        at = packed.writeUInt32BE(e.keepHead, at);
        at = packed.writeUInt32BE(e.data.length, at);
        packed.set(e.data, at);
        at += e.data.length;
      }
      const sessions = [...keyIndex.keys()];
      const enqueueKeys = keys.length;
      const nowMs = Date.now();
      if (this.#expireRefreshed.size > 100_000) this.#expireRefreshed.clear();
      let refresh = "";
      for (const session of sessions) {
        const last = this.#expireRefreshed.get(session);
        if (last === undefined || nowMs - last >= EXPIRE_REFRESH_MS) {
          this.#expireRefreshed.set(session, nowMs);
          refresh += "1";
        } else refresh += "0";
      }
      // The acks of this turn ride along with the first script call.
      const acks = first ? this.#takeAcks() : undefined;
      first = false;
      const ackIds: string[] = [];
      if (acks !== undefined) {
        for (const [session, list] of acks.batch) {
          keys.push(this.#key(session));
          ackIds.push(list.join(","));
        }
      }
      const cmd = this.#client as unknown as EnqueueCommand;
      cmd
        .rmbEnqueueManyBuffer(
          keys.length,
          ...keys,
          this.#clock(),
          this.#maxLength,
          this.#maxAge + KEY_TTL_GRACE,
          part.length,
          packed,
          enqueueKeys,
          refresh,
          ...ackIds,
        )
        .then(
          (reply) => {
            acks?.settle.resolve();
            const ids = String(reply[0]).split(",");
            for (let i = 0; i < part.length; i++) part[i]!.done(undefined, ids[i]!);
            for (let i = 1; i + 1 < reply.length; i += 2) {
              const session = sessions[Number(reply[i]) - 1];
              const bytes = reply[i + 1];
              if (session !== undefined && Buffer.isBuffer(bytes)) this.#drop(session, bytes, "queue_full");
            }
          },
          (err: unknown) => {
            acks?.settle.reject(err);
            for (const e of part) e.done(err, "");
          },
        );
    }
  }

  async #enqueueOne(session: string, data: Uint8Array, keepHead: number): Promise<string> {
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
    if (this.#acksDone === undefined) {
      let settle!: AckSettle;
      const done = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      this.#acksDone = done;
      this.#acksSettle = settle;
      // Unless an enqueue script takes them along first (same turn), they go on their own.
      setImmediate(() => this.#flushAcks());
    }
    return this.#acksDone;
  }

  /** Takes the acks collected so far (and the promise their callers wait on), if any. */
  #takeAcks(): { batch: Map<string, string[]>; settle: AckSettle } | undefined {
    if (this.#acksSettle === undefined) return undefined;
    const taken = { batch: this.#pendingAcks, settle: this.#acksSettle };
    this.#pendingAcks = new Map();
    this.#acksDone = undefined;
    this.#acksSettle = undefined;
    return taken;
  }

  #flushAcks(): void {
    const acks = this.#takeAcks();
    if (acks === undefined) return;
    this.#sendAcks(acks.batch).then(() => acks.settle.resolve(), acks.settle.reject);
  }

  /** One script call for all sessions on a single server; per-session `XDEL`s on a cluster. */
  async #sendAcks(batch: Map<string, string[]>): Promise<void> {
    if (!this.#batching || batch.size === 1) {
      await Promise.all([...batch].map(([s, list]) => this.#client.xdel(this.#key(s), ...list)));
      return;
    }
    const keys: string[] = [];
    const argv: string[] = [];
    for (const [s, list] of batch) {
      keys.push(this.#key(s));
      argv.push(list.join(","));
    }
    await (this.#client as unknown as EnqueueCommand).rmbAckMany(keys.length, ...keys, ...argv);
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
    await this.#acksDone;
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
