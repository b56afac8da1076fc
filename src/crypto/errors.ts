import { RmbError } from "../errors.js";

/**
 * Why an end-to-end operation failed:
 * - `cipher`: the cipher data is too short or does not authenticate (wrong key, tampered bytes);
 * - `public-key`: the peer's secp256k1 public key is not a valid point;
 * - `secret-key`: the secret is not a valid secp256k1 scalar (0 or ≥ the group order).
 */
export type E2eErrorReason = "cipher" | "public-key" | "secret-key";

/**
 * End-to-end encryption failed. Code `RMB_ERR_E2E`; messages are rmb-rs' (`src/peer/e2e`) texts, which rmb-peer
 * reports prefixed with `e2e error: `:
 * `invalid cipher data`, `k256: malformed public key`, `k256: malformed or out-of-range secret key`.
 */
export class E2eError extends RmbError {
  /** What went wrong; see {@link E2eErrorReason}. */
  readonly reason: E2eErrorReason;

  constructor(reason: E2eErrorReason, message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_E2E", message, options);
    this.reason = reason;
  }
}
