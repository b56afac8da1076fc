import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createEnvelope, envelopeChallenge, envelopeDigest } from "../../src/protocol/index.js";
import { envelopeArb } from "../support/arbitraries.js";
import { toHex, vectors } from "../support/vectors.js";

describe("challenge — known answers", () => {
  test("full request envelope: challenge text and MD5", () => {
    const f = vectors.envelope_vector.fields;
    const env = createEnvelope({
      uid: f.uid,
      tags: f.tags,
      timestamp: f.timestamp,
      expiration: f.expiration,
      source: { twin: 11, connection: "sess1" },
      destination: { twin: 22 },
      message: { kind: "request", command: f.request.command },
      schema: f.schema,
      payload: { kind: "plain", data: Buffer.from(f.plain_utf8) },
      relays: [...f.relays],
    });
    assert.equal(
      Buffer.from(envelopeChallenge(env)).toString(),
      vectors.envelope_vector.challenge_bytes_utf8,
    );
    assert.equal(toHex(envelopeChallenge(env)), vectors.envelope_vector.challenge_bytes_hex);
    assert.equal(toHex(envelopeDigest(env)), vectors.envelope_vector.md5_hex);
  });

  test("minimal response: x1234", () => {
    const env = createEnvelope({
      uid: "x",
      timestamp: 1,
      expiration: 2,
      source: { twin: 3 },
      destination: { twin: 4 },
      message: { kind: "response" },
    });
    assert.equal(Buffer.from(envelopeChallenge(env)).toString(), vectors.envelope_min.challenge_utf8);
    assert.equal(toHex(envelopeDigest(env)), vectors.envelope_min.md5_hex);
  });

  test("error without source writes 0 for the absent address", () => {
    const env = createEnvelope({
      uid: "u",
      timestamp: 10,
      expiration: 300,
      destination: { twin: 5, connection: "c" },
      message: { kind: "error", code: 104, message: "bad" },
    });
    assert.equal(Buffer.from(envelopeChallenge(env)).toString(), vectors.envelope_error.challenge_utf8);
    assert.equal(toHex(envelopeDigest(env)), vectors.envelope_error.md5_hex);
  });

  test("presence matters: absent tags/connection differ from present-but-empty only where rmb-rs says", () => {
    const base = createEnvelope({
      uid: "u",
      timestamp: 1,
      expiration: 2,
      source: { twin: 3 },
      destination: { twin: 4 },
    });
    // "" adds nothing to the text...
    assert.deepEqual(envelopeDigest({ ...base, tags: "" }), envelopeDigest(base));
    assert.deepEqual(envelopeDigest({ ...base, source: { twin: 3, connection: "" } }), envelopeDigest(base));
    // ...but a value does, and so does the payload branch content.
    assert.notDeepEqual(envelopeDigest({ ...base, tags: "t" }), envelopeDigest(base));
    assert.notDeepEqual(envelopeDigest({ ...base, federation: "f" }), envelopeDigest(base));
    assert.notDeepEqual(
      envelopeDigest({ ...base, payload: { kind: "cipher", data: Buffer.from("z") } }),
      envelopeDigest(base),
    );
  });

  test("the signature field is not part of the challenge", () => {
    const env = createEnvelope({ uid: "u", timestamp: 1, expiration: 2 });
    assert.deepEqual(envelopeDigest({ ...env, signature: Buffer.alloc(65, 1) }), envelopeDigest(env));
  });
});

describe("challenge — properties", () => {
  test("digest = MD5(challenge bytes) for arbitrary envelopes", () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const md5 = createHash("md5").update(envelopeChallenge(env)).digest();
        assert.deepEqual(Buffer.from(envelopeDigest(env)), md5);
      }),
      { numRuns: 1000 },
    );
  });
});
