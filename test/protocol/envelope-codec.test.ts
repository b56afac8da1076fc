import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  createEnvelope,
  DecodeError,
  decodeEnvelope,
  type Envelope,
  type EnvelopeMessage,
  encodeEnvelope,
} from "../../src/protocol/index.js";
import { fuzzParams } from "../hostile/fuzz-config.js";
import { envelopeArb } from "../support/arbitraries.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const V = vectors.envelope_vector;

function vectorEnvelope(withSignature: boolean): Envelope {
  const f = V.fields;
  const env = createEnvelope({
    uid: f.uid,
    tags: f.tags,
    timestamp: f.timestamp,
    expiration: f.expiration,
    source: { twin: f.source.twin, connection: f.source.connection },
    destination: { twin: f.destination.twin },
    message: { kind: "request", command: f.request.command },
    schema: f.schema,
    payload: { kind: "plain", data: new TextEncoder().encode(f.plain_utf8) },
    relays: [...f.relays],
  });
  if (withSignature) env.signature = hex(V.signature_ed25519_65_hex);
  return env;
}

describe("envelope codec — known-answer bytes", () => {
  test("encodes the unsigned vector envelope to the exact protobuf bytes", () => {
    assert.equal(toHex(encodeEnvelope(vectorEnvelope(false))), V.protobuf_unsigned_hex);
  });

  test("encodes the signed vector envelope to the exact protobuf bytes", () => {
    assert.equal(toHex(encodeEnvelope(vectorEnvelope(true))), V.protobuf_signed_hex);
  });

  test("decodes the signed vector bytes into every field with presence", () => {
    const env = decodeEnvelope(hex(V.protobuf_signed_hex));
    assert.equal(env.uid, V.fields.uid);
    assert.equal(env.tags, "fail-fast");
    assert.equal(env.timestamp, 1700000000);
    assert.equal(env.expiration, 300);
    assert.deepEqual(env.source, { twin: 11, connection: "sess1" });
    assert.deepEqual(env.destination, { twin: 22 });
    assert.equal("connection" in env.destination!, false);
    assert.deepEqual(env.message, { kind: "request", command: "zos.system.version" });
    assert.equal(toHex(env.signature!), V.signature_ed25519_65_hex);
    assert.equal(env.schema, "application/json");
    assert.equal(env.federation, undefined);
    assert.equal(env.payload?.kind, "plain");
    assert.equal(Buffer.from(env.payload!.data).toString(), '{"a":1}');
    assert.deepEqual(env.relays, ["r1.example.com", "r2.example.com"]);
    assert.equal(env.unknownFields, undefined);
  });

  test("writes empty but present fields and omits absent ones", () => {
    const env = createEnvelope({
      uid: "",
      tags: "",
      source: { twin: 0, connection: "" },
      message: { kind: "ping" },
      payload: { kind: "cipher", data: new Uint8Array() },
    });
    // tags "" (12 00), source {connection ""} (2a 02 12 00), cipher empty (72 00), ping (7a 00)
    assert.equal(toHex(encodeEnvelope(env)), "12002a02120072007a00");
    const back = decodeEnvelope(encodeEnvelope(env));
    assert.equal(back.tags, "");
    assert.deepEqual(back.source, { twin: 0, connection: "" });
    assert.equal(back.destination, undefined);
    assert.deepEqual(back.message, { kind: "ping" });
    assert.equal(back.payload?.kind, "cipher");
    assert.equal(back.payload?.data.length, 0);
  });

  test("encodes each message kind under its own field number", () => {
    const cases: [EnvelopeMessage, string][] = [
      [{ kind: "request", command: "" }, "3a00"],
      [{ kind: "response" }, "4200"],
      [{ kind: "error", code: 0, message: "" }, "6200"],
      [{ kind: "error", code: 104, message: "bad" }, "620708681203626164"],
      [{ kind: "ping" }, "7a00"],
      [{ kind: "pong" }, "820100"],
    ];
    for (const [message, bytes] of cases) {
      const env = createEnvelope({ uid: "", message });
      assert.equal(toHex(encodeEnvelope(env)), bytes, message.kind);
      assert.deepEqual(decodeEnvelope(hex(bytes)).message, message);
    }
  });

  test("keeps unknown fields and re-encodes them unchanged", () => {
    // uid "u", unknown field 20 varint 5, unknown field 99 bytes "zz", known timestamp 7
    const bytes = hex("0a0175a00105" + "9a06027a7a" + "1807");
    const env = decodeEnvelope(bytes);
    assert.equal(env.uid, "u");
    assert.equal(env.timestamp, 7);
    assert.equal(toHex(env.unknownFields!), "a001059a06027a7a");
    assert.equal(toHex(encodeEnvelope(env)), "0a01751807a001059a06027a7a");
  });

  test("treats a known field number with another wire type as unknown, like rust-protobuf", () => {
    const env = decodeEnvelope(hex("0807")); // field 1 (uid, a string) sent as varint
    assert.equal(env.uid, "");
    assert.equal(toHex(env.unknownFields!), "0807");
  });

  test("later occurrences win for scalars and merge for addresses", () => {
    const env = decodeEnvelope(hex("0a01610a0162" + "2a02080b" + "2a03120163"));
    assert.equal(env.uid, "b");
    assert.deepEqual(env.source, { twin: 11, connection: "c" });
  });

  test("decodes uint32 fields from 64-bit varints by truncation", () => {
    // source.twin = 5 + 31 * 2^28 (0x1f0000005) as a 5-byte varint: the low 32 bits are 0xf0000005
    const env = decodeEnvelope(hex("2a0608858080801f"));
    assert.equal(env.source?.twin, 0xf0000005);
  });
});

