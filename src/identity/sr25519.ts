import { assertBytes } from "../guards.js";
import type { DeriveJunction } from "./secret-uri.js";
import { type Sr25519BackendName, type Sr25519RawKeyPair, sr25519Backend } from "./sr25519-backend.js";

/** Length of an sr25519 mini secret key (seed). */
export const SR25519_SEED_LENGTH = 32;
/** Length of a raw sr25519 (schnorrkel) signature. */
export const SR25519_SIGNATURE_LENGTH = 64;

/**
 * An sr25519 (schnorrkel) key pair, as sp-core `sr25519::Pair`: expanded from a 32-byte mini secret with
 * `ExpansionMode::Ed25519`, signing with the context `"substrate"`. Signatures are randomised (two signatures of the
 * same message differ) and carry schnorrkel's marker bit. The secret never leaves the object.
 *
 * @example
 * const pair = Sr25519KeyPair.fromSeed(miniSecret);
 * const sig = pair.sign(message); // 64 bytes
 * sr25519Verify(pair.publicKey, message, sig); // true
 */
export class Sr25519KeyPair {
  /** The 32-byte public key (the account id). */
  readonly publicKey: Uint8Array;
  readonly #pair: Sr25519RawKeyPair;

  private constructor(pair: Sr25519RawKeyPair) {
    this.#pair = pair;
    this.publicKey = pair.publicKey;
  }

  /** The key pair of a 32-byte mini secret key. */
  static fromSeed(seed: Uint8Array): Sr25519KeyPair {
    assertBytes("seed", seed, SR25519_SEED_LENGTH);
    return new Sr25519KeyPair(sr25519Backend.keyPairFromSeed(seed));
  }

  /** Follows a derivation path as sp-core does: hard junctions via a derived mini secret, soft ones in place. */
  derive(junctions: readonly DeriveJunction[]): Sr25519KeyPair {
    let pair = this.#pair;
    for (const junction of junctions) {
      pair = junction.hard
        ? sr25519Backend.deriveHard(pair, junction.chainCode)
        : sr25519Backend.deriveSoft(pair, junction.chainCode);
    }
    return pair === this.#pair ? this : new Sr25519KeyPair(pair);
  }

  /** The 64-byte signature of `message` (signing context `"substrate"`). */
  sign(message: Uint8Array): Uint8Array {
    assertBytes("message", message);
    return sr25519Backend.sign(this.#pair, message);
  }
}

/**
 * `true` when the 64-byte `signature` of `message` verifies for the 32-byte `publicKey` with the signing context
 * `"substrate"` (schnorrkel `verify_simple`, as sp-core `verify_weak`). Malformed keys or signatures give `false`.
 * Arguments that are not byte arrays of the right length throw `InvalidArgumentError`.
 */
export function sr25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes("publicKey", publicKey, 32);
  assertBytes("message", message);
  assertBytes("signature", signature, SR25519_SIGNATURE_LENGTH);
  return sr25519Backend.verify(publicKey, message, signature);
}

/** Which sr25519 implementation this process uses (`schnorrkel-wasm`, or `scure-sr25519` as the fallback). */
export function sr25519BackendName(): Sr25519BackendName {
  return sr25519Backend.name;
}
