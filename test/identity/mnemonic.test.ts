import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  generateMnemonic,
  InvalidSecretError,
  isValidMnemonic,
  mnemonicToBip39Seed,
  mnemonicToEntropy,
  mnemonicToLegacyE2eSecret,
  mnemonicToMiniSecret,
  normalizeMnemonic,
  substrateSeedFromEntropy,
} from "../../src/identity/index.js";
import { identityVectors } from "../support/identity-vectors.js";
import { toHex, vectors } from "../support/vectors.js";

const mnemonicIdentities = identityVectors.flatMap(({ name, v }) =>
  v.mnemonic === undefined ? [] : [[name, v.mnemonic, v.mini_secret_hex] as const],
);

describe("mnemonic — Substrate mini secret", () => {
  for (const [name, mnemonic, miniSecret] of mnemonicIdentities) {
    test(`mnemonic — mini secret of ${name} matches substrate-bip39`, () => {
      assert.equal(toHex(mnemonicToMiniSecret(mnemonic)), miniSecret);
    });
  }

  test("mnemonic — rmb-rs test words give exactly the rmb-rs hex seeds (mnemonic ↔ seed are the same key)", () => {
    assert.equal(
      toHex(mnemonicToMiniSecret(vectors.identities.rmbrs_ed25519_words.mnemonic)),
      vectors.identities.rmbrs_ed25519_seed.hex_seed.slice(2),
    );
    assert.equal(
      toHex(mnemonicToMiniSecret(vectors.identities.rmbrs_sr25519_words.mnemonic)),
      vectors.identities.rmbrs_sr25519_seed.hex_seed.slice(2),
    );
  });

  test("mnemonic — the seed is PBKDF2 of the entropy, not of the sentence", () => {
    const m = vectors.identities.rmbrs_e2e_words.mnemonic;
    const viaEntropy = substrateSeedFromEntropy(mnemonicToEntropy(m)).subarray(0, 32);
    assert.deepEqual(viaEntropy, mnemonicToMiniSecret(m));
    assert.notDeepEqual(mnemonicToBip39Seed(m).subarray(0, 32), mnemonicToMiniSecret(m));
  });

  test("mnemonic — a password changes the mini secret", () => {
    const m = vectors.identities.rmbrs_e2e_words.mnemonic;
    assert.notDeepEqual(mnemonicToMiniSecret(m, "pw"), mnemonicToMiniSecret(m));
    assert.equal(mnemonicToMiniSecret(m, "pw").length, 32);
  });

  test("mnemonic — words may be separated by any whitespace, as tiny-bip39 splits them", () => {
    const m = vectors.identities.rmbrs_e2e_words.mnemonic as string;
    const messy = `  ${m.split(" ").join(" \t\n ")}  `;
    assert.equal(normalizeMnemonic(messy), m);
    assert.deepEqual(mnemonicToMiniSecret(messy), mnemonicToMiniSecret(m));
  });
});

describe("mnemonic — validation", () => {
  test("mnemonic — rejects 'invalid words' with InvalidSecretError 'invalid bip39 phrase'", () => {
    assert.throws(
      () => mnemonicToMiniSecret("invalid words"),
      (err: unknown) =>
        err instanceof InvalidSecretError &&
        err.code === "RMB_ERR_INVALID_SECRET" &&
        err.reason === "phrase" &&
        err.message === "invalid bip39 phrase",
    );
    assert.equal(isValidMnemonic("invalid words"), false);
  });

  test("mnemonic — rejects a bad checksum and an unsupported word count", () => {
    const words = (vectors.identities.rmbrs_e2e_words.mnemonic as string).split(" ");
    const swapped = [...words.slice(0, 11), words[0]].join(" "); // last word carries the checksum
    assert.equal(isValidMnemonic(swapped), false);
    assert.equal(isValidMnemonic(words.slice(0, 11).join(" ")), false);
    assert.equal(isValidMnemonic(words.join(" ")), true);
  });

  test("mnemonic — substrateSeedFromEntropy guards the entropy length", () => {
    assert.throws(() => substrateSeedFromEntropy(new Uint8Array(15)), InvalidArgumentError);
    assert.throws(() => substrateSeedFromEntropy(new Uint8Array(18)), InvalidArgumentError);
    assert.equal(substrateSeedFromEntropy(new Uint8Array(16)).length, 64);
  });
});

describe("mnemonic — standard BIP-39 seed (legacy rmb-peer e2e key)", () => {
  test("mnemonic — BIP-39 reference vector (abandon … about, passphrase TREZOR)", () => {
    const m = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    assert.equal(
      toHex(mnemonicToBip39Seed(m, "TREZOR")),
      "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
    );
  });

  test("mnemonic — legacy secp256k1 secret of tackle…silk is b88a88b9…", () => {
    assert.equal(
      toHex(mnemonicToLegacyE2eSecret(vectors.e2e.sk2_from_mnemonic)),
      "b88a88b9d19cd3c6c7cedbc43b5b32224078717e93194f1786b08a83094ef414",
    );
  });
});

describe("mnemonic — generation", () => {
  test("mnemonic — generateMnemonic gives 12 valid words by default", () => {
    const m = generateMnemonic();
    assert.equal(m.split(" ").length, 12);
    assert.equal(isValidMnemonic(m), true);
    assert.notEqual(generateMnemonic(), m);
  });

  test("mnemonic — generateMnemonic supports 12–24 words and rejects other counts", () => {
    fc.assert(
      fc.property(fc.constantFrom(12, 15, 18, 21, 24), (words) => {
        const m = generateMnemonic(words);
        return m.split(" ").length === words && isValidMnemonic(m);
      }),
      { numRuns: 20 },
    );
    assert.throws(() => generateMnemonic(13), InvalidArgumentError);
  });
});
