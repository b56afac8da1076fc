import { RmbError } from "../errors.js";

/** Bytes that are not a valid protobuf message of the expected type. Never anything else is thrown by decoders. */
export class DecodeError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_DECODE", message, options);
  }
}

/** Why a relay JWT was refused. `reason` tells which check failed; the message is the rmb-rs detail text. */
export const JwtFailure = {
  Malformed: "malformed",
  Algorithm: "algorithm",
  Expired: "expired",
  Signature: "signature",
} as const;
export type JwtFailure = (typeof JwtFailure)[keyof typeof JwtFailure];

const JWT_CODES: Record<JwtFailure, string> = {
  malformed: "RMB_ERR_JWT_MALFORMED",
  algorithm: "RMB_ERR_JWT_ALGORITHM",
  expired: "RMB_ERR_JWT_EXPIRED",
  signature: "RMB_ERR_JWT_SIGNATURE",
};

/**
 * A relay login token that cannot be accepted. The relay answers `401 invalid jwt: <message>`.
 */
export class JwtError extends RmbError {
  readonly reason: JwtFailure;
  constructor(reason: JwtFailure, message: string, options?: { cause?: unknown }) {
    super(JWT_CODES[reason], message, options);
    this.reason = reason;
  }
}

/** A session id or address string that does not parse (`"<twin>"` or `"<twin>:<sid>"`). */
export class AddressError extends RmbError {
  constructor(message: string) {
    super("RMB_ERR_ADDRESS", message);
  }
}

/**
 * An envelope whose signature is missing or does not verify. rmb-peer answers code 104
 * `invalid envelope signature: <message>`.
 */
export class EnvelopeSignatureError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_ENVELOPE_SIGNATURE", message, options);
  }
}
