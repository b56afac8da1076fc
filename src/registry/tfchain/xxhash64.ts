/**
 * XXH64 (Yann Collet's xxHash, 64-bit variant) and Substrate's `twox` hashers built on it. Written from the
 * algorithm's description with `BigInt` arithmetic modulo 2^64: not fast, but Substrate only hashes short pallet and
 * storage names with it, and {@link twox128} results for constant names are cached by the callers.
 */

const MASK = 0xffff_ffff_ffff_ffffn;
const PRIME1 = 0x9e37_79b1_85eb_ca87n;
const PRIME2 = 0xc2b2_ae3d_27d4_eb4fn;
const PRIME3 = 0x1656_67b1_9e37_79f9n;
const PRIME4 = 0x85eb_ca77_c2b2_ae63n;
const PRIME5 = 0x27d4_eb2f_1656_67c5n;

function rotl(value: bigint, bits: bigint): bigint {
  return ((value << bits) | (value >> (64n - bits))) & MASK;
}

function round(acc: bigint, lane: bigint): bigint {
  const mixed = (acc + lane * PRIME2) & MASK;
  return (rotl(mixed, 31n) * PRIME1) & MASK;
}

function mergeRound(acc: bigint, lane: bigint): bigint {
  return ((acc ^ round(0n, lane)) * PRIME1 + PRIME4) & MASK;
}

/**
 * The XXH64 hash of `data` with a 64-bit `seed` (default 0), as an unsigned 64-bit `bigint`.
 *
 * @example
 * xxhash64(new TextEncoder().encode("abc")); // 0x44bc2cf5ad770999n
 */
export function xxhash64(data: Uint8Array, seed = 0n): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = data.length;
  const seed64 = BigInt.asUintN(64, seed);
  let offset = 0;
  let hash: bigint;
  if (length >= 32) {
    let v1 = (seed64 + PRIME1 + PRIME2) & MASK;
    let v2 = (seed64 + PRIME2) & MASK;
    let v3 = seed64;
    let v4 = (seed64 - PRIME1) & MASK;
    const lastStripe = length - 32;
    while (offset <= lastStripe) {
      v1 = round(v1, view.getBigUint64(offset, true));
      v2 = round(v2, view.getBigUint64(offset + 8, true));
      v3 = round(v3, view.getBigUint64(offset + 16, true));
      v4 = round(v4, view.getBigUint64(offset + 24, true));
      offset += 32;
    }
    hash = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    hash = mergeRound(hash, v1);
    hash = mergeRound(hash, v2);
    hash = mergeRound(hash, v3);
    hash = mergeRound(hash, v4);
  } else {
    hash = (seed64 + PRIME5) & MASK;
  }
  hash = (hash + BigInt(length)) & MASK;
  while (offset + 8 <= length) {
    hash ^= round(0n, view.getBigUint64(offset, true));
    hash = (rotl(hash, 27n) * PRIME1 + PRIME4) & MASK;
    offset += 8;
  }
  if (offset + 4 <= length) {
    hash ^= (BigInt(view.getUint32(offset, true)) * PRIME1) & MASK;
    hash = (rotl(hash, 23n) * PRIME2 + PRIME3) & MASK;
    offset += 4;
  }
  while (offset < length) {
    hash ^= (BigInt(data[offset] as number) * PRIME5) & MASK;
    hash = (rotl(hash, 11n) * PRIME1) & MASK;
    offset += 1;
  }
  hash ^= hash >> 33n;
  hash = (hash * PRIME2) & MASK;
  hash ^= hash >> 29n;
  hash = (hash * PRIME3) & MASK;
  hash ^= hash >> 32n;
  return hash;
}

/**
 * Substrate's `twox_64`/`twox_128`/`twox_256`: `rounds` XXH64 hashes of `data` with seeds 0, 1, …, each written
 * little-endian, concatenated (`8 × rounds` bytes).
 */
export function twox(data: Uint8Array, rounds: number): Uint8Array {
  const out = new Uint8Array(8 * rounds);
  const view = new DataView(out.buffer);
  for (let i = 0; i < rounds; i++) view.setBigUint64(8 * i, xxhash64(data, BigInt(i)), true);
  return out;
}

/** Substrate `twox_64`: 8 bytes, XXH64 seed 0 little-endian. */
export function twox64(data: Uint8Array): Uint8Array {
  return twox(data, 1);
}

/** Substrate `twox_128`: 16 bytes, XXH64 seeds 0 and 1 little-endian (storage prefixes of pallets and items). */
export function twox128(data: Uint8Array): Uint8Array {
  return twox(data, 2);
}
