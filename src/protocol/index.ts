/**
 * The RMB protocol core: pure functions, no sockets, no Redis.
 *
 * - `encodeEnvelope` / `decodeEnvelope`: the protobuf codec of `types.proto`, keeping explicit presence.
 * - `envelopeDigest`, `signEnvelope`, `verifyEnvelope`: the MD5 challenge and 65-byte signatures.
 * - `createJwt`, `parseJwt`, `verifyJwt`: relay login tokens.
 * - `stamp`, `remainingTtl`: lifetime rules; `parseSessionId`/`formatSessionId`: `"twin"` / `"twin:sid"`.
 *
 * @example
 * ```ts
 * import { createEnvelope, signEnvelope, encodeEnvelope } from "rmb-ts/protocol";
 * const env = createEnvelope({ uid: crypto.randomUUID(), timestamp: unixNow(), expiration: 300,
 *   source: { twin: 11 }, destination: { twin: 22 }, message: { kind: "request", command: "echo" },
 *   payload: { kind: "plain", data: new TextEncoder().encode("hi") } });
 * const bytes = encodeEnvelope(signEnvelope(env, signer));
 * ```
 */
export {
  addressIsSession,
  addressOfSession,
  formatSessionId,
  parseSessionId,
  parseTwinId,
  type SessionId,
  sameSession,
  sessionOfAddress,
} from "./address.js";
export { envelopeChallenge, envelopeDigest } from "./challenge.js";
export {
  type Address,
  createEnvelope,
  type Envelope,
  EnvelopeField,
  type EnvelopeMessage,
  type EnvelopePayload,
} from "./envelope.js";
export { decodeEnvelope, encodeEnvelope } from "./envelope-codec.js";
export { signEnvelope, verifyEnvelope } from "./envelope-signature.js";
export { WireErrorCode } from "./error-codes.js";
export { AddressError, DecodeError, EnvelopeSignatureError, JwtError, JwtFailure } from "./errors.js";
export {
  type CreateJwtOptions,
  createJwt,
  DEFAULT_JWT_TTL,
  JWT_HEADER,
  JWT_HEADER_TYPED,
  type JwtClaims,
  type ParsedJwt,
  parseJwt,
  type VerifyJwtOptions,
  verifyJwt,
  verifyParsedJwt,
} from "./jwt.js";
export { FAIL_FAST_TAG, hasFailFast } from "./tags.js";
export {
  DEFAULT_MAX_CLOCK_SKEW,
  isExpired,
  isFarFuture,
  remainingTtl,
  stamp,
  unixNow,
} from "./ttl.js";
