import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import { type Backlog, decodeBacklog, encodeBacklog } from "../../src/peer/index.js";
import {
  DecodeError,
  decodeEnvelope,
  EnvelopeSignatureError,
  encodeEnvelope,
  signEnvelope,
  verifyEnvelope,
} from "../../src/protocol/index.js";
import { envelopeArb } from "../support/arbitraries.js";
import { hex, vectors } from "../support/vectors.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { HUGE_VARINTS, mutatedBytes, onlyTyped, protobufLengthOffsets } from "./mutate.js";

const RUNS = fuzzRuns(2000);
const alice = createSigner("//Alice", "ed25519");
const bob = createSigner("//Bob", "sr25519");

/** Valid envelopes: the spec's signed vector, arbitrary ones, and ones signed by ed25519 and sr25519 keys. */
const validEnvelope = fc.oneof(
  fc.constant(hex(vectors.envelope_vector.protobuf_signed_hex)),
  envelopeArb.map(encodeEnvelope),
  envelopeArb.map((env) => encodeEnvelope(signEnvelope({ ...env, source: { twin: 1 } }, alice))),
);
const hostileEnvelope = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 3, arbitrary: mutatedBytes(validEnvelope, HUGE_VARINTS, protobufLengthOffsets) },
);

describe("hostile input — envelope codec (src/protocol)", () => {
  test("random and mutated bytes decode or throw DecodeError; what decodes re-encodes to the same envelope", {
    timeout: timeoutFor(RUNS, 0.2),
  }, () => {
    let decoded = 0;
    let refused = 0;
    fc.assert(
      fc.property(hostileEnvelope, (bytes) => {
        const outcome = onlyTyped(decodeEnvelope, bytes, DecodeError);
        if (outcome !== "ok") {
          refused++;
          assert.equal((outcome as DecodeError).code, "RMB_ERR_DECODE");
          assert.ok(outcome.message.length > 0);
          return;
        }
        decoded++;
        // The relay answers a decoded ping by re-encoding it and the federation check hashes decoded fields: every
        // envelope that decodes must encode again (no number out of range), to an envelope that decodes the same.
        const env = decodeEnvelope(bytes);
        assert.deepEqual(decodeEnvelope(encodeEnvelope(env)), env);
      }),
      fuzzParams(RUNS),
    );
    assert.ok(
      decoded > 0 && refused > 0,
      `decoded ${decoded}, refused ${refused}: the sample misses a branch`,
    );
  });

  test("signature checks of decoded hostile envelopes throw only EnvelopeSignatureError", {
    timeout: timeoutFor(RUNS, 0.5),
  }, () => {
    fc.assert(
      fc.property(hostileEnvelope, (bytes) => {
        let env: ReturnType<typeof decodeEnvelope>;
        try {
          env = decodeEnvelope(bytes);
        } catch {
          return;
        }
        for (const key of [alice.publicKey, bob.publicKey])
          onlyTyped((e) => verifyEnvelope(e, key), env, EnvelopeSignatureError);
      }),
      fuzzParams(RUNS),
    );
  });

  test("huge declared lengths are refused from the bytes at hand, without allocating them", () => {
    const cases = [
      ...HUGE_VARINTS.map((v) => Uint8Array.of(0x0a, ...v)), // uid (field 1, LEN) of 2^31…2^64 bytes
      ...HUGE_VARINTS.map((v) => Uint8Array.of(0x2a, 0x06, 0x12, ...v.subarray(0, 4))), // inside a nested source
      ...HUGE_VARINTS.map((v) => Uint8Array.of(0x52, ...v, 1, 2, 3)), // plain payload (field 10)
      Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, ...new Uint8Array(1024)), // 4 GiB declared, 1 KiB present
    ];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 2000; i++) {
      for (const bytes of cases) {
        assert.throws(
          () => decodeEnvelope(bytes),
          (e: unknown) => e instanceof DecodeError && /declared length|truncated|varint/.test(e.message),
        );
      }
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
    assert.throws(() => decodeEnvelope(cases.at(-1) as Uint8Array), {
      message: "declared length 4294967295 exceeds the 1024 remaining bytes",
    });
  });
});

const backlogArb: fc.Arbitrary<Backlog> = fc.record(
  {
    uid: fc.string({ maxLength: 40 }),
    reference: fc.string({ maxLength: 40 }),
    replyTo: fc.string({ maxLength: 40 }),
    module: fc.string({ maxLength: 10 }),
    ttl: fc.maxSafeNat(),
  },
  { requiredKeys: ["uid", "replyTo", "module", "ttl"], noNullPrototype: true },
);
const validBacklog = backlogArb.map(encodeBacklog);

describe("hostile input — backlog codec (src/peer/backlog.ts)", () => {
  test("random and mutated bytes decode or throw DecodeError; what decodes re-encodes to the same record", {
    timeout: timeoutFor(RUNS, 0.1),
  }, () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      mutatedBytes(validBacklog, HUGE_VARINTS, protobufLengthOffsets),
      mutatedBytes(validBacklog, HUGE_VARINTS, protobufLengthOffsets),
    );
    fc.assert(
      fc.property(hostile, (bytes) => {
        if (onlyTyped(decodeBacklog, bytes, DecodeError) !== "ok") return;
        const b = decodeBacklog(bytes);
        assert.deepEqual(decodeBacklog(encodeBacklog(b)), b);
      }),
      fuzzParams(RUNS),
    );
  });

  test("a huge declared length is refused without allocating it", () => {
    for (const v of HUGE_VARINTS) {
      for (const field of [0x0a, 0x12, 0x1a, 0x22, 0x3a]) {
        assert.throws(() => decodeBacklog(Uint8Array.of(field, ...v, 0x41)), DecodeError);
      }
    }
  });
});
