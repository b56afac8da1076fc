import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  createSigner,
  isValidSignature,
  KeyType,
  SignatureError,
  verifySignature,
} from "../../src/identity/index.js";
import { hex, vectors } from "../support/vectors.js";

const DIGEST = hex(vectors.envelope_vector.md5_hex);
const ALICE_ED = hex(vectors.identities.alice.ed25519_public_hex);
const ALICE_SR = hex(vectors.identities.alice.sr25519_public_hex);
const signers = [createSigner("//Alice", KeyType.Ed25519), createSigner("//Alice", KeyType.Sr25519)];

function rejects(fn: () => void, reason: string, message: string): void {
  assert.throws(
    fn,
    (err: unknown) =>
      err instanceof SignatureError &&
      err.code === "RMB_ERR_SIGNATURE" &&
      err.reason === reason &&
      err.message === message,
  );
}

describe("verify — known answers", () => {
  test("verify — the envelope vector ed25519 signature verifies for //Alice", () => {
    verifySignature(ALICE_ED, DIGEST, hex(vectors.envelope_vector.signature_ed25519_65_hex));
    assert.equal(
      isValidSignature(ALICE_ED, DIGEST, hex(vectors.envelope_vector.signature_ed25519_65_hex)),
      true,
    );
  });

  test("verify — the example sr25519 signature verifies for //Alice sr25519", () => {
    verifySignature(
      ALICE_SR,
      DIGEST,
      hex(vectors.envelope_vector.example_sr25519_signature_65_hex_randomized),
    );
  });

  test("verify — a signature checked against the other key type's account id fails", () => {
    rejects(
      () => verifySignature(ALICE_SR, DIGEST, hex(vectors.envelope_vector.signature_ed25519_65_hex)),
      "mismatch",
      "ed25519 signature verification failed",
    );
    rejects(
      () =>
        verifySignature(
          ALICE_ED,
          DIGEST,
          hex(vectors.envelope_vector.example_sr25519_signature_65_hex_randomized),
        ),
      "mismatch",
      "sr25519 signature verification failed",
    );
  });
});

describe("verify — rmb-rs error texts", () => {
  test("verify — wrong length: 'invalid signature length, expected: 65, found: N'", () => {
    for (const n of [0, 64, 66]) {
      rejects(
        () => verifySignature(ALICE_ED, DIGEST, new Uint8Array(n)),
        "length",
        `invalid signature length, expected: 65, found: ${n}`,
      );
      assert.equal(isValidSignature(ALICE_ED, DIGEST, new Uint8Array(n)), false);
    }
  });

  test("verify — unknown type byte: 'invalid signature type (expected either sr25519 or ed25519)'", () => {
    const sig = hex(vectors.envelope_vector.signature_ed25519_65_hex);
    for (const type of [0x00, 0x45, 0x53, 0x66, 0xff]) {
      sig[0] = type;
      rejects(
        () => verifySignature(ALICE_ED, DIGEST, sig),
        "type",
        "invalid signature type (expected either sr25519 or ed25519)",
      );
      assert.equal(isValidSignature(ALICE_ED, DIGEST, sig), false);
    }
  });

  test("verify — bad signature bytes: '<type> signature verification failed'", () => {
    const ed = hex(vectors.envelope_vector.signature_ed25519_65_hex);
    ed[10]! ^= 1;
    rejects(() => verifySignature(ALICE_ED, DIGEST, ed), "mismatch", "ed25519 signature verification failed");
    const sr = hex(vectors.envelope_vector.example_sr25519_signature_65_hex_randomized);
    sr[10]! ^= 1;
    rejects(() => verifySignature(ALICE_SR, DIGEST, sr), "mismatch", "sr25519 signature verification failed");
  });

  test("verify — non-byte arguments and a wrong account id length are argument errors", () => {
    const sig = hex(vectors.envelope_vector.signature_ed25519_65_hex);
    assert.throws(() => verifySignature(new Uint8Array(33), DIGEST, sig), InvalidArgumentError);
    assert.throws(() => verifySignature(ALICE_ED, "digest" as unknown as Uint8Array, sig), /'message'/);
    assert.throws(() => isValidSignature(ALICE_ED, DIGEST, null as unknown as Uint8Array), /'signature'/);
  });
});

describe("verify — properties", () => {
  for (const signer of signers) {
    test(`verify — ${signer.keyType}: sign → verify for random messages`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (msg) => {
          verifySignature(signer.publicKey, msg, signer.sign(msg));
        }),
        { numRuns: 100 },
      );
    });

    test(`verify — ${signer.keyType}: flipping any byte of the signature or message is rejected`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 128 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          fc.boolean(),
          (msg, at, mask, flipSignature) => {
            const sig = signer.sign(msg);
            if (flipSignature) sig[at % sig.length]! ^= mask;
            else msg[at % msg.length]! ^= mask;
            assert.equal(isValidSignature(signer.publicKey, msg, sig), false);
            assert.throws(() => verifySignature(signer.publicKey, msg, sig), SignatureError);
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});
