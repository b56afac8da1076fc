import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  decodeCompact,
  encodeCompact,
  ScaleDecodeError,
  ScaleReader,
  ScaleWriter,
} from "../../../src/registry/tfchain/index.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));

// Compact encodings from the SCALE specification (parity-scale-codec / docs.substrate.io "SCALE codec").
const COMPACT_VECTORS: Array<[bigint, string]> = [
  [0n, "00"],
  [1n, "04"],
  [42n, "a8"],
  [63n, "fc"],
  [64n, "0101"],
  [69n, "1501"],
  [16_383n, "fdff"],
  [16_384n, "02000100"],
  [65_535n, "feff0300"],
  [1_073_741_823n, "feffffff"],
  [1_073_741_824n, "0300000040"],
  [4_294_967_295n, "03ffffffff"],
  [4_294_967_296n, "070000000001"],
  [100_000_000_000_000n, "0b00407a10f35a"],
  [2n ** 64n - 1n, "13ffffffffffffffff"],
  [2n ** 128n - 1n, `33${"ff".repeat(16)}`],
];

test("scale — compact integers encode to the specification's bytes", () => {
  for (const [value, expected] of COMPACT_VECTORS) {
    assert.equal(hex(encodeCompact(value)), expected, `compact(${value})`);
    assert.equal(decodeCompact(bytes(expected)), value, `decode ${expected}`);
  }
  assert.equal(hex(encodeCompact(69)), "1501", "numbers are accepted as well as bigints");
});

test("scale — compact round trip at every mode boundary", () => {
  for (let bits = 0n; bits <= 200n; bits += 1n) {
    for (const value of [2n ** bits - 1n, 2n ** bits, 2n ** bits + 1n]) {
      assert.equal(decodeCompact(encodeCompact(value)), value);
    }
  }
});

test("scale — non-canonical compact encodings are refused", () => {
  // 1 written in the two-, four- and big-integer modes; 2^30 - 1 written in big-integer mode with a zero top byte.
  for (const text of ["0500", "06000000", "0301000000", "03ffffff3f", "070000000100"]) {
    assert.throws(() => decodeCompact(bytes(text)), ScaleDecodeError, text);
  }
});

test("scale — truncated input throws ScaleDecodeError, never a RangeError", () => {
  for (const text of ["", "01", "020000", "03ffffff", "13ffff"]) {
    assert.throws(
      () => decodeCompact(bytes(text)),
      (err: unknown) => {
        assert.ok(err instanceof ScaleDecodeError);
        assert.equal(err.code, "RMB_ERR_SCALE_DECODE");
        assert.match(err.message, /truncated input/);
        return true;
      },
    );
  }
  assert.throws(() => new ScaleReader(bytes("010203")).u32(), ScaleDecodeError);
  assert.throws(() => new ScaleReader(bytes("01020304050607")).u64(), ScaleDecodeError);
  assert.throws(() => new ScaleReader(bytes("1001")).bytes(), /truncated input: Vec<u8> needs 4 bytes/);
  assert.throws(() => new ScaleReader(new Uint8Array(31)).accountId32(), ScaleDecodeError);
  assert.throws(() => new ScaleReader(bytes("01")).option((r) => r.u32()), ScaleDecodeError);
  assert.throws(() => new ScaleReader(bytes("08")).vec((r) => r.u8()), /claims 2 items, 0 bytes left/);
});

test("scale — fixed-width integers are little-endian", () => {
  const written = new ScaleWriter().u8(0xab).u32(0x01020304).u64(0x0102030405060708n).finish();
  assert.equal(hex(written), "ab" + "04030201" + "0807060504030201");
  const reader = new ScaleReader(written);
  assert.equal(reader.u8(), 0xab);
  assert.equal(reader.u32(), 0x01020304);
  assert.equal(reader.u64(), 0x0102030405060708n);
  reader.end();
  assert.equal(
    hex(
      new ScaleWriter()
        .u32(0xffffffff)
        .u64(2n ** 64n - 1n)
        .finish(),
    ),
    "ff".repeat(12),
  );
});

test("scale — Vec<u8>, Option and Vec<T>", () => {
  const written = new ScaleWriter(1)
    .bytes(new TextEncoder().encode("abc"))
    .option<Uint8Array>(undefined, (w, v) => w.bytes(v))
    .option(Uint8Array.of(9), (w, v) => w.bytes(v))
    .vec([1, 2], (w, n) => w.u32(n))
    .bool(true)
    .finish();
  assert.equal(hex(written), "0c616263" + "00" + "010409" + "08" + "01000000" + "02000000" + "01");
  const reader = new ScaleReader(written);
  assert.equal(new TextDecoder().decode(reader.bytes()), "abc");
  assert.equal(
    reader.option((r) => r.bytes()),
    undefined,
  );
  assert.deepEqual(
    reader.option((r) => r.bytes()),
    Uint8Array.of(9),
  );
  assert.deepEqual(
    reader.vec((r) => r.u32()),
    [1, 2],
  );
  assert.equal(reader.bool(), true);
  reader.end();
});

test("scale — invalid Option tags, bool bytes, length bounds and leftovers are refused", () => {
  assert.throws(() => new ScaleReader(bytes("02")).option((r) => r.u8()), /invalid Option tag 0x02/);
  assert.throws(() => new ScaleReader(bytes("02")).bool(), /neither 0 nor 1/);
  assert.throws(
    () => new ScaleReader(bytes("1001020304")).bytes("relay", 3),
    /length of relay 4 is above the limit 3/,
  );
  assert.throws(() => decodeCompact(bytes("0400")), /1 unexpected bytes after compact integer/);
  assert.throws(() => new ScaleReader(bytes("13ffffffffffffffff")).compactNumber(), /above the limit/);
});

test("scale — AccountId32 is 32 raw bytes", () => {
  const account = new Uint8Array(32).map((_, i) => i);
  const written = new ScaleWriter().accountId32(account).finish();
  assert.deepEqual(written, account);
  assert.deepEqual(new ScaleReader(written).accountId32(), account);
  assert.throws(() => new ScaleWriter().accountId32(new Uint8Array(31)), InvalidArgumentError);
});

test("scale — writers refuse values out of range", () => {
  assert.throws(() => new ScaleWriter().u8(256), InvalidArgumentError);
  assert.throws(() => new ScaleWriter().u32(-1), InvalidArgumentError);
  assert.throws(() => new ScaleWriter().u32(2 ** 32), InvalidArgumentError);
  assert.throws(() => new ScaleWriter().u64(2n ** 64n), InvalidArgumentError);
  assert.throws(() => encodeCompact(-1n), InvalidArgumentError);
  assert.throws(() => encodeCompact(1.5), InvalidArgumentError);
  assert.throws(() => encodeCompact(2n ** 536n), InvalidArgumentError);
  assert.equal(encodeCompact(2n ** 536n - 1n).length, 68);
});
