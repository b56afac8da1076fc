import assert from "node:assert/strict";
import { test } from "node:test";
import { CachedRegistry, type Twin, type TwinRegistry } from "../../src/registry/index.js";

/** A backend that counts lookups and can be told to fail or to hold its answer. */
class CountingRegistry implements TwinRegistry {
  calls = 0;
  fail = false;
  twins = new Map<number, Twin>();
  gate: Promise<void> | undefined;
  async getTwin(id: number): Promise<Twin | undefined> {
    this.calls += 1;
    const answer = this.twins.get(id); // read now: the gate only delays the reply
    await this.gate;
    if (this.fail) throw new Error("backend down");
    return answer;
  }
  async getTwinIdByAccount(): Promise<number | undefined> {
    return undefined;
  }
}

const twin = (id: number, relays: string[]): Twin => ({ id, accountId: new Uint8Array(32).fill(id), relays });

test("hits within the TTL, a fresh lookup after it", async () => {
  let now = 0;
  const backend = new CountingRegistry();
  backend.twins.set(1, twin(1, ["a"]));
  const cache = new CachedRegistry(backend, { ttl: 10, now: () => now });
  assert.deepEqual((await cache.getTwin(1))?.relays, ["a"]);
  backend.twins.set(1, twin(1, ["b"]));
  now = 9_999;
  assert.deepEqual((await cache.getTwin(1))?.relays, ["a"]);
  now = 10_000;
  assert.deepEqual((await cache.getTwin(1))?.relays, ["b"]);
  assert.equal(backend.calls, 2);
  assert.deepEqual(cache.stats, { hits: 1, misses: 2, flushes: 0, entries: 1 });
});

test("unknown ids are remembered for the negative TTL only", async () => {
  let now = 0;
  const backend = new CountingRegistry();
  const cache = new CachedRegistry(backend, { negativeTtl: 2, now: () => now });
  assert.equal(await cache.getTwin(7), undefined);
  assert.equal(await cache.getTwin(7), undefined);
  assert.equal(backend.calls, 1);
  backend.twins.set(7, twin(7, ["x"]));
  now = 2_000;
  assert.deepEqual((await cache.getTwin(7))?.relays, ["x"]);
});

test("concurrent lookups of one id share one backend call", async () => {
  const backend = new CountingRegistry();
  backend.twins.set(3, twin(3, ["r"]));
  let open!: () => void;
  backend.gate = new Promise((r) => {
    open = r;
  });
  const cache = new CachedRegistry(backend);
  const all = Promise.all(Array.from({ length: 20 }, () => cache.getTwin(3)));
  open();
  const results = await all;
  assert.equal(backend.calls, 1);
  assert.ok(results.every((t) => t?.id === 3));
});

test("errors are not cached; invalidate and clear force a new lookup; returned twins are copies", async () => {
  const backend = new CountingRegistry();
  backend.fail = true;
  const cache = new CachedRegistry(backend);
  await assert.rejects(cache.getTwin(1), /backend down/);
  backend.fail = false;
  backend.twins.set(1, twin(1, ["a"]));
  const t = await cache.getTwin(1);
  t!.relays!.push("mutated");
  assert.deepEqual((await cache.getTwin(1))?.relays, ["a"]);
  backend.twins.set(1, twin(1, ["b"]));
  cache.invalidate(1);
  assert.deepEqual((await cache.getTwin(1))?.relays, ["b"]);
  backend.twins.set(1, twin(1, ["c"]));
  cache.clear();
  assert.deepEqual((await cache.getTwin(1))?.relays, ["c"]);
  assert.equal(cache.stats.flushes, 1);
});

test("a lookup that started before an invalidation does not store its stale answer", async () => {
  const backend = new CountingRegistry();
  backend.twins.set(5, twin(5, ["old"]));
  let open!: () => void;
  backend.gate = new Promise((r) => {
    open = r;
  });
  const cache = new CachedRegistry(backend);
  const stale = cache.getTwin(5);
  cache.invalidate(5);
  backend.twins.set(5, twin(5, ["new"]));
  open();
  assert.deepEqual((await stale)?.relays, ["old"]);
  backend.gate = undefined;
  assert.deepEqual((await cache.getTwin(5))?.relays, ["new"]);
});

test("follows the backend's changes: a changed twin replaces its entry, a reset clears, close stops following", async () => {
  const { MemoryRegistry } = await import("../../src/registry/index.js");
  const backend = new MemoryRegistry();
  backend.set(twin(1, ["a"]));
  const cache = new CachedRegistry(backend, { ttl: 3600 });
  const seen: string[] = [];
  cache.watch((change) => seen.push(change.kind === "twin" ? `twin ${change.twin.id}` : "reset"));
  assert.deepEqual((await cache.getTwin(1))?.relays, ["a"]);
  backend.set(twin(1, ["b"]));
  assert.deepEqual((await cache.getTwin(1))?.relays, ["b"], "refreshed without waiting for the TTL");
  assert.equal(cache.stats.misses, 1);
  backend.delete(1);
  assert.equal(cache.stats.entries, 0);
  assert.deepEqual(seen, ["twin 1", "reset"]);
  cache.close();
  backend.set(twin(2, ["c"]));
  assert.deepEqual(seen, ["twin 1", "reset"], "no longer following");
});

test("followChanges: false ignores the backend's changes", async () => {
  const { MemoryRegistry } = await import("../../src/registry/index.js");
  const backend = new MemoryRegistry();
  backend.set(twin(1, ["a"]));
  const cache = new CachedRegistry(backend, { ttl: 3600, followChanges: false });
  await cache.getTwin(1);
  backend.set(twin(1, ["b"]));
  assert.deepEqual((await cache.getTwin(1))?.relays, ["a"]);
});
