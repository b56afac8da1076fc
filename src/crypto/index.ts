/**
 * `rmb-ts/crypto` — RMB end-to-end encryption, byte-compatible with rmb-peer (rmb-rs `src/peer/e2e`).
 *
 * Each twin has a secp256k1 key (published on tfchain as the 33-byte compressed `pk`). Two twins share the key
 * SHA-256(x of the ECDH point); an envelope's `cipher` field is `nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)`.
 *
 * @example
 * import { E2eCipher } from "rmb-ts/crypto";
 *
 * const alice = new E2eCipher(aliceSecret32);
 * const bob = new E2eCipher(bobSecret32);
 * const cipher = alice.encryptFor(bob.publicKey, new TextEncoder().encode("hello world"));
 * bob.decryptFrom(alice.publicKey, cipher); // "hello world" bytes
 *
 * @module
 */

export {
  decrypt,
  deriveSharedKey,
  E2E_CIPHER_DEFAULTS,
  E2E_KEY_LENGTH,
  E2E_MIN_CIPHER_LENGTH,
  E2E_NONCE_LENGTH,
  E2E_TAG_LENGTH,
  E2eCipher,
  type E2eCipherOptions,
  type E2eCipherStats,
  encrypt,
  sharedKeyFromEcdhX,
} from "./e2e.js";
export { E2eError, type E2eErrorReason } from "./errors.js";
export {
  compressSecp256k1PublicKey,
  isValidSecp256k1PublicKey,
  isValidSecp256k1SecretKey,
  SECP256K1_COMPRESSED_PUBLIC_KEY_LENGTH,
  SECP256K1_SECRET_KEY_LENGTH,
  SECP256K1_UNCOMPRESSED_PUBLIC_KEY_LENGTH,
  Secp256k1KeyPair,
  secp256k1Ecdh,
  secp256k1PublicKey,
} from "./secp256k1.js";
