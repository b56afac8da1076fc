import { InvalidArgumentError } from "../errors.js";
import { assertBytes, assertString } from "../guards.js";

/** The Bitcoin base58 alphabet (as used by SS58). */
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

const DIGIT_OF = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT_OF[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as Bitcoin-alphabet base58; every leading zero byte becomes a leading `1`. */
export function base58Encode(bytes: Uint8Array): string {
  assertBytes("bytes", bytes);
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // base58 digits, least significant first; log(256)/log(58) < 1.37
  const digits = new Uint8Array(Math.ceil((bytes.length - zeros) * 1.37) + 1);
  let used = 0;
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!;
    for (let j = 0; j < used; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits[used++] = carry % 58;
      carry = (carry / 58) | 0;
    }
  }
  let out = "1".repeat(zeros);
  for (let j = used - 1; j >= 0; j--) out += ALPHABET[digits[j]!];
  return out;
}

/**
 * Decodes a Bitcoin-alphabet base58 string. Throws `InvalidArgumentError` (argument `text`) naming the first
 * character that is not in the alphabet.
 */
export function base58Decode(text: string): Uint8Array {
  assertString("text", text);
  let zeros = 0;
  while (zeros < text.length && text.charCodeAt(zeros) === 0x31 /* '1' */) zeros++;
  // bytes, least significant first; log(58)/log(256) < 0.74
  const bytes = new Uint8Array(Math.ceil((text.length - zeros) * 0.74) + 1);
  let used = 0;
  for (let i = zeros; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? DIGIT_OF[code]! : -1;
    if (digit < 0) {
      throw new InvalidArgumentError(
        "text",
        `invalid base58 character ${JSON.stringify(text[i])} at index ${i}`,
      );
    }
    let carry = digit;
    for (let j = 0; j < used; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes[used++] = carry & 0xff;
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + used);
  for (let j = 0; j < used; j++) out[zeros + j] = bytes[used - 1 - j]!;
  return out;
}
