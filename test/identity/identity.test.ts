import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  createSigner,
  EncryptionKeyError,
  e2eSecretFromUri,
  InvalidSecretError,
  KeyType,
  keyPairFromUri,
  loadIdentity,
  parseKeyType,
  signerFromKeyPair,
  verifySignature,
} from "../../src/identity/index.js";
import { identityVectors } from "../support/identity-vectors.js";
import { hex, toHex, vectors } from "../support/vectors.js";

describe("identity — every vector identity", () => {
  for (const { name, secret: uri, v } of identityVectors) {
    test(`identity — ${name}: sr25519 and ed25519 keys, SS58 addresses and e2e key`, () => {
      const sr = loadIdentity(uri, KeyType.Sr25519);
      const ed = loadIdentity(uri, KeyType.Ed25519);
      assert.equal(toHex(sr.publicKey), v.sr25519_public_hex);
      assert.equal(toHex(ed.publicKey), v.ed25519_public_hex);
      if (v.sr25519_ss58_42 !== undefined) assert.equal(sr.ss58, v.sr25519_ss58_42);
      if (v.ed25519_ss58_42 !== undefined) assert.equal(ed.ss58, v.ed25519_ss58_42);
      assert.equal(sr.keyType, "sr25519");
      assert.equal(ed.signer.keyType, "ed25519");
      if (v.secp256k1_compressed_pub_hex !== undefined) {
        assert.equal(toHex(sr.e2e!.publicKey), v.secp256k1_compressed_pub_hex);
        assert.deepEqual(ed.e2e, sr.e2e);
      }
      if (v.secp256k1_secret_hex !== undefined) assert.equal(toHex(sr.e2e!.secret), v.secp256k1_secret_hex);
    });
  }

  test("identity — //Alice sr25519 and ed25519 public keys match sp-core", () => {
    assert.equal(
      toHex(createSigner("//Alice", KeyType.Sr25519).publicKey),
      vectors.identities.alice.sr25519_public_hex,
    );
    assert.equal(
      toHex(createSigner("//Alice", KeyType.Ed25519).publicKey),
      vectors.identities.alice.ed25519_public_hex,
    );
    assert.equal(loadIdentity("//Alice", KeyType.Sr25519).ss58, vectors.identities.alice.sr25519_ss58_42);
  });

  test("identity — the dev phrase with //Alice equals //Alice", () => {
    const explicit = createSigner(
      `${vectors.identities.substrate_dev_phrase.mnemonic}//Alice`,
      KeyType.Ed25519,
    );
    assert.equal(toHex(explicit.publicKey), vectors.identities.alice.ed25519_public_hex);
  });

  test("identity — the secp256k1 key of the e2e test mnemonic is the rmb-rs sk2", () => {
    const id = loadIdentity(vectors.e2e.sk2_from_mnemonic, KeyType.Sr25519);
    assert.equal(toHex(id.e2e!.secret), vectors.e2e.sk2_hex);
    assert.equal(toHex(id.e2e!.publicKey), vectors.e2e.pk2_compressed_hex);
  });
});

describe("identity — signers", () => {
  test("identity — //Alice ed25519 signer signs the envelope digest to the exact 65 bytes", () => {
    const signer = createSigner("//Alice", KeyType.Ed25519);
    const sig = signer.sign(hex(vectors.envelope_vector.md5_hex));
    assert.equal(toHex(sig), vectors.envelope_vector.signature_ed25519_65_hex);
  });

  test("identity — sr25519 signer prefixes 0x73 and verifies against its account id", () => {
    const signer = createSigner(vectors.identities.rmbrs_sr25519_words.mnemonic, KeyType.Sr25519);
    const msg = new TextEncoder().encode("jwt.header.claims");
    const sig = signer.sign(msg);
    assert.equal(sig.length, 65);
    assert.equal(sig[0], 0x73);
    verifySignature(signer.publicKey, msg, sig);
  });

  test("identity — soft junctions work for sr25519 and are refused for ed25519", () => {
    const sr = createSigner("//Alice/soft", KeyType.Sr25519);
    assert.notDeepEqual(sr.publicKey, hex(vectors.identities.alice.sr25519_public_hex));
    assert.deepEqual(createSigner("//Alice/soft", KeyType.Sr25519).publicKey, sr.publicKey); // deterministic
    assert.throws(
      () => createSigner("//Alice/soft", KeyType.Ed25519),
      (err: unknown) => err instanceof InvalidSecretError && err.reason === "path",
    );
  });

  test("identity — signerFromKeyPair wraps a derived key pair", () => {
    const pair = keyPairFromUri("//Bob", KeyType.Ed25519);
    const signer = signerFromKeyPair(pair);
    assert.deepEqual(signer.publicKey, pair.publicKey);
    assert.throws(() => signerFromKeyPair({} as never), InvalidArgumentError);
  });
});

