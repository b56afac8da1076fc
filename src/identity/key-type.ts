import { InvalidArgumentError } from "../errors.js";

/** Signing key types used by twins. The chain does not record which one a twin uses; the signature says. */
export const KeyType = {
  Ed25519: "ed25519",
  Sr25519: "sr25519",
} as const;

export type KeyType = (typeof KeyType)[keyof typeof KeyType];

/** First byte of a 65-byte RMB signature: ASCII `e` for ed25519, `s` for sr25519 (rmb-rs `SIGNATURE_LENGTH = 65`). */
export const SignaturePrefix = {
  ed25519: 0x65,
  sr25519: 0x73,
} as const;

/** Length of an RMB signature: type byte followed by the 64-byte signature. */
export const SIGNATURE_LENGTH = 65;

/** Length of an account id (the raw public key of the signing key). */
export const ACCOUNT_ID_LENGTH = 32;

/**
 * Parses a key type name case-insensitively (`ed25519`, `SR25519`, …) as rmb-rs `KeyType::from_str` does.
 * Anything else throws `InvalidArgumentError` (argument `keyType`, `invalid key type`).
 */
export function parseKeyType(text: string): KeyType {
  const lower = typeof text === "string" ? text.toLowerCase() : "";
  if (lower === KeyType.Ed25519 || lower === KeyType.Sr25519) return lower;
  throw new InvalidArgumentError("keyType", "invalid key type (expected ed25519 or sr25519)");
}
