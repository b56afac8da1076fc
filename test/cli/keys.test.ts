import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runRmb } from "../support/cli.js";
import { vectors } from "../support/vectors.js";

const ED = vectors.identities.rmbrs_ed25519_words;
const SR = vectors.identities.rmbrs_sr25519_words;

describe("cli — rmb keys inspect", () => {
  test("prints account key, SS58 and secp256k1 key of a mnemonic as JSON", async () => {
    const r = await runRmb(["keys", "inspect", "--key-type", "ed25519", "--json", ED.mnemonic]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      keyType: "ed25519",
      publicKey: ED.ed25519_public_hex,
      ss58: ED.ed25519_ss58_42,
      secp256k1PublicKey: ED.secp256k1_compressed_pub_hex,
    });
  });

  test("defaults to sr25519 and reads the secret from stdin with '-'", async () => {
    const r = await runRmb(["keys", "inspect", "--json", "-"], { stdin: `${SR.mnemonic}\n` });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.keyType, "sr25519");
    assert.equal(out.publicKey, SR.sr25519_public_hex);
    assert.equal(out.ss58, SR.sr25519_ss58_42);
    assert.equal(out.secp256k1PublicKey, SR.secp256k1_compressed_pub_hex);
  });

  test("reads the secret from RMB_SECRET when none is given", async () => {
    const r = await runRmb(["keys", "inspect", "-k", "sr25519", "--json"], {
      env: { RMB_SECRET: vectors.identities.rmbrs_e2e_seed.hex_seed },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).publicKey, vectors.identities.rmbrs_e2e_seed.sr25519_public_hex);
  });

  test("a derivation path gives the key but no encryption key, in human output", async () => {
    const r = await runRmb(["keys", "inspect", "//Alice"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`public key \\(hex\\):\\s+${vectors.identities.alice.sr25519_public_hex}`),
    );
    assert.match(r.stdout, new RegExp(`ss58 address:\\s+${vectors.identities.alice.sr25519_ss58_42}`));
    assert.match(r.stdout, /secp256k1 key:\s+\(none/);
  });

  test("an invalid mnemonic exits 1 with the error code", async () => {
    const r = await runRmb(["keys", "inspect", "invalid words"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RMB_ERR_INVALID_SECRET/);
    assert.equal(r.stdout, "");
  });

  test("usage errors exit 2: bad key type, missing secret, unknown command", async () => {
    const bad = await runRmb(["keys", "inspect", "-k", "rsa", "//Alice"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --key-type 'rsa'/);
    const missing = await runRmb(["keys", "inspect"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing secret/);
    const unknown = await runRmb(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const option = await runRmb(["keys", "inspect", "--nope", "//Alice"]);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /--nope/);
  });
});

describe("cli — rmb keys generate", () => {
  test("creates a valid mnemonic of the requested length whose keys inspect back identically", async () => {
    const r = await runRmb(["keys", "generate", "--words", "24", "--json", "-k", "ed25519"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.mnemonic.split(" ").length, 24);
    const again = await runRmb(["keys", "inspect", "--json", "-k", "ed25519", out.mnemonic]);
    const { mnemonic: _, ...rest } = out;
    assert.deepEqual(JSON.parse(again.stdout), rest);
  });

  test("refuses an unsupported word count", async () => {
    const r = await runRmb(["keys", "generate", "--words", "13"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--words/);
  });
});
