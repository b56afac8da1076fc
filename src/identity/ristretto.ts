/**
 * Validity checks on ristretto255 encodings (RFC 9496 §4.3.1) and sr25519 signature scalars, done in JS so that
 * malformed input never reaches the schnorrkel WebAssembly module, which panics (trap, console noise, leaked
 * shadow stack) instead of returning an error for an undecodable public key or signature.
 */

const P = 2n ** 255n - 19n;
/** Edwards d = -121665/121666 mod p. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/** sqrt(-1) mod p. */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = (() => {
  let l = 2n ** 252n + 27742317777372353535851937790883648493n;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(l & 0xffn);
    l >>= 8n;
  }
  return out;
})();

function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

/** x^(2^k) mod p. */
function pow2k(x: bigint, k: number): bigint {
  let r = x;
  for (let i = 0; i < k; i++) r = (r * r) % P;
  return r;
}

/** x^((p-5)/8) = x^(2^252 - 3) mod p, by the usual addition chain (252 squarings, 11 multiplications). */
function powP58(x: bigint): bigint {
  const z = mod(x);
  const z2 = (z * z) % P;
  const z9 = (pow2k(z2, 2) * z) % P;
  const z11 = (z9 * z2) % P;
  const z5_0 = (((z11 * z11) % P) * z9) % P; // z^(2^5 - 1)
  const z10_0 = (pow2k(z5_0, 5) * z5_0) % P;
  const z20_0 = (pow2k(z10_0, 10) * z10_0) % P;
  const z40_0 = (pow2k(z20_0, 20) * z20_0) % P;
  const z50_0 = (pow2k(z40_0, 10) * z10_0) % P;
  const z100_0 = (pow2k(z50_0, 50) * z50_0) % P;
  const z200_0 = (pow2k(z100_0, 100) * z100_0) % P;
  const z250_0 = (pow2k(z200_0, 50) * z50_0) % P;
  return (pow2k(z250_0, 2) * z) % P; // z^(2^252 - 4 + 1)
}

const isNegative = (x: bigint): boolean => (mod(x) & 1n) === 1n;

/** RFC 9496 SQRT_RATIO_M1(u, v): whether u/v is square, and the non-negative root (or root of i·u/v). */
function sqrtRatioM1(u: bigint, v: bigint): { wasSquare: boolean; root: bigint } {
  const v3 = mod(v * v * v);
  const v7 = mod(v3 * v3 * v);
  let r = mod(u * v3 * powP58(u * v7));
  const check = mod(v * r * r);
  const correct = check === mod(u);
  const flipped = check === mod(-u);
  const flippedI = check === mod(-u * SQRT_M1);
  if (flipped || flippedI) r = mod(r * SQRT_M1);
  if (isNegative(r)) r = mod(-r);
  return { wasSquare: correct || flipped, root: r };
}

/**
 * `true` when the 32 bytes are a canonical ristretto255 encoding (what curve25519-dalek `decompress` and so
 * schnorrkel `PublicKey::from_bytes` accept). Costs one field exponentiation (~0.15 ms); callers cache results.
 */
export function isValidRistrettoEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(bytes[i]!);
  if (s >= P || (s & 1n) === 1n) return false; // not canonical, or negative
  const ss = mod(s * s);
  const u1 = mod(1n - ss);
  const u2 = mod(1n + ss);
  const u2Sqr = mod(u2 * u2);
  const v = mod(-(D * mod(u1 * u1)) - u2Sqr);
  const { wasSquare, root: invSqrt } = sqrtRatioM1(1n, mod(v * u2Sqr));
  const denX = mod(invSqrt * u2);
  const denY = mod(invSqrt * denX * v);
  let x = mod(2n * s * denX);
  if (isNegative(x)) x = mod(-x);
  const y = mod(u1 * denY);
  const t = mod(x * y);
  return wasSquare && !isNegative(t) && y !== 0n;
}

/**
 * `true` when a 64-byte sr25519 signature is well formed for schnorrkel `Signature::from_bytes`: the schnorrkel
 * marker bit (bit 7 of byte 63) is set and the scalar `s` (with the marker cleared) is below the group order.
 * `R` is not decoded (schnorrkel compares it in compressed form).
 */
export function isWellFormedSr25519Signature(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const top = signature[63]!;
  if ((top & 0x80) === 0) return false;
  // compare s (little-endian, marker cleared) with L, from the most significant byte down
  for (let i = 31; i >= 0; i--) {
    const byte = i === 31 ? top & 0x7f : signature[32 + i]!;
    const l = L_LE[i]!;
    if (byte < l) return true;
    if (byte > l) return false;
  }
  return false; // s == L
}
