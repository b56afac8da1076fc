/**
 * The three libsodium calls of the ed25519 backend (`crypto_sign_seed_keypair`, `crypto_sign_detached`,
 * `crypto_sign_verify_detached`) on `@noble/curves`' ed25519, for the browser bundle (where the `node:module` shim
 * hands this module out for `require("sodium-native")`). RFC 8032 signing is deterministic, so signatures are
 * byte-identical to libsodium's; verification is strict like libsodium's (no ZIP-215 leniency).
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";

/** libsodium's secret key layout: the 32-byte seed ‖ the 32-byte public key. */
export function crypto_sign_seed_keypair(
  publicKey: Uint8Array,
  secretKey: Uint8Array,
  seed: Uint8Array,
): void {
  const pk = ed25519.getPublicKey(seed);
  publicKey.set(pk);
  secretKey.set(seed, 0);
  secretKey.set(pk, 32);
}

export function crypto_sign_detached(
  signature: Uint8Array,
  message: Uint8Array,
  secretKey: Uint8Array,
): void {
  signature.set(ed25519.sign(message, secretKey.subarray(0, 32)));
}

export function crypto_sign_verify_detached(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
