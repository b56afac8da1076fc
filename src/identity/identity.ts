import { E2eError } from "../crypto/errors.js";
import { SECP256K1_SECRET_KEY_LENGTH, Secp256k1KeyPair } from "../crypto/secp256k1.js";
import { InvalidArgumentError } from "../errors.js";
import { assertString } from "../guards.js";
import { Ed25519KeyPair } from "./ed25519.js";
import { EncryptionKeyError, InvalidSecretError } from "./errors.js";
import { KeyType, SIGNATURE_LENGTH, SignaturePrefix } from "./key-type.js";
import { mnemonicToEntropy, substrateSeedFromEntropy } from "./mnemonic.js";
import { parseSecretUri, secretUriToSeed } from "./secret-uri.js";
import type { Signer } from "./signer.js";
import { Sr25519KeyPair } from "./sr25519.js";
import { DEFAULT_SS58_PREFIX, ss58Encode } from "./ss58.js";

/** The secp256k1 end-to-end key of a twin (rmb-peer derives it from a bare mnemonic or `0x` seed only). */
export interface E2eKey {
  /** The 32-byte secp256k1 secret (give it to `E2eCipher`). */
  readonly secret: Uint8Array;
  /** The 33-byte compressed public key: the twin's `pk` on tfchain. */
  readonly publicKey: Uint8Array;
}

/** A twin's keys, loaded from one secret as rmb-peer does. */
export interface Identity {
  /** The signing key type. */
  readonly keyType: KeyType;
  /** Signs envelopes and JWTs (65-byte signatures). */
  readonly signer: Signer;
  /** The 32-byte public key of the signing key: the twin's account id on tfchain. */
  readonly publicKey: Uint8Array;
  /** The account id as an SS58 address, prefix 42 (`5…`). */
  readonly ss58: string;
  /**
   * The end-to-end key, or `undefined` when the secret URI is not a bare mnemonic or `0x` seed (a URI with `//`
   * junctions or `///password` has none, as in rmb-peer; see {@link e2eSecretFromUri}).
   */
  readonly e2e: E2eKey | undefined;
}

/** An ed25519 or sr25519 key pair, as the key-pair classes of this module. */
export type SigningKeyPair = Ed25519KeyPair | Sr25519KeyPair;

/**
 * The key pair of a secret URI, exactly as sp-core `Pair::from_string(uri, None)` (what rmb-rs uses): a BIP-39
 * mnemonic or `0x` + 64 hex seed, optionally followed by `//hard` and `/soft` junctions and `///password`;
 * `//Alice` alone uses the Substrate dev phrase. Throws `InvalidSecretError` (`format`, `phrase`, `seed`, or `path`
 * for a soft junction on ed25519).
 */
export function keyPairFromUri(secretUri: string, keyType: KeyType): SigningKeyPair {
  assertString("secretUri", secretUri);
  assertKeyType(keyType);
  const uri = parseSecretUri(secretUri);
  const seed = secretUriToSeed(uri);
  const root = keyType === KeyType.Ed25519 ? Ed25519KeyPair.fromSeed(seed) : Sr25519KeyPair.fromSeed(seed);
  seed.fill(0);
  return root.derive(uri.junctions);
}

/**
 * A {@link Signer} over a key pair: `sign` returns `type byte ‖ sig64` (`0x65` for ed25519, `0x73` for sr25519).
 */
export function signerFromKeyPair(pair: SigningKeyPair): Signer {
  if (pair instanceof Ed25519KeyPair) return new Ed25519Signer(pair);
  if (pair instanceof Sr25519KeyPair) return new Sr25519Signer(pair);
  throw new InvalidArgumentError("pair", "expected an Ed25519KeyPair or Sr25519KeyPair");
}

/**
 * The signer of a secret URI (see {@link keyPairFromUri} for the accepted forms and errors).
 *
 * @example
 * const signer = createSigner("//Alice", KeyType.Ed25519);
 * const sig = signer.sign(digest); // 65 bytes, sig[0] === 0x65
 */
export function createSigner(secretUri: string, keyType: KeyType): Signer {
  return signerFromKeyPair(keyPairFromUri(secretUri, keyType));
}

