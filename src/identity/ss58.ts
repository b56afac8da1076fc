import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../errors.js";
import { assertBytes, assertString } from "../guards.js";
import { base58Decode, base58Encode } from "./base58.js";
import { Ss58Error } from "./errors.js";
import { ACCOUNT_ID_LENGTH } from "./key-type.js";

/** SS58 network prefix of tfchain (`SS58Prefix = 42`, the generic Substrate prefix): addresses start with `5`. */
export const DEFAULT_SS58_PREFIX = 42;

/** Largest SS58 prefix (14 bits). */
const MAX_SS58_PREFIX = 16383;
const CHECKSUM_LENGTH = 2;
const SS58_CONTEXT = new TextEncoder().encode("SS58PRE");

/** A decoded SS58 address. */
export interface Ss58Address {
  /** The 32-byte account id (public key). */
  readonly publicKey: Uint8Array;
  /** The network prefix (42 for tfchain). */
  readonly prefix: number;
}

/**
 * Encodes a 32-byte account id as an SS58 address: base58(prefix ‖ key ‖ checksum), where the checksum is the
 * first 2 bytes of blake2b-512("SS58PRE" ‖ prefix ‖ key).
 *
 * @param publicKey - the 32-byte account id
 * @param prefix - network prefix, 0–16383 except the reserved 46 and 47
 * @default prefix 42 ({@link DEFAULT_SS58_PREFIX})
 */
export function ss58Encode(publicKey: Uint8Array, prefix: number = DEFAULT_SS58_PREFIX): string {
  assertBytes("publicKey", publicKey, ACCOUNT_ID_LENGTH);
  assertPrefix("prefix", prefix);
  const prefixBytes = encodePrefix(prefix);
  const payload = new Uint8Array(prefixBytes.length + ACCOUNT_ID_LENGTH + CHECKSUM_LENGTH);
  payload.set(prefixBytes, 0);
  payload.set(publicKey, prefixBytes.length);
  const body = payload.subarray(0, prefixBytes.length + ACCOUNT_ID_LENGTH);
  payload.set(checksum(body), body.length);
  return base58Encode(payload);
}

/**
 * Decodes an SS58 address of a 32-byte account id. Throws `Ss58Error` when the text is not base58, the length or
 * prefix is invalid, the checksum does not match, or the prefix differs from `expectedPrefix` (when given).
 */
export function ss58Decode(address: string, expectedPrefix?: number): Ss58Address {
  assertString("address", address);
  if (expectedPrefix !== undefined) assertPrefix("expectedPrefix", expectedPrefix);
  let raw: Uint8Array;
  try {
    raw = base58Decode(address);
  } catch (cause) {
    throw new Ss58Error("invalid ss58 address: not base58", { cause });
  }
  const first = raw[0];
  if (first === undefined) throw new Ss58Error("invalid ss58 address: empty");
  if (first >= 128) throw new Ss58Error(`invalid ss58 address: invalid prefix byte ${first}`);
  const prefixLength = first < 64 ? 1 : 2;
  if (raw.length !== prefixLength + ACCOUNT_ID_LENGTH + CHECKSUM_LENGTH) {
    throw new Ss58Error(`invalid ss58 address: bad length ${raw.length} for a 32-byte account id`);
  }
  const prefix = prefixLength === 1 ? first : decodeTwoBytePrefix(first, raw[1]!);
  const body = raw.subarray(0, prefixLength + ACCOUNT_ID_LENGTH);
  const expected = checksum(body);
  if (raw[body.length] !== expected[0] || raw[body.length + 1] !== expected[1]) {
    throw new Ss58Error("invalid ss58 address: checksum mismatch");
  }
  if (expectedPrefix !== undefined && prefix !== expectedPrefix) {
    throw new Ss58Error(`invalid ss58 address: prefix ${prefix}, expected ${expectedPrefix}`);
  }
  return { publicKey: raw.slice(prefixLength, prefixLength + ACCOUNT_ID_LENGTH), prefix };
}

/** `true` when `address` decodes as an SS58 address of a 32-byte account id (with `expectedPrefix`, if given). */
export function isValidSs58Address(address: string, expectedPrefix?: number): boolean {
  try {
    ss58Decode(address, expectedPrefix);
    return true;
  } catch (err) {
    if (err instanceof Ss58Error) return false;
    throw err;
  }
}

function assertPrefix(argument: string, prefix: number): void {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > MAX_SS58_PREFIX || prefix === 46 || prefix === 47) {
    throw new InvalidArgumentError(
      argument,
      `expected an SS58 prefix in [0, ${MAX_SS58_PREFIX}] other than 46/47`,
    );
  }
}

function encodePrefix(prefix: number): Uint8Array {
  if (prefix < 64) return Uint8Array.of(prefix);
  return Uint8Array.of(((prefix & 0xfc) >> 2) | 0x40, (prefix >> 8) | ((prefix & 0x03) << 6));
}

function decodeTwoBytePrefix(b0: number, b1: number): number {
  const lower = ((b0 << 2) | (b1 >> 6)) & 0xff;
  const upper = b1 & 0x3f;
  return lower | (upper << 8);
}

function checksum(body: Uint8Array): Uint8Array {
  return createHash("blake2b512").update(SS58_CONTEXT).update(body).digest().subarray(0, CHECKSUM_LENGTH);
}
