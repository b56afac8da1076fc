import { InvalidArgumentError } from "../../errors.js";
import { assertBytes, assertInteger } from "../../guards.js";
import { ScaleDecodeError } from "./errors.js";

/**
 * The pieces of the SCALE codec (parity-scale-codec) that the twin registry needs: fixed-width little-endian
 * integers, compact integers, `Vec<u8>`, `Option<T>`, vectors and fixed byte arrays such as `AccountId32`.
 *
 * Decoding is strict like parity-scale-codec: truncated input, an `Option` tag other than 0/1, a compact integer
 * that is not in its shortest form, and a length above the caller's bound all throw {@link ScaleDecodeError}.
 */

/** Length of an `AccountId32`. */
export const ACCOUNT_ID32_LENGTH = 32;

/** Largest value a compact integer can hold (67 bytes: 4 + 63 bytes of payload, i.e. 2^536 − 1). */
export const MAX_COMPACT = (1n << 536n) - 1n;

const U32_MAX = 0xffff_ffff;
const textDecoder = new TextDecoder();
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Appends SCALE values to a growing buffer; `finish()` returns the bytes written. */
export class ScaleWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(initialCapacity = 64) {
    this.#buffer = new Uint8Array(Math.max(1, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
  }

  /** `u8`. */
  u8(value: number): this {
    assertInteger("u8", value, 0, 0xff);
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
    return this;
  }

  /** `bool`: one byte, 0 or 1. */
  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** `u16`, little-endian. */
  u16(value: number): this {
    assertInteger("u16", value, 0, 0xffff);
    this.#reserve(2);
    new DataView(this.#buffer.buffer).setUint16(this.#length, value, true);
    this.#length += 2;
    return this;
  }

  /** `u32`, little-endian. */
  u32(value: number): this {
    assertInteger("u32", value, 0, U32_MAX);
    this.#reserve(4);
    new DataView(this.#buffer.buffer).setUint32(this.#length, value, true);
    this.#length += 4;
    return this;
  }

  /** `u64`, little-endian. */
  u64(value: bigint | number): this {
    const big = toBigInt("u64", value);
    if (big > U64_MAX) throw new InvalidArgumentError("u64", "value above 2^64 - 1");
    this.#reserve(8);
    new DataView(this.#buffer.buffer).setBigUint64(this.#length, big, true);
    this.#length += 8;
    return this;
  }

  /** `Compact<uN>` (see {@link encodeCompact}). */
  compact(value: bigint | number): this {
    return this.raw(encodeCompact(value));
  }

  /** Bytes as they are (a fixed-size array such as `[u8; 32]`). */
  raw(bytes: Uint8Array): this {
    assertBytes("bytes", bytes);
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
    return this;
  }

  /** `Vec<u8>` / `Bytes` / `BoundedVec<u8, _>`: compact length, then the bytes. */
  bytes(bytes: Uint8Array): this {
    assertBytes("bytes", bytes);
    return this.compact(bytes.length).raw(bytes);
  }

  /** `String` / `str`: compact byte length, then the UTF-8 bytes. */
  text(value: string): this {
    return this.bytes(new TextEncoder().encode(value));
  }

  /** `AccountId32`: exactly 32 raw bytes. */
  accountId32(accountId: Uint8Array): this {
    assertBytes("accountId", accountId, ACCOUNT_ID32_LENGTH);
    return this.raw(accountId);
  }

  /** `Option<T>`: `0x00` for `undefined`, else `0x01` followed by `write(value)`. */
  option<T>(value: T | undefined, write: (writer: this, value: T) => void): this {
    if (value === undefined) return this.u8(0);
    this.u8(1);
    write(this, value);
    return this;
  }

  /** `Vec<T>`: compact count, then each item. */
  vec<T>(items: readonly T[], write: (writer: this, item: T) => void): this {
    this.compact(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

/** Reads SCALE values from `bytes` front to back; every read checks the remaining length. */
export class ScaleReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    assertBytes("bytes", bytes);
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(count: number, what: string): void {
    if (this.remaining < count) {
      throw new ScaleDecodeError(
        `truncated input: ${what} needs ${count} bytes at offset ${this.#offset}, ${this.remaining} left`,
      );
    }
  }

  /** `u8`. */
  u8(what = "u8"): number {
    this.#need(1, what);
    return this.#bytes[this.#offset++] as number;
  }

  /** `bool`: 0 or 1, anything else is an error. */
  bool(what = "bool"): boolean {
    const byte = this.u8(what);
    if (byte > 1) throw new ScaleDecodeError(`invalid ${what}: byte 0x${hexByte(byte)} is neither 0 nor 1`);
    return byte === 1;
  }

  /** `u32`, little-endian. */
  u32(what = "u32"): number {
    this.#need(4, what);
    const value = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    return value;
  }

  /** `u64`, little-endian. */
  u64(what = "u64"): bigint {
    this.#need(8, what);
    const value = this.#view.getBigUint64(this.#offset, true);
    this.#offset += 8;
    return value;
  }

  /** `n` raw bytes (a copy). */
  fixed(length: number, what = "bytes"): Uint8Array {
    this.#need(length, what);
    const out = this.#bytes.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  /** Moves past `length` bytes without copying them. */
  skip(length: number, what = "bytes"): void {
    this.#need(length, what);
    this.#offset += length;
  }

  /** `String` / `str`: compact length (≤ `maxLength`), then UTF-8 (invalid sequences become U+FFFD). */
  text(what = "string", maxLength = Number.MAX_SAFE_INTEGER): string {
    const length = this.compactNumber(`length of ${what}`, maxLength);
    this.#need(length, what);
    const value = textDecoder.decode(this.#bytes.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  /** `AccountId32`: 32 raw bytes. */
  accountId32(what = "AccountId32"): Uint8Array {
    return this.fixed(ACCOUNT_ID32_LENGTH, what);
  }

  /** A compact integer in its shortest encoding, as a `bigint`. */
  compact(what = "compact integer"): bigint {
    const first = this.u8(what);
    const mode = first & 0b11;
    if (mode === 0) return BigInt(first >> 2);
    if (mode === 1) {
      const value = (first | (this.u8(what) << 8)) >> 2;
      if (value < 1 << 6) throw nonCanonical(what, value);
      return BigInt(value);
    }
    if (mode === 2) {
      this.#need(3, what);
      const value = (first | (this.u8() << 8) | (this.u8() << 16) | (this.u8() << 24)) >>> 2;
      if (value < 1 << 14) throw nonCanonical(what, value);
      return BigInt(value);
    }
    const length = (first >> 2) + 4;
    this.#need(length, what);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--)
      value = (value << 8n) | BigInt(this.#bytes[this.#offset + i] as number);
    const top = this.#bytes[this.#offset + length - 1] as number;
    this.#offset += length;
    if (top === 0 || value < 1n << 30n) throw nonCanonical(what, value);
    return value;
  }

  /** A compact integer that must be at most `max` (default `Number.MAX_SAFE_INTEGER`), as a `number`. */
  compactNumber(what = "compact integer", max = Number.MAX_SAFE_INTEGER): number {
    const value = this.compact(what);
    if (value > BigInt(max)) throw new ScaleDecodeError(`${what} ${value} is above the limit ${max}`);
    return Number(value);
  }

  /** `Vec<u8>` / `BoundedVec<u8, maxLength>`: compact length (≤ `maxLength`), then the bytes (a copy). */
  bytes(what = "Vec<u8>", maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.compactNumber(`length of ${what}`, maxLength);
    return this.fixed(length, what);
  }

  /** `Option<T>`: tag 0 → `undefined`, tag 1 → `read(this)`, any other tag is an error. */
  option<T>(read: (reader: this) => T, what = "Option"): T | undefined {
    const tag = this.u8(what);
    if (tag === 0) return undefined;
    if (tag === 1) return read(this);
    throw new ScaleDecodeError(`invalid ${what} tag 0x${hexByte(tag)} (expected 0x00 or 0x01)`);
  }

  /** `Vec<T>` with at most `maxCount` items. */
  vec<T>(read: (reader: this) => T, what = "Vec", maxCount = Number.MAX_SAFE_INTEGER): T[] {
    const count = this.compactNumber(`length of ${what}`, maxCount);
    // Every item takes at least one byte: a count above what is left cannot be valid.
    if (count > this.remaining) {
      throw new ScaleDecodeError(
        `truncated input: ${what} claims ${count} items, ${this.remaining} bytes left`,
      );
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(read(this));
    return items;
  }

  /** Throws unless every byte was read (`what` names the value in the message). */
  end(what = "value"): void {
    if (this.remaining !== 0) {
      throw new ScaleDecodeError(
        `${this.remaining} unexpected bytes after ${what} at offset ${this.#offset}`,
      );
    }
  }
}

/**
 * SCALE compact encoding of a non-negative integer: values below 2^6 take one byte (`n << 2`), below 2^14 two bytes
 * (`n << 2 | 0b01`), below 2^30 four bytes (`n << 2 | 0b10`); larger values take `0b11 | (len − 4) << 2` followed by
 * the value in the fewest little-endian bytes (at least 4).
 *
 * @example
 * encodeCompact(1); // 0x04
 * encodeCompact(64); // 0x0101
 */
export function encodeCompact(value: bigint | number): Uint8Array {
  const big = toBigInt("value", value);
  if (big > MAX_COMPACT) throw new InvalidArgumentError("value", "above the compact limit 2^536 - 1");
  if (big < 1n << 6n) return Uint8Array.of(Number(big) << 2);
  if (big < 1n << 14n) {
    const n = (Number(big) << 2) | 0b01;
    return Uint8Array.of(n & 0xff, n >> 8);
  }
  if (big < 1n << 30n) {
    const n = ((Number(big) << 2) | 0b10) >>> 0;
    return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  }
  const payload: number[] = [];
  for (let rest = big; rest > 0n; rest >>= 8n) payload.push(Number(rest & 0xffn));
  return Uint8Array.of(((payload.length - 4) << 2) | 0b11, ...payload);
}

/** Decodes `bytes` that must hold exactly one compact integer. */
export function decodeCompact(bytes: Uint8Array): bigint {
  const reader = new ScaleReader(bytes);
  const value = reader.compact();
  reader.end("compact integer");
  return value;
}

function toBigInt(argument: string, value: bigint | number): bigint {
  if (typeof value === "bigint") {
    if (value < 0n) throw new InvalidArgumentError(argument, "expected a non-negative integer");
    return value;
  }
  assertInteger(argument, value, 0, Number.MAX_SAFE_INTEGER);
  return BigInt(value);
}

function nonCanonical(what: string, value: number | bigint): ScaleDecodeError {
  return new ScaleDecodeError(`${what} ${value} is not in its shortest compact encoding`);
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
