import { isUtf8 } from "node:buffer";
import { CloseCode, isValidCloseCode, Opcode } from "./frame.js";

/** What a {@link FrameParser} reports. Callbacks rather than events: one call per message on the hot path. */
export interface FrameHandlers {
  /**
   * A complete message. `data` is a view into the parser's input (unmasked in place): valid only during the call;
   * copy it to keep it.
   */
  message(data: Buffer, binary: boolean): void;
  ping(data: Buffer): void;
  pong(data: Buffer): void;
  /** A close frame: `code` is 1005 when it carried none. */
  close(code: number, reason: string): void;
  /** A protocol violation: the connection must be closed with `code`; the parser ignores further input. */
  error(code: number, reason: string): void;
}

/** Options of {@link FrameParser}. */
export interface FrameParserOptions {
  /** `server` parses masked client frames; `client` parses unmasked server frames. */
  role: "server" | "client";
  /** Largest message (all fragments together), in bytes; larger ones are refused with 1009. */
  maxPayload: number;
}

/**
 * Incremental RFC 6455 frame parser without extensions. Feed it the socket's chunks in order; it reports whole
 * messages (reassembling fragments), control frames and protocol errors. Frames that lie entirely in one chunk are
 * handed over as views of that chunk without copying; a frame split over chunks is joined once, when all of it has
 * arrived.
 */
export class FrameParser {
  readonly #handlers: FrameHandlers;
  readonly #masked: boolean;
  readonly #maxPayload: number;
  /** Chunks held until the frame they start is complete. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Bytes needed before parsing can make progress again. */
  #need = 0;
  /** Fragments of the message being reassembled. */
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  /** Opcode of the message being reassembled (0 when none). */
  #fragmentOpcode = 0;
  #failed = false;

  constructor(handlers: FrameHandlers, options: FrameParserOptions) {
    this.#handlers = handlers;
    this.#masked = options.role === "server";
    this.#maxPayload = options.maxPayload;
  }

