import { InvalidArgumentError, RmbError } from "../errors.js";
import type { Signer } from "../identity/signer.js";
import { verifySignature } from "../identity/verify.js";
import { JwtError, JwtFailure } from "./errors.js";
import { checkUint32 } from "./protobuf-writer.js";
import { unixNow } from "./ttl.js";

/**
 * Relay login tokens (rmb-rs `src/token`): `b64url(header).b64url(claims).b64url(sig65)` without padding,
 * header `{"alg":"RS512"}` (a fixed name, not RSA), signature = 65-byte RMB signature over the ASCII
 * `header.claims` text. The token is sent as the whole raw query string of the websocket URL.
 */

/** The header rmb-rs writes. */
export const JWT_HEADER = '{"alg":"RS512"}';
/** The header the official TS client and the Go SDK write. */
export const JWT_HEADER_TYPED = '{"alg":"RS512","typ":"JWT"}';
/** Token lifetime used by rmb-peer (seconds). */
export const DEFAULT_JWT_TTL = 300;

export interface JwtClaims {
  /** Twin id. */
  sub: number;
  /** Session id; `undefined` = no session (`null` on the wire). */
  sid?: string;
  /** Issued at (unix seconds). */
  iat: number;
  /** Expires at (unix seconds); the token is still valid when `now == exp`. */
  exp: number;
}

export interface CreateJwtOptions {
  twin: number;
  sid?: string;
  /** Issued-at time. @default now */
  iat?: number;
  /** Lifetime in seconds, counted from `iat`. @default 300 */
  ttl?: number;
  /** Header text. @default JWT_HEADER (`{"alg":"RS512"}`) */
  header?: string;
}

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data as Uint8Array).toString("base64url");
}

/** Creates a token in rmb-rs's layout: claims `{"sub":…,"sid":…,"iat":…,"exp":…}`. */
export function createJwt(signer: Signer, options: CreateJwtOptions): string {
  checkUint32("twin", options.twin);
  const iat = options.iat ?? unixNow();
  const ttl = options.ttl ?? DEFAULT_JWT_TTL;
  if (!Number.isSafeInteger(iat) || iat < 0) throw new InvalidArgumentError("iat", "expected unix seconds");
  if (!Number.isSafeInteger(ttl) || ttl < 0) throw new InvalidArgumentError("ttl", "expected seconds >= 0");
  const claims = `{"sub":${options.twin},"sid":${options.sid === undefined ? "null" : JSON.stringify(options.sid)},"iat":${iat},"exp":${iat + ttl}}`;
  const input = `${b64url(options.header ?? JWT_HEADER)}.${b64url(claims)}`;
  const signature = signer.sign(Buffer.from(input, "ascii"));
  return `${input}.${b64url(signature)}`;
}

/** A token split and parsed, not yet verified. */
export interface ParsedJwt {
  header: Record<string, unknown>;
  claims: JwtClaims;
  /** The ASCII `header.claims` text the signature covers. */
  signingInput: string;
  signature: Uint8Array;
}

function decodeSegment(segment: string, what: string): Buffer {
  if (!B64URL_RE.test(segment) || segment.length % 4 === 1) {
    throw new JwtError(JwtFailure.Malformed, `jwt: invalid base64 in ${what}`);
  }
  return Buffer.from(segment, "base64url");
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (cause) {
    throw new JwtError(JwtFailure.Malformed, `jwt: invalid json in ${what}`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JwtError(JwtFailure.Malformed, `jwt: ${what} is not a json object`);
  }
  return value as Record<string, unknown>;
}

function integerClaim(claims: Record<string, unknown>, name: string, max: number): number {
  const v = claims[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new JwtError(JwtFailure.Malformed, `jwt: claim '${name}' must be an integer in [0, ${max}]`);
  }
  return v;
}

/** Splits and parses a token without checking its signature or expiry (rmb-rs `parse_unverified`). */
export function parseJwt(token: string): ParsedJwt {
  if (typeof token !== "string") throw new JwtError(JwtFailure.Malformed, "jwt: token is not a string");
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError(JwtFailure.Malformed, "jwt: expected three '.' separated parts");
  const [h, c, s] = parts as [string, string, string];
  const header = parseJson(decodeSegment(h, "header"), "header");
  if (header.alg !== "RS512") {
    throw new JwtError(
      JwtFailure.Algorithm,
      `jwt: expected algorithm RS512 but found ${JSON.stringify(header.alg)}`,
    );
  }
  if (header.typ !== undefined && header.typ !== "JWT")
    throw new JwtError(JwtFailure.Malformed, "jwt: bad 'typ'");
  if (header.cty !== undefined && header.cty !== "JWT")
    throw new JwtError(JwtFailure.Malformed, "jwt: bad 'cty'");
  const raw = parseJson(decodeSegment(c, "claims"), "claims");
  const sid = raw.sid;
  if (sid !== undefined && sid !== null && typeof sid !== "string") {
    throw new JwtError(JwtFailure.Malformed, "jwt: claim 'sid' must be a string or null");
  }
  const claims: JwtClaims = {
    sub: integerClaim(raw, "sub", 0xffffffff),
    iat: integerClaim(raw, "iat", Number.MAX_SAFE_INTEGER),
    exp: integerClaim(raw, "exp", Number.MAX_SAFE_INTEGER),
  };
  if (typeof sid === "string") claims.sid = sid;
  return { header, claims, signingInput: `${h}.${c}`, signature: decodeSegment(s, "signature") };
}

export interface VerifyJwtOptions {
  /** The twin's account id (32-byte public key); the signature's type byte picks ed25519 or sr25519. */
  accountId: Uint8Array;
  /** Unix seconds to check `exp` against. @default now */
  now?: number;
}

/** Checks expiry (`now > exp` is expired) and the signature of a parsed token; throws `JwtError`. */
export function verifyParsedJwt(jwt: ParsedJwt, options: VerifyJwtOptions): JwtClaims {
  const now = options.now ?? unixNow();
  if (now > jwt.claims.exp) throw new JwtError(JwtFailure.Expired, "jwt has expired");
  try {
    verifySignature(options.accountId, Buffer.from(jwt.signingInput, "ascii"), jwt.signature);
  } catch (cause) {
    const detail = cause instanceof RmbError ? cause.message : "signature verification failed";
    throw new JwtError(JwtFailure.Signature, `jwt: ${detail}`, { cause });
  }
  return jwt.claims;
}

/** `parseJwt` followed by `verifyParsedJwt`. */
export function verifyJwt(token: string, options: VerifyJwtOptions): JwtClaims {
  return verifyParsedJwt(parseJwt(token), options);
}
