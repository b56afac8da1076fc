import {
  type Address,
  createEnvelope,
  type Envelope,
  encodeEnvelope,
  WireErrorCode,
} from "../protocol/index.js";

/** Lifetime of relay error envelopes (rmb-rs `build_error_envelope`). */
export const ERROR_ENVELOPE_EXPIRATION = 300;

/**
 * The error envelope a relay sends back for a refused request (wire spec §4.6): same uid, `timestamp = now`,
 * `expiration = 300`, `Error{code: 0, message}`, destination = the sender's session address, and no source,
 * signature, tags, schema or payload. Returns `undefined` when `offending` is not a Request — relays never
 * answer responses, errors or pings.
 */
export function buildErrorEnvelope(
  offending: Envelope,
  message: string,
  now: number,
  destination: Address | undefined,
): Envelope | undefined {
  if (offending.message?.kind !== "request") return undefined;
  const env = createEnvelope({
    uid: offending.uid,
    timestamp: now,
    expiration: ERROR_ENVELOPE_EXPIRATION,
    message: { kind: "error", code: WireErrorCode.Generic, message },
  });
  if (destination !== undefined) env.destination = { ...destination };
  return env;
}

/** {@link buildErrorEnvelope}, encoded; `undefined` when no error is due. */
export function encodeErrorEnvelope(
  offending: Envelope,
  message: string,
  now: number,
  destination: Address | undefined,
): Uint8Array | undefined {
  const env = buildErrorEnvelope(offending, message, now, destination);
  return env === undefined ? undefined : encodeEnvelope(env);
}
