import { blake2b } from "@noble/hashes/blake2.js";
import { assertBytes } from "../guards.js";
import { type Ed25519BackendName, type Ed25519SigningKey, ed25519Backend } from "./ed25519-backend.js";
import { InvalidSecretError } from "./errors.js";
import { CHAIN_CODE_LENGTH, type DeriveJunction, scaleEncodeString } from "./secret-uri.js";

/** Length of an ed25519 seed (the RFC 8032 private key). */
export const ED25519_SEED_LENGTH = 32;
/** Length of a raw ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

/** SCALE encoding of the string `"Ed25519HDKD"` (compact length 11, then the bytes), sp-core's HDKD domain tag. */
const HDKD_TAG = scaleEncodeString("Ed25519HDKD");

/**
 * sp-core ed25519 hard derivation: the child seed is blake2b-256 of the SCALE tuple
 * `("Ed25519HDKD", seed, chainCode)`, i.e. `0x2c ‖ "Ed25519HDKD" ‖ seed(32) ‖ chainCode(32)`.
 */
export function ed25519DeriveHardSeed(seed: Uint8Array, chainCode: Uint8Array): Uint8Array {
  assertBytes("seed", seed, ED25519_SEED_LENGTH);
  assertBytes("chainCode", chainCode, CHAIN_CODE_LENGTH);
  return blake2b.create({ dkLen: 32 }).update(HDKD_TAG).update(seed).update(chainCode).digest();
}

/**
 * An ed25519 key pair (RFC 8032), as sp-core `ed25519::Pair`. Signing is deterministic. The secret never leaves the
 * object.
 *
 * @example
 * const pair = Ed25519KeyPair.fromSeed(seed32);
 * const sig = pair.sign(message); // 64 bytes
 * ed25519Verify(pair.publicKey, message, sig); // true
 */
export class Ed25519KeyPair {
  /** The 32-byte public key (the account id). */
  readonly publicKey: Uint8Array;
  readonly #seed: Uint8Array;
  readonly #key: Ed25519SigningKey;

  private constructor(seed: Uint8Array) {
    this.#seed = seed;
    this.#key = ed25519Backend.signingKey(seed);
    this.publicKey = this.#key.publicKey;
  }

  /** The key pair of a 32-byte seed (an sp-core ed25519 seed / mini secret). */
  static fromSeed(seed: Uint8Array): Ed25519KeyPair {
    assertBytes("seed", seed, ED25519_SEED_LENGTH);
    return new Ed25519KeyPair(seed.slice());
  }

  /**
   * Follows a derivation path as sp-core does. ed25519 has hard junctions only: a soft junction throws
   * `InvalidSecretError` (`reason: "path"`).
   */
  derive(junctions: readonly DeriveJunction[]): Ed25519KeyPair {
    let seed = this.#seed;
    for (const junction of junctions) {
      if (!junction.hard) {
        throw new InvalidSecretError(
          "path",
          "invalid derivation path: soft junctions are not supported by ed25519",
        );
      }
      seed = ed25519DeriveHardSeed(seed, junction.chainCode);
    }
    return seed === this.#seed ? this : new Ed25519KeyPair(seed);
  }

  /** The 64-byte signature of `message`. */
  sign(message: Uint8Array): Uint8Array {
    assertBytes("message", message);
    const out = new Uint8Array(ED25519_SIGNATURE_LENGTH);
    this.#key.signInto(message, out);
    return out;
  }

  /** Writes the 64-byte signature of `message` into `out` (exactly 64 bytes, e.g. a subarray), without allocating. */
  signInto(message: Uint8Array, out: Uint8Array): void {
    assertBytes("message", message);
    assertBytes("out", out, ED25519_SIGNATURE_LENGTH);
    this.#key.signInto(message, out);
  }
}

/**
 * `true` when the 64-byte `signature` of `message` verifies for the 32-byte `publicKey`. Malformed keys or
 * signatures give `false`. Arguments that are not byte arrays of the right length throw `InvalidArgumentError`.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes("publicKey", publicKey, 32);
  assertBytes("message", message);
  assertBytes("signature", signature, ED25519_SIGNATURE_LENGTH);
  return ed25519Backend.verify(publicKey, message, signature);
}

/** Which ed25519 implementation this process uses (`sodium-native`, or `node:crypto` as the fallback). */
export function ed25519BackendName(): Ed25519BackendName {
  return ed25519Backend.name;
}
