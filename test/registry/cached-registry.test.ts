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

/** A backend with an account index whose lookups are counted. */
class AccountIndex implements TwinRegistry {
  accountCalls = 0;
  fail = false;
  gate: Promise<void> | undefined;
  readonly owners = new Map<string, number>();
  async getTwin(): Promise<Twin | undefined> {
    return undefined;
  }
  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    this.accountCalls += 1;
    const answer = this.owners.get(Buffer.from(accountId).toString("hex"));
    await this.gate;
    if (this.fail) throw new Error("backend down");
    return answer;
  }
  own(accountId: Uint8Array, id: number | undefined): void {
    const key = Buffer.from(accountId).toString("hex");
    if (id === undefined) this.owners.delete(key);
    else this.owners.set(key, id);
  }
}

const account = (byte: number) => new Uint8Array(32).fill(byte);

test("twin ids by account: cached for the TTL, accounts without a twin for the negative TTL, errors not cached", async () => {
  let now = 0;
  const backend = new AccountIndex();
  backend.own(account(1), 10);
  const cache = new CachedRegistry(backend, { ttl: 10, negativeTtl: 2, now: () => now });
  assert.equal(await cache.getTwinIdByAccount(account(1)), 10);
  backend.own(account(1), 11);
  now = 9_999;
  assert.equal(await cache.getTwinIdByAccount(account(1)), 10, "within the TTL");
  now = 10_000;
  assert.equal(await cache.getTwinIdByAccount(account(1)), 11, "looked up again after it");

  assert.equal(await cache.getTwinIdByAccount(account(2)), undefined);
  backend.own(account(2), 20);
  now = 11_999;
  assert.equal(await cache.getTwinIdByAccount(account(2)), undefined, "remembered as without a twin");
  now = 12_000;
  assert.equal(await cache.getTwinIdByAccount(account(2)), 20, "for the negative TTL only");
  assert.equal(backend.accountCalls, 4);
  assert.deepEqual(cache.accountStats, { hits: 2, misses: 4, entries: 2 });

  backend.fail = true;
  await assert.rejects(cache.getTwinIdByAccount(account(3)), /backend down/);
  backend.fail = false;
  backend.own(account(3), 30);
  assert.equal(await cache.getTwinIdByAccount(account(3)), 30);
});

test("twin ids by account: concurrent lookups share one call; invalidate, clear and changes refresh them", async () => {
  const { MemoryRegistry } = await import("../../src/registry/index.js");
  const backend = new AccountIndex();
  backend.own(account(4), 40);
  let open!: () => void;
  backend.gate = new Promise((r) => {
    open = r;
  });
  const cache = new CachedRegistry(backend, { ttl: 3600, negativeTtl: 3600 });
  const all = Promise.all(Array.from({ length: 10 }, () => cache.getTwinIdByAccount(account(4))));
  open();
  assert.deepEqual(await all, Array(10).fill(40));
  assert.equal(backend.accountCalls, 1);
  backend.gate = undefined;

  backend.own(account(4), undefined);
  cache.invalidate(40); // the twin changed: its account is asked again
  assert.equal(await cache.getTwinIdByAccount(account(4)), undefined);
  backend.own(account(4), 41);
  cache.clear();
  assert.equal(await cache.getTwinIdByAccount(account(4)), 41);
  assert.equal(backend.accountCalls, 3);

  // Through a backend that reports changes: a new twin replaces "no twin", a twin that changes hands is forgotten
  // for its old account.
  const memory = new MemoryRegistry();
  const followed = new CachedRegistry(memory, { ttl: 3600, negativeTtl: 3600 });
  assert.equal(await followed.getTwinIdByAccount(account(5)), undefined);
  memory.set({ id: 50, accountId: account(5), relays: [] });
  assert.equal(await followed.getTwinIdByAccount(account(5)), 50, "the TwinStored change mapped the account");
  assert.equal(followed.accountStats.misses, 1, "without asking the backend again");
  memory.set({ id: 50, accountId: account(6), relays: [] }); // twin 50 moved to another account
  assert.equal(await followed.getTwinIdByAccount(account(6)), 50);
  assert.equal(await followed.getTwinIdByAccount(account(5)), undefined, "the old account no longer owns it");
  assert.equal(followed.accountStats.misses, 2);
  memory.delete(50); // a reset clears the accounts too
  assert.equal(followed.accountStats.entries, 0);
  followed.close();
});

test("twin ids by account: a lookup that started before a change does not store its stale answer", async () => {
  const backend = new AccountIndex();
  backend.own(account(7), 70);
  let open!: () => void;
  backend.gate = new Promise((r) => {
    open = r;
  });
  const cache = new CachedRegistry(backend, { ttl: 3600 });
  const stale = cache.getTwinIdByAccount(account(7));
  cache.invalidate(70);
  backend.own(account(7), 71);
  open();
  assert.equal(await stale, 70);
  backend.gate = undefined;
  assert.equal(await cache.getTwinIdByAccount(account(7)), 71);
});
