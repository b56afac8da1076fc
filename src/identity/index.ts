/**
 * `rmb-ts/identity` — twin keys and signatures, byte-compatible with rmb-rs (sp-core key derivation).
 *
 * A twin signs with ed25519 or sr25519; its account id on tfchain is the raw 32-byte public key. Keys come from a
 * Substrate secret URI (BIP-39 mnemonic or `0x` seed, optional `//hard`, `/soft`, `///password`). RMB signatures are
 * 65 bytes: `0x65` (`e`) or `0x73` (`s`) followed by the 64-byte signature. rmb-peer also derives a secp256k1
 * end-to-end key from a bare mnemonic or seed (see `rmb-ts/crypto`).
 *
 * @example
 * import { KeyType, loadIdentity, verifySignature } from "rmb-ts/identity";
 *
 * const me = loadIdentity("neck stage box cup core magic produce exercise happy rely vocal then", KeyType.Sr25519);
 * me.ss58; // "5EFsy5c74SbTa7yWs9TjRKEEfrHSYq4TDYXuPGThdKsonsFp"
 * const sig = me.signer.sign(digest); // 65 bytes
 * verifySignature(me.publicKey, digest, sig); // throws SignatureError if invalid
 *
 * @module
 */

export { base58Decode, base58Encode } from "./base58.js";
export {
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  Ed25519KeyPair,
  ed25519BackendName,
  ed25519DeriveHardSeed,
  ed25519Verify,
} from "./ed25519.js";
export type { Ed25519BackendName } from "./ed25519-backend.js";
export {
  EncryptionKeyError,
  IdentityError,
  InvalidSecretError,
  type InvalidSecretReason,
  SignatureError,
  type SignatureErrorReason,
  Ss58Error,
} from "./errors.js";
export {
  createSigner,
  type E2eKey,
  e2eSecretFromUri,
  type Identity,
  keyPairFromUri,
  loadIdentity,
  type SigningKeyPair,
  signerFromKeyPair,
} from "./identity.js";
export { ACCOUNT_ID_LENGTH, KeyType, parseKeyType, SIGNATURE_LENGTH, SignaturePrefix } from "./key-type.js";
export {
  generateMnemonic,
  isValidMnemonic,
  MINI_SECRET_LENGTH,
  type MnemonicWordCount,
  mnemonicToBip39Seed,
  mnemonicToEntropy,
  mnemonicToLegacyE2eSecret,
  mnemonicToMiniSecret,
  normalizeMnemonic,
  substrateSeedFromEntropy,
} from "./mnemonic.js";
export {
  CHAIN_CODE_LENGTH,
  DEV_PHRASE,
  type DeriveJunction,
  deriveJunction,
  parseSecretUri,
  type SecretUri,
  secretUriToSeed,
} from "./secret-uri.js";
export type { Signer } from "./signer.js";
export {
  SR25519_SEED_LENGTH,
  SR25519_SIGNATURE_LENGTH,
  Sr25519KeyPair,
  sr25519BackendName,
  sr25519Verify,
} from "./sr25519.js";
export type { Sr25519BackendName } from "./sr25519-backend.js";
export { DEFAULT_SS58_PREFIX, isValidSs58Address, type Ss58Address, ss58Decode, ss58Encode } from "./ss58.js";
export { isValidSignature, verifySignature } from "./verify.js";
