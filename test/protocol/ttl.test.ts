import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isExpired, remainingTtl, stamp } from "../../src/protocol/index.js";

describe("ttl — rmb-rs tables", () => {
  test("stamp(now, ts, exp) matches rmb-rs unit tests", () => {
    assert.deepEqual(stamp(1, 0, 20), [1, 20]);
    assert.deepEqual(stamp(1, 10, 20), [1, 20]);
    assert.deepEqual(stamp(10, 1, 20), [10, 11]);
    assert.deepEqual(stamp(21, 1, 20), [21, 0]);
    assert.deepEqual(stamp(30, 1, 20), [30, 0]);
  });

  test("ttl(now, ts, exp) matches rmb-rs unit tests; exactly 0 left is expired", () => {
    assert.equal(remainingTtl(0, 10, 20), 30);
    assert.equal(remainingTtl(10, 0, 20), 10);
    assert.equal(remainingTtl(20, 0, 20), undefined);
    assert.equal(remainingTtl(30, 0, 20), undefined);
    assert.equal(isExpired(20, 0, 20), true);
    assert.equal(isExpired(19, 0, 20), false);
  });

  test("stamp keeps the absolute deadline when it has not passed", () => {
    for (const [now, ts, exp] of [
      [100, 90, 50],
      [1000, 1, 5000],
    ] as const) {
      const [t, e] = stamp(now, ts, exp);
      assert.equal(t + e, ts + exp);
    }
  });
});