describe("envelope codec — hostile input", () => {
  const bad: [string, string, RegExp][] = [
    ["truncated varint", "18", /truncated varint/],
    ["length beyond input", "0a05616263", /declared length 5 exceeds the 3 remaining bytes/],
    ["huge declared length", "0affffffff0f", /declared length 4294967295 exceeds/],
    ["field number 0", "0001", /invalid field number 0/],
    ["invalid wire type 7", "0f", /invalid wire type 7/],
    ["lone end group", "0c", /invalid wire type 4/],
    ["unterminated group", "a301", /unterminated group/],
    ["11-byte varint", "18ffffffffffffffffffff01", /malformed varint/],
    ["uint64 above 2^53", "18ffffffffffffffff7f", /exceeds 2\^53-1/],
    ["invalid utf-8 in uid", "0a02c328", /invalid UTF-8/],
    ["truncated fixed64", "210102", /truncated fixed-width/],
  ];
  for (const [name, bytes, message] of bad) {
    test(`rejects ${name} with a DecodeError`, () => {
      assert.throws(
        () => decodeEnvelope(hex(bytes)),
        (e: unknown) => e instanceof DecodeError && e.code === "RMB_ERR_DECODE" && message.test(e.message),
      );
    });
  }

  test("rejects non-Uint8Array input with a DecodeError", () => {
    assert.throws(() => decodeEnvelope("abc" as unknown as Uint8Array), DecodeError);
  });

  test("random bytes either decode or throw a DecodeError, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeEnvelope(bytes);
        } catch (e) {
          return e instanceof DecodeError;
        }
        return true;
      }),
      fuzzParams(5000),
    );
  });

  test("every truncation of a valid envelope decodes or throws a DecodeError", () => {
    const full = hex(V.protobuf_signed_hex);
    for (let n = 0; n < full.length; n++) {
      try {
        decodeEnvelope(full.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof DecodeError, `cut at ${n}: ${String(e)}`);
      }
    }
  });

  test("mutated valid envelopes decode or throw a DecodeError", () => {
    const full = hex(V.protobuf_signed_hex);
    fc.assert(
      fc.property(fc.nat(full.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const m = full.slice();
        m[i] = b;
        try {
          decodeEnvelope(m);
        } catch (e) {
          return e instanceof DecodeError;
        }
        return true;
      }),
      fuzzParams(5000),
    );
  });
});

describe("envelope codec — properties", () => {
  test("decode(encode(x)) = x for arbitrary envelopes", () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        assert.deepEqual(decodeEnvelope(encodeEnvelope(env)), env);
      }),
      { numRuns: 3000 },
    );
  });

  test("encode(decode(b)) = b for canonical encodings", () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const b = encodeEnvelope(env);
        assert.deepEqual(encodeEnvelope(decodeEnvelope(b)), b);
      }),
      { numRuns: 1000 },
    );
  });

  test("refuses numbers that do not fit their protobuf types", () => {
    assert.throws(() => encodeEnvelope(createEnvelope({ uid: "", timestamp: -1 })), /envelope.timestamp/);
    assert.throws(() => encodeEnvelope(createEnvelope({ uid: "", expiration: 1.5 })), /envelope.expiration/);
    assert.throws(
      () => encodeEnvelope(createEnvelope({ uid: "", source: { twin: 2 ** 32 } })),
      /envelope.source.twin/,
    );
  });
});