/**
 * Loads a twin's identity: the signer (sp-core rules, {@link keyPairFromUri}), its account id and SS58 address, and
 * — when the secret is a bare mnemonic or `0x` seed, the only forms rmb-peer accepts for it — the secp256k1
 * end-to-end key. A URI with junctions or a password gives no end-to-end key (not an error).
 */
export function loadIdentity(secretUri: string, keyType: KeyType): Identity {
  const signer = createSigner(secretUri, keyType);
  let e2e: E2eKey | undefined;
  try {
    const secret = e2eSecretFromUri(secretUri);
    e2e = { secret, publicKey: new Secp256k1KeyPair(secret).publicKey };
  } catch (err) {
    if (!(err instanceof EncryptionKeyError)) throw err;
  }
  return {
    keyType,
    signer,
    publicKey: signer.publicKey,
    ss58: ss58Encode(signer.publicKey, DEFAULT_SS58_PREFIX),
    e2e,
  };
}

/**
 * The secp256k1 end-to-end secret of a secret, exactly as rmb-peer (rmb-rs `e2e::Pair::from_str`): `0x…` → the hex
 * bytes, which must be a valid 32-byte scalar; otherwise a bare English mnemonic → the first 32 bytes of
 * substrate-bip39 `seed_from_entropy(entropy, "")` (the mini secret). Derivation paths and passwords are not
 * accepted. Failures throw `EncryptionKeyError` (`failed to initialize encryption key: invalid bip39 phrase` /
 * `invalid seed` / `k256: malformed or out-of-range secret key`).
 */
export function e2eSecretFromUri(secretUri: string): Uint8Array {
  assertString("secretUri", secretUri);
  let secret: Uint8Array;
  if (secretUri.startsWith("0x")) {
    const hex = secretUri.slice(2);
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new EncryptionKeyError("invalid seed");
    secret = new Uint8Array(Buffer.from(hex, "hex"));
  } else {
    let entropy: Uint8Array;
    try {
      entropy = mnemonicToEntropy(secretUri);
    } catch (cause) {
      if (cause instanceof InvalidSecretError)
        throw new EncryptionKeyError("invalid bip39 phrase", { cause });
      throw cause;
    }
    secret = substrateSeedFromEntropy(entropy, "").slice(0, SECP256K1_SECRET_KEY_LENGTH);
  }
  try {
    if (secret.length !== SECP256K1_SECRET_KEY_LENGTH) {
      throw new E2eError("secret-key", "k256: malformed or out-of-range secret key");
    }
    new Secp256k1KeyPair(secret);
  } catch (cause) {
    if (cause instanceof E2eError) throw new EncryptionKeyError(cause.message, { cause });
    throw cause;
  }
  return secret;
}

function assertKeyType(keyType: unknown): asserts keyType is KeyType {
  if (keyType !== KeyType.Ed25519 && keyType !== KeyType.Sr25519) {
    throw new InvalidArgumentError("keyType", "expected 'ed25519' or 'sr25519'");
  }
}

class Ed25519Signer implements Signer {
  readonly keyType = KeyType.Ed25519;
  readonly publicKey: Uint8Array;
  readonly #pair: Ed25519KeyPair;

  constructor(pair: Ed25519KeyPair) {
    this.#pair = pair;
    this.publicKey = pair.publicKey;
  }

  sign(message: Uint8Array): Uint8Array {
    const out = new Uint8Array(SIGNATURE_LENGTH);
    out[0] = SignaturePrefix.ed25519;
    this.#pair.signInto(message, out.subarray(1));
    return out;
  }
}

class Sr25519Signer implements Signer {
  readonly keyType = KeyType.Sr25519;
  readonly publicKey: Uint8Array;
  readonly #pair: Sr25519KeyPair;

  constructor(pair: Sr25519KeyPair) {
    this.#pair = pair;
    this.publicKey = pair.publicKey;
  }

  sign(message: Uint8Array): Uint8Array {
    const out = new Uint8Array(SIGNATURE_LENGTH);
    out[0] = SignaturePrefix.sr25519;
    out.set(this.#pair.sign(message), 1);
    return out;
  }
}
