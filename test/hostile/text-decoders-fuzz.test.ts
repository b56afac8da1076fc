import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decrypt, E2eCipher, E2eError } from "../../src/crypto/index.js";
import { RmbError } from "../../src/errors.js";
import {
  base58Decode,
  createSigner,
  InvalidSecretError,
  isValidSignature,
  keyPairFromUri,
  ss58Decode,
} from "../../src/identity/index.js";
import { AddressError, JwtError, parseJwt, parseSessionId, verifyJwt } from "../../src/protocol/index.js";
import { fuzzParams, fuzzRuns } from "./fuzz-config.js";

/** Runs `fn`; passes when it returns or throws an instance of one of `allowed`. */
function onlyTyped(fn: () => unknown, ...allowed: (abstract new (...args: never[]) => Error)[]): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return true;
    throw e;
  }
}

const RUNS = fuzzRuns(2000);
const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }));
const b64url = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
  maxLength: 120,
});

/**
 * The text and small binary decoders (JWT, session ids, SS58/base58, secret URIs, e2e ciphertext, signatures) with
 * random input: each returns or throws only its own typed error. `RMB_FUZZ_RUNS` raises every property's runs
 * (fuzz-config.ts).
 */
describe("hostile input — every decoder throws only its typed error", () => {
  const alice = createSigner("//Alice", "ed25519");

  test("parseJwt / verifyJwt: random text and random base64url parts give JwtError", () => {
    fc.assert(
      fc.property(anyText, (t) => onlyTyped(() => parseJwt(t), JwtError)),
      fuzzParams(RUNS),
    );
    fc.assert(
      fc.property(b64url, b64url, b64url, (h, c, s) =>
        onlyTyped(() => verifyJwt(`${h}.${c}.${s}`, { accountId: alice.publicKey, now: 0 }), JwtError),
      ),
      fuzzParams(RUNS),
    );
    const json = fc.json().map((j) => Buffer.from(j).toString("base64url"));
    const header = Buffer.from('{"alg":"RS512"}').toString("base64url");
    fc.assert(
      fc.property(json, b64url, (c, s) =>
        onlyTyped(() => verifyJwt(`${header}.${c}.${s}`, { accountId: alice.publicKey, now: 0 }), JwtError),
      ),
      fuzzParams(RUNS),
    );
  });

  test("parseSessionId: random text gives AddressError", () => {
    fc.assert(
      fc.property(anyText, (t) => onlyTyped(() => parseSessionId(t), AddressError)),
      fuzzParams(RUNS),
    );
  });

  test("ss58Decode / base58Decode: random text gives a typed RmbError", () => {
    fc.assert(
      fc.property(anyText, (t) => onlyTyped(() => ss58Decode(t), RmbError)),
      fuzzParams(RUNS),
    );
    fc.assert(
      fc.property(anyText, (t) => onlyTyped(() => base58Decode(t), RmbError)),
      fuzzParams(RUNS),
    );
  });

  test("secret URIs: random text gives InvalidSecretError", () => {
    fc.assert(
      fc.property(anyText, (t) => onlyTyped(() => keyPairFromUri(t, "sr25519"), InvalidSecretError)),
      fuzzParams(300), // each case may derive a key (PBKDF2 of the dev phrase for a `//` path)
    );
  });

  test("decrypt: random and truncated ciphertext gives E2eError", () => {
    const a = new E2eCipher(new Uint8Array(32).fill(7));
    const b = new E2eCipher(new Uint8Array(32).fill(9));
    const key = a.sharedKey(b.publicKey);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => onlyTyped(() => decrypt(key, data), E2eError)),
      fuzzParams(RUNS),
    );
    const sealed = a.encryptFor(b.publicKey, Buffer.from("hello world"));
    for (let n = 0; n < sealed.length; n++) {
      assert.throws(() => b.decryptFrom(a.publicKey, sealed.subarray(0, n)), E2eError);
    }
  });

  test("signature check: random signatures and keys are refused without throwing", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 65, maxLength: 65 }),
        (pk, sig) => {
          const s = sig.slice();
          s[0] = pk[0]! % 2 === 0 ? 0x65 : 0x73;
          assert.equal(isValidSignature(pk, Buffer.from("msg"), s), false);
        },
      ),
      fuzzParams(500), // each case verifies a signature
    );
  });
});
