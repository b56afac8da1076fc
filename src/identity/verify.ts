import { assertBytes } from "../guards.js";
import { ed25519Backend } from "./ed25519-backend.js";
import { SignatureError } from "./errors.js";
import { ACCOUNT_ID_LENGTH, SIGNATURE_LENGTH, SignaturePrefix } from "./key-type.js";
import { sr25519Backend } from "./sr25519-backend.js";

/**
 * Verifies a 65-byte RMB signature (`type byte ‖ sig64`) of `message` against a twin's 32-byte account id, which
 * is read as an ed25519 or sr25519 public key according to the type byte (rmb-rs `impl Identity for AccountId32`).
 * Returns nothing on success; otherwise throws `SignatureError` with rmb-rs' message:
 * `invalid signature length, expected: 65, found: N`, `invalid signature type (expected either sr25519 or
 * ed25519)`, `ed25519 signature verification failed` or `sr25519 signature verification failed`.
 * Arguments that are not byte arrays (or an account id that is not 32 bytes) throw `InvalidArgumentError`.
 */
export function verifySignature(accountId: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  assertBytes("accountId", accountId, ACCOUNT_ID_LENGTH);
  assertBytes("message", message);
  assertBytes("signature", signature);
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new SignatureError(
      "length",
      `invalid signature length, expected: ${SIGNATURE_LENGTH}, found: ${signature.length}`,
    );
  }
  const type = signature[0];
  if (type === SignaturePrefix.ed25519) {
    if (!ed25519Backend.verify(accountId, message, signature.subarray(1))) {
      throw new SignatureError("mismatch", "ed25519 signature verification failed");
    }
  } else if (type === SignaturePrefix.sr25519) {
    if (!sr25519Backend.verify(accountId, message, signature.subarray(1))) {
      throw new SignatureError("mismatch", "sr25519 signature verification failed");
    }
  } else {
    throw new SignatureError("type", "invalid signature type (expected either sr25519 or ed25519)");
  }
}

/**
 * `true` when the 65-byte RMB `signature` of `message` verifies for `accountId` (see {@link verifySignature});
 * `false` for a wrong length, unknown type byte or failed verification.
 */
export function isValidSignature(accountId: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes("accountId", accountId, ACCOUNT_ID_LENGTH);
  assertBytes("message", message);
  assertBytes("signature", signature);
  if (signature.length !== SIGNATURE_LENGTH) return false;
  const type = signature[0];
  if (type === SignaturePrefix.ed25519)
    return ed25519Backend.verify(accountId, message, signature.subarray(1));
  if (type === SignaturePrefix.sr25519)
    return sr25519Backend.verify(accountId, message, signature.subarray(1));
  return false;
}
