import { RmbError } from "../errors.js";

/** A `RelayOptions` value is missing or out of range; the message names the option. */
export class RelayOptionsError extends RmbError {
  readonly option: string;
  constructor(option: string, problem: string) {
    super("RMB_ERR_RELAY_OPTIONS", `invalid relay option '${option}': ${problem}`);
    this.option = option;
  }
}

/** `start()` on a relay that is already running, or a lifecycle call out of order. */
export class RelayStateError extends RmbError {
  constructor(message: string) {
    super("RMB_ERR_RELAY_STATE", message);
  }
}

/**
 * A message the relay refuses to route. `message` is the exact text sent back to the sender in an error envelope
 * (wire spec §4.6), e.g. `message wrong source`.
 */
export class RouteError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_RELAY_ROUTE", message, options);
  }
}

/** The relay's queue storage holds its byte cap (`maxQueuedBytes`); nothing more is accepted until it drains. */
export class QueueStoreFullError extends RmbError {
  constructor(maxBytes: number) {
    super("RMB_ERR_QUEUE_FULL", `relay queue storage is full (${maxBytes} bytes)`);
  }
}

/** Exact error texts the relay sends in error envelopes (rmb-rs compatible, plus this build's own). */
export const RelayErrorText = {
  WrongSource: "message wrong source",
  MissingDestination: "message with missing destination",
  UnknownTwin: "unknown twin destination",
  RelayNotSet: "relay info is not set for this twin",
  DestinationOffline: "destination offline",
  RateLimited: "exceeded rate limits, dropping message",
  /** This build: the destination queue hit `sessionQueueLength` and dropped the oldest message. */
  QueueFull: "destination queue is full, dropping message",
  /** This build: the message waited longer than `sessionQueueAge` for its destination to connect. */
  QueueExpired: "message expired in relay queue, destination did not connect in time",
  /**
   * This build: the start of a drop report's text, sent to a session whose own queue overflowed and dropped an
   * answer to it: `session queue is full, dropped the response from twin 5` (`droppedAnswerText`).
   */
  AnswerDropped: "session queue is full, dropped the",
} as const;
