import { blake2b } from "@noble/hashes/blake2.js";
import { assertString } from "../guards.js";
import { InvalidSecretError } from "./errors.js";
import { MINI_SECRET_LENGTH, mnemonicToMiniSecret } from "./mnemonic.js";

/** The Substrate development phrase: the root of `//Alice`, `//Bob`, … when a URI has no phrase. */
export const DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/** Length of a derivation junction's chain code. */
export const CHAIN_CODE_LENGTH = 32;

/** One derivation step of a secret URI: `//name` (hard) or `/name` (soft). */
export interface DeriveJunction {
  /** `true` for `//name`, `false` for `/name`. */
  readonly hard: boolean;
  /** The 32-byte chain code (SCALE encoding of the name, zero-padded, or its blake2b-256 when longer). */
  readonly chainCode: Uint8Array;
}

/** A parsed secret URI `<phrase | 0x seed>[//hard | /soft]*[///password]`. */
export interface SecretUri {
  /** The phrase or `0x` hex seed exactly as written (the dev phrase when the URI has none). */
  readonly phrase: string;
  /** The derivation path, in order. */
  readonly junctions: readonly DeriveJunction[];
  /** The `///password`, if any (applies to a mnemonic only; ignored for a hex seed, as in sp-core). */
  readonly password: string | undefined;
}

// sp-core 20 `SECRET_PHRASE_REGEX` / `JUNCTION_REGEX`, with Rust's Unicode `\w`/`\d` spelt out for JS and `.`
// (Rust: anything but `\n`) written as `[^\n]`.
const SECRET_URI_REGEX =
  /^(?<phrase>[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control} ]+)?(?<path>(?:\/\/?[^/]+)*)(?:\/\/\/(?<password>[^\n]*))?$/u;
const JUNCTION_REGEX = /\/(\/?[^/]+)/gu;
const U64_REGEX = /^\+?[0-9]+$/;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const utf8 = new TextEncoder();

/**
 * Parses a secret URI exactly like sp-core `SecretUri::from_str` (used by `Pair::from_string`): an optional phrase of
 * letters, digits and spaces (absent → {@link DEV_PHRASE}), then junctions `//hard` and `/soft`, then an optional
 * `///password`. Throws `InvalidSecretError` (`reason: "format"`) when the string does not have that shape. The
 * phrase itself is not validated here (see {@link secretUriToSeed}).
 */
export function parseSecretUri(uri: string): SecretUri {
  assertString("uri", uri);
  const match = SECRET_URI_REGEX.exec(uri);
  if (match === null) throw new InvalidSecretError("format", "invalid secret uri format");
  const groups = match.groups ?? {};
  const junctions: DeriveJunction[] = [];
  for (const j of (groups.path ?? "").matchAll(JUNCTION_REGEX)) {
    const text = j[1]!;
    junctions.push(text.startsWith("/") ? deriveJunction(text.slice(1), true) : deriveJunction(text, false));
  }
  return { phrase: groups.phrase ?? DEV_PHRASE, junctions, password: groups.password };
}

/**
 * The junction for `code` as sp-core `DeriveJunction::from` builds it: a code of ASCII digits (optionally led by
 * `+`) that fits a u64 is SCALE-encoded as a little-endian u64 (8 bytes); anything else as a string (compact length
 * ‖ UTF-8). The encoding is zero-padded to 32 bytes, or hashed with blake2b-256 when longer.
 */
export function deriveJunction(code: string, hard: boolean): DeriveJunction {
  assertString("code", code);
  let encoded: Uint8Array;
  const n = U64_REGEX.test(code) ? BigInt(code) : undefined;
  if (n !== undefined && n <= U64_MAX) {
    encoded = new Uint8Array(8);
    new DataView(encoded.buffer).setBigUint64(0, n, true);
  } else {
    encoded = scaleEncodeString(code);
  }
  let chainCode: Uint8Array;
  if (encoded.length > CHAIN_CODE_LENGTH) {
    chainCode = blake2b(encoded, { dkLen: CHAIN_CODE_LENGTH });
  } else {
    chainCode = new Uint8Array(CHAIN_CODE_LENGTH);
    chainCode.set(encoded);
  }
  return { hard, chainCode };
}

/**
 * The 32-byte root seed of a parsed URI, like sp-core `Pair::from_string_with_seed`: a `0x` phrase must be exactly
 * 32 bytes of hex (else `InvalidSecretError` `reason: "seed"`, message `invalid seed`) and the password is ignored;
 * otherwise the phrase must be a valid English mnemonic (else `reason: "phrase"`, `invalid bip39 phrase`) and the
 * seed is its mini secret with the URI's password.
 */
export function secretUriToSeed(uri: SecretUri): Uint8Array {
  if (uri.phrase.startsWith("0x")) return hexSeed(uri.phrase.slice(2));
  return mnemonicToMiniSecret(uri.phrase, uri.password ?? "");
}

/** SCALE encoding of a `str`: compact-encoded byte length followed by the UTF-8 bytes. */
export function scaleEncodeString(text: string): Uint8Array {
  const body = utf8.encode(text);
  const prefix = scaleCompactLength(body.length);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

function scaleCompactLength(n: number): Uint8Array {
  if (n < 1 << 6) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return Uint8Array.of(((n << 2) | 0b01) & 0xff, n >> 6);
  if (n < 1 << 30) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, ((n << 2) | 0b10) >>> 0, true);
    return out;
  }
  // big-integer mode: 0b11 | (bytes - 4) << 2, then the minimal little-endian bytes (JS strings never get here)
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.push(v % 256);
  return Uint8Array.of(((bytes.length - 4) << 2) | 0b11, ...bytes);
}

function hexSeed(hex: string): Uint8Array {
  if (hex.length !== MINI_SECRET_LENGTH * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidSecretError("seed", "invalid seed");
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}
