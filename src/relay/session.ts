import { formatSessionId, type SessionId } from "../protocol/index.js";
import { type WsConnection, WsState } from "../ws/ws-connection.js";
import type { RelayMetrics } from "./metrics.js";
import type { QueuedMessage, QueueStore } from "./queue-store.js";

/** Unread frames a connection may have waiting for routing before its socket is paused. */
const MAX_PENDING_FRAMES = 256;
/** Socket buffer above which delivery to a connection waits for the buffer to drain. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Pause before reading the queue again after the store failed. */
const READ_RETRY_MS = 500;

/**
 * One live websocket of a session (`(twin, sid)` from the JWT). Delivers the session's queue in order: at most
 * `maxInFlight` frames are written but not yet confirmed; an entry is acked (removed from the queue) only after
 * `ws.send` reports success, so whatever was not confirmed is delivered again on the next connection. Incoming
 * frames are handled one after another (so routing keeps the sender's order); when too many wait, the socket is
 * paused, pushing back on the sender instead of buffering without bound.
 */
export class SessionConnection {
  readonly id: SessionId;
  readonly key: string;
  readonly ws: WsConnection;
  /** Unique among all connections of all relay processes (announced to evict older connections of the session). */
  readonly owner: string;
  /** Enqueues issued for this connection's frames that have not completed (maintained by the router). */
  outstanding = 0;
  readonly #store: QueueStore;
  readonly #metrics: RelayMetrics;
  readonly #maxInFlight: number;
  #cursor: string | undefined;
  #inFlight = 0;
  /** Entries written (or being written) to this connection that the store may still hold (ack not done). */
  #unacked = 0;
  #pumping = false;
  #again = false;
  #closed = false;
  #closedByRelay = false;
  #pendingFrames = 0;
  /** The last pump stopped because too many frames were in flight (or buffered). */
  #throttled = false;
  /** The last read drained the queue and no other process is known to have queued since. */
  #synced = false;
  /** Entries written by `offer` and not yet removed from the store: a read skips them. */
  /**
   * Entries written by `offer` and not yet removed from the store, in write order (writes complete in that order,
   * so they leave from the front): a read skips them.
   */
  #ahead: string[] = [];
  #aheadHead = 0;
  /**
   * Entries written ahead whose write completed while a queue read was under way: the read may have returned them
   * (it looked before they were acked), so they stay in `#ahead` until that read's batch was handled.
   */
  #settledDuringRead: string[] = [];
  /** Entries this process queued for the session while a read was under way (see `offer`). */
  #offered: QueuedMessage[] = [];
  /** Entries offered while `maxInFlight` frames were unconfirmed, written in order as writes complete. */
  #waiting: QueuedMessage[] = [];
  #handlerFailures = 0;
  #readFailures = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    id: SessionId,
    ws: WsConnection,
    owner: string,
    store: QueueStore,
    metrics: RelayMetrics,
    maxInFlight: number,
  ) {
    this.id = id;
    this.key = formatSessionId(id);
    this.ws = ws;
    this.owner = owner;
    this.#store = store;
    this.#metrics = metrics;
    this.#maxInFlight = maxInFlight;
    ws.onWritten = (tokens, bytes, err) => this.#written(tokens, bytes, err);
  }

  /** Frames received and waiting for (or in) the slow, promise-chained routing path. */
  get pendingFrames(): number {
    return this.#pendingFrames;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the connection finished; pending deliveries stop and stay queued. */
  markClosed(): void {
    this.#closed = true;
  }

  /** True once the relay itself closed this connection and stopped routing its frames (protocol violation,
   * shutdown); an evicted connection's frames are still routed. */
  get closedByRelay(): boolean {
    return this.#closedByRelay;
  }

  /**
   * Closes the socket (once); nothing more is delivered to it. Frames already received but not yet routed, and
   * those that arrive before the close handshake ends, are dropped, unless `routeLateFrames`: an evicted connection
   * did nothing wrong, and its peer counts every frame it wrote before it heard of the eviction as sent.
   */
  close(code: number, reason: string, routeLateFrames = false): void {
    this.#closed = true;
    if (!routeLateFrames) this.#closedByRelay = true;
    if (this.ws.readyState === WsState.Open) this.ws.close(code, reason);
  }

  /**
   * Resolves once every frame received so far was routed and every frame written to the socket was confirmed (and
   * acked), or at `deadline` (ms since epoch), whichever comes first. Used by graceful shutdown.
   */
  async drained(deadline: number): Promise<void> {
    while ((this.#pendingFrames > 0 || this.outstanding > 0 || this.#inFlight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Entries of the session's queue written (or being written) to this connection and not yet removed from the
   * store. The connection writes the queue in order, so they are its oldest entries; a length cap must not pick
   * them (they are on their way: dropping them would report a loss that does not happen).
   */
  get unacked(): number {
    return this.#unacked;
  }

  /** Frame handlers that threw (the frame was dropped; later frames are still handled). */
  get handlerFailures(): number {
    return this.#handlerFailures;
  }

  /** Runs `handler` after every earlier frame of this connection was handled. */
  enqueueFrame(handler: () => Promise<void>): void {
    this.#pendingFrames += 1;
    if (this.#pendingFrames > MAX_PENDING_FRAMES && !this.ws.isPaused) this.ws.pause();
    // A failing handler must neither stop the frames after it nor surface as an unhandled rejection.
    this.#chain = this.#chain
      .then(handler)
      .catch(() => {
        this.#handlerFailures += 1;
      })
      .finally(() => {
        this.#pendingFrames -= 1;
        if (this.ws.isPaused && this.#pendingFrames <= MAX_PENDING_FRAMES / 2 && !this.#closed)
          this.ws.resume();
      });
  }

  /**
   * A message was just queued for this session by this process (entry `id`). When the connection has delivered
   * everything it read and nothing else may be queued before this entry, it is written at once without reading it
   * back from the store; otherwise the queue is read as usual.
   */
  offer(id: string, data: Uint8Array): void {
    if (this.#closed) return;
    if (this.writesAtOnce) {
      this.#send(id, data, true);
      return;
    }
    if (
      this.#synced &&
      !this.#pumping &&
      this.#waiting.length < this.#maxInFlight &&
      this.ws.bufferedAmount <= HIGH_WATER_BYTES
    ) {
      // Only `maxInFlight` frames are unconfirmed: hold this one (in order) until a write completes, rather than
      // reading it back from the store.
      this.#waiting.push({ id, data });
      return;
    }
    if (this.#pumping) {
      // A read is under way: if it drains the queue without this entry (queued after it looked), the entry is
      // written right after that read's batch instead of costing another read.
      this.#offered.push({ id, data });
      return;
    }
    this.pump();
  }

  /**
   * True when a message offered now would be written at once (and removed from the queue right after the write),
   * rather than read back from the store later.
   */
  get writesAtOnce(): boolean {
    return (
      this.#synced &&
      !this.#pumping &&
      !this.#closed &&
      this.#waiting.length === 0 &&
      this.#inFlight < this.#maxInFlight &&
      this.ws.bufferedAmount <= HIGH_WATER_BYTES
    );
  }

  /** Another process may have queued messages for this session: read the queue from the last read position. */
  wake(): void {
    this.#synced = false;
    this.pump();
  }

  /** Sends whatever is queued for the session and not yet in flight. Safe to call any time. */
  pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#waiting = []; // queued: the read finds them
    this.#pumpLoop().then(
      () => {
        if (this.#again) {
          this.#again = false;
          this.pump();
        }
      },
      () => {
        // The store is unreachable: nothing was lost (entries stay queued); try again shortly.
        this.#offered = [];
        this.#again = false;
        this.#synced = false;
        this.#readFailures += 1;
        setTimeout(() => this.pump(), READ_RETRY_MS).unref();
      },
    );
  }

  /** Queue reads that failed (each is retried after a pause). */
  get readFailures(): number {
    return this.#readFailures;
  }

  /**
   * Reads and writes until the queue is drained or the connection is throttled. `#pumping` ends in the same
   * microtask as the loop (not in a later `then`): an offer arriving in between would otherwise be taken for one
   * that a read under way will handle, and wait in the queue while later messages are written ahead of it.
   */
  async #pumpLoop(): Promise<void> {
    this.#throttled = false;
    try {
      while (!this.#closed) {
        const room = this.#maxInFlight - this.#inFlight;
        if (room <= 0 || (this.ws.bufferedAmount > HIGH_WATER_BYTES && this.#inFlight > 0)) {
          // Write callbacks pump again once some of the frames in flight are confirmed.
          this.#throttled = true;
          this.#synced = false;
          this.#offered = []; // queued: a later read finds them
          return;
        }
        this.#again = false;
        // Whatever was offered so far is in the store: this read (or the next) finds it.
        this.#offered = [];
        const batch = await this.#store.read(this.key, this.#cursor, room);
        if (this.#closed) return;
        // The frames of one batch leave in one socket write (the connection writes once per event-loop turn).
        for (const entry of batch) {
          this.#cursor = entry.id;
          if (!this.#isAhead(entry.id)) this.#send(entry.id, entry.data, false);
        }
        this.#forgetSettled();
        if (batch.length < room) {
          this.#writeOffered(batch);
          // Drained: everything queued up to the cursor went out. Unless a wake-up came in meanwhile, messages this
          // process queues next can be written directly (offer).
          this.#synced = !this.#again;
          return;
        }
      }
    } finally {
      // In the same microtask as the loop's end, not in a later `then`: an offer arriving in between would be
      // taken for one the read under way handles, and wait in the queue while later ones are written ahead of it.
      this.#pumping = false;
      this.#forgetSettled();
    }
  }

  /**
   * After a read that drained the queue: entries offered while it was under way and not in its batch were queued
   * after it looked, and nothing of this session's queue lies between them and the batch (another process's entry
   * would have come with a wake-up, which forces another read): they are written now, in order, or held until
   * writes complete while `maxInFlight` frames are unconfirmed. When even that is full they stay queued for the
   * next read.
   */
  #writeOffered(batch: readonly QueuedMessage[]): void {
    const offered = this.#offered;
    if (offered.length === 0) return;
    this.#offered = [];
    if (this.#again) return; // another read follows anyway
    const inBatch = new Set<string>();
    for (const e of batch) inBatch.add(e.id);
    for (const o of offered) {
      if (inBatch.has(o.id)) continue;
      if (this.ws.bufferedAmount > HIGH_WATER_BYTES || this.#waiting.length >= this.#maxInFlight) {
        // No room to hold them: they stay queued for the next read.
        this.#waiting = [];
        this.#again = true;
        return;
      }
      if (this.#inFlight < this.#maxInFlight && this.#waiting.length === 0) this.#send(o.id, o.data, true);
      else this.#waiting.push(o); // written as writes complete
    }
  }

  /** Writes one entry; it is acked (removed from the queue) once the write completed ({@link #written}). */
  #send(id: string, data: Uint8Array, ahead: boolean): void {
    if (!ahead) this.#cursor = id;
    else this.#ahead.push(id);
    this.#inFlight += 1;
    this.#unacked += 1;
    this.ws.sendTracked(data, id);
  }

  /** A socket write of the entries `ids` completed (or failed: they stay queued for the next connection). */
  #written(ids: string[], bytes: number, err: Error | undefined): void {
    const n = ids.length;
    this.#inFlight -= n;
    if (err === undefined) {
      this.#metrics.messageTx += n;
      this.#metrics.messageTxBytes += bytes;
      const store = this.#store;
      if (store.ackSync !== undefined) {
        store.ackSync(this.key, ids);
        this.#settled(ids);
      } else {
        // Not acked: delivered again on the next connection.
        void store
          .ack(this.key, ids)
          .catch(() => undefined)
          .then(() => this.#settled(ids));
      }
    } else {
      this.#settled(ids);
    }
    if (this.#waiting.length > 0) this.#sendWaiting();
    if (this.#throttled) this.pump();
  }

  /** Writes held entries while there is room (see `offer`). */
  #sendWaiting(): void {
    const waiting = this.#waiting;
    let i = 0;
    while (
      i < waiting.length &&
      !this.#closed &&
      this.#inFlight < this.#maxInFlight &&
      this.ws.bufferedAmount <= HIGH_WATER_BYTES
    ) {
      const w = waiting[i++]!;
      this.#send(w.id, w.data, true);
    }
    if (i > 0) this.#waiting = i === waiting.length ? [] : waiting.slice(i);
  }

  #settled(ids: string[]): void {
    this.#unacked -= ids.length;
    if (this.#aheadHead === this.#ahead.length) return;
    if (this.#pumping) for (const id of ids) this.#settledDuringRead.push(id);
    else this.#dropAhead(ids);
  }

  #isAhead(id: string): boolean {
    const ahead = this.#ahead;
    for (let i = this.#aheadHead; i < ahead.length; i++) if (ahead[i] === id) return true;
    return false;
  }

  /** Removes settled entries (`ids`, in write order, some of them not written ahead) from the front of `#ahead`. */
  #dropAhead(ids: readonly string[]): void {
    const ahead = this.#ahead;
    for (const id of ids)
      if (this.#aheadHead < ahead.length && ahead[this.#aheadHead] === id) this.#aheadHead += 1;
    if (this.#aheadHead === ahead.length) {
      this.#ahead = [];
      this.#aheadHead = 0;
    } else if (this.#aheadHead > 1024) {
      this.#ahead = ahead.slice(this.#aheadHead);
      this.#aheadHead = 0;
    }
  }

  #forgetSettled(): void {
    if (this.#settledDuringRead.length === 0) return;
    this.#dropAhead(this.#settledDuringRead);
    this.#settledDuringRead = [];
  }
}
