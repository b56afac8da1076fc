import { DecodeError } from "./errors.js";

/** Protobuf wire types. */
export const WireType = {
  Varint: 0,
  I64: 1,
  Len: 2,
  StartGroup: 3,
  EndGroup: 4,
  I32: 5,
} as const;

const MAX_GROUP_DEPTH = 64;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Bounds-checked cursor over protobuf bytes. Every read checks the remaining length first, so a declared length
 * can never make it allocate or read beyond the input; all failures are `DecodeError`s.
 */
export class ProtobufReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint and returns its low 32 bits as an unsigned number (protobuf `uint32` semantics). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) throw new DecodeError("truncated varint");
      const b = buf[pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // Bytes 6..10 of a 64-bit varint only carry bits above 32: skip them.
    for (let i = 5; i < 10; i++) {
      if (pos >= this.end) throw new DecodeError("truncated varint");
      if (buf[pos++]! < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    throw new DecodeError("malformed varint (more than 10 bytes)");
  }

  /**
   * Reads a `uint64` varint as a number. Values above `Number.MAX_SAFE_INTEGER` are refused with a `DecodeError`
   * rather than silently rounded (a rounded timestamp would change the signature challenge). `what` names the value
   * in that error.
   */
  uint64(what = "uint64 value"): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) throw new DecodeError("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * factor;
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new DecodeError("varint overflows 64 bits");
        if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${what} exceeds 2^53-1`);
        this.pos = pos;
        return result;
      }
      factor *= 128;
    }
    throw new DecodeError("malformed varint (more than 10 bytes)");
  }

  /** Reads a field key, returning `[fieldNumber, wireType]` packed as `field * 8 + wireType`. */
  key(): number {
    const key = this.uint32();
    if (key >>> 3 === 0) throw new DecodeError("invalid field number 0");
    return key;
  }

  /**
   * Reads a length prefix and checks it against the input. The whole varint counts (rust-protobuf refuses lengths
   * above 2^32−1): keeping only its low 32 bits would read a declared 2^32 + 3 as 3 and accept bytes rmb-rs refuses.
   */
  private lengthDelimited(): number {
    const len = this.uint64("declared length");
    if (len > this.end - this.pos) {
      throw new DecodeError(`declared length ${len} exceeds the ${this.end - this.pos} remaining bytes`);
    }
    return len;
  }

  /** Length-delimited bytes, returned as a plain `Uint8Array` view into the input (no copy). */
  bytes(): Uint8Array {
    const len = this.lengthDelimited();
    const start = this.pos;
    this.pos += len;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, len);
  }

  /** Length-delimited UTF-8 string; invalid UTF-8 is a `DecodeError`, as in rust-protobuf. */
  string(): string {
    const len = this.lengthDelimited();
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    return decodeUtf8(this.buf, start, end);
  }

  /** A sub-reader over a length-delimited embedded message. */
  message(): ProtobufReader {
    const len = this.lengthDelimited();
    const start = this.pos;
    this.pos += len;
    return new ProtobufReader(this.buf, start, start + len);
  }

  /** Skips the value of a field whose key was just read. */
  skip(key: number, depth = 0): void {
    switch (key & 7) {
      case WireType.Varint:
        this.uint32();
        return;
      case WireType.I64:
        this.advance(8);
        return;
      case WireType.Len: {
        const len = this.lengthDelimited(); // advances past the length prefix first
        this.pos += len;
        return;
      }
      case WireType.I32:
        this.advance(4);
        return;
      case WireType.StartGroup: {
        if (depth >= MAX_GROUP_DEPTH) throw new DecodeError("groups nested too deeply");
        const field = key >>> 3;
        for (;;) {
          if (this.done) throw new DecodeError("unterminated group");
          const inner = this.key();
          if ((inner & 7) === WireType.EndGroup) {
            if (inner >>> 3 !== field) throw new DecodeError("mismatched end group");
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      default:
        throw new DecodeError(`invalid wire type ${key & 7}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new DecodeError("truncated fixed-width field");
    this.pos += n;
  }
}

/** Decodes UTF-8 with validation (the native decoder beats a JS ASCII loop even for short strings). */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch (cause) {
    throw new DecodeError("invalid UTF-8 in string field", { cause });
  }
}
