import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encryptWithNonce } from "../../src/crypto/e2e.js";
import {
  decrypt,
  deriveSharedKey,
  E2E_CIPHER_DEFAULTS,
  E2E_MIN_CIPHER_LENGTH,
  E2eCipher,
  E2eError,
  encrypt,
  Secp256k1KeyPair,
  sharedKeyFromEcdhX,
} from "../../src/crypto/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const E = vectors.e2e;
const KEY = hex(E.shared_key_sha256_of_x_hex);
const HELLO = new TextEncoder().encode(E.plaintext_utf8);

const isInvalidCipher = (err: unknown) =>
  err instanceof E2eError &&
  err.code === "RMB_ERR_E2E" &&
  err.reason === "cipher" &&
  err.message === "invalid cipher data";

describe("e2e — known answers (rmb-rs src/peer/e2e)", () => {
  test("e2e — shared key is SHA-256 of the ECDH x coordinate", () => {
    assert.equal(toHex(sharedKeyFromEcdhX(hex(E.ecdh_x_hex))), E.shared_key_sha256_of_x_hex);
  });

  test("e2e — shared key is the same from both sides", () => {
    assert.equal(
      toHex(deriveSharedKey(hex(E.sk1_hex), hex(E.pk2_compressed_hex))),
      E.shared_key_sha256_of_x_hex,
    );
    assert.equal(
      toHex(deriveSharedKey(hex(E.sk2_hex), hex(E.pk1_compressed_hex))),
      E.shared_key_sha256_of_x_hex,
    );
  });

  test("e2e — 'hello world' with nonce 000102…0b gives the vector cipher field", () => {
    assert.equal(toHex(encryptWithNonce(KEY, hex(E.nonce_hex), HELLO)), E.cipher_field_hex_nonce_ct_tag);
  });

  test("e2e — the vector cipher field decrypts on the other side", () => {
    const bob = new E2eCipher(hex(E.sk2_hex));
    assert.deepEqual(bob.decryptFrom(hex(E.pk1_compressed_hex), hex(E.cipher_field_hex_nonce_ct_tag)), HELLO);
    assert.deepEqual(decrypt(KEY, hex(E.cipher_field_hex_nonce_ct_tag)), HELLO);
  });

  test("e2e — rmb-rs test: sk1 encrypts 'hello world' for pk2, sk2 decrypts it", () => {
    const alice = new E2eCipher(hex(E.sk1_hex));
    const bob = new E2eCipher(hex(E.sk2_hex));
    assert.equal(toHex(alice.publicKey), E.pk1_compressed_hex);
    const cipher = alice.encryptFor(bob.publicKey, HELLO);
    assert.equal(cipher.length, 12 + HELLO.length + 16);
    assert.deepEqual(bob.decryptFrom(alice.publicKey, cipher), HELLO);
  });

  test("e2e — encrypt draws a fresh nonce each time", () => {
    const a = encrypt(KEY, HELLO);
    const b = encrypt(KEY, HELLO);
    assert.notDeepEqual(a.subarray(0, 12), b.subarray(0, 12));
    assert.deepEqual(decrypt(KEY, a), HELLO);
    // Nonces come from a pooled CSPRNG draw: across several refills of the pool none repeats and none is zero.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const nonce = Buffer.from(encrypt(KEY, HELLO).subarray(0, 12)).toString("hex");
      assert.notEqual(nonce, "0".repeat(24));
      seen.add(nonce);
    }
    assert.equal(seen.size, 2000);
  });
});

describe("e2e — rejection", () => {
  test("e2e — data shorter than nonce + tag (28 bytes) is 'invalid cipher data'", () => {
    for (const n of [0, 11, 12, 27]) assert.throws(() => decrypt(KEY, new Uint8Array(n)), isInvalidCipher);
    assert.equal(E2E_MIN_CIPHER_LENGTH, 28);
  });

  test("e2e — an empty plaintext round-trips as 28 bytes", () => {
    const cipher = encrypt(KEY, new Uint8Array());
    assert.equal(cipher.length, 28);
    assert.deepEqual(decrypt(KEY, cipher), new Uint8Array());
  });

  test("e2e — the wrong key is 'invalid cipher data'", () => {
    const cipher = encrypt(KEY, HELLO);
    assert.throws(() => decrypt(randomBytes(32), cipher), isInvalidCipher);
  });

  test("e2e — keys and nonces of the wrong size are argument errors", () => {
    assert.throws(() => encrypt(new Uint8Array(16), HELLO), InvalidArgumentError);
    assert.throws(() => decrypt(new Uint8Array(33), new Uint8Array(40)), InvalidArgumentError);
    assert.throws(() => encryptWithNonce(KEY, new Uint8Array(16), HELLO), /'nonce'/);
  });
});

