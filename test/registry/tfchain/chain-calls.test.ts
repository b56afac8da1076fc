import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseExtrinsicStatus,
  parseHeader,
  parseStorageChangeSet,
  SubstrateRpcError,
} from "../../../src/registry/tfchain/index.js";

const HASH = `0x${"ab".repeat(32)}`;

test("chain calls — headers carry minimal-hex block numbers", () => {
  for (const [number, expected] of [
    ["0x0", 0],
    ["0x1", 1],
    ["0x1f", 31],
    ["0xabc", 2748],
    ["0xFFFFFFFF", 4294967295],
  ] as const) {
    assert.equal(parseHeader({ number, parentHash: HASH }, "test").number, expected, number);
  }
  assert.equal(parseHeader({ number: 7, parentHash: HASH }, "test").number, 7);
  for (const bad of [
    { number: "12", parentHash: HASH },
    { number: "0x", parentHash: HASH },
    { number: "0x1" },
    null,
  ]) {
    assert.throws(
      () => parseHeader(bad, "chain_newHead"),
      (err: unknown) => {
        assert.ok(err instanceof SubstrateRpcError);
        assert.equal(err.reason, "protocol");
        assert.equal(err.code, "RMB_ERR_SUBSTRATE_PROTOCOL");
        return true;
      },
    );
  }
});

test("chain calls — storage change sets", () => {
  const parsed = parseStorageChangeSet({
    block: HASH,
    changes: [
      ["0xAA01", "0x0102"],
      ["0xaa02", null],
    ],
  });
  assert.deepEqual(parsed, {
    block: HASH,
    changes: [
      { key: "0xaa01", value: "0x0102" },
      { key: "0xaa02", value: null },
    ],
  });
  assert.throws(() => parseStorageChangeSet({ block: HASH, changes: [["0xzz", null]] }), SubstrateRpcError);
  assert.throws(() => parseStorageChangeSet({ block: HASH }), SubstrateRpcError);
});

test("chain calls — transaction statuses", () => {
  assert.deepEqual(parseExtrinsicStatus("ready"), { kind: "ready" });
  assert.deepEqual(parseExtrinsicStatus("invalid"), { kind: "invalid" });
  assert.deepEqual(parseExtrinsicStatus({ broadcast: ["peer"] }), { kind: "broadcast" });
  assert.deepEqual(parseExtrinsicStatus({ inBlock: HASH }), { kind: "inBlock", block: HASH });
  assert.deepEqual(parseExtrinsicStatus({ finalized: HASH }), { kind: "finalized", block: HASH });
  assert.deepEqual(parseExtrinsicStatus({ usurped: HASH }), { kind: "usurped", by: HASH });
  assert.throws(() => parseExtrinsicStatus("weird"), SubstrateRpcError);
  assert.throws(() => parseExtrinsicStatus({ inBlock: 5 }), SubstrateRpcError);
});
