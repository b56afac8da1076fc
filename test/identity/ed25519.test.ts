import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/errors.js";
import { createNodeEd25519Backend, createSodiumEd25519Backend } from "../../src/identity/ed25519-backend.js";
import {
  deriveJunction,
  Ed25519KeyPair,
  ed25519BackendName,
  ed25519DeriveHardSeed,
  ed25519Verify,
  InvalidSecretError,
} from "../../src/identity/index.js";
import { identityVectors } from "../support/identity-vectors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const sodium = createSodiumEd25519Backend();
const node = createNodeEd25519Backend();
const DIGEST = hex(vectors.envelope_vector.md5_hex);

const seeded = identityVectors.flatMap(({ name, seedHex, v }) =>
  seedHex === undefined ? [] : [[name, seedHex, v.ed25519_public_hex] as const],
);

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 256 });

function aliceSeed(): Uint8Array {
  return ed25519DeriveHardSeed(
    hex(vectors.identities.substrate_dev_phrase.mini_secret_hex),
    deriveJunction("Alice", true).chainCode,
  );
}

describe("ed25519 — key pairs", () => {
  test("ed25519 — this process uses the sodium-native backend", () => {
    assert.equal(ed25519BackendName(), "sodium-native");
  });

  for (const [name, seed, pub] of seeded) {
    test(`ed25519 — public key of ${name} matches sp-core (both backends)`, () => {
      assert.equal(toHex(Ed25519KeyPair.fromSeed(hex(seed)).publicKey), pub);
      assert.equal(toHex(sodium.signingKey(hex(seed)).publicKey), pub);
      assert.equal(toHex(node.signingKey(hex(seed)).publicKey), pub);
    });
  }

  test("ed25519 — //Alice public key matches sp-core (HDKD = blake2b-256 of SCALE('Ed25519HDKD', seed, cc))", () => {
    assert.equal(
      toHex(Ed25519KeyPair.fromSeed(aliceSeed()).publicKey),
      vectors.identities.alice.ed25519_public_hex,
    );
    const root = Ed25519KeyPair.fromSeed(hex(vectors.identities.substrate_dev_phrase.mini_secret_hex));
    assert.equal(
      toHex(root.derive([deriveJunction("Alice", true)]).publicKey),
      vectors.identities.alice.ed25519_public_hex,
    );
  });

  test("ed25519 — soft junctions are rejected with InvalidSecretError 'path'", () => {
    const root = Ed25519KeyPair.fromSeed(randomBytes(32));
    assert.throws(
      () => root.derive([deriveJunction("soft", false)]),
      (err: unknown) =>
        err instanceof InvalidSecretError && err.reason === "path" && err.code === "RMB_ERR_INVALID_SECRET",
    );
  });

  test("ed25519 — an empty path returns the same key pair", () => {
    const root = Ed25519KeyPair.fromSeed(randomBytes(32));
    assert.equal(root.derive([]), root);
  });

  test("ed25519 — fromSeed and ed25519DeriveHardSeed guard their arguments", () => {
    assert.throws(() => Ed25519KeyPair.fromSeed(new Uint8Array(64)), InvalidArgumentError);
    assert.throws(() => ed25519DeriveHardSeed(new Uint8Array(32), new Uint8Array(31)), /chainCode/);
  });
});

describe("ed25519 — signatures", () => {
  test("ed25519 — //Alice signs the vector digest to the exact bytes (both backends)", () => {
    const expected = vectors.envelope_vector.signature_ed25519_65_hex.slice(2);
    assert.equal(toHex(Ed25519KeyPair.fromSeed(aliceSeed()).sign(DIGEST)), expected);
    for (const backend of [sodium, node]) {
      const out = new Uint8Array(64);
      backend.signingKey(aliceSeed()).signInto(DIGEST, out);
      assert.equal(toHex(out), expected, backend.name);
    }
  });

  test("ed25519 — signInto writes into a caller's view without allocating a result", () => {
    const pair = Ed25519KeyPair.fromSeed(aliceSeed());
    const sig65 = new Uint8Array(65);
    pair.signInto(DIGEST, sig65.subarray(1));
    assert.equal(toHex(sig65), `00${vectors.envelope_vector.signature_ed25519_65_hex.slice(2)}`);
    assert.throws(() => pair.signInto(DIGEST, sig65), InvalidArgumentError);
  });

  test("ed25519 — both backends sign identically and cross-verify", () => {
    fc.assert(
      fc.property(seed32, message, (seed, msg) => {
        const a = new Uint8Array(64);
        const b = new Uint8Array(64);
        const ka = sodium.signingKey(seed);
        node.signingKey(seed).signInto(msg, b);
        ka.signInto(msg, a);
        assert.deepEqual(a, b);
        assert.equal(sodium.verify(ka.publicKey, msg, b), true);
        assert.equal(node.verify(ka.publicKey, msg, a), true);
      }),
      { numRuns: 50 },
    );
  });

  test("ed25519 — sign → verify for random messages; flipping any byte is rejected (both backends)", () => {
    const pair = Ed25519KeyPair.fromSeed(randomBytes(32));
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, at, mask) => {
        const sig = pair.sign(msg);
        assert.equal(ed25519Verify(pair.publicKey, msg, sig), true);
        const badSig = sig.slice();
        badSig[at % 64]! ^= mask;
        assert.equal(sodium.verify(pair.publicKey, msg, badSig), false);
        assert.equal(node.verify(pair.publicKey, msg, badSig), false);
        if (msg.length > 0) {
          const badMsg = msg.slice();
          badMsg[at % msg.length]! ^= mask;
          assert.equal(ed25519Verify(pair.publicKey, badMsg, sig), false);
        }
      }),
      { numRuns: 200 },
    );
  });

  test("ed25519 — malformed public keys give false, not a throw (both backends)", () => {
    const pair = Ed25519KeyPair.fromSeed(randomBytes(32));
    const sig = pair.sign(DIGEST);
    for (const key of [new Uint8Array(32), new Uint8Array(32).fill(0xff), randomBytes(32)]) {
      assert.equal(sodium.verify(key, DIGEST, sig), false);
      assert.equal(node.verify(key, DIGEST, sig), false);
    }
  });

  test("ed25519 — ed25519Verify guards argument lengths", () => {
    assert.throws(() => ed25519Verify(new Uint8Array(33), DIGEST, new Uint8Array(64)), InvalidArgumentError);
    assert.throws(() => ed25519Verify(new Uint8Array(32), DIGEST, new Uint8Array(63)), InvalidArgumentError);
  });
});
