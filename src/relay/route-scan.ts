import { isUtf8 } from "node:buffer";
import { DecodeError, EnvelopeField as F } from "../protocol/index.js";

/** What the relay needs of an envelope to route it (wire spec §4.4). */
export interface EnvelopeRoute {
  /** `source` was present (possibly with twin 0). */
  hasSource: boolean;
  sourceTwin: number;
  sourceConnection: string | undefined;
  /** `destination` was present. */
  hasDestination: boolean;
  destinationTwin: number;
  destinationConnection: string | undefined;
  /** The message variant that won (the last one on the wire), if any. */
  kind: "request" | "response" | "error" | "ping" | "pong" | undefined;
  /** `tags`, when present (needed for `fail-fast`). */
  tags: string | undefined;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;
const MAX_GROUP_DEPTH = 64;
const KEY = (field: number, wire: number): number => (field << 3) | wire;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Cursor of the scan in progress (module state: the scan is synchronous and never re-entered). */
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;

/**
 * Checks `bytes` exactly as {@link decodeEnvelope} does (the same inputs throw the same `DecodeError`s, so a frame
 * the full decoder refuses is refused here too) but keeps only the routing fields, without building an `Envelope`:
 * strings other than the addresses' connections and the tags are validated as UTF-8, not decoded.
 */
export function scanEnvelopeRoute(bytes: Uint8Array): EnvelopeRoute {
  buf = bytes;
  pos = 0;
  const end = bytes.length;
  const route: EnvelopeRoute = {
    hasSource: false,
    sourceTwin: 0,
    sourceConnection: undefined,
    hasDestination: false,
    destinationTwin: 0,
    destinationConnection: undefined,
    kind: undefined,
    tags: undefined,
  };
  try {
    while (pos < end) {
      const key = readKey(end);
      switch (key) {
        case KEY(F.Uid, LEN):
        case KEY(F.Schema, LEN):
        case KEY(F.Federation, LEN):
        case KEY(F.Relays, LEN):
          skipString(end);
          break;
        case KEY(F.Tags, LEN):
          route.tags = readString(end);
          break;
        case KEY(F.Timestamp, VARINT):
        case KEY(F.Expiration, VARINT):
          readUint64(end);
          break;
        case KEY(F.Source, LEN): {
          const stop = messageEnd(end);
          route.hasSource = true;
          while (pos < stop) {
            const k = readKey(stop);
            if (k === KEY(1, VARINT)) route.sourceTwin = readUint32(stop);
            else if (k === KEY(2, LEN)) route.sourceConnection = readString(stop);
            else skip(k, stop, 0);
          }
          break;
        }
        case KEY(F.Destination, LEN): {
          const stop = messageEnd(end);
          route.hasDestination = true;
          while (pos < stop) {
            const k = readKey(stop);
            if (k === KEY(1, VARINT)) route.destinationTwin = readUint32(stop);
            else if (k === KEY(2, LEN)) route.destinationConnection = readString(stop);
            else skip(k, stop, 0);
          }
          break;
        }
        case KEY(F.Request, LEN): {
          const stop = messageEnd(end);
          while (pos < stop) {
            const k = readKey(stop);
            if (k === KEY(1, LEN)) skipString(stop);
            else skip(k, stop, 0);
          }
          route.kind = "request";
          break;
        }
        case KEY(F.Error, LEN): {
          const stop = messageEnd(end);
          while (pos < stop) {
            const k = readKey(stop);
            if (k === KEY(1, VARINT)) readUint32(stop);
            else if (k === KEY(2, LEN)) skipString(stop);
            else skip(k, stop, 0);
          }
          route.kind = "error";
          break;
        }
        case KEY(F.Response, LEN):
          skipMessage(end);
          route.kind = "response";
          break;
        case KEY(F.Ping, LEN):
          skipMessage(end);
          route.kind = "ping";
          break;
        case KEY(F.Pong, LEN):
          skipMessage(end);
          route.kind = "pong";
          break;
        case KEY(F.Signature, LEN):
        case KEY(F.Plain, LEN):
        case KEY(F.Cipher, LEN):
          {
            const len = readLength(end); // advances past the length prefix first
            pos += len;
          }
          break;
        default:
          skip(key, end, 0);
      }
    }
  } finally {
    buf = EMPTY;
  }
  return route;
}

const EMPTY = new Uint8Array(0);

function readUint32(end: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new DecodeError("truncated varint");
    const b = buf[pos++]!;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return result >>> 0;
  }
  for (let i = 5; i < 10; i++) {
    if (pos >= end) throw new DecodeError("truncated varint");
    if (buf[pos++]! < 0x80) return result >>> 0;
  }
  throw new DecodeError("malformed varint (more than 10 bytes)");
}

function readUint64(end: number, what = "uint64 value"): number {
  let result = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DecodeError("truncated varint");
    const b = buf[pos++]!;
    result += (b & 0x7f) * factor;
    if (b < 0x80) {
      if (i === 9 && b > 1) throw new DecodeError("varint overflows 64 bits");
      if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${what} exceeds 2^53-1`);
      return result;
    }
    factor *= 128;
  }
  throw new DecodeError("malformed varint (more than 10 bytes)");
}

function readKey(end: number): number {
  const key = readUint32(end);
  if (key >>> 3 === 0) throw new DecodeError("invalid field number 0");
  return key;
}

function readLength(end: number): number {
  const len = readUint64(end, "declared length");
  if (len > end - pos)
    throw new DecodeError(`declared length ${len} exceeds the ${end - pos} remaining bytes`);
  return len;
}

/** Reads a length prefix and returns the end of the embedded message (the cursor stays at its start). */
function messageEnd(end: number): number {
  const len = readLength(end);
  return pos + len;
}

function skipMessage(end: number): void {
  const stop = messageEnd(end);
  while (pos < stop) skip(readKey(stop), stop, 0);
}

function isAscii(start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

function skipString(end: number): void {
  const len = readLength(end);
  const start = pos;
  pos += len;
  if (len === 0 || isAscii(start, pos)) return;
  if (!isUtf8(buf.subarray(start, pos))) throw new DecodeError("invalid UTF-8 in string field");
}

function readString(end: number): string {
  const len = readLength(end);
  const start = pos;
  pos += len;
  if (len === 0) return "";
  if (len <= 64 && isAscii(start, pos)) {
    return String.fromCharCode.apply(null, buf.subarray(start, pos) as unknown as number[]);
  }
  try {
    return utf8.decode(buf.subarray(start, pos));
  } catch (cause) {
    throw new DecodeError("invalid UTF-8 in string field", { cause });
  }
}

function advance(n: number, end: number): void {
  if (n > end - pos) throw new DecodeError("truncated fixed-width field");
  pos += n;
}

function skip(key: number, end: number, depth: number): void {
  switch (key & 7) {
    case VARINT:
      readUint32(end);
      return;
    case I64:
      advance(8, end);
      return;
    case LEN:
      {
        const len = readLength(end); // advances past the length prefix first
        pos += len;
      }
      return;
    case I32:
      advance(4, end);
      return;
    case START_GROUP: {
      if (depth >= MAX_GROUP_DEPTH) throw new DecodeError("groups nested too deeply");
      const field = key >>> 3;
      for (;;) {
        if (pos >= end) throw new DecodeError("unterminated group");
        const inner = readKey(end);
        if ((inner & 7) === END_GROUP) {
          if (inner >>> 3 !== field) throw new DecodeError("mismatched end group");
          return;
        }
        skip(inner, end, depth + 1);
      }
    }
    default:
      throw new DecodeError(`invalid wire type ${key & 7}`);
  }
}
