/** What the federation worker decided about one queued envelope. */
export type FederationOutcome = "done" | "retry";

/** Processes one queued envelope; never rejects (failures are outcomes). */
export type FederationHandler = (data: Uint8Array) => Promise<FederationOutcome>;

/**
 * The outgoing federation queue (rmb-rs's `relay.federation.stream`): envelopes for twins on other relays wait
 * here until delivered, permanently refused, or expired. `retry` leaves an entry to be handled again after the
 * queue's retry delay; in Redis, entries of a relay process that died are taken over by the others.
 */
export interface FederationQueue {
  /** Queues an envelope; rejects with `FederationQueueFullError` when the queue holds its maximum. */
  push(data: Uint8Array): Promise<void>;
  /** Starts handing entries to `handler`, at most `concurrency` at a time. */
  start(handler: FederationHandler, concurrency: number): Promise<void>;
  /** Entries waiting or being retried. */
  length(): Promise<number>;
  /** Stops handing out entries and waits for the running handlers. Entries left stay queued (Redis). */
  close(): Promise<void>;
}

/** The federation queue holds `federationQueueLength` envelopes: the sender gets this text in an error envelope. */
export class FederationQueueFullError extends Error {
  constructor(max: number) {
    super(`relay federation queue is full (${max} messages)`);
    this.name = "FederationQueueFullError";
  }
}
