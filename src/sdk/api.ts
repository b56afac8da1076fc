import type { PayloadInput } from "./payload.js";
import { ReceivedPayload } from "./payload.js";

/** A twin, or one session of it (`"twin"` / `"twin:sid"` in rmb-peer's JSON). */
export interface Destination {
  twin: number;
  session?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer; also the request's lifetime (rounded up to seconds). @default 60000 */
  timeout?: number;
  /** Cancels the call: the promise rejects with the signal's reason and a late answer is dropped. */
  signal?: AbortSignal;
  /** Overrides the payload's schema. */
  schema?: string;
  /** Ask the relay to answer at once with an error when the destination is offline (the `fail-fast` tag). */
  failFast?: boolean;
}

/** An answer to a call. */
export class RmbResponse extends ReceivedPayload {
  /** Who answered. */
  readonly source: Destination;

  constructor(source: Destination, data: Uint8Array, schema: string | undefined) {
    super(data, schema);
    this.source = source;
  }
}

/** A request handed to a handler of {@link RmbCaller.serve}. */
export class RmbRequest extends ReceivedPayload {
  /** The envelope uid (the caller matches the answer by it). */
  readonly uid: string;
  readonly command: string;
  /** The caller (a twin, or a session of it). */
  readonly source: Destination;
  /** Unix seconds after which nobody waits for the answer. */
  readonly expiresAt: number;

  constructor(
    fields: { uid: string; command: string; source: Destination; expiresAt: number },
    data: Uint8Array,
    schema: string | undefined,
  ) {
    super(data, schema);
    this.uid = fields.uid;
    this.command = fields.command;
    this.source = fields.source;
    this.expiresAt = fields.expiresAt;
  }
}

/** Answers a request: return the payload (see `PayloadInput`) or throw (`RmbHandlerError` picks the code). */
export type Handler = (request: RmbRequest) => PayloadInput | Promise<PayloadInput>;

/** The outcome for one destination of {@link RmbCaller.callMany}. */
export type CallResult =
  | { destination: Destination; ok: true; response: RmbResponse }
  | { destination: Destination; ok: false; error: Error };

/** What both the direct client and the peer client offer. */
export interface RmbCaller {
  /** Sends `command` with `payload` to `destination` and resolves with its answer. */
  call(
    destination: number | Destination,
    command: string,
    payload?: PayloadInput,
    options?: CallOptions,
  ): Promise<RmbResponse>;
  /** Sends to several destinations at once; resolves when each has answered, failed or timed out. */
  callMany(
    destinations: readonly (number | Destination)[],
    command: string,
    payload?: PayloadInput,
    options?: CallOptions,
  ): Promise<CallResult[]>;
  /** Answers requests for `command` with `handler`; returns a function that stops serving it. */
  serve(command: string, handler: Handler): () => void;
  /** Stops: pending calls reject with `RmbClientClosedError`, connections close. */
  close(): Promise<void>;
}

/** `7` or `{ twin: 7 }` → `{ twin: 7 }`. */
export function toDestination(d: number | Destination): Destination {
  return typeof d === "number" ? { twin: d } : d;
}

export const DEFAULT_CALL_TIMEOUT = 60_000;
