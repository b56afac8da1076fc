/**
 * Per-session FIFO queues of raw envelope bytes (the relay's `stream:<session>` in rmb-rs). Keys are session
 * strings (`"<twin>"` / `"<twin>:<sid>"`). Entry ids are opaque strings that order the session's queue. A reader
 * keeps its own cursor: `read(session, after)` returns the entries after `after` (all when `undefined`), and `ack`
 * removes entries once their socket write succeeded, so anything not acked is delivered again on the next
 * connection (at-least-once).
 */
export interface QueuedMessage {
  /** Opaque; orders entries within the session. */
  id: string;
  /** The envelope exactly as received. */
  data: Uint8Array;
}

/** Completion of {@link QueueStore.enqueueWith}: an error, or the new entry's id (`""`: dropped at once by the cap). */
export type EnqueueCallback = (err: unknown, id: string) => void;

/** Why a store dropped a message without delivering it. */
export type DropReason = "queue_full" | "expired";

/** Called for each message a store drops; the relay answers requests with an error envelope. */
export type DropListener = (session: string, data: Uint8Array, reason: DropReason) => void;

export interface QueueStore {
  /**
   * Appends `data` to the session's queue; resolves with the new entry's id. When the queue is then over its length
   * cap, the oldest entries are dropped (and reported), except the oldest `keepHead` ones: those are being written
   * to the session's connection. At worst the new entry itself is dropped (and reported): then the id is `""`.
   */
  enqueue(session: string, data: Uint8Array, keepHead?: number): Promise<string>;
  /** Up to `count` entries after the entry `after` (from the start when `undefined`), oldest first. */
  read(session: string, after: string | undefined, count: number): Promise<QueuedMessage[]>;
  /** Removes delivered entries. Unknown ids are ignored. */
  ack(session: string, ids: readonly string[]): Promise<void>;
  /**
   * {@link enqueue} with a callback (no promise per message): `done(undefined, id)` or `done(err, "")`. Optional:
   * the relay uses it when present.
   */
  enqueueWith?(session: string, data: Uint8Array, keepHead: number, done: EnqueueCallback): void;
  /** Stores without I/O (in-process) also offer {@link enqueue} without a promise; it throws instead of rejecting. */
  enqueueSync?(session: string, data: Uint8Array, keepHead?: number): string;
  /** … and {@link ack} without a promise. */
  ackSync?(session: string, ids: readonly string[]): void;
  /** Entries still held for the session. */
  length(session: string): Promise<number>;
  /** Drops expired entries now (stores may also do it lazily). */
  sweep(): Promise<void>;
  /** Releases resources. */
  close(): Promise<void>;
}
