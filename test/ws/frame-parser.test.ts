import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, Opcode } from "../../src/ws/frame.js";
import { type FrameHandlers, FrameParser, unmask } from "../../src/ws/frame-parser.js";

type Event =
  | { message: string; binary: boolean }
  | { ping: string }
  | { pong: string }
  | { close: number; reason: string }
  | { error: number };

/** A parser that records what it reports; `push` feeds literal bytes (optionally one byte at a time). */
function recorder(role: "server" | "client", maxPayload = 1 << 20) {
  const events: Event[] = [];
  const handlers: FrameHandlers = {
    message: (data, binary) => events.push({ message: data.toString("latin1"), binary }),
    ping: (data) => events.push({ ping: data.toString("latin1") }),
    pong: (data) => events.push({ pong: data.toString("latin1") }),
    close: (code, reason) => events.push({ close: code, reason }),
    error: (code) => events.push({ error: code }),
  };
  const parser = new FrameParser(handlers, { role, maxPayload });
  return {
    events,
    parser,
    push(bytes: number[] | Buffer, byteByByte = false) {
      const buf = Buffer.from(bytes);
      if (!byteByByte) parser.push(buf);
      else for (const b of buf) parser.push(Buffer.from([b]));
    },
  };
}

// RFC 6455 §5.7 examples.
const MASKED_HELLO = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
const UNMASKED_HELLO = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const FRAGMENTED_HELLO = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
const UNMASKED_PING = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];

/** A masked client frame. */
function masked(opcode: number, payload: Buffer, fin = true, mask = [1, 2, 3, 4]): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | n])
      : n < 0x10000
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.from([
            (fin ? 0x80 : 0) | opcode,
            0x80 | 127,
            0,
            0,
            0,
            0,
            n >>> 24,
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
          ]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, Buffer.from(mask), body]);
}

