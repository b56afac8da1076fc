import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import * as scure from "@scure/sr25519";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  deriveJunction,
  Sr25519KeyPair,
  sr25519BackendName,
  sr25519Verify,
} from "../../src/identity/index.js";
import { isValidRistrettoEncoding, isWellFormedSr25519Signature } from "../../src/identity/ristretto.js";
import {
  createScureSr25519Backend,
  createWasmSr25519Backend,
  type Sr25519Backend,
} from "../../src/identity/sr25519-backend.js";
import { identityVectors } from "../support/identity-vectors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const wasm = createWasmSr25519Backend();
const js = createScureSr25519Backend();
const MESSAGE = hex(vectors.envelope_vector.md5_hex);

const seeded = identityVectors.flatMap(({ name, seedHex, v }) =>
  seedHex === undefined ? [] : [[name, seedHex, v.sr25519_public_hex] as const],
);

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 256 });

describe("sr25519 — key pairs", () => {
  test("sr25519 — this process uses the schnorrkel wasm backend", () => {
    assert.equal(sr25519BackendName(), "schnorrkel-wasm");
  });

  for (const [name, seed, pub] of seeded) {
    test(`sr25519 — public key of ${name} matches sp-core (both backends)`, () => {
      assert.equal(toHex(Sr25519KeyPair.fromSeed(hex(seed)).publicKey), pub);
      assert.equal(toHex(wasm.keyPairFromSeed(hex(seed)).publicKey), pub);
      assert.equal(toHex(js.keyPairFromSeed(hex(seed)).publicKey), pub);
    });
  }

  test("sr25519 — //Alice from the dev phrase matches the well-known key (both backends)", () => {
    const root = hex(vectors.identities.substrate_dev_phrase.mini_secret_hex);
    const alice = deriveJunction("Alice", true);
    for (const backend of [wasm, js]) {
      const pair = backend.deriveHard(backend.keyPairFromSeed(root), alice.chainCode);
      assert.equal(toHex(pair.publicKey), vectors.identities.alice.sr25519_public_hex, backend.name);
    }
  });

  test("sr25519 — both backends give the same keys for random seeds and hard/soft paths", () => {
    fc.assert(
      fc.property(seed32, fc.string({ minLength: 1, maxLength: 40 }), fc.boolean(), (seed, code, hard) => {
        const cc = deriveJunction(code, hard).chainCode;
        const a = wasm.keyPairFromSeed(seed);
        const b = js.keyPairFromSeed(seed);
        assert.deepEqual(a, b);
        const da = hard ? wasm.deriveHard(a, cc) : wasm.deriveSoft(a, cc);
        const db = hard ? js.deriveHard(b, cc) : js.deriveSoft(b, cc);
        assert.deepEqual(da.publicKey, db.publicKey);
        if (hard) assert.deepEqual(da.secretKey, db.secretKey); // soft derivation draws a random nonce
      }),
      { numRuns: 25 },
    );
  });

  test("sr25519 — fromSeed guards the seed length", () => {
    assert.throws(() => Sr25519KeyPair.fromSeed(new Uint8Array(31)), InvalidArgumentError);
    assert.throws(() => Sr25519KeyPair.fromSeed("seed" as unknown as Uint8Array), /expected a Uint8Array/);
  });
});