describe("identity — rejected secrets (rmb-rs unit tests)", () => {
  for (const keyType of [KeyType.Ed25519, KeyType.Sr25519]) {
    test(`identity — ${keyType}: 'invalid words' is an invalid bip39 phrase`, () => {
      assert.throws(
        () => createSigner("invalid words", keyType),
        (err: unknown) =>
          err instanceof InvalidSecretError &&
          err.code === "RMB_ERR_INVALID_SECRET" &&
          err.reason === "phrase" &&
          err.message === "invalid bip39 phrase",
      );
    });

    test(`identity — ${keyType}: '0xinvalidseed' is an invalid seed`, () => {
      assert.throws(
        () => createSigner("0xinvalidseed", keyType),
        (err: unknown) =>
          err instanceof InvalidSecretError && err.reason === "seed" && err.message === "invalid seed",
      );
    });
  }

  test("identity — a URI that is not a secret URI is an invalid format", () => {
    assert.throws(
      () => loadIdentity("not;a uri", KeyType.Sr25519),
      (err: unknown) => err instanceof InvalidSecretError && err.reason === "format",
    );
  });

  test("identity — key type and URI arguments are guarded", () => {
    assert.throws(() => createSigner("//Alice", "rsa" as KeyType), InvalidArgumentError);
    assert.throws(() => createSigner(42 as unknown as string, KeyType.Ed25519), /secretUri/);
  });
});

describe("identity — end-to-end key (rmb-peer rules)", () => {
  test("identity — a // URI gives no e2e key (not an error)", () => {
    const id = loadIdentity("//Alice", KeyType.Sr25519);
    assert.equal(id.e2e, undefined);
    assert.equal(
      loadIdentity(`${vectors.identities.rmbrs_e2e_words.mnemonic}///pw`, KeyType.Ed25519).e2e,
      undefined,
    );
  });

  test("identity — e2eSecretFromUri('//Alice') fails like rmb-peer: failed to initialize encryption key", () => {
    assert.throws(
      () => e2eSecretFromUri("//Alice"),
      (err: unknown) =>
        err instanceof EncryptionKeyError &&
        err.code === "RMB_ERR_ENCRYPTION_KEY" &&
        err.message === "failed to initialize encryption key: invalid bip39 phrase",
    );
  });

  test("identity — e2eSecretFromUri: bad hex is 'invalid seed', a wrong size or zero scalar is a k256 error", () => {
    assert.throws(() => e2eSecretFromUri("0xinvalidseed"), {
      message: "failed to initialize encryption key: invalid seed",
    });
    assert.throws(() => e2eSecretFromUri("0x1234"), {
      message: "failed to initialize encryption key: k256: malformed or out-of-range secret key",
    });
    assert.throws(() => e2eSecretFromUri(`0x${"00".repeat(32)}`), EncryptionKeyError);
    const n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    assert.throws(() => e2eSecretFromUri(`0x${n}`), EncryptionKeyError);
  });

  test("identity — e2eSecretFromUri accepts a mnemonic and a hex seed", () => {
    assert.equal(toHex(e2eSecretFromUri(vectors.e2e.sk2_from_mnemonic)), vectors.e2e.sk2_hex);
    assert.equal(toHex(e2eSecretFromUri(`0x${vectors.e2e.sk1_hex}`)), vectors.e2e.sk1_hex);
  });
});

describe("identity — key type names", () => {
  test("identity — parseKeyType is case-insensitive like rmb-rs and rejects others", () => {
    assert.equal(parseKeyType("ED25519"), KeyType.Ed25519);
    assert.equal(parseKeyType("sr25519"), KeyType.Sr25519);
    assert.throws(() => parseKeyType("ecdsa"), /invalid key type/);
  });
});
