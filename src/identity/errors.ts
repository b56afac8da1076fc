import { RmbError } from "../errors.js";

/** Base class of the errors thrown by `rmb-ts/identity`. */
export class IdentityError extends RmbError {}

/**
 * Why a secret URI was rejected, after sp-core's `SecretStringError`:
 * - `format`: the string is not `<phrase or 0x seed>[//hard][/soft][///password]`;
 * - `phrase`: not a valid English BIP-39 mnemonic (unknown word, word count or checksum);
 * - `seed`: a `0x` seed that is not exactly 32 bytes of hex;
 * - `path`: a derivation path the key type cannot follow (ed25519 has no soft derivation).
 */
export type InvalidSecretReason = "format" | "phrase" | "seed" | "path";

/**
 * A mnemonic, hex seed or secret URI that cannot give a key. Code `RMB_ERR_INVALID_SECRET`.
 *
 * Messages: `invalid secret uri format`, `invalid bip39 phrase`, `invalid seed`,
 * `invalid derivation path: soft junctions are not supported by ed25519`.
 */
export class InvalidSecretError extends IdentityError {
  /** What is wrong with the secret; see {@link InvalidSecretReason}. */
  readonly reason: InvalidSecretReason;

  constructor(reason: InvalidSecretReason, message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_INVALID_SECRET", message, options);
    this.reason = reason;
  }
}

/**
 * The secp256k1 end-to-end encryption key cannot be built from the secret, as rmb-peer fails at start-up with
 * `failed to initialize encryption key` (it accepts only a bare mnemonic or a `0x` hex seed, no `//` paths).
 * Code `RMB_ERR_ENCRYPTION_KEY`; the message is `failed to initialize encryption key: <reason>` where the reason is
 * rmb-rs' text (`invalid bip39 phrase`, `invalid seed`, `k256: malformed or out-of-range secret key`).
 */
export class EncryptionKeyError extends IdentityError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super("RMB_ERR_ENCRYPTION_KEY", `failed to initialize encryption key: ${reason}`, options);
  }
}

/**
 * Why a signature was rejected:
 * - `length`: not 65 bytes;
 * - `type`: the first byte is neither `0x65` (`e`, ed25519) nor `0x73` (`s`, sr25519);
 * - `mismatch`: well-formed but does not verify for the account id and message.
 */
export type SignatureErrorReason = "length" | "type" | "mismatch";

/**
 * A 65-byte RMB signature was rejected. Code `RMB_ERR_SIGNATURE`; the messages are rmb-rs' own:
 * `invalid signature length, expected: 65, found: N`,
 * `invalid signature type (expected either sr25519 or ed25519)`,
 * `ed25519 signature verification failed`, `sr25519 signature verification failed`.
 */
export class SignatureError extends IdentityError {
  /** What is wrong with the signature; see {@link SignatureErrorReason}. */
  readonly reason: SignatureErrorReason;

  constructor(reason: SignatureErrorReason, message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_SIGNATURE", message, options);
    this.reason = reason;
  }
}

/** A string is not a valid SS58 address for a 32-byte account id. Code `RMB_ERR_SS58`. */
export class Ss58Error extends IdentityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_SS58", message, options);
  }
}
