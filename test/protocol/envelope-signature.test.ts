import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import {
  createEnvelope,
  decodeEnvelope,
  EnvelopeSignatureError,
  encodeEnvelope,
  signEnvelope,
  verifyEnvelope,
} from "../../src/protocol/index.js";
import { envelopeArb } from "../support/arbitraries.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const signers = [createSigner("//Alice", "ed25519"), createSigner("//Alice", "sr25519")];
const V = vectors.envelope_vector;

describe("envelope signature — known answers", () => {
  test("//Alice ed25519 signs the vector envelope to the exact 65 bytes", () => {
    const env = decodeEnvelope(hex(V.protobuf_unsigned_hex));
    signEnvelope(env, signers[0]!);
    assert.equal(toHex(env.signature!), V.signature_ed25519_65_hex);
    assert.equal(toHex(encodeEnvelope(env)), V.protobuf_signed_hex);
  });

  test("the published sr25519 example signature verifies against //Alice sr25519", () => {
    const env = decodeEnvelope(hex(V.protobuf_unsigned_hex));
    env.signature = hex(V.example_sr25519_signature_65_hex_randomized);
    verifyEnvelope(env, hex(vectors.identities.alice.sr25519_public_hex));
  });

  test("an unsigned envelope is refused with 'message is not signed'", () => {
    const env = decodeEnvelope(hex(V.protobuf_unsigned_hex));
    assert.throws(
      () => verifyEnvelope(env, signers[0]!.publicKey),
      (e: unknown) => e instanceof EnvelopeSignatureError && e.message === "message is not signed",
    );
  });

  test("signature length and type byte errors carry the rmb-rs texts", () => {
    const env = decodeEnvelope(hex(V.protobuf_signed_hex));
    env.signature = env.signature!.subarray(0, 64);
    assert.throws(
      () => verifyEnvelope(env, signers[0]!.publicKey),
      /invalid signature length, expected: 65, found: 64/,
    );
    const other = decodeEnvelope(hex(V.protobuf_signed_hex));
    other.signature = Uint8Array.from([0x78, ...other.signature!.subarray(1)]);
    assert.throws(
      () => verifyEnvelope(other, signers[0]!.publicKey),
      /invalid signature type \(expected either sr25519 or ed25519\)/,
    );
  });
});

describe("envelope signature — properties", () => {
  for (const signer of signers) {
    test(`${signer.keyType}: sign → encode → decode → verify accepts; any changed byte of the signature rejects`, () => {
      fc.assert(
        fc.property(envelopeArb, fc.nat(64), fc.integer({ min: 1, max: 255 }), (env, i, x) => {
          const { signature: _, ...unsigned } = env;
          const signed = decodeEnvelope(encodeEnvelope(signEnvelope({ ...unsigned }, signer)));
          verifyEnvelope(signed, signer.publicKey);
          const sig = signed.signature!.slice();
          sig[i] = sig[i]! ^ x;
          assert.throws(
            () => verifyEnvelope({ ...signed, signature: sig }, signer.publicKey),
            EnvelopeSignatureError,
          );
        }),
        { numRuns: signer.keyType === "sr25519" ? 100 : 300 },
      );
    });

    test(`${signer.keyType}: changing any signed field rejects`, () => {
      const base = createEnvelope({
        uid: "u1",
        tags: "t",
        timestamp: 10,
        expiration: 20,
        source: { twin: 1, connection: "c" },
        destination: { twin: 2 },
        message: { kind: "request", command: "cmd" },
        schema: "s",
        federation: "f",
        payload: { kind: "cipher", data: Uint8Array.of(1, 2, 3) },
        relays: ["r"],
      });
      signEnvelope(base, signer);
      verifyEnvelope(base, signer.publicKey);
      const variants = [
        { uid: "u2" },
        { tags: "t2" },
        { timestamp: 11 },
        { expiration: 21 },
        { source: { twin: 1, connection: "d" } },
        { source: { twin: 3, connection: "c" } },
        { destination: { twin: 9 } },
        { message: { kind: "request" as const, command: "cmd2" } },
        { schema: "s2" },
        { federation: "f2" },
        { payload: { kind: "cipher" as const, data: Uint8Array.of(1, 2, 4) } },
        { relays: ["r2"] },
      ];
      for (const v of variants) {
        assert.throws(
          () => verifyEnvelope({ ...base, ...v }, signer.publicKey),
          EnvelopeSignatureError,
          JSON.stringify(v),
        );
      }
      const other = signers.find((s) => s !== signer)!;
      assert.throws(() => verifyEnvelope(base, other.publicKey), EnvelopeSignatureError);
    });
  }
});