describe("sr25519 — signatures (context 'substrate')", () => {
  test("sr25519 — the example //Alice signature from the vectors verifies", () => {
    const sig = hex(vectors.envelope_vector.example_sr25519_signature_65_hex_randomized).subarray(1);
    const alice = hex(vectors.identities.alice.sr25519_public_hex);
    assert.equal(sr25519Verify(alice, MESSAGE, sig), true);
    assert.equal(wasm.verify(alice, MESSAGE, sig), true);
    assert.equal(js.verify(alice, MESSAGE, sig), true);
    assert.equal(sr25519Verify(alice, MESSAGE.subarray(1), sig), false);
  });

  test("sr25519 — wasm and @scure/sr25519 signatures cross-verify (so both use the 'substrate' context)", () => {
    fc.assert(
      fc.property(seed32, message, (seed, msg) => {
        const pair = wasm.keyPairFromSeed(seed);
        const fromWasm = wasm.sign(pair, msg);
        const fromJs = js.sign(pair, msg);
        assert.equal(js.verify(pair.publicKey, msg, fromWasm), true);
        assert.equal(wasm.verify(pair.publicKey, msg, fromJs), true);
        // and @scure/sr25519 itself, whose context is documented as "substrate"
        assert.equal(scure.verify(msg, fromWasm, pair.publicKey), true);
      }),
      { numRuns: 25 },
    );
  });

  test("sr25519 — signatures are randomised and carry the schnorrkel marker bit", () => {
    const pair = Sr25519KeyPair.fromSeed(randomBytes(32));
    const a = pair.sign(MESSAGE);
    const b = pair.sign(MESSAGE);
    assert.notDeepEqual(a, b);
    assert.equal(a[63]! & 0x80, 0x80);
    assert.equal(isWellFormedSr25519Signature(a), true);
  });

  test("sr25519 — sign → verify for random messages; flipping any byte is rejected", () => {
    const pair = Sr25519KeyPair.fromSeed(randomBytes(32));
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, at, mask) => {
        const sig = pair.sign(msg);
        assert.equal(sr25519Verify(pair.publicKey, msg, sig), true);
        const badSig = sig.slice();
        badSig[at % 64]! ^= mask;
        assert.equal(sr25519Verify(pair.publicKey, msg, badSig), false);
        if (msg.length > 0) {
          const badMsg = msg.slice();
          badMsg[at % msg.length]! ^= mask;
          assert.equal(sr25519Verify(pair.publicKey, badMsg, sig), false);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("sr25519 — malformed input never reaches the wasm module", () => {
  function check(backend: Sr25519Backend): void {
    const pair = backend.keyPairFromSeed(randomBytes(32));
    const sig = backend.sign(pair, MESSAGE);
    const noMarker = sig.slice();
    noMarker[63]! &= 0x7f;
    const bigS = sig.slice();
    bigS.fill(0xff, 32, 63);
    bigS[63] = 0xff; // s = 2^255 - 1 ≥ L, marker set
    const badKey = new Uint8Array(32).fill(0xff); // not canonical
    const zeroKey = new Uint8Array(32); // the identity point
    assert.equal(backend.verify(pair.publicKey, MESSAGE, noMarker), false, `${backend.name} marker`);
    assert.equal(backend.verify(pair.publicKey, MESSAGE, bigS), false, `${backend.name} s ≥ L`);
    assert.equal(backend.verify(badKey, MESSAGE, sig), false, `${backend.name} bad key`);
    assert.equal(backend.verify(zeroKey, MESSAGE, sig), false, `${backend.name} identity key`);
  }

  test("sr25519 — both backends return false (no throw) for missing marker, s ≥ L, undecodable or zero key", () => {
    check(wasm);
    check(js);
  });

  test("sr25519 — thousands of undecodable keys leave the wasm module working", () => {
    const pair = wasm.keyPairFromSeed(randomBytes(32));
    const sig = wasm.sign(pair, MESSAGE);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const key = randomBytes(32);
      if (!wasm.verify(key, MESSAGE, sig)) rejected++;
    }
    assert.equal(rejected, 3000);
    assert.equal(wasm.verify(pair.publicKey, MESSAGE, sig), true);
  });

  test("sr25519 — the JS ristretto255 validity check agrees with @scure/sr25519's decoder", () => {
    const decodes = (bytes: Uint8Array): boolean => {
      try {
        scure.HDKD.publicSoft(bytes, new Uint8Array(32));
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.equal(isValidRistrettoEncoding(bytes), decodes(bytes), toHex(bytes));
      }),
      { numRuns: 300 },
    );
    // real public keys are valid; flipping the sign bit (bit 0) of a valid one makes it invalid
    for (const [, , pub] of seeded) {
      const key = hex(pub);
      assert.equal(isValidRistrettoEncoding(key), true);
      key[0]! ^= 1;
      assert.equal(isValidRistrettoEncoding(key), false);
    }
  });

  test("sr25519 — sr25519Verify guards argument lengths", () => {
    assert.throws(() => sr25519Verify(new Uint8Array(31), MESSAGE, new Uint8Array(64)), InvalidArgumentError);
    assert.throws(() => sr25519Verify(new Uint8Array(32), MESSAGE, new Uint8Array(65)), InvalidArgumentError);
  });
});

describe("sr25519 — wasm trap recovery", () => {
  test("sr25519 — a wasm panic leaves the module's shadow stack where it was and the backend usable", (t) => {
    const module = createRequire(import.meta.url)("@polkadot-labs/schnorrkel-wasm") as {
      __wasm: { __wbindgen_add_to_stack_pointer(delta: number): number };
    };
    const stackPointer = (): number => module.__wasm.__wbindgen_add_to_stack_pointer(0);
    t.mock.method(console, "error", () => {}); // the module's panic hook prints the panic
    const before = stackPointer();
    for (let i = 0; i < 50; i++) {
      assert.throws(() => wasm.keyPairFromSeed(new Uint8Array(5))); // MiniSecretKey::from_bytes panics
    }
    assert.equal(stackPointer(), before);
    const pair = wasm.keyPairFromSeed(randomBytes(32));
    assert.equal(wasm.verify(pair.publicKey, MESSAGE, wasm.sign(pair, MESSAGE)), true);
  });
});
