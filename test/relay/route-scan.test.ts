import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import {
  createEnvelope,
  DecodeError,
  decodeEnvelope,
  encodeEnvelope,
  signEnvelope,
} from "../../src/protocol/index.js";
import { scanEnvelopeRoute } from "../../src/relay/route-scan.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "../hostile/fuzz-config.js";
import { HUGE_VARINTS, mutatedBytes, protobufLengthOffsets } from "../hostile/mutate.js";
import { envelopeArb } from "../support/arbitraries.js";
import { hex, vectors } from "../support/vectors.js";

const RUNS = fuzzRuns(3000);
const alice = createSigner("//Alice", "ed25519");

/** What the full decoder says about the routing fields, in the scanner's shape. */
function routeOf(bytes: Uint8Array) {
  const env = decodeEnvelope(bytes);
  return {
    hasSource: env.source !== undefined,
    sourceTwin: env.source?.twin ?? 0,
    sourceConnection: env.source?.connection,
    hasDestination: env.destination !== undefined,
    destinationTwin: env.destination?.twin ?? 0,
    destinationConnection: env.destination?.connection,
    kind: env.message?.kind,
    tags: env.tags,
  };
}

/** `"ok"` with the route, or the error's class and message. */
function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (err) {
    return {
      error: err instanceof DecodeError ? "DecodeError" : String(err),
      message: (err as Error).message,
    };
  }
}

const validEnvelope = fc.oneof(
  fc.constant(hex(vectors.envelope_vector.protobuf_signed_hex)),
  envelopeArb.map(encodeEnvelope),
  envelopeArb.map((env) => encodeEnvelope(signEnvelope({ ...env, source: { twin: 1 } }, alice))),
);

describe("relay — route scan (the fast path's envelope check)", () => {
  test("reads source, destination, message kind and tags of a signed envelope", () => {
    const env = signEnvelope(
      createEnvelope({
        uid: "a1",
        tags: "x, fail-fast",
        timestamp: 1_700_000_000,
        expiration: 60,
        source: { twin: 1, connection: "s1" },
        destination: { twin: 7 },
        message: { kind: "request", command: "echo" },
        payload: { kind: "plain", data: new Uint8Array(300) },
      }),
      alice,
    );
    assert.deepEqual(scanEnvelopeRoute(Buffer.from(encodeEnvelope(env))), {
      hasSource: true,
      sourceTwin: 1,
      sourceConnection: "s1",
      hasDestination: true,
      destinationTwin: 7,
      destinationConnection: undefined,
      kind: "request",
      tags: "x, fail-fast",
    });
  });

  test("agrees with decodeEnvelope on valid, random and mutated bytes: same fields, or the same DecodeError", {
    timeout: timeoutFor(RUNS, 0.3),
  }, () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 2, arbitrary: validEnvelope },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
          { weight: 3, arbitrary: mutatedBytes(validEnvelope, HUGE_VARINTS, protobufLengthOffsets) },
        ),
        (bytes) => {
          const full = outcome(() => routeOf(bytes));
          const scanned = outcome(() => scanEnvelopeRoute(bytes));
          assert.deepEqual(scanned, full);
          if ("error" in (full as object)) refused += 1;
        },
      ),
      fuzzParams(RUNS),
    );
    assert.ok(refused > 0, "some inputs were refused");
  });

  test("invalid UTF-8 in a string field it does not decode (uid, schema, relays, command) is refused like the decoder does", () => {
    const base = createEnvelope({
      uid: "u",
      schema: "s",
      relays: ["r"],
      message: { kind: "request", command: "c" },
    });
    const bytes = Buffer.from(encodeEnvelope(base));
    for (const letter of ["u", "s", "r", "c"]) {
      const bad = Buffer.from(bytes);
      bad[bad.indexOf(letter.charCodeAt(0))] = 0xff;
      assert.throws(() => decodeEnvelope(bad), DecodeError);
      assert.throws(() => scanEnvelopeRoute(bad), DecodeError, letter);
    }
  });
});
