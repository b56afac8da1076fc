/**
 * Error codes carried in `Error` envelopes and in the rmb-peer JSON `err.code` (rmb-rs `ProtocolError::code`).
 */
export const WireErrorCode = {
  /** Free text: relay errors, downstream handler errors. */
  Generic: 0,
  /** Non-binary frame (never replied). */
  InvalidPayloadType: 100,
  /** Undecodable frame (never replied). */
  InvalidPayloadData: 101,
  /**
   * `envelope validation error: message has expired` (rmb-rs's `EnvelopeValidation`); rmb-ts receivers also use it
   * for `envelope validation error: message timestamp is too far in the future`.
   */
  Expired: 102,
  /** `unknown twin id '<id>'`. */
  UnknownTwin: 103,
  /** `invalid envelope signature: <reason>`. */
  InvalidSignature: 104,
  /** `sender twin has no public key`. */
  NoPublicKey: 105,
  /** `e2e error: <reason>`. */
  E2e: 106,
  /** Errors returned by handlers behind the Go SDK's `DefaultRouter`. */
  Handler: 255,
  /** `other: <reason>`. */
  Other: 500,
} as const;

export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];