describe("e2e — properties", () => {
  test("e2e — encrypt → decrypt round-trips random plaintexts", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (plain) => {
        assert.deepEqual(decrypt(KEY, encrypt(KEY, plain)), plain);
      }),
    );
  });

  test("e2e — changing any byte of the cipher field is 'invalid cipher data'", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (plain, at, mask) => {
          const cipher = encrypt(KEY, plain);
          cipher[at % cipher.length]! ^= mask;
          assert.throws(() => decrypt(KEY, cipher), isInvalidCipher);
        },
      ),
    );
  });

  test("e2e — truncating or extending the cipher field is rejected", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 40 }),
        (plain, cut) => {
          const cipher = encrypt(KEY, plain);
          assert.throws(
            () => decrypt(KEY, cipher.subarray(0, Math.max(0, cipher.length - cut))),
            isInvalidCipher,
          );
          const longer = new Uint8Array(cipher.length + 1);
          longer.set(cipher);
          assert.throws(() => decrypt(KEY, longer), isInvalidCipher);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("e2e — E2eCipher shared-key cache", () => {
  const peers = Array.from({ length: 4 }, () => new Secp256k1KeyPair(randomBytes(32)).publicKey);

  test("e2e — the shared key of a peer is computed once, then served from the cache", () => {
    const me = new E2eCipher(hex(E.sk1_hex));
    const peer = hex(E.pk2_compressed_hex);
    for (let i = 0; i < 10; i++) {
      const cipher = me.encryptFor(peer, HELLO);
      assert.equal(toHex(me.sharedKey(peer)), E.shared_key_sha256_of_x_hex);
      assert.deepEqual(decrypt(KEY, cipher), HELLO);
    }
    assert.deepEqual(me.stats, { hits: 19, misses: 1, size: 1 });
  });

  test("e2e — sharedKey returns a copy, so callers cannot corrupt the cache", () => {
    const me = new E2eCipher(hex(E.sk1_hex));
    const peer = hex(E.pk2_compressed_hex);
    me.sharedKey(peer).fill(0);
    assert.equal(toHex(me.sharedKey(peer)), E.shared_key_sha256_of_x_hex);
  });

  test("e2e — the cache is bounded: maxCachedKeys evicts the least recently used peer", () => {
    const me = new E2eCipher(randomBytes(32), { maxCachedKeys: 2 });
    me.sharedKey(peers[0]!);
    me.sharedKey(peers[1]!);
    me.sharedKey(peers[0]!); // 0 is now the most recently used
    me.sharedKey(peers[2]!); // evicts 1
    assert.deepEqual(me.stats, { hits: 1, misses: 3, size: 2 });
    me.sharedKey(peers[0]!); // still cached
    me.sharedKey(peers[1]!); // recomputed
    assert.deepEqual(me.stats, { hits: 2, misses: 4, size: 2 });
  });

  test("e2e — maxCachedKeys defaults to 1024 and is validated", () => {
    assert.equal(E2E_CIPHER_DEFAULTS.maxCachedKeys, 1024);
    assert.throws(() => new E2eCipher(randomBytes(32), { maxCachedKeys: 0 }), /options\.maxCachedKeys/);
    assert.throws(() => new E2eCipher(randomBytes(32), { maxCachedKeys: 1.5 }), InvalidArgumentError);
  });

  test("e2e — an invalid peer key is an E2eError and is not cached", () => {
    const me = new E2eCipher(randomBytes(32));
    const bad = hex(`02${"00".repeat(32)}`);
    assert.throws(
      () => me.encryptFor(bad, HELLO),
      (err: unknown) => err instanceof E2eError && err.reason === "public-key",
    );
    assert.deepEqual(me.stats, { hits: 0, misses: 0, size: 0 });
  });

  test("e2e — clearCache forgets keys but keeps counters", () => {
    const me = new E2eCipher(randomBytes(32));
    me.sharedKey(peers[3]!);
    me.clearCache();
    me.sharedKey(peers[3]!);
    assert.deepEqual(me.stats, { hits: 0, misses: 2, size: 1 });
  });

  test("e2e — two ciphers agree in both directions for random key pairs and plaintexts", () => {
    const a = new E2eCipher(randomBytes(32));
    const b = new E2eCipher(randomBytes(32));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (plain) => {
        assert.deepEqual(b.decryptFrom(a.publicKey, a.encryptFor(b.publicKey, plain)), plain);
        assert.deepEqual(a.decryptFrom(b.publicKey, b.encryptFor(a.publicKey, plain)), plain);
      }),
    );
    assert.equal(a.stats.misses, 1);
    assert.equal(b.stats.misses, 1);
  });
});
