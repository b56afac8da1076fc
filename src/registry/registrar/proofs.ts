import { ed25519Backend } from "../../identity/ed25519-backend.js";
import type { Signer } from "../../identity/signer.js";
import { sr25519Backend } from "../../identity/sr25519-backend.js";
import { encodeStdBase64 } from "./base64.js";

/**
 * The proofs of the registrar accounts API (spec registrar-accounts.md §4): raw 64-byte ed25519 or sr25519
 * signatures (no RMB type byte) over short ASCII challenges.
 */

/** Seconds a creation timestamp may differ from the server clock, either way (upstream `MaxTimestampDelta`). */
export const CREATION_WINDOW_SECONDS = 2;
/** Seconds an `X-Auth` challenge stays valid after its timestamp (upstream `ChallengeValidity`). */
export const AUTH_VALIDITY_SECONDS = 60;

/** The bytes signed to create an account: ASCII `<timestamp>:<public_key text as sent>`. */
export function creationChallenge(timestamp: number, publicKeyText: string): Uint8Array {
  return new TextEncoder().encode(`${timestamp}:${publicKeyText}`);
}

/** The plaintext `X-Auth` challenge: ASCII `<unix seconds>:<twin id>`. */
export function authChallenge(timestamp: number, twinId: number): string {
  return `${timestamp}:${twinId}`;
}

/** The 64-byte raw signature of `message` by `signer` (the RMB form without its type byte). */
export function signRaw(signer: Signer, message: Uint8Array): Uint8Array {
  return signer.sign(message).subarray(1);
}

/** An `X-Auth` header value for `twinId` at `timestamp`: `base64(challenge):base64(signature)`. */
export function buildAuthHeader(signer: Signer, twinId: number, timestamp: number): string {
  const challenge = new TextEncoder().encode(authChallenge(timestamp, twinId));
  return `${encodeStdBase64(challenge)}:${encodeStdBase64(signRaw(signer, challenge))}`;
}

/**
 * Checks a raw signature the way the registrar does: ed25519 first, then sr25519 on the same 32-byte key. Returns
 * `undefined` when one verifies, else the reason text. Unlike upstream (which zero-pads or truncates sr25519
 * signatures to 64 bytes) any length other than 64 is refused.
 */
export function verifyRawSignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): string | undefined {
  if (publicKey.length !== 32)
    return `invalid public key size: expected 32, got ${publicKey.length}: invalid input`;
  if (signature.length === 0) return "invalid signature size, not expected to be zero: invalid input";
  if (message.length === 0) return "invalid message size, not expected to be zero: invalid input";
  if (signature.length !== 64) return `invalid signature size: expected 64, got ${signature.length}`;
  if (ed25519Backend.verify(publicKey, message, signature)) return undefined;
  if (sr25519Backend.verify(publicKey, message, signature)) return undefined;
  return "signature verification failed";
}
