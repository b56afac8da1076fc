import assert from "node:assert/strict";
import { test } from "node:test";
import { twox64, twox128, xxhash64 } from "../../../src/registry/tfchain/index.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const PRIME32 = 2654435761n;

/** xxHash's sanity buffer: byte k is the top byte of PRIME32 × PRIME64^k (mod 2^64). */
function sanityBuffer(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let generator = PRIME32;
  for (let k = 0; k < length; k++) {
    out[k] = Number(generator >> 56n);
    generator = (generator * 11400714785074694797n) & 0xffff_ffff_ffff_ffffn;
  }
  return out;
}

test("xxhash64 — xxHash's own sanity vectors (Cyan4973/xxHash cli/xsum_sanity_check.c)", () => {
  const buffer = sanityBuffer(222);
  const vectors: Array<[number, bigint, bigint]> = [
    [0, 0n, 0xef46db3751d8e999n],
    [0, PRIME32, 0xac75fda2929b17efn],
    [1, 0n, 0xe934a84adb052768n],
    [1, PRIME32, 0x5014607643a9b4c3n],
    [4, 0n, 0x9136a0dca57457een],
    [14, 0n, 0x8282dcc4994e35c8n],
    [14, PRIME32, 0xc3bd6bf63deb6df0n],
    [222, 0n, 0xb641ae8cb691c174n],
    [222, PRIME32, 0x20cb8ab7ae10c14an],
  ];
  for (const [length, seed, expected] of vectors) {
    assert.equal(xxhash64(buffer.subarray(0, length), seed), expected, `length ${length} seed ${seed}`);
  }
});

test("xxhash64 — published string vectors (python-xxhash README, Fastly docs)", () => {
  assert.equal(xxhash64(text("abc")), 0x44bc2cf5ad770999n);
  assert.equal(xxhash64(text("xxhash")), 0x32dd38952c4bc720n);
  assert.equal(xxhash64(text("xxhash"), 20141025n), 0xb559b98d844e0635n);
  assert.equal(xxhash64(text("Nobody inspects the spammish repetition")), 0xfbcea83c8a378bf1n);
});

test("xxhash64 — works on a subarray of a larger buffer", () => {
  const buffer = sanityBuffer(300);
  const copy = Uint8Array.from(buffer.subarray(3, 225));
  assert.equal(xxhash64(buffer.subarray(3, 225)), xxhash64(copy));
});

test("twox — Substrate storage prefixes", () => {
  // Well-known keys: System.Account = 26aa…cef7 ‖ b99d…1da9, System.Events = 26aa…cef7 ‖ 80d4…c9d7,
  // Balances.TotalIssuance starts with c226…5c2f, Timestamp.Now = f0c3…13c4 ‖ 9f1f…fcbb.
  assert.equal(hex(twox128(text("System"))), "26aa394eea5630e07c48ae0c9558cef7");
  assert.equal(hex(twox128(text("Events"))), "80d41e5e16056765bc8461851072c9d7");
  assert.equal(hex(twox128(text("Account"))), "b99d880ec681799c0cf30e8886371da9");
  assert.equal(hex(twox128(text("Balances"))), "c2261276cc9d1f8598ea4b6a74b15c2f");
  assert.equal(hex(twox128(text("Timestamp"))), "f0c365c3cf59d671eb72da0e7a4113c4");
  assert.equal(hex(twox128(text("Now"))), "9f1f0515f462cdcf84e0f1d6045dfcbb");
  assert.equal(hex(twox64(text("System"))), "26aa394eea5630e0");
});
