import type { KeyType } from "./key-type.js";

/**
 * Something that signs as a twin. `sign` returns the 65-byte RMB signature (`type byte ‖ sig64`) of the given
 * message bytes; for envelopes the message is the 16-byte MD5 challenge digest, for JWTs the ASCII signing input.
 */
export interface Signer {
  readonly keyType: KeyType;
  /** The 32-byte public key: the twin's account id. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
