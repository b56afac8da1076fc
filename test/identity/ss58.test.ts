import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  base58Decode,
  base58Encode,
  isValidSs58Address,
  Ss58Error,
  ss58Decode,
  ss58Encode,
} from "../../src/identity/index.js";
import type { IdentityVector } from "../support/identity-vectors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const addressVectors: [string, string][] = Object.values(
  vectors.identities as Record<string, IdentityVector>,
).flatMap((v) => [
  ...(v.sr25519_ss58_42 ? [[v.sr25519_public_hex, v.sr25519_ss58_42] as [string, string]] : []),
  ...(v.ed25519_ss58_42 ? [[v.ed25519_public_hex, v.ed25519_ss58_42] as [string, string]] : []),
]);
addressVectors.push([
  vectors.identities.relay_test_account.public_hex,
  vectors.identities.relay_test_account.ss58,
]);

describe("base58", () => {
  test("base58 — known encodings", () => {
    assert.equal(base58Encode(new Uint8Array()), "");
    assert.equal(base58Encode(Uint8Array.of(0)), "1");
    assert.equal(base58Encode(Uint8Array.of(0, 0, 1)), "112");
    assert.equal(base58Encode(new TextEncoder().encode("hello world")), "StV1DL6CwTryKyV");
    assert.equal(toHex(base58Decode("StV1DL6CwTryKyV")), toHex(new TextEncoder().encode("hello world")));
  });

  test("base58 — decode(encode(x)) = x, leading zeros kept", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.deepEqual(base58Decode(base58Encode(bytes)), bytes);
      }),
    );
  });

  test("base58 — characters outside the alphabet throw InvalidArgumentError naming the index", () => {
    for (const bad of ["0", "O", "I", "l", "5é", "abc+"]) {
      assert.throws(() => base58Decode(bad), InvalidArgumentError);
    }
    assert.throws(() => base58Decode("12l"), /index 2/);
  });
});

describe("ss58 — addresses", () => {
  for (const [pub, address] of addressVectors) {
    test(`ss58 — ${address} ↔ ${pub.slice(0, 8)}…`, () => {
      assert.equal(ss58Encode(hex(pub)), address);
      assert.deepEqual(ss58Decode(address), { publicKey: hex(pub), prefix: 42 });
    });
  }

  test("ss58 — round trip for any key and prefix (one- and two-byte prefixes)", () => {
    const prefix = fc.integer({ min: 0, max: 16383 }).filter((p) => p !== 46 && p !== 47);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), prefix, (key, p) => {
        assert.deepEqual(ss58Decode(ss58Encode(key, p)), { publicKey: key, prefix: p });
      }),
    );
  });

  test("ss58 — known two-byte prefix: Kusama-style prefix 2 vs 255 differ and round-trip", () => {
    const key = hex(vectors.identities.alice.sr25519_public_hex);
    assert.equal(ss58Encode(key, 0).startsWith("1"), true); // Polkadot addresses start with 1
    assert.equal(ss58Decode(ss58Encode(key, 255)).prefix, 255);
  });

  test("ss58 — a changed character fails the checksum", () => {
    const address = vectors.identities.alice.sr25519_ss58_42 as string;
    const tampered = `${address.slice(0, 10)}${address[10] === "a" ? "b" : "a"}${address.slice(11)}`;
    assert.throws(
      () => ss58Decode(tampered),
      (err: unknown) => err instanceof Ss58Error && err.code === "RMB_ERR_SS58",
    );
    assert.equal(isValidSs58Address(tampered), false);
    assert.equal(isValidSs58Address(address), true);
  });

  test("ss58 — bad inputs throw Ss58Error", () => {
    for (const bad of ["", "0OIl", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ", "1111"]) {
      assert.throws(() => ss58Decode(bad), Ss58Error, bad);
    }
  });

  test("ss58 — an expected prefix is enforced", () => {
    const address = ss58Encode(hex(vectors.identities.alice.sr25519_public_hex), 0);
    assert.throws(() => ss58Decode(address, 42), /prefix 0, expected 42/);
    assert.equal(isValidSs58Address(address, 0), true);
  });

  test("ss58 — encode guards its arguments", () => {
    assert.throws(() => ss58Encode(new Uint8Array(31)), InvalidArgumentError);
    assert.throws(() => ss58Encode(new Uint8Array(32), 46), InvalidArgumentError);
    assert.throws(() => ss58Encode(new Uint8Array(32), 16384), InvalidArgumentError);
  });
});
