/**
 * Payloads of calls and answers. A call or a handler can give:
 * - a {@link Payload} made by {@link json}, {@link text} or {@link bytes} (explicit schema),
 * - a `Uint8Array` (raw bytes, no schema),
 * - `undefined` (empty, no schema),
 * - any other value: sent as JSON with schema `application/json` (what rmb-rs services, the Go SDK and the official
 *   TS client expect).
 */

const PAYLOAD = Symbol("rmb.payload");
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const JSON_SCHEMA = "application/json";

/** Bytes with an optional schema (the envelope's `schema` field). */
export interface Payload {
  readonly [PAYLOAD]: true;
  readonly data: Uint8Array;
  readonly schema: string | undefined;
}

/** What `call` and handlers accept as a payload (see the module comment). */
export type PayloadInput = Payload | Uint8Array | undefined | unknown;

function make(data: Uint8Array, schema: string | undefined): Payload {
  return { [PAYLOAD]: true, data, schema };
}

/** `value` as JSON, schema `application/json`. */
export function json(value: unknown): Payload {
  const text = JSON.stringify(value);
  return make(encoder.encode(text === undefined ? "null" : text), JSON_SCHEMA);
}

/** UTF-8 text, schema `text/plain` unless given. */
export function text(value: string, schema = "text/plain"): Payload {
  return make(encoder.encode(value), schema);
}

/** Raw bytes with an optional schema. */
export function bytes(data: Uint8Array, schema?: string): Payload {
  return make(data, schema);
}

export function isPayload(value: unknown): value is Payload {
  return typeof value === "object" && value !== null && (value as { [PAYLOAD]?: true })[PAYLOAD] === true;
}

/** Normalises a {@link PayloadInput}. */
export function toPayload(input: PayloadInput): Payload {
  if (isPayload(input)) return input;
  if (input instanceof Uint8Array) return make(input, undefined);
  if (input === undefined) return make(new Uint8Array(0), undefined);
  return json(input);
}

/** A received payload: a response, or a request handed to a handler. */
export class ReceivedPayload {
  readonly data: Uint8Array;
  readonly schema: string | undefined;

  constructor(data: Uint8Array, schema: string | undefined) {
    this.data = data;
    this.schema = schema;
  }

  /** The payload as UTF-8 text (throws `TypeError` for invalid UTF-8). */
  text(): string {
    return decoder.decode(this.data);
  }

  /** The payload parsed as JSON (throws `SyntaxError` if it is not JSON). An empty payload is `undefined`. */
  json<T = unknown>(): T {
    if (this.data.length === 0) return undefined as T;
    return JSON.parse(this.text()) as T;
  }
}