  /** True after a protocol error (further input is ignored). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Parses `chunk` (taking ownership: masked payloads are unmasked in place). */
  push(chunk: Buffer): void {
    if (this.#failed) return;
    if (this.#heldBytes > 0) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes < this.#need) return;
      chunk = Buffer.concat(this.#held, this.#heldBytes);
      this.#held = [];
      this.#heldBytes = 0;
    }
    const end = chunk.length;
    let pos = 0;
    while (pos < end && !this.#failed) {
      const next = this.#frame(chunk, pos, end);
      if (next < 0) {
        // Incomplete: keep the rest (a copy when it is a small tail of a big chunk, so the chunk can be freed).
        const rest = chunk.subarray(pos);
        this.#held.push(rest.length * 4 < chunk.length ? Buffer.from(rest) : rest);
        this.#heldBytes = rest.length;
        this.#need = -next;
        return;
      }
      pos = next;
    }
  }

  /**
   * Parses the frame at `pos`; returns the position after it, or `-needed` (the bytes from `pos` needed to go on)
   * when it is incomplete.
   */
  #frame(buf: Buffer, pos: number, end: number): number {
    if (end - pos < 2) return -2;
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.#fail(CloseCode.ProtocolError, "RSV bits must be clear");
    if (((b1 & 0x80) !== 0) !== this.#masked) {
      return this.#fail(
        CloseCode.ProtocolError,
        this.#masked ? "client frames must be masked" : "server frames must not be masked",
      );
    }
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (end - pos < 4) return -4;
      length = buf.readUInt16BE(pos + 2);
      header = 4;
    } else if (length === 127) {
      if (end - pos < 10) return -10;
      const high = buf.readUInt32BE(pos + 2);
      const low = buf.readUInt32BE(pos + 6);
      // Beyond 2^53 − 1 a length cannot be held exactly; far beyond any limit anyway.
      if (high > 0x1fffff) return this.#fail(CloseCode.MessageTooBig, "frame length over 2^53 - 1");
      length = high * 0x100000000 + low;
      header = 10;
    }
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) return this.#fail(CloseCode.ProtocolError, `invalid opcode ${opcode}`);
      if (!fin) return this.#fail(CloseCode.ProtocolError, "fragmented control frame");
      if (length > 125) return this.#fail(CloseCode.ProtocolError, "control frame over 125 bytes");
    } else if (opcode === Opcode.Continuation) {
      if (this.#fragmentOpcode === 0)
        return this.#fail(CloseCode.ProtocolError, "continuation without a message");
    } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (this.#fragmentOpcode !== 0)
        return this.#fail(CloseCode.ProtocolError, "new message inside a fragmented one");
    } else {
      return this.#fail(CloseCode.ProtocolError, `invalid opcode ${opcode}`);
    }
    if (opcode < 0x8 && this.#fragmentBytes + length > this.#maxPayload) {
      return this.#fail(CloseCode.MessageTooBig, "max payload size exceeded");
    }
    const maskAt = pos + header;
    if (this.#masked) header += 4;
    const start = pos + header;
    const stop = start + length;
    if (stop > end) return -(header + length);
    if (this.#masked) unmask(buf, maskAt, start, stop);
    const data = buf.subarray(start, stop);
    if (opcode >= 0x8) {
      this.#control(opcode, data);
      return stop;
    }
    if (fin && this.#fragmentOpcode === 0) {
      this.#handlers.message(data, opcode === Opcode.Binary);
      return stop;
    }
    if (this.#fragmentOpcode === 0) this.#fragmentOpcode = opcode;
    // Fragments are copied: the message is handed over only when its last one arrives, after this chunk is gone.
    this.#fragments.push(Buffer.from(data));
    this.#fragmentBytes += length;
    if (fin) {
      const whole = Buffer.concat(this.#fragments, this.#fragmentBytes);
      const binary = this.#fragmentOpcode === Opcode.Binary;
      this.#fragments = [];
      this.#fragmentBytes = 0;
      this.#fragmentOpcode = 0;
      this.#handlers.message(whole, binary);
    }
    return stop;
  }

  #control(opcode: number, data: Buffer): void {
    if (opcode === Opcode.Ping) {
      this.#handlers.ping(data);
      return;
    }
    if (opcode === Opcode.Pong) {
      this.#handlers.pong(data);
      return;
    }
    if (data.length === 0) {
      this.#handlers.close(CloseCode.NoStatus, "");
      return;
    }
    if (data.length === 1) {
      this.#fail(CloseCode.ProtocolError, "close frame with a 1-byte payload");
      return;
    }
    const code = data.readUInt16BE(0);
    if (!isValidCloseCode(code)) {
      this.#fail(CloseCode.ProtocolError, `invalid close code ${code}`);
      return;
    }
    const reason = data.subarray(2);
    if (!isUtf8(reason)) {
      this.#fail(CloseCode.InvalidPayload, "close reason is not UTF-8");
      return;
    }
    this.#handlers.close(code, reason.toString("utf8"));
  }

  #fail(code: number, reason: string): number {
    this.#failed = true;
    this.#held = [];
    this.#heldBytes = 0;
    this.#fragments = [];
    this.#handlers.error(code, reason);
    return Number.MAX_SAFE_INTEGER;
  }
}

/** Payloads at least this long are unmasked a 32-bit word at a time (on little-endian machines). */
const WORD_UNMASK_MIN = 128;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** A word view of the last buffer unmasked (a socket chunk carries many frames: one view serves them all). */
let wordsOf: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** XORs `buf[start..stop)` with the 4-byte mask at `maskAt`, in place. */
export function unmask(buf: Buffer, maskAt: number, start: number, stop: number): void {
  const m0 = buf[maskAt]!;
  const m1 = buf[maskAt + 1]!;
  const m2 = buf[maskAt + 2]!;
  const m3 = buf[maskAt + 3]!;
  if ((m0 | m1 | m2 | m3) === 0) return;
  let i = start;
  if (LITTLE_ENDIAN && stop - start >= WORD_UNMASK_MIN) {
    // Bytes up to a 4-byte aligned address, then whole words (the mask rotated to the alignment), then the tail.
    const base = buf.byteOffset;
    while ((base + i) % 4 !== 0) {
      const k = (i - start) & 3;
      buf[i] = buf[i]! ^ (k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3);
      i++;
    }
    const k = (i - start) & 3;
    const word =
      k === 0
        ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)
        : k === 1
          ? m1 | (m2 << 8) | (m3 << 16) | (m0 << 24)
          : k === 2
            ? m2 | (m3 << 8) | (m0 << 16) | (m1 << 24)
            : m3 | (m0 << 8) | (m1 << 16) | (m2 << 24);
    if (wordsOf !== buf.buffer) {
      wordsOf = buf.buffer;
      words = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
    }
    const view = words;
    const first = (base + i) >>> 2;
    const last = first + ((stop - i) >>> 2);
    for (let w = first; w < last; w++) view[w] = view[w]! ^ word;
    i += (last - first) * 4;
  } else {
    const last4 = stop - 3;
    for (; i < last4; i += 4) {
      buf[i] = buf[i]! ^ m0;
      buf[i + 1] = buf[i + 1]! ^ m1;
      buf[i + 2] = buf[i + 2]! ^ m2;
      buf[i + 3] = buf[i + 3]! ^ m3;
    }
  }
  for (; i < stop; i++) {
    const k = (i - start) & 3;
    buf[i] = buf[i]! ^ (k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3);
  }
}
