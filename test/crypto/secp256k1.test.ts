import assert from "node:assert/strict";
import { ECDH } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  compressSecp256k1PublicKey,
  E2eError,
  isValidSecp256k1PublicKey,
  isValidSecp256k1SecretKey,
  Secp256k1KeyPair,
  secp256k1Ecdh,
  secp256k1PublicKey,
} from "../../src/crypto/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { identityVectors } from "../support/identity-vectors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const E = vectors.e2e;
const ORDER = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

const keyed = identityVectors.flatMap(({ name, seedHex, v }) => {
  const secret = v.secp256k1_secret_hex ?? seedHex;
  const pub = v.secp256k1_compressed_pub_hex;
  return secret === undefined || pub === undefined ? [] : [[name, secret, pub] as const];
});

const isE2eError = (reason: string, message: string) => (err: unknown) =>
  err instanceof E2eError && err.code === "RMB_ERR_E2E" && err.reason === reason && err.message === message;

describe("secp256k1 — keys", () => {
  for (const [name, secret, pub] of keyed) {
    test(`secp256k1 — compressed public key of ${name}`, () => {
      assert.equal(toHex(secp256k1PublicKey(hex(secret))), pub);
    });
  }

  test("secp256k1 — secrets that are not valid scalars are rejected with a k256 error", () => {
    for (const bad of ["00".repeat(32), ORDER, "ff".repeat(32)]) {
      assert.equal(isValidSecp256k1SecretKey(hex(bad)), false);
      assert.throws(
        () => new Secp256k1KeyPair(hex(bad)),
        isE2eError("secret-key", "k256: malformed or out-of-range secret key"),
      );
    }
    const nMinus1 = hex(ORDER);
    nMinus1[31] = 0x40;
    assert.equal(isValidSecp256k1SecretKey(nMinus1), true);
  });

  test("secp256k1 — a secret of the wrong length is an argument error", () => {
    assert.throws(() => new Secp256k1KeyPair(new Uint8Array(31)), InvalidArgumentError);
    assert.equal(isValidSecp256k1SecretKey(new Uint8Array(33)), false);
  });
});

describe("secp256k1 — ECDH", () => {
  test("secp256k1 — x coordinate of sk1 × pk2 is the vector, and symmetric", () => {
    assert.equal(toHex(secp256k1Ecdh(hex(E.sk1_hex), hex(E.pk2_compressed_hex))), E.ecdh_x_hex);
    assert.equal(toHex(secp256k1Ecdh(hex(E.sk2_hex), hex(E.pk1_compressed_hex))), E.ecdh_x_hex);
  });

  test("secp256k1 — an uncompressed (65-byte) peer key gives the same x", () => {
    const uncompressed = new Uint8Array(
      ECDH.convertKey(hex(E.pk2_compressed_hex), "secp256k1", undefined, undefined, "uncompressed") as Buffer,
    );
    assert.equal(uncompressed.length, 65);
    assert.equal(toHex(secp256k1Ecdh(hex(E.sk1_hex), uncompressed)), E.ecdh_x_hex);
    assert.equal(toHex(compressSecp256k1PublicKey(uncompressed)), E.pk2_compressed_hex);
  });

  test("secp256k1 — ECDH is symmetric for random key pairs", () => {
    const secret = fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .filter((s) => isValidSecp256k1SecretKey(s));
    fc.assert(
      fc.property(secret, secret, (a, b) => {
        const pa = new Secp256k1KeyPair(a);
        const pb = new Secp256k1KeyPair(b);
        assert.deepEqual(pa.ecdhX(pb.publicKey), pb.ecdhX(pa.publicKey));
      }),
      { numRuns: 20 },
    );
  });

  test("secp256k1 — invalid peer keys are 'k256: malformed public key'", () => {
    const pair = new Secp256k1KeyPair(hex(E.sk1_hex));
    const notOnCurve = hex(E.pk2_compressed_hex);
    notOnCurve[1]! ^= 0xff; // most x values have no point, this one included
    const cases = [
      new Uint8Array(0),
      new Uint8Array(32),
      hex(`05${"11".repeat(32)}`),
      hex(`02${"00".repeat(32)}`),
      hex(`04${"00".repeat(64)}`),
      hex(E.pk2_compressed_hex).subarray(0, 32),
    ];
    if (!isValidSecp256k1PublicKey(notOnCurve)) cases.push(notOnCurve);
    for (const bad of cases) {
      assert.equal(isValidSecp256k1PublicKey(bad), false, toHex(bad));
      assert.throws(
        () => pair.ecdhX(bad),
        isE2eError("public-key", "k256: malformed public key"),
        toHex(bad),
      );
    }
    assert.equal(isValidSecp256k1PublicKey(hex(E.pk1_compressed_hex)), true);
  });
});
