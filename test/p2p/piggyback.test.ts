import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PiggybackQueue } from "../../src/p2p/piggyback.js";

describe("p2p piggyback queue", () => {
  test("piggyback — deaths first, then the newest; each update is sent `limit` times", () => {
    const q = new PiggybackQueue(100);
    q.enqueue([1, 0, 0]);
    q.enqueue([2, 0, 0]);
    q.enqueue([3, 2, 0]);
    q.enqueue([4, 1, 0]);
    assert.deepEqual(q.take(3, 2), [
      [3, 2, 0],
      [4, 1, 0],
      [2, 0, 0],
    ]);
    assert.deepEqual(q.take(3, 2), [
      [3, 2, 0],
      [4, 1, 0],
      [2, 0, 0],
    ]);
    assert.deepEqual(q.take(3, 2), [[1, 0, 0]]);
    assert.equal(q.size, 1);
  });

  test("piggyback — a newer update about a member replaces the queued one; comebacks can jump the queue", () => {
    const q = new PiggybackQueue(100);
    q.enqueue([1, 0, 0]);
    q.enqueue([2, 0, 0]);
    q.enqueue([1, 1, 0]);
    assert.equal(q.size, 2);
    q.enqueue([5, 0, 3], true);
    assert.deepEqual(q.take(10, 5), [
      [5, 0, 3],
      [1, 1, 0],
      [2, 0, 0],
    ]);
  });

  test("piggyback — beyond maxSize the oldest go, and a backlog does not hold fresh news back", () => {
    const q = new PiggybackQueue(50);
    for (let t = 1; t <= 1000; t++) q.enqueue([t, 0, 0]);
    assert.equal(q.size, 50);
    q.take(8, 16);
    q.enqueue([2000, 0, 0]);
    for (let i = 0; i < 10; i++)
      assert.equal(q.take(8, 16)[0]![0], 2000, "the fresh update goes in every message");
  });

  test("piggyback — updates older than maxAgeMs are dropped, deaths included", () => {
    const q = new PiggybackQueue(100, 1000);
    q.enqueue([1, 0, 0], false, 0);
    q.enqueue([2, 2, 0], undefined, 0);
    q.enqueue([3, 0, 0], false, 900);
    assert.deepEqual(q.take(8, 16, 500), [
      [2, 2, 0],
      [3, 0, 0],
      [1, 0, 0],
    ]);
    assert.deepEqual(q.take(8, 16, 1500), [[3, 0, 0]], "the two queued at 0 are too old at 1500");
    assert.equal(q.size, 1);
    assert.deepEqual(q.take(8, 16, 2000), []);
    assert.equal(q.size, 0);
  });
});
