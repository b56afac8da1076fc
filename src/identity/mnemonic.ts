import { pbkdf2Sync } from "node:crypto";
import {
  generateMnemonic as bip39GenerateMnemonic,
  mnemonicToEntropy as bip39MnemonicToEntropy,
} from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english.js";
import { InvalidArgumentError } from "../errors.js";
import { assertBytes, assertString } from "../guards.js";
import { InvalidSecretError } from "./errors.js";

/** Length of a Substrate "mini secret" (the sr25519 mini secret key / ed25519 seed). */
export const MINI_SECRET_LENGTH = 32;

/** Word counts of a BIP-39 mnemonic. */
export type MnemonicWordCount = 12 | 15 | 18 | 21 | 24;

const PBKDF2_ROUNDS = 2048;
const SEED_LENGTH = 64;
const STRENGTH_BITS: ReadonlyMap<number, number> = new Map([
  [12, 128],
  [15, 160],
  [18, 192],
  [21, 224],
  [24, 256],
]);

/**
 * The canonical form of a mnemonic: words split on any whitespace (as tiny-bip39 and rust-bip39 do), each
 * NFKD-normalised, joined with single spaces.
 */
export function normalizeMnemonic(mnemonic: string): string {
  assertString("mnemonic", mnemonic);
  return mnemonic
    .split(/\s+/u)
    .filter((word) => word.length > 0)
    .map((word) => word.normalize("NFKD"))
    .join(" ");
}

/**
 * The entropy of an English BIP-39 mnemonic (16–32 bytes). Word count, words and checksum are validated; any
 * problem throws `InvalidSecretError` (`reason: "phrase"`, message `invalid bip39 phrase`).
 */
export function mnemonicToEntropy(mnemonic: string): Uint8Array {
  const normalized = normalizeMnemonic(mnemonic);
  try {
    return bip39MnemonicToEntropy(normalized, english);
  } catch (cause) {
    throw new InvalidSecretError("phrase", "invalid bip39 phrase", { cause });
  }
}

/** `true` when `mnemonic` is a valid English BIP-39 mnemonic (checksum included). */
export function isValidMnemonic(mnemonic: string): boolean {
  try {
    mnemonicToEntropy(mnemonic);
    return true;
  } catch (err) {
    if (err instanceof InvalidSecretError) return false;
    throw err;
  }
}

/**
 * substrate-bip39 `seed_from_entropy`: PBKDF2-HMAC-SHA512 with the **entropy bytes** as the password and
 * `"mnemonic" + password` as the salt, 2048 rounds, 64 bytes.
 */
export function substrateSeedFromEntropy(entropy: Uint8Array, password = ""): Uint8Array {
  assertBytes("entropy", entropy);
  assertString("password", password);
  if (entropy.length < 16 || entropy.length > 32 || entropy.length % 4 !== 0) {
    throw new InvalidArgumentError("entropy", `expected 16, 20, 24, 28 or 32 bytes, got ${entropy.length}`);
  }
  return new Uint8Array(pbkdf2Sync(entropy, `mnemonic${password}`, PBKDF2_ROUNDS, SEED_LENGTH, "sha512"));
}

/**
 * The Substrate mini secret of a mnemonic: the first 32 bytes of {@link substrateSeedFromEntropy} (what sp-core,
 * polkadot-js `mnemonicToMiniSecret` and rmb-rs use). It seeds the sr25519 and ed25519 keys and, since rmb-peer
 * v1.2.0, is also the secp256k1 end-to-end secret.
 */
export function mnemonicToMiniSecret(mnemonic: string, password = ""): Uint8Array {
  return substrateSeedFromEntropy(mnemonicToEntropy(mnemonic), password).slice(0, MINI_SECRET_LENGTH);
}

/**
 * The standard BIP-39 seed (64 bytes): PBKDF2-HMAC-SHA512 of the NFKD sentence with salt `"mnemonic" + password`,
 * 2048 rounds. The mnemonic is validated first.
 */
export function mnemonicToBip39Seed(mnemonic: string, password = ""): Uint8Array {
  assertString("password", password);
  mnemonicToEntropy(mnemonic);
  const sentence = normalizeMnemonic(mnemonic);
  const salt = `mnemonic${password}`.normalize("NFKD");
  return new Uint8Array(pbkdf2Sync(sentence, salt, PBKDF2_ROUNDS, SEED_LENGTH, "sha512"));
}

/**
 * The secp256k1 end-to-end secret rmb-peer used **before v1.2.0**: the first 32 bytes of the standard BIP-39 seed
 * (empty password). Twins registered by an old peer may still publish the public key of this secret.
 */
export function mnemonicToLegacyE2eSecret(mnemonic: string): Uint8Array {
  return mnemonicToBip39Seed(mnemonic, "").slice(0, 32);
}

/**
 * A new random English BIP-39 mnemonic (CSPRNG entropy).
 *
 * @param words - number of words: 12, 15, 18, 21 or 24 ({@link MnemonicWordCount}); others throw
 *   `InvalidArgumentError`
 * @default words 12
 */
export function generateMnemonic(words: MnemonicWordCount | number = 12): string {
  const strength = STRENGTH_BITS.get(words);
  if (strength === undefined) throw new InvalidArgumentError("words", "expected 12, 15, 18, 21 or 24");
  return bip39GenerateMnemonic(english, strength);
}