describe("ws — frame parser (RFC 6455 wire bytes)", () => {
  test("the RFC's masked and unmasked 'Hello' frames, whole and byte by byte", () => {
    for (const byteByByte of [false, true]) {
      const server = recorder("server");
      server.push(MASKED_HELLO, byteByByte);
      assert.deepEqual(server.events, [{ message: "Hello", binary: false }]);
      const client = recorder("client");
      client.push(UNMASKED_HELLO, byteByByte);
      client.push(FRAGMENTED_HELLO, byteByByte);
      client.push(UNMASKED_PING, byteByByte);
      assert.deepEqual(client.events, [
        { message: "Hello", binary: false },
        { message: "Hello", binary: false },
        { ping: "Hello" },
      ]);
    }
  });

  test("16-bit and 64-bit lengths; several frames in one chunk; a frame split anywhere", () => {
    const p256 = Buffer.alloc(256, 0x61);
    const p64k = Buffer.alloc(65536, 0x62);
    const stream = Buffer.concat([
      masked(Opcode.Binary, p256),
      masked(Opcode.Binary, p64k),
      masked(Opcode.Ping, Buffer.from("x")),
      masked(Opcode.Binary, Buffer.alloc(0)),
    ]);
    assert.deepEqual([...stream.subarray(0, 4)], [0x82, 0xfe, 0x01, 0x00]);
    for (const cut of [1, 3, 7, 200, 265, 300, 66000, stream.length - 1]) {
      const r = recorder("server");
      r.push(Buffer.from(stream.subarray(0, cut)));
      r.push(Buffer.from(stream.subarray(cut)));
      assert.deepEqual(r.events, [
        { message: "a".repeat(256), binary: true },
        { message: "b".repeat(65536), binary: true },
        { ping: "x" },
        { message: "", binary: true },
      ]);
    }
  });

  test("control frames between fragments; close frames with and without a status", () => {
    const r = recorder("server");
    r.push(masked(Opcode.Binary, Buffer.from("ab"), false));
    r.push(masked(Opcode.Pong, Buffer.from("p")));
    r.push(masked(Opcode.Continuation, Buffer.from("cd"), true));
    r.push(masked(Opcode.Close, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])));
    r.push(masked(Opcode.Close, Buffer.alloc(0)));
    assert.deepEqual(r.events, [
      { pong: "p" },
      { message: "abcd", binary: true },
      { close: 1000, reason: "ok" },
      { close: 1005, reason: "" },
    ]);
  });

  const violations: [string, Buffer | number[], number, "server" | "client"][] = [
    ["an unmasked client frame", UNMASKED_HELLO, 1002, "server"],
    ["a masked server frame", MASKED_HELLO, 1002, "client"],
    ["RSV1 set (no extension was negotiated)", [0xc2, 0x80, 0, 0, 0, 0], 1002, "server"],
    ["opcode 3 (reserved)", [0x83, 0x80, 0, 0, 0, 0], 1002, "server"],
    ["opcode 11 (reserved control)", [0x8b, 0x80, 0, 0, 0, 0], 1002, "server"],
    ["a control frame over 125 bytes", masked(Opcode.Ping, Buffer.alloc(126)), 1002, "server"],
    ["a fragmented control frame", masked(Opcode.Ping, Buffer.from("x"), false), 1002, "server"],
    ["a continuation without a message", masked(Opcode.Continuation, Buffer.from("x")), 1002, "server"],
    [
      "a new message inside a fragmented one",
      Buffer.concat([
        masked(Opcode.Binary, Buffer.from("x"), false),
        masked(Opcode.Binary, Buffer.from("y")),
      ]),
      1002,
      "server",
    ],
    ["a close frame with a 1-byte payload", masked(Opcode.Close, Buffer.from([3])), 1002, "server"],
    ["close code 1005 on the wire", masked(Opcode.Close, Buffer.from([0x03, 0xed])), 1002, "server"],
    ["close code 2000", masked(Opcode.Close, Buffer.from([0x07, 0xd0])), 1002, "server"],
    [
      "a close reason that is not UTF-8",
      masked(Opcode.Close, Buffer.from([0x03, 0xe8, 0xff])),
      1007,
      "server",
    ],
    ["a frame over maxPayload", masked(Opcode.Binary, Buffer.alloc(101)), 1009, "server"],
    [
      "fragments together over maxPayload",
      Buffer.concat([
        masked(Opcode.Binary, Buffer.alloc(60), false),
        masked(Opcode.Continuation, Buffer.alloc(60)),
      ]),
      1009,
      "server",
    ],
    ["a declared length over 2^53 - 1", [0x82, 0xff, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 1009, "server"],
    [
      "a declared length of 2^40 (refused before any payload)",
      [0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0],
      1009,
      "server",
    ],
  ];
  for (const [what, bytes, code, role] of violations) {
    test(`${what} is a protocol error (${code}); later input is ignored`, () => {
      const r = recorder(role, 100);
      r.push(bytes);
      r.push(role === "server" ? MASKED_HELLO : UNMASKED_HELLO);
      assert.deepEqual(r.events, [{ error: code }]);
      assert.equal(r.parser.failed, true);
    });
  }

  test("unmask gives the byte-wise XOR for every length, alignment and mask", () => {
    for (let trial = 0; trial < 400; trial++) {
      const len = trial % 3 === 0 ? trial : Math.floor(Math.random() * 300);
      const offset = trial % 7;
      const backing = Buffer.from(
        Array.from({ length: offset + 4 + len + 3 }, () => Math.floor(Math.random() * 256)),
      );
      const buf = backing.subarray(1); // byteOffset 1 into its ArrayBuffer: unaligned as socket chunks can be
      const maskAt = offset;
      const start = offset + 4;
      const expected = Buffer.from(buf);
      for (let i = 0; i < len; i++) expected[start + i] = buf[start + i]! ^ buf[maskAt + (i % 4)]!;
      unmask(buf, maskAt, start, start + len);
      assert.ok(buf.equals(expected), `len ${len} offset ${offset}`);
    }
  });

  test("encodeFrame writes the shortest length form", () => {
    assert.deepEqual(
      [...encodeFrame(Opcode.Binary, Buffer.from("Hello"))],
      [0x82, 5, ...Buffer.from("Hello")],
    );
    assert.deepEqual([...encodeFrame(Opcode.Binary, Buffer.alloc(126)).subarray(0, 4)], [0x82, 126, 0, 126]);
    assert.deepEqual(
      [...encodeFrame(Opcode.Binary, Buffer.alloc(65536)).subarray(0, 10)],
      [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0],
    );
  });
});
