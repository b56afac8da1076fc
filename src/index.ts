/**
 * rmb-ts — the Reliable Message Bus of the ThreeFold grid, in TypeScript, byte-compatible with rmb-rs.
 *
 * The package root re-exports the most used names; the full surfaces are the subpath modules
 * `rmb-ts/protocol` (envelope codec, challenge, JWT), `rmb-ts/identity` (keys, signatures) and `rmb-ts/crypto`
 * (end-to-end encryption).
 *
 * @example
 * ```ts
 * import { loadIdentity, createEnvelope, signEnvelope, encodeEnvelope, unixNow } from "rmb-ts";
 * const me = loadIdentity("<mnemonic>", "sr25519");
 * const bytes = encodeEnvelope(signEnvelope(createEnvelope({ uid: "1", timestamp: unixNow(), expiration: 60,
 *   source: { twin: 1 }, destination: { twin: 2 }, message: { kind: "request", command: "echo" } }), me.signer));
 * ```
 */
export { E2eCipher, E2eError } from "./crypto/index.js";
export { InvalidArgumentError, RmbError } from "./errors.js";
export {
  createSigner,
  type Identity,
  KeyType,
  loadIdentity,
  SignatureError,
  type Signer,
  verifySignature,
} from "./identity/index.js";
export {
  type Address,
  createEnvelope,
  createJwt,
  DecodeError,
  decodeEnvelope,
  type Envelope,
  EnvelopeSignatureError,
  encodeEnvelope,
  JwtError,
  signEnvelope,
  unixNow,
  verifyEnvelope,
  verifyJwt,
  WireErrorCode,
} from "./protocol/index.js";
