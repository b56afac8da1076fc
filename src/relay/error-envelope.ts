import {
  type Address,
  createEnvelope,
  type Envelope,
  encodeEnvelope,
  WireErrorCode,
} from "../protocol/index.js";
import { RelayErrorText } from "./errors.js";

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

/** The text of a drop report: `session queue is full, dropped the response from twin 5` (or `the error`). */
export function droppedAnswerText(kind: "response" | "error", twin: number): string {
  return `${RelayErrorText.AnswerDropped} ${kind} from twin ${twin}`;
}

/**
 * Whether a message dropped from a session's full queue is worth a drop report to that session: a response or error
 * from a twin (an answer to one of its calls), or one of the relay's own error envelopes (twin 0).
 */
export function isReportableDrop(dropped: Envelope): boolean {
  const kind = dropped.message?.kind;
  const twin = dropped.source?.twin ?? 0;
  return kind === "error" || (kind === "response" && twin !== 0);
}

/**
 * A drop report (this build, not in rmb-rs): the relay dropped a response or error from a session's full queue, and
 * tells that session — the caller — with an envelope shaped like §4.6's: the dropped message's uid, `timestamp =
 * now`, `expiration = 300`, `Error{code: 0, message: droppedAnswerText(…)}`, destination = the session, no source or
 * signature. The caller's pending call with that uid fails with the relay's text instead of timing out. A dropped
 * error envelope of the relay itself is queued again as it was. Returns `undefined` when
 * {@link isReportableDrop} is false.
 */
export function buildDropReport(dropped: Envelope, now: number, destination: Address): Envelope | undefined {
  if (!isReportableDrop(dropped)) return undefined;
  const twin = dropped.source?.twin ?? 0;
  if (twin === 0) return { ...dropped, destination: { ...destination } };
  const kind = dropped.message?.kind === "error" ? "error" : "response";
  const env = createEnvelope({
    uid: dropped.uid,
    timestamp: now,
    expiration: ERROR_ENVELOPE_EXPIRATION,
    message: { kind: "error", code: WireErrorCode.Generic, message: droppedAnswerText(kind, twin) },
  });
  env.destination = { ...destination };
  return env;
}
