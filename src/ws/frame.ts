/** RFC 6455 opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** RFC 6455 close codes used here. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reported (never sent) when a close frame had no status. */
  NoStatus: 1005,
  /** Reported (never sent) when the connection ended without a close frame. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  MessageTooBig: 1009,
  InternalError: 1011,
} as const;

/** Codes a close frame may carry (RFC 6455 §7.4, IANA registry): 1000–1003, 1007–1014, 3000–4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** Bytes of an unmasked frame header for a payload of `length` bytes. */
export function headerSize(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes an unmasked, final frame header (`opcode`, `length`) into `out` at `at`; returns the position after it.
 * `out` must have {@link headerSize} bytes free there.
 */
export function writeHeader(out: Uint8Array, at: number, opcode: number, length: number): number {
  out[at] = 0x80 | opcode;
  if (length < 126) {
    out[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    out[at + 1] = 126;
    out[at + 2] = length >>> 8;
    out[at + 3] = length & 0xff;
    return at + 4;
  }
  out[at + 1] = 127;
  const high = Math.floor(length / 0x100000000);
  const low = length >>> 0;
  out[at + 2] = high >>> 24;
  out[at + 3] = (high >>> 16) & 0xff;
  out[at + 4] = (high >>> 8) & 0xff;
  out[at + 5] = high & 0xff;
  out[at + 6] = low >>> 24;
  out[at + 7] = (low >>> 16) & 0xff;
  out[at + 8] = (low >>> 8) & 0xff;
  out[at + 9] = low & 0xff;
  return at + 10;
}

/** A whole unmasked frame (server → client) with `payload`. */
export function encodeFrame(opcode: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headerSize(payload.length) + payload.length);
  out.set(payload, writeHeader(out, 0, opcode, payload.length));
  return out;
}

/** The payload of a close frame: the code, then the UTF-8 reason (cut to fit the 125-byte control-frame limit). */
export function closePayload(code: number, reason: string): Buffer {
  let text = Buffer.from(reason, "utf8");
  if (text.length > 123) {
    let n = 123;
    while (n > 0 && (text[n]! & 0xc0) === 0x80) n--; // not inside a UTF-8 sequence
    text = text.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  out.set(text, 2);
  return out;
}
