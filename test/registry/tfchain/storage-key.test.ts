import assert from "node:assert/strict";
import { test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { createSigner, KeyType } from "../../../src/identity/index.js";
import {
  blake2MapKey,
  blake2128Concat,
  storagePrefix,
  termsAndConditionsStorageKey,
  twinIdByAccountStorageKey,
  twinStorageKey,
  twox128,
} from "../../../src/registry/tfchain/index.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test("storage keys — System.Events and System.Account prefixes", () => {
  assert.equal(
    hex(storagePrefix("System", "Events")),
    "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7",
  );
  assert.equal(
    hex(storagePrefix("System", "Account")),
    "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9",
  );
});

test("storage keys — a Blake2_128Concat map key: System.Account of //Alice (sr25519)", () => {
  // The widely published key of Alice's account info on any substrate dev chain.
  const alice = createSigner("//Alice", KeyType.Sr25519).publicKey;
  assert.equal(hex(alice), "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
  assert.equal(
    hex(blake2MapKey("System", "Account", alice)),
    "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9" +
      "de1e86a9a8c739864cf3cc5ec2bea59f" +
      "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
  );
});

test("storage keys — TfgridModule.Twins(id) is prefix ‖ blake2_128(id_le) ‖ id_le", () => {
  const key = twinStorageKey(0x01020304);
  const idLe = Uint8Array.of(4, 3, 2, 1);
  assert.equal(key.length, 32 + 16 + 4);
  assert.equal(hex(key.subarray(0, 16)), hex(twox128(text("TfgridModule"))));
  assert.equal(hex(key.subarray(16, 32)), hex(twox128(text("Twins"))));
  assert.equal(hex(key.subarray(32, 48)), hex(blake2b(idLe, { dkLen: 16 })));
  assert.equal(hex(key.subarray(48)), "04030201");
  assert.deepEqual(blake2128Concat(idLe), key.subarray(32));
  assert.notEqual(hex(twinStorageKey(1)), hex(twinStorageKey(2)));
  assert.equal(hex(twinStorageKey(1, "Other").subarray(0, 16)), hex(twox128(text("Other"))));
});

test("storage keys — TwinIdByAccountID and UsersTermsAndConditions are keyed by the raw account", () => {
  const account = new Uint8Array(32).fill(7);
  const byAccount = twinIdByAccountStorageKey(account);
  assert.equal(hex(byAccount.subarray(0, 16)), hex(twox128(text("TfgridModule"))));
  assert.equal(hex(byAccount.subarray(16, 32)), hex(twox128(text("TwinIdByAccountID"))));
  assert.equal(hex(byAccount.subarray(32, 48)), hex(blake2b(account, { dkLen: 16 })));
  assert.deepEqual(byAccount.subarray(48), account);
  const terms = termsAndConditionsStorageKey(account);
  assert.equal(hex(terms.subarray(16, 32)), hex(twox128(text("UsersTermsAndConditions"))));
  assert.deepEqual(terms.subarray(32), byAccount.subarray(32));
});

test("storage keys — arguments are checked", () => {
  assert.throws(() => twinStorageKey(-1), InvalidArgumentError);
  assert.throws(() => twinStorageKey(2 ** 32), InvalidArgumentError);
  assert.throws(() => twinIdByAccountStorageKey(new Uint8Array(31)), InvalidArgumentError);
});
