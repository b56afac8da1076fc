import { InvalidArgumentError } from "../errors.js";

const utf8 = new TextEncoder();

/** Number of bytes of the varint encoding of a non-negative safe integer. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let n = 4;
  let v = Math.floor(value / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** UTF-8 byte length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Size of a length-delimited field (key + length prefix + body) with a one- or two-byte key. */
export function lenFieldSize(field: number, bodyLength: number): number {
  return varintSize(field << 3) + varintSize(bodyLength) + bodyLength;
}

/**
 * Writes protobuf into a buffer whose exact size was computed beforehand, so encoding does one allocation.
 * The buffer comes from Node's pool without zero-filling; `finish()` checks that every byte was written.
 */
export class ProtobufWriter {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Returns the buffer after checking that exactly its size was written (never expose unwritten bytes). */
  finish(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new Error(
        `protobuf writer: wrote ${this.pos} of ${this.buf.length} bytes (size computation bug)`,
      );
    }
    return this.buf;
  }

  varint(value: number): void {
    const buf = this.buf;
    if (value <= 0x7fffffff) {
      while (value > 0x7f) {
        buf[this.pos++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
      buf[this.pos++] = value;
      return;
    }
    while (value > 0x7f) {
      buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[this.pos++] = value;
  }

  key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  bytes(field: number, value: Uint8Array): void {
    this.key(field, 2);
    this.varint(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Writes a string field whose UTF-8 length `byteLength` was computed with `utf8Length`. */
  string(field: number, value: string, byteLength: number): void {
    this.key(field, 2);
    this.varint(byteLength);
    if (byteLength === value.length) {
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < value.length; i++) buf[pos++] = value.charCodeAt(i);
      this.pos = pos;
    } else {
      utf8.encodeInto(value, this.buf.subarray(this.pos, this.pos + byteLength));
      this.pos += byteLength;
    }
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

/** Guards that a number can be written as a protobuf `uint32`. */
export function checkUint32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError(name, `expected an integer in [0, 2^32), got ${value}`);
  }
}

/** Guards that a number can be written exactly as a protobuf `uint64`. */
export function checkUint64(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, `expected a non-negative safe integer, got ${value}`);
  }
}
