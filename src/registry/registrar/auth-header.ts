import { decodeStdBase64 } from "./base64.js";

const MAX_UINT64 = 18446744073709551615n;
const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;

/** A decimal `uint64` as Go's `strconv.ParseUint(text, 10, 64)` reads it, or `undefined`. */
export function parseUint64(text: string): bigint | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value > MAX_UINT64 ? undefined : value;
}

/** The checks of an `X-Auth` header that need no account store. */
export interface AuthHeaderLimits {
  /** Current unix time in seconds (may have a fraction). */
  now: number;
  /** Seconds a challenge stays valid after its timestamp (`authValidity`). */
  validity: number;
  /** Seconds a challenge timestamp may lie ahead of `now` (`authFutureSkew`). */
  futureSkew: number;
}

/** A parsed `X-Auth` header, or the HTTP refusal (status and upstream's error text) of the first check that failed. */
export type ParsedAuthHeader =
  | {
      ok: true;
      /** The header as sent (what the replay check remembers). */
      header: string;
      /** The decoded challenge bytes (`"<timestamp>:<twin id>"`), which the signature covers. */
      challenge: Uint8Array;
      timestamp: number;
      twinId: bigint;
      /**
       * The decoded signature, or `undefined` when it is not standard base64. Upstream reports that only after it
       * found the account, so the caller answers `400 Invalid signature encoding` at that point.
       */
      signature: Uint8Array | undefined;
    }
  | { ok: false; status: 400 | 401; error: string };

/**
 * Parses an `X-Auth: base64("<timestamp>:<twin id>"):base64(signature)` header with upstream's AuthMiddleware checks,
 * order, statuses and texts (node-registrar), plus the future-skew check of this build: header present (401), two
 * parts (400), challenge base64 (400), two fields (400), `int64` timestamp (400), not expired (401), not too far ahead
 * (401), `uint64` twin id (400). Pure: the account lookup, signature check and replay check come after it.
 */
export function parseAuthHeader(value: string | undefined, limits: AuthHeaderLimits): ParsedAuthHeader {
  const fail = (status: 400 | 401, error: string): ParsedAuthHeader => ({ ok: false, status, error });
  if (value === undefined || value === "") return fail(401, "Authorization header required");
  const parts = value.split(":");
  if (parts.length !== 2) return fail(400, "Invalid header format. Use 'Challenge:Signature'");
  const challenge = decodeStdBase64(parts[0] as string);
  if (challenge === undefined) return fail(400, "Invalid challenge encoding");
  const fields = Buffer.from(challenge).toString("latin1").split(":");
  if (fields.length !== 2) return fail(400, "Invalid challenge format");
  const [tsText, idText] = fields as [string, string];
  if (!/^[+-]?\d{1,19}$/.test(tsText) || BigInt(tsText) > MAX_INT64 || BigInt(tsText) < MIN_INT64)
    return fail(400, "Invalid timestamp");
  const timestamp = Number(tsText);
  if (limits.now - timestamp > limits.validity) return fail(401, "Expired challenge");
  if (timestamp - limits.now > limits.futureSkew) return fail(401, "Challenge timestamp is in the future");
  const twinId = parseUint64(idText);
  if (twinId === undefined) return fail(400, "Invalid twin ID format");
  return {
    ok: true,
    header: value,
    challenge,
    timestamp,
    twinId,
    signature: decodeStdBase64(parts[1] as string),
  };
}
