import { QueueStoreFullError } from "./errors.js";
import type { DropListener, QueuedMessage, QueueStore } from "./queue-store.js";

/** Options of {@link MemoryQueueStore}. */
export interface MemoryQueueStoreOptions {
  /** Most entries per session; enqueueing beyond it drops the oldest. @default 10000 */
  maxLength?: number;
  /** Seconds an entry may wait; older entries are dropped. @default 3600 */
  maxAge?: number;
  /**
   * Most bytes held across all sessions; an enqueue that would exceed it fails with `QueueStoreFullError`, so
   * senders cannot exhaust memory by filling many session queues. @default 268435456 (256 MiB)
   */
  maxBytes?: number;
  /** Unix seconds. @default Date.now()/1000 */
  clock?: () => number;
  /** Told about every dropped entry. */
  onDrop?: DropListener;
}

interface Entry {
  id: number;
  data: Uint8Array | undefined; // undefined once acked or dropped
  at: number;
}

interface Queue {
  entries: Entry[];
  head: number;
  live: number;
}

/**
 * In-process {@link QueueStore}: one array per session, compacted as it drains. Unlike rmb-rs's stream-wide
 * `EXPIRE`, age is per message: each entry is dropped `maxAge` seconds after it was enqueued.
 */
export class MemoryQueueStore implements QueueStore {
  readonly #queues = new Map<string, Queue>();
  readonly #maxLength: number;
  readonly #maxAge: number;
  readonly #maxBytes: number;
  /** Bytes of all live (not acked, not dropped) entries. */
  #bytes = 0;
  readonly #clock: () => number;
  readonly #onDrop: DropListener | undefined;
  /** Store-wide counter, so ids never go backwards even when an empty queue is dropped and recreated. */
  #nextId = 1;

  constructor(options: MemoryQueueStoreOptions = {}) {
    this.#maxLength = options.maxLength ?? 10_000;
    this.#maxAge = options.maxAge ?? 3600;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.#onDrop = options.onDrop;
  }

  async enqueue(session: string, data: Uint8Array, keepHead = 0): Promise<string> {
    return this.enqueueSync(session, data, keepHead);
  }

  /** {@link enqueue} without the promise (the relay's fast path); throws `QueueStoreFullError`. */
  enqueueSync(session: string, data: Uint8Array, keepHead = 0): string {
    const existing = this.#queues.get(session);
    if (existing !== undefined) this.#expire(session, existing); // may drop an emptied queue
    if (this.#bytes + data.byteLength > this.#maxBytes) {
      throw new QueueStoreFullError(this.#maxBytes);
    }
    let q = this.#queues.get(session);
    if (q === undefined) {
      q = { entries: [], head: 0, live: 0 };
      this.#queues.set(session, q);
    }
    const id = this.#nextId++;
    q.entries.push({ id, data, at: this.#clock() });
    q.live += 1;
    this.#bytes += data.byteLength;
    let kept = true;
    while (q.live > this.#maxLength) {
      const at = this.#liveIndex(q, Math.min(keepHead, q.live - 1));
      if (at === undefined) break;
      if (q.entries[at]!.id === id) kept = false;
      this.#drop(session, q, q.entries[at]!, "queue_full");
      // Behind the entries being written, the drop would leave a hole that compaction (from the head) never
      // reaches while they wait: take it out.
      if (at > q.head) q.entries.splice(at, 1);
    }
    return kept ? String(id) : "";
  }

  async read(session: string, after: string | undefined, count: number): Promise<QueuedMessage[]> {
    const q = this.#queues.get(session);
    if (q === undefined) return [];
    this.#expire(session, q);
    const out: QueuedMessage[] = [];
    const start = this.#indexAfter(q, after === undefined ? 0 : Number(after));
    for (let i = start; i < q.entries.length && out.length < count; i++) {
      const e = q.entries[i]!;
      if (e.data !== undefined) out.push({ id: String(e.id), data: e.data });
    }
    return out;
  }

  async ack(session: string, ids: readonly string[]): Promise<void> {
    this.ackSync(session, ids);
  }

  /** {@link ack} without the promise. */
  ackSync(session: string, ids: readonly string[]): void {
    const q = this.#queues.get(session);
    if (q === undefined) return;
    for (const text of ids) {
      const id = Number(text);
      if (!Number.isSafeInteger(id)) continue;
      const i = this.#indexAfter(q, id - 1);
      const e = q.entries[i];
      if (e !== undefined && e.id === id && e.data !== undefined) {
        this.#bytes -= e.data.byteLength;
        e.data = undefined;
        q.live -= 1;
      }
    }
    this.#compact(session, q);
  }

  async length(session: string): Promise<number> {
    const q = this.#queues.get(session);
    if (q === undefined) return 0;
    this.#expire(session, q);
    return q.live;
  }

  async sweep(): Promise<void> {
    for (const [session, q] of this.#queues) this.#expire(session, q);
  }

  /** Bytes held by live entries across all sessions. */
  get bytes(): number {
    return this.#bytes;
  }

  async close(): Promise<void> {
    this.#queues.clear();
    this.#bytes = 0;
  }

  /** Index of the first entry with `id > after` (entries are sorted by id). */
  #indexAfter(q: Queue, after: number): number {
    let lo = q.head;
    let hi = q.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (q.entries[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the live entry with `skip` live entries before it. */
  #liveIndex(q: Queue, skip: number): number | undefined {
    let left = skip;
    for (let i = q.head; i < q.entries.length; i++) {
      if (q.entries[i]!.data === undefined) continue;
      if (left === 0) return i;
      left -= 1;
    }
    return undefined;
  }

  #expire(session: string, q: Queue): void {
    const cutoff = this.#clock() - this.#maxAge;
    for (let i = q.head; i < q.entries.length; i++) {
      const e = q.entries[i]!;
      if (e.at > cutoff) break;
      if (e.data !== undefined) this.#drop(session, q, e, "expired");
    }
    this.#compact(session, q);
  }

  #drop(session: string, q: Queue, e: Entry, reason: "queue_full" | "expired"): void {
    const data = e.data;
    if (data === undefined) return;
    this.#bytes -= data.byteLength;
    e.data = undefined;
    q.live -= 1;
    this.#onDrop?.(session, data, reason);
  }

  #compact(session: string, q: Queue): void {
    while (q.head < q.entries.length && q.entries[q.head]!.data === undefined) q.head += 1;
    if (q.live === 0) {
      this.#queues.delete(session);
      return;
    }
    if (q.head > 1024 && q.head * 2 > q.entries.length) {
      q.entries = q.entries.slice(q.head);
      q.head = 0;
    }
  }
}
