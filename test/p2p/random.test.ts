import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mix32, sample, seededRandom, shuffle } from "../../src/p2p/random.js";

describe("p2p random helpers", () => {
  test("sample — k distinct items, none excluded, in both of its ways (small and large lists)", () => {
    const random = seededRandom(42);
    for (const size of [1, 2, 5, 6, 16, 17, 40, 1000]) {
      const items = Array.from({ length: size }, (_, i) => i + 1);
      for (const k of [1, 3, 4, 8]) {
        for (let round = 0; round < 200; round++) {
          const banned = new Set([1, 3]);
          const out = sample(items, k, random, (x) => banned.has(x));
          assert.equal(new Set(out).size, out.length, `no duplicates (size ${size}, k ${k}): ${out}`);
          assert.equal(out.length, Math.min(k, items.filter((x) => !banned.has(x)).length));
          for (const x of out) assert.ok(items.includes(x) && !banned.has(x), `${x} is an allowed item`);
        }
      }
    }
    assert.deepEqual(sample([1, 2, 3], 0, random), []);
    assert.deepEqual(sample([], 3, random), []);
  });

  test("sample — every allowed item is about as likely (a small list, most of it drawn)", () => {
    const random = seededRandom(7);
    const items = [1, 2, 3, 4, 5, 6];
    const counts = new Map<number, number>();
    const rounds = 30_000;
    for (let r = 0; r < rounds; r++) {
      for (const x of sample(items, 4, random, (x) => x === 1)) counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    assert.equal(counts.get(1), undefined);
    // 4 of the 5 allowed items each round: each is drawn in 4/5 of the rounds.
    for (const x of [2, 3, 4, 5, 6]) {
      const share = counts.get(x)! / rounds;
      assert.ok(Math.abs(share - 0.8) < 0.02, `item ${x} drawn in ${(share * 100).toFixed(1)} % of rounds`);
    }
  });

  test("shuffle keeps the items; seededRandom repeats; mix32 spreads neighbouring inputs", () => {
    const a = shuffle([1, 2, 3, 4, 5, 6, 7, 8], seededRandom(3));
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    const r1 = seededRandom(9);
    const r2 = seededRandom(9);
    for (let i = 0; i < 10; i++) assert.equal(r1(), r2());
    const hashes = new Set(Array.from({ length: 1000 }, (_, i) => mix32(i)));
    assert.equal(hashes.size, 1000);
    for (const h of hashes) assert.ok(h >= 0 && h < 2 ** 32 && Number.isInteger(h));
  });
});
