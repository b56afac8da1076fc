import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import {
  DEV_PHRASE,
  deriveJunction,
  InvalidSecretError,
  mnemonicToMiniSecret,
  parseSecretUri,
  secretUriToSeed,
} from "../../src/identity/index.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const WORDS = vectors.identities.rmbrs_e2e_words.mnemonic as string;

function padded(bytes: number[]): string {
  const out = new Uint8Array(32);
  out.set(bytes);
  return toHex(out);
}

describe("secret uri — parsing like sp-core SecretUri", () => {
  test("secret uri — //Alice has no phrase, so it uses the dev phrase with one hard junction", () => {
    const uri = parseSecretUri("//Alice");
    assert.equal(uri.phrase, DEV_PHRASE);
    assert.equal(uri.password, undefined);
    assert.equal(uri.junctions.length, 1);
    assert.equal(uri.junctions[0]!.hard, true);
    // SCALE "Alice": compact length 5 → 0x14, then the bytes, zero-padded
    assert.equal(toHex(uri.junctions[0]!.chainCode), padded([0x14, ...Buffer.from("Alice")]));
  });

  test("secret uri — phrase, hard and soft junctions and password", () => {
    const uri = parseSecretUri(`${WORDS}//hard/soft//0///my pass/word`);
    assert.equal(uri.phrase, WORDS);
    assert.deepEqual(
      uri.junctions.map((j) => j.hard),
      [true, false, true],
    );
    assert.equal(uri.password, "my pass/word");
  });

  test("secret uri — a bare mnemonic or hex seed has no junctions", () => {
    assert.deepEqual(parseSecretUri(WORDS), { phrase: WORDS, junctions: [], password: undefined });
    const seed = vectors.identities.rmbrs_e2e_seed.hex_seed as string;
    assert.deepEqual(parseSecretUri(seed), { phrase: seed, junctions: [], password: undefined });
  });

  test("secret uri — the empty string is the dev phrase root (as sp-core)", () => {
    assert.equal(parseSecretUri("").phrase, DEV_PHRASE);
    assert.deepEqual(
      secretUriToSeed(parseSecretUri("")),
      hex(vectors.identities.substrate_dev_phrase.mini_secret_hex),
    );
  });

  test("secret uri — shapes sp-core rejects throw InvalidSecretError 'format'", () => {
    for (const bad of ["//Alice/", "word-with-dash", "abc//", "a//b//"]) {
      assert.throws(
        () => parseSecretUri(bad),
        (err: unknown) => err instanceof InvalidSecretError && err.reason === "format",
        bad,
      );
    }
  });
});

describe("secret uri — junction chain codes", () => {
  test("secret uri — an all-digit junction is a u64 little-endian", () => {
    assert.equal(toHex(deriveJunction("0", true).chainCode), padded([]));
    assert.equal(toHex(deriveJunction("1", false).chainCode), padded([1]));
    assert.equal(toHex(deriveJunction("258", true).chainCode), padded([2, 1]));
    assert.equal(toHex(deriveJunction("+7", true).chainCode), padded([7])); // Rust's u64 parser accepts '+'
    assert.equal(
      toHex(deriveJunction("18446744073709551615", true).chainCode),
      padded([255, 255, 255, 255, 255, 255, 255, 255]),
    );
  });

  test("secret uri — a number beyond u64 or with a sign is a string", () => {
    const big = "18446744073709551616";
    assert.equal(toHex(deriveJunction(big, true).chainCode), padded([big.length << 2, ...Buffer.from(big)]));
    assert.equal(toHex(deriveJunction("-1", true).chainCode), padded([2 << 2, ...Buffer.from("-1")]));
  });

  test("secret uri — an encoding longer than 32 bytes is hashed with blake2b-256", () => {
    const long = "a".repeat(40);
    const scale = Uint8Array.of(40 << 2, ...Buffer.from(long));
    assert.equal(toHex(deriveJunction(long, true).chainCode), toHex(blake2b(scale, { dkLen: 32 })));
    // 31 characters + 1 length byte = 32 bytes: kept as is
    const fits = "b".repeat(31);
    assert.equal(
      toHex(deriveJunction(fits, true).chainCode),
      toHex(Uint8Array.of(31 << 2, ...Buffer.from(fits))),
    );
  });

  test("secret uri — a string of 64+ bytes uses the two-byte compact length", () => {
    const s = "c".repeat(64);
    const scale = Uint8Array.of(((64 << 2) | 1) & 0xff, 64 >> 6, ...Buffer.from(s));
    assert.equal(toHex(deriveJunction(s, false).chainCode), toHex(blake2b(scale, { dkLen: 32 })));
  });
});

describe("secret uri — root seed", () => {
  test("secret uri — mnemonic → mini secret, with the URI password", () => {
    assert.deepEqual(secretUriToSeed(parseSecretUri(WORDS)), mnemonicToMiniSecret(WORDS));
    assert.deepEqual(secretUriToSeed(parseSecretUri(`${WORDS}///pw`)), mnemonicToMiniSecret(WORDS, "pw"));
  });

  test("secret uri — hex seed is used as is and the password is ignored (sp-core)", () => {
    const seed = vectors.identities.rmbrs_e2e_seed.hex_seed as string;
    assert.equal(toHex(secretUriToSeed(parseSecretUri(seed))), seed.slice(2));
    assert.equal(toHex(secretUriToSeed(parseSecretUri(`${seed}///pw`))), seed.slice(2));
    assert.equal(
      toHex(secretUriToSeed(parseSecretUri(seed.toUpperCase().replace("0X", "0x")))),
      seed.slice(2),
    );
  });

  test("secret uri — '0xinvalidseed' and short seeds are 'invalid seed'", () => {
    for (const bad of ["0xinvalidseed", "0x1234", `0x${"ab".repeat(33)}`]) {
      assert.throws(
        () => secretUriToSeed(parseSecretUri(bad)),
        (err: unknown) =>
          err instanceof InvalidSecretError && err.reason === "seed" && err.message === "invalid seed",
      );
    }
  });

  test("secret uri — 'invalid words' is 'invalid bip39 phrase'", () => {
    assert.throws(
      () => secretUriToSeed(parseSecretUri("invalid words")),
      (err: unknown) => err instanceof InvalidSecretError && err.reason === "phrase",
    );
  });
});
