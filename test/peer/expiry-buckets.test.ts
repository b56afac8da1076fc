import assert from "node:assert/strict";
import { test } from "node:test";
import { ExpiryBuckets } from "../../src/peer/expiry-buckets.js";

test("expiry buckets — a sweep hands over the keys of every past second once, and unlists them", () => {
  const b = new ExpiryBuckets();
  b.add("a", 10);
  b.add("b", 10);
  b.add("c", 12);
  b.add("d", 20);
  assert.equal(b.listed, 4);
  const seen: [string, number][] = [];
  const collect = (key: string, second: number) => seen.push([key, second]);
  b.sweep(9, collect);
  assert.deepEqual(seen, [], "nothing is due before its second");
  b.sweep(12, collect);
  assert.deepEqual(seen, [
    ["a", 10],
    ["b", 10],
    ["c", 12],
  ]);
  assert.equal(b.listed, 1);
  b.add("e", 11); // a second already swept: handed over at the next later sweep
  b.sweep(12, collect);
  assert.equal(seen.length, 3, "a second is swept once");
  b.sweep(13, collect);
  assert.deepEqual(seen.at(-1), ["e", 11]);
  b.sweep(25, collect);
  assert.deepEqual(seen.at(-1), ["d", 20]);
  assert.equal(b.listed, 0);
});

test("expiry buckets — rebuild lists exactly the given entries", () => {
  const b = new ExpiryBuckets();
  for (let i = 0; i < 10; i++) b.add(`k${i}`, 5 + (i % 3));
  b.rebuild([
    ["k1", 6],
    ["k4", 30],
  ]);
  assert.equal(b.listed, 2);
  const seen: string[] = [];
  b.sweep(100, (key) => seen.push(key));
  assert.deepEqual(seen.sort(), ["k1", "k4"]);
});
