import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { InvalidArgumentError } from "../../../src/errors.js";
import { createSigner, KeyType, type Signer } from "../../../src/identity/index.js";
import { CachedRegistry } from "../../../src/registry/cached-registry.js";
import {
  InvalidTwinError,
  RegistryRejectedError,
  RegistryUnavailableError,
  TwinExistsError,
  TwinNotFoundError,
} from "../../../src/registry/errors.js";
import {
  SubstrateRpcError,
  TfchainRegistry,
  type TfchainRegistryOptions,
} from "../../../src/registry/tfchain/index.js";
import type { TwinChange } from "../../../src/registry/twin-registry.js";
import { deadUrl, FakeSubstrate, type FakeSubstrateOptions } from "../../support/fake-substrate.js";
import { waitUntil } from "../../support/wait.js";

const PK = Uint8Array.from(Buffer.from(`02${"5a".repeat(32)}`, "hex"));
const PK2 = Uint8Array.from(Buffer.from(`03${"7e".repeat(32)}`, "hex"));

async function fakeChain(t: TestContext, options: FakeSubstrateOptions = {}): Promise<FakeSubstrate> {
  const fake = await FakeSubstrate.start(options);
  t.after(() => fake.stop());
  return fake;
}

async function registryOn(
  t: TestContext,
  urls: string[],
  options: Omit<TfchainRegistryOptions, "urls"> = {},
): Promise<TfchainRegistry> {
  const registry = new TfchainRegistry({
    urls,
    reconnectDelay: 20,
    maxReconnectDelay: 50,
    watchDebounce: 5,
    // The fake node makes blocks only on demand: without this, a slow (loaded) run could hit the 30 s stall
    // detection and reconnect in the middle of a test. The stall test sets its own.
    stallTimeout: 0,
    ...options,
  });
  t.after(() => registry.close());
  await registry.start();
  return registry;
}

function recorder(registry: { watch(listener: (c: TwinChange) => void): () => void }): TwinChange[] {
  const changes: TwinChange[] = [];
  registry.watch((change) => changes.push(change));
  return changes;
}

const relaysOf = (changes: TwinChange[], id: number): string[][] =>
  changes.flatMap((c) => (c.kind === "twin" && c.twin.id === id ? [c.twin.relays ?? []] : []));

const storageReads = (fake: FakeSubstrate): number =>
  fake.calls.filter((m) => m === "state_getStorage").length;

test("tfchain — reads a twin by id", async (t) => {
  const fake = await fakeChain(t);
  const account = new Uint8Array(32).fill(1);
  fake.putTwin({ id: 55, accountId: account, relays: ["r1.dev.grid.tf", "r2.dev.grid.tf"], pk: PK });
  fake.putTwin({ id: 56, accountId: new Uint8Array(32).fill(2) });
  const registry = await registryOn(t, [fake.url]);
  assert.deepEqual(await registry.getTwin(55), {
    id: 55,
    accountId: account,
    relays: ["r1.dev.grid.tf", "r2.dev.grid.tf"],
    pk: PK,
  });
  assert.deepEqual(await registry.getTwin(56), { id: 56, accountId: new Uint8Array(32).fill(2) });
});

test("tfchain — an unknown twin or account is undefined", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url]);
  assert.equal(await registry.getTwin(404), undefined);
  assert.equal(await registry.getTwin(0), undefined);
  assert.equal(await registry.getTwinIdByAccount(new Uint8Array(32).fill(9)), undefined);
  await assert.rejects(registry.getTwin(-1), InvalidArgumentError);
  await assert.rejects(registry.getTwinIdByAccount(new Uint8Array(31)), InvalidArgumentError);
});

test("tfchain — finds a twin id by account", async (t) => {
  const fake = await fakeChain(t);
  const account = new Uint8Array(32).fill(3);
  fake.putTwin({ id: 4_000_000_000, accountId: account, relays: ["relay.tf"] });
  const registry = await registryOn(t, [fake.url]);
  assert.equal(await registry.getTwinIdByAccount(account), 4_000_000_000);
  assert.deepEqual((await registry.getTwin(4_000_000_000))?.relays, ["relay.tf"]);
});

test("tfchain — a pk stored as hex text is decoded, a malformed one is absent", async (t) => {
  const fake = await fakeChain(t);
  const hexText = new TextEncoder().encode(`0x${Buffer.from(PK).toString("hex")}`);
  const account = new Uint8Array(32).fill(5);
  fake.putTwin({ id: 8, accountId: account, relay: undefined, entities: [], pk: hexText });
  fake.putTwin({
    id: 9,
    accountId: new Uint8Array(32).fill(6),
    relay: undefined,
    entities: [],
    pk: PK.subarray(1),
  });
  const registry = await registryOn(t, [fake.url]);
  assert.deepEqual((await registry.getTwin(8))?.pk, PK);
  assert.equal((await registry.getTwin(9))?.pk, undefined);
});

test("tfchain — a record that does not decode is a RegistryUnavailableError", async (t) => {
  const fake = await fakeChain(t);
  const { twinStorageKey } = await import("../../../src/registry/tfchain/index.js");
  fake.setStorage(twinStorageKey(3), Uint8Array.of(3, 0, 0));
  const registry = await registryOn(t, [fake.url]);
  await assert.rejects(registry.getTwin(3), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.equal(err.code, "RMB_ERR_REGISTRY_UNAVAILABLE");
    assert.equal((err.cause as { code?: string }).code, "RMB_ERR_SCALE_DECODE");
    return true;
  });
});

test("tfchain — fails over from a dead URL to a live one", async (t) => {
  const fake = await fakeChain(t);
  fake.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1), relays: ["relay.tf"] });
  const registry = await registryOn(t, [await deadUrl(), fake.url]);
  assert.equal(registry.rpc.url, fake.url);
  assert.deepEqual((await registry.getTwin(1))?.relays, ["relay.tf"]);
});

test("tfchain — moves to the next URL when its node goes away (storage subscriptions report reset)", async (t) => {
  const first = await fakeChain(t);
  const second = await fakeChain(t);
  for (const fake of [first, second])
    fake.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1), relays: ["r.tf"] });
  const registry = await registryOn(t, [first.url, second.url], { followEvents: false });
  const changes = recorder(registry);
  assert.equal(registry.rpc.url, first.url);
  await first.stop();
  assert.deepEqual((await registry.getTwin(1))?.relays, ["r.tf"]);
  assert.equal(registry.rpc.url, second.url);
  await waitUntil(async () => changes.some((c) => c.kind === "reset"));
});

test("tfchain — start fails with RegistryUnavailableError when no URL answers", async (t) => {
  const registry = new TfchainRegistry({ urls: [await deadUrl()], startRounds: 1 });
  t.after(() => registry.close());
  await assert.rejects(registry.start(), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.ok(err.cause instanceof SubstrateRpcError);
    assert.equal(err.cause.code, "RMB_ERR_SUBSTRATE_CONNECTION");
    return true;
  });
});

test("tfchain — reconnects after the server restarts (storage subscriptions report reset)", async (t) => {
  const fake = await fakeChain(t);
  fake.putTwin({ id: 2, accountId: new Uint8Array(32).fill(2), relays: ["a.tf"] });
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  const changes = recorder(registry);
  assert.deepEqual((await registry.getTwin(2))?.relays, ["a.tf"]);
  await fake.stop();
  fake.putTwin({ id: 2, accountId: new Uint8Array(32).fill(2), relays: ["b.tf"] });
  const lookup = registry.getTwin(2); // waits for the connection
  await new Promise((r) => setTimeout(r, 100));
  await fake.restart();
  assert.deepEqual((await lookup)?.relays, ["b.tf"]);
  await waitUntil(async () => changes.some((c) => c.kind === "reset"));
});

test("tfchain — a request timeout gives a typed error", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url], { requestTimeout: 150 });
  fake.hang("state_getStorage");
  await assert.rejects(registry.getTwin(1), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.ok(err.cause instanceof SubstrateRpcError);
    assert.equal(err.cause.reason, "timeout");
    assert.equal(err.cause.code, "RMB_ERR_SUBSTRATE_TIMEOUT");
    assert.match(
      err.message,
      /cannot read twin 1 from tfchain: substrate request state_getStorage timed out after 150 ms/,
    );
    return true;
  });
});

test("tfchain — calls before start or after close fail with RegistryUnavailableError", async (t) => {
  const fake = await fakeChain(t);
  const registry = new TfchainRegistry({ urls: [fake.url] });
  await assert.rejects(registry.getTwin(1), /not started/);
  await registry.start();
  await registry.start(); // a second start does nothing
  await registry.close();
  await assert.rejects(registry.getTwin(1), /closed/);
  await assert.rejects(registry.start(), RegistryUnavailableError);
  await registry.close();
  await waitUntil(async () => fake.connections === 0);
});

for (const keyType of [KeyType.Ed25519, KeyType.Sr25519]) {
  test(`tfchain — createTwin and updateTwin with an ${keyType} signer`, async (t) => {
    const fake = await fakeChain(t);
    fake.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1) }); // ids continue after existing twins
    const registry = await registryOn(t, [fake.url]);
    const signer = createSigner("//Alice", keyType);
    fake.acceptTerms(signer.publicKey);

    const created = await registry.createTwin(signer, { relays: ["relay.dev.grid.tf"], pk: PK });
    assert.deepEqual(created, { id: 2, accountId: signer.publicKey, relays: ["relay.dev.grid.tf"], pk: PK });
    assert.equal(fake.applied.length, 1);
    assert.deepEqual(
      { ...fake.applied[0], accountId: undefined },
      {
        accountId: undefined,
        signatureKind: keyType === KeyType.Ed25519 ? 0 : 1,
        nonce: 0,
        call: "createTwin",
        ok: true,
      },
    );
    assert.deepEqual(await registry.getTwin(2), created);
    assert.equal(await registry.getTwinIdByAccount(signer.publicKey), 2);

    const updated = await registry.updateTwin(signer, { relays: ["r1.grid.tf", "r2.grid.tf"] });
    assert.deepEqual(updated, { id: 2, accountId: signer.publicKey, relays: ["r1.grid.tf", "r2.grid.tf"] });
    assert.equal(fake.applied[1]?.ok, true);
    assert.equal(fake.applied[1]?.nonce, 1);
    assert.equal(fake.twin(2)?.pk, undefined, "updateTwin overwrites both fields");

    await assert.rejects(registry.createTwin(signer, { relays: [] }), (err: unknown) => {
      assert.ok(err instanceof TwinExistsError);
      assert.equal(err.twinId, 2);
      return true;
    });
    const stranger = createSigner("//Charlie", keyType);
    await assert.rejects(registry.updateTwin(stranger, { relays: [] }), TwinNotFoundError);
    assert.equal(fake.applied.length, 2, "refused writes are not submitted");
  });
}

test("tfchain — writes wait for finalization with waitFor finalized", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url], { waitFor: "finalized" });
  const signer = createSigner("//Dave", KeyType.Sr25519);
  fake.acceptTerms(signer.publicKey);
  const created = await registry.createTwin(signer, { relays: [], pk: PK2 });
  assert.deepEqual(created, { id: 1, accountId: signer.publicKey, pk: PK2 });
});

test("tfchain — concurrent writes of one registry use consecutive nonces", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url]);
  const signer = createSigner("//Eve", KeyType.Ed25519);
  fake.acceptTerms(signer.publicKey);
  await registry.createTwin(signer, { relays: ["aa.tf"] });
  const results = await Promise.all([
    registry.updateTwin(signer, { relays: ["bb.tf"] }),
    registry.updateTwin(signer, { relays: ["cc.tf"] }),
  ]);
  assert.deepEqual(
    results.map((twin) => twin.relays),
    [["bb.tf"], ["cc.tf"]],
  );
  assert.deepEqual(
    fake.applied.map((a) => [a.nonce, a.ok]),
    [
      [0, true],
      [1, true],
      [2, true],
    ],
  );
});

test("tfchain — a bad signature is refused by the node with RegistryRejectedError", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url]);
  const real = createSigner("//Ferdie", KeyType.Ed25519);
  const forger: Signer = {
    keyType: real.keyType,
    publicKey: real.publicKey,
    sign(message) {
      const signature = real.sign(message);
      signature[10] = (signature[10] ?? 0) ^ 1;
      return signature;
    },
  };
  fake.acceptTerms(real.publicKey);
  await assert.rejects(registry.createTwin(forger, { relays: ["relay.tf"] }), (err: unknown) => {
    assert.ok(err instanceof RegistryRejectedError);
    assert.equal(err.code, "RMB_ERR_REGISTRY_REJECTED");
    assert.ok(err.cause instanceof SubstrateRpcError);
    assert.equal(err.cause.rpcCode, 1010);
    assert.equal(err.cause.data, "Transaction has a bad signature");
    return true;
  });
  assert.equal(fake.applied.length, 0);
});

test("tfchain — createTwin needs the terms and conditions accepted", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Alice", KeyType.Sr25519);
  const checking = await registryOn(t, [fake.url]);
  await assert.rejects(checking.createTwin(signer, { relays: [] }), /terms and conditions/);
  assert.equal(fake.applied.length, 0);
  // Without the early check the transaction is included but fails on chain: the registry sees no twin.
  const unchecked = await registryOn(t, [fake.url], { checkTermsAccepted: false });
  await assert.rejects(unchecked.createTwin(signer, { relays: [] }), (err: unknown) => {
    assert.ok(err instanceof RegistryRejectedError);
    assert.match(err.message, /createTwin was included in block 0x[0-9a-f]{64} but created no twin/);
    return true;
  });
  assert.equal(fake.applied[0]?.error, "UserDidNotSignTermsAndConditions");
});

test("tfchain — an update that fails on chain is reported as rejected", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Bob", KeyType.Ed25519);
  fake.putTwin({ id: 1, accountId: signer.publicKey, relays: ["old.tf"] });
  // A registry configured with the wrong pallet index: the chain cannot dispatch its call.
  const registry = await registryOn(t, [fake.url], { palletIndex: 26 });
  await assert.rejects(
    registry.updateTwin(signer, { relays: ["new.tf"] }),
    /did not change \(the call failed on chain\)/,
  );
  assert.equal(fake.applied[0]?.ok, false);
  assert.deepEqual((await registry.getTwin(1))?.relays, ["old.tf"]);
});

test("tfchain — invalid fields are refused before anything is submitted", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url]);
  const signer = createSigner("//Alice", KeyType.Ed25519);
  fake.acceptTerms(signer.publicKey);
  for (const relays of [["a_b.tf"], [""], ["relay.tf:8080"], ["a.relay.tf"], ["x".repeat(1025)]]) {
    await assert.rejects(registry.createTwin(signer, { relays }), InvalidTwinError, JSON.stringify(relays));
  }
  await assert.rejects(
    registry.createTwin(signer, { relays: [], pk: new Uint8Array(32) }),
    /pk must be 33 bytes/,
  );
  assert.equal(fake.calls.includes("author_submitAndWatchExtrinsic"), false);
});

test("tfchain — a transaction that is not included in time is a RegistryUnavailableError", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url], { submitTimeout: 150 });
  const signer = createSigner("//Alice", KeyType.Ed25519);
  fake.acceptTerms(signer.publicKey);
  fake.paused = true;
  await assert.rejects(registry.createTwin(signer, { relays: [] }), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.match(err.message, /not included within 150 ms; it may still be applied/);
    return true;
  });
  await waitUntil(async () => fake.subscriptionCount("extrinsic") === 0); // the watch was dropped
});

test("tfchain storage subscriptions — watch gets a change after updateTwin", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Alice", KeyType.Sr25519);
  fake.putTwin({ id: 7, accountId: signer.publicKey, relays: ["old.tf"] });
  const watcher = await registryOn(t, [fake.url], { followEvents: false });
  const writer = await registryOn(t, [fake.url]);
  const changes = recorder(watcher);
  assert.deepEqual((await watcher.getTwin(7))?.relays, ["old.tf"]);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);

  await writer.updateTwin(signer, { relays: ["new.tf"], pk: PK });
  await waitUntil(async () => relaysOf(changes, 7).length === 1);
  assert.deepEqual(changes, [
    { kind: "twin", twin: { id: 7, accountId: signer.publicKey, relays: ["new.tf"], pk: PK } },
  ]);

  // The registry's own writes are reported once, not again by the subscription.
  await watcher.updateTwin(signer, { relays: ["newer.tf"] });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(relaysOf(changes, 7), [["new.tf"], ["newer.tf"]]);
});

test("tfchain storage subscriptions — with watchUnknownTwins, watch follows an id looked up before its twin existed", async (t) => {
  const fake = await fakeChain(t);
  const plain = await registryOn(t, [fake.url], { followEvents: false });
  assert.equal(await plain.getTwin(12), undefined);
  assert.equal(plain.watchedTwins, 0, "unknown ids are not followed by default");
  const registry = await registryOn(t, [fake.url], { watchUnknownTwins: true, followEvents: false });
  const changes = recorder(registry);
  assert.equal(await registry.getTwin(12), undefined);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);
  fake.putTwin({ id: 12, accountId: new Uint8Array(32).fill(12), relays: ["late.tf"] });
  fake.produceBlock();
  await waitUntil(async () => relaysOf(changes, 12).length === 1);
  assert.deepEqual(relaysOf(changes, 12), [["late.tf"]]);
});

test("tfchain storage subscriptions — watch reports reset after a reconnect, then changes again", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Alice", KeyType.Ed25519);
  fake.putTwin({ id: 3, accountId: signer.publicKey, relays: ["one.tf"] });
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  const changes = recorder(registry);
  await registry.getTwin(3);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);
  fake.dropConnections();
  await waitUntil(async () => changes.some((c) => c.kind === "reset"));
  await waitUntil(async () => fake.subscriptionCount("storage") === 1); // renewed on the new connection
  fake.putTwin({ id: 3, accountId: signer.publicKey, relays: ["two.tf"] });
  fake.produceBlock();
  await waitUntil(async () => relaysOf(changes, 3).length === 1);
  assert.equal(changes[0]?.kind, "reset");
});

test("tfchain storage subscriptions — a twin deleted on chain resets the watchers", async (t) => {
  const fake = await fakeChain(t);
  const { twinStorageKey } = await import("../../../src/registry/tfchain/index.js");
  fake.putTwin({ id: 4, accountId: new Uint8Array(32).fill(4), relays: ["r.tf"] });
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  const changes = recorder(registry);
  await registry.getTwin(4);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);
  fake.setStorage(twinStorageKey(4), null);
  fake.produceBlock();
  await waitUntil(async () => changes.length === 1);
  assert.deepEqual(changes, [{ kind: "reset" }]);
});

test("tfchain storage subscriptions — a CachedRegistry in front refreshes on change", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Alice", KeyType.Ed25519);
  fake.putTwin({ id: 21, accountId: signer.publicKey, relays: ["cached.tf"] });
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  const cached = new CachedRegistry(registry, { ttl: 3_600 });
  t.after(() => cached.close());
  assert.deepEqual((await cached.getTwin(21))?.relays, ["cached.tf"]);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);
  const reads = storageReads(fake);

  fake.putTwin({ id: 21, accountId: signer.publicKey, relays: ["fresh.tf"] }); // changed by someone else
  fake.produceBlock();
  await waitUntil(async () => (await cached.getTwin(21))?.relays?.[0] === "fresh.tf");
  assert.equal(storageReads(fake), reads, "the new record came with the change, not from a lookup");
  assert.equal(cached.stats.misses, 1);

  fake.dropConnections(); // reset: the cache starts over
  await waitUntil(async () => cached.stats.flushes === 1);
  assert.deepEqual((await cached.getTwin(21))?.relays, ["fresh.tf"]);
  assert.equal(cached.stats.misses, 2);
});

test("tfchain — reconnects when the node stops producing blocks (storage subscriptions report reset)", async (t) => {
  const fake = await fakeChain(t, { blockInterval: 20 });
  const registry = await registryOn(t, [fake.url], { stallTimeout: 200, followEvents: false });
  const changes = recorder(registry);
  await waitUntil(async () => (registry.bestBlock ?? 0) >= 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(changes.length, 0, "blocks keep coming: no reconnect");
  fake.paused = true;
  await waitUntil(async () => changes.some((c) => c.kind === "reset"), 3_000);
  // The reset is reported when the old connection is dropped; the new subscription follows.
  await waitUntil(async () => fake.calls.filter((m) => m === "chain_subscribeNewHeads").length >= 2);
  fake.paused = false;
  const best = registry.bestBlock ?? 0;
  await waitUntil(async () => (registry.bestBlock ?? 0) > best);
});

test("tfchain storage subscriptions — maxWatchedTwins and keysPerSubscription bound the followed twins", async (t) => {
  const fake = await fakeChain(t);
  for (const id of [1, 2, 3])
    fake.putTwin({ id, accountId: new Uint8Array(32).fill(id), relays: [`r${id}.tf`] });
  const registry = await registryOn(t, [fake.url], {
    maxWatchedTwins: 2,
    keysPerSubscription: 1,
    followEvents: false,
  });
  const changes = recorder(registry);
  for (const id of [1, 2, 3]) await registry.getTwin(id);
  assert.equal(registry.watchedTwins, 2);
  await waitUntil(async () => fake.subscriptionCount("storage") === 2);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fake.subscriptionCount("storage"), 2);
  fake.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1), relays: ["x1.tf"] }); // evicted: not followed
  fake.putTwin({ id: 3, accountId: new Uint8Array(32).fill(3), relays: ["x3.tf"] });
  fake.produceBlock();
  await waitUntil(async () => relaysOf(changes, 3).length === 1);
  assert.deepEqual(relaysOf(changes, 1), []);
});

test("tfchain storage subscriptions — unwatching the last listener drops them", async (t) => {
  const fake = await fakeChain(t);
  fake.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1) });
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  const stop = registry.watch(() => {});
  await registry.getTwin(1);
  await waitUntil(async () => fake.subscriptionCount("storage") === 1);
  stop();
  await waitUntil(async () => fake.subscriptionCount("storage") === 0);
});

test("tfchain — options are validated", () => {
  const urls = ["ws://127.0.0.1:1"];
  assert.throws(() => new TfchainRegistry({ urls, palletIndex: 256 }), /options\.palletIndex/);
  assert.throws(() => new TfchainRegistry({ urls, waitFor: "never" as "inBlock" }), /options\.waitFor/);
  assert.throws(() => new TfchainRegistry({ urls, stallTimeout: -1 }), /options\.stallTimeout/);
  assert.throws(() => new TfchainRegistry({ urls, maxWatchedTwins: 0 }), /options\.maxWatchedTwins/);
  assert.throws(() => new TfchainRegistry({ urls: [] }), /options\.urls/);
  assert.throws(() => new TfchainRegistry({ urls, palletName: "" }), InvalidArgumentError);
  assert.throws(() => new TfchainRegistry({ urls, catchupThreshold: 0 }), /options\.catchupThreshold/);
});

/** Waits until the registry has processed the events of the fake node's best block. */
const caughtUp = (registry: TfchainRegistry, fake: FakeSubstrate) =>
  waitUntil(async () => (registry.lastEventBlock ?? -1) >= fake.bestNumber);

test("tfchain events — an extrinsic's TwinUpdated refreshes a cached twin, TwinStored adds a new one, no lookups", async (t) => {
  const fake = await fakeChain(t);
  const owner = createSigner("//Alice", KeyType.Sr25519);
  const newcomer = createSigner("//Bob", KeyType.Ed25519);
  fake.putTwin({ id: 21, accountId: owner.publicKey, relays: ["cached.tf"] });
  fake.acceptTerms(newcomer.publicKey);
  const errors: Error[] = [];
  const reader = await registryOn(t, [fake.url], { onError: (e) => errors.push(e) });
  const cached = new CachedRegistry(reader, { ttl: 3_600, negativeTtl: 3_600 });
  t.after(() => cached.close());
  const changes = recorder(cached);
  assert.deepEqual((await cached.getTwin(21))?.relays, ["cached.tf"]); // looked up before the change
  assert.equal(await cached.getTwinIdByAccount(newcomer.publicKey), undefined); // remembered as without a twin
  await waitUntil(async () => reader.changeSource === "events");
  assert.equal(fake.subscriptionCount("storage"), 0, "no storage subscriptions when following events");

  const writer = await registryOn(t, [fake.url]); // another process changes twins on chain
  await writer.updateTwin(owner, { relays: ["fresh.tf"], pk: PK });
  await waitUntil(async () => relaysOf(changes, 21).length === 1);
  assert.deepEqual(await cached.getTwin(21), {
    id: 21,
    accountId: owner.publicKey,
    relays: ["fresh.tf"],
    pk: PK,
  });
  const created = await writer.createTwin(newcomer, { relays: ["new.tf"] });
  assert.equal(created.id, 22);
  await waitUntil(async () => relaysOf(changes, 22).length === 1);
  assert.deepEqual((await cached.getTwin(22))?.relays, ["new.tf"]);
  assert.equal(await cached.getTwinIdByAccount(newcomer.publicKey), 22, "the negative entry was replaced");
  assert.equal(cached.stats.misses, 1, "twin 22 came with its event");
  assert.equal(cached.accountStats.misses, 1);
  assert.equal(cached.stats.flushes, 0);
  assert.deepEqual(
    changes.map((c) => c.kind),
    ["twin", "twin"],
  );
  assert.deepEqual(errors, []);
});

test("tfchain events — foreign events of every shape are skipped; only twin records are reported", async (t) => {
  const fake = await fakeChain(t);
  const account = new Uint8Array(32).fill(7);
  fake.putTwin({ id: 7, accountId: account, relays: ["one.tf"] });
  const errors: Error[] = [];
  const registry = await registryOn(t, [fake.url], { onError: (e) => errors.push(e) });
  const changes = recorder(registry);
  await waitUntil(async () => registry.changeSource === "events");
  // Every block also carries System, Balances, Probe (tuples, arrays, Option, str, char, i8…i128, u256, compacts,
  // zero-sized types, bit sequences, a recursive enum) and TfgridModule's node and entity events.
  fake.queueEvent({ kind: "PowerTargetChanged", farm: 1, node: 2, up: false });
  fake.queueEvent({ kind: "TwinEntityStored", twin: 7, entity: 3, signature: new Uint8Array(64).fill(1) });
  fake.produceBlock();
  fake.putTwin({ id: 7, accountId: account, relays: ["two.tf"], pk: PK2 }, { event: "TwinUpdated" });
  fake.queueEvent({ kind: "NodeUptimeReported", node: 9, now: 1n << 40n, uptime: 5n });
  fake.produceBlock();
  fake.produceBlock();
  await caughtUp(registry, fake);
  assert.deepEqual(changes, [
    { kind: "twin", twin: { id: 7, accountId: account, relays: ["two.tf"], pk: PK2 } },
  ]);
  assert.deepEqual(errors, []);
});

test("tfchain events — the registry's own write is reported once (by the write, not again by its event)", async (t) => {
  const fake = await fakeChain(t);
  const signer = createSigner("//Alice", KeyType.Ed25519);
  fake.putTwin({ id: 3, accountId: signer.publicKey, relays: ["aa.tf"] });
  const registry = await registryOn(t, [fake.url]);
  const changes = recorder(registry);
  await waitUntil(async () => registry.changeSource === "events");
  await registry.updateTwin(signer, { relays: ["bb.tf"] });
  assert.deepEqual(relaysOf(changes, 3), [["bb.tf"]], "reported when updateTwin returns");
  fake.produceBlock();
  await caughtUp(registry, fake);
  assert.deepEqual(relaysOf(changes, 3), [["bb.tf"]]);
});

test("tfchain events — after a reconnect the missed blocks are replayed (up to catchupThreshold)", async (t) => {
  const fake = await fakeChain(t);
  const account = new Uint8Array(32).fill(4);
  fake.putTwin({ id: 4, accountId: account, relays: ["before.tf"] });
  const registry = await registryOn(t, [fake.url], { catchupThreshold: 5 });
  const cached = new CachedRegistry(registry, { ttl: 3_600 });
  t.after(() => cached.close());
  const changes = recorder(cached);
  assert.deepEqual((await cached.getTwin(4))?.relays, ["before.tf"]);
  await waitUntil(async () => registry.changeSource === "events");
  fake.produceBlock();
  await caughtUp(registry, fake);

  await fake.stop(); // the registry misses the next blocks
  fake.produceBlock();
  fake.putTwin({ id: 4, accountId: account, relays: ["during.tf"] }, { event: "TwinUpdated" });
  fake.produceBlock();
  fake.produceBlock();
  fake.produceBlock();
  fake.produceBlock(); // 5 blocks missed: the threshold
  await fake.restart();
  await waitUntil(async () => relaysOf(changes, 4).length === 1);
  assert.deepEqual((await cached.getTwin(4))?.relays, ["during.tf"]);
  assert.equal(cached.stats.misses, 1, "refreshed by the replayed event");
  assert.deepEqual(
    changes.map((c) => c.kind),
    ["twin"],
    "no reset",
  );
});

test("tfchain events — a gap longer than catchupThreshold clears the cache", async (t) => {
  const fake = await fakeChain(t);
  fake.putTwin({ id: 5, accountId: new Uint8Array(32).fill(5), relays: ["r.tf"] });
  const registry = await registryOn(t, [fake.url], { catchupThreshold: 5 });
  const cached = new CachedRegistry(registry, { ttl: 3_600 });
  t.after(() => cached.close());
  await cached.getTwin(5);
  await waitUntil(async () => registry.changeSource === "events");
  fake.produceBlock();
  await caughtUp(registry, fake);
  assert.equal(cached.stats.entries, 1);

  await fake.stop();
  for (let i = 0; i < 6; i++) fake.produceBlock();
  await fake.restart();
  await waitUntil(async () => cached.stats.flushes === 1);
  assert.equal(cached.stats.entries, 0);
  assert.equal(registry.lastEventBlock, fake.bestNumber, "it follows on from the new best block");
  const reads = storageReads(fake);
  fake.produceBlock();
  await caughtUp(registry, fake);
  assert.equal(cached.stats.flushes, 1, "later blocks follow on normally");
  assert.ok(storageReads(fake) > reads);
});

test("tfchain events — TwinDeleted and TwinAccountBounded reset the caches", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url]);
  const changes = recorder(registry);
  await waitUntil(async () => registry.changeSource === "events");
  fake.queueEvent({ kind: "TwinDeleted", twin: 9 });
  fake.produceBlock();
  await waitUntil(async () => changes.length === 1);
  fake.queueEvent({ kind: "TwinAccountBounded", twin: 9, account: new Uint8Array(32).fill(1) });
  fake.produceBlock();
  await waitUntil(async () => changes.length === 2);
  assert.deepEqual(changes, [{ kind: "reset" }, { kind: "reset" }]);
});

test("tfchain events — after a runtime upgrade, events are decoded with their own block's metadata", async (t) => {
  const fake = await fakeChain(t);
  const account = new Uint8Array(32).fill(8);
  const errors: Error[] = [];
  const registry = await registryOn(t, [fake.url], { onError: (e) => errors.push(e) });
  const changes = recorder(registry);
  await waitUntil(async () => registry.changeSource === "events");
  const metadataReads = () => fake.calls.filter((m) => m === "state_getMetadata").length;
  assert.equal(metadataReads(), 1);
  fake.upgradeRuntime(); // Probe.Everything, in every block, gains a field
  fake.putTwin({ id: 8, accountId: account, relays: ["upgraded.tf"] }, { event: "TwinStored" });
  fake.produceBlock();
  fake.produceBlock();
  await caughtUp(registry, fake);
  assert.deepEqual(changes, [{ kind: "twin", twin: { id: 8, accountId: account, relays: ["upgraded.tf"] } }]);
  assert.equal(metadataReads(), 2, "read again once, at the first block of the new runtime");
  assert.deepEqual(errors, []);
});

for (const metadata of [false, "corrupt"] as const) {
  test(`tfchain events — a node whose metadata ${metadata === false ? "cannot be read" : "does not decode"} is followed through storage subscriptions`, async (t) => {
    const fake = await fakeChain(t, { metadata });
    const signer = createSigner("//Alice", KeyType.Ed25519);
    fake.putTwin({ id: 6, accountId: signer.publicKey, relays: ["old.tf"] });
    const errors: Error[] = [];
    const registry = await registryOn(t, [fake.url], { onError: (e) => errors.push(e) });
    const changes = recorder(registry);
    await waitUntil(async () => registry.changeSource === "storage");
    assert.match(
      errors[0]?.message ?? "",
      /cannot follow twin events, following the storage of looked-up twins instead/,
    );
    assert.equal((errors[0] as { code?: string } | undefined)?.code, "RMB_ERR_REGISTRY_UNAVAILABLE");
    await registry.getTwin(6);
    await waitUntil(async () => fake.subscriptionCount("storage") === 1);
    fake.putTwin({ id: 6, accountId: signer.publicKey, relays: ["new.tf"] }, { event: "TwinUpdated" });
    fake.produceBlock();
    await waitUntil(async () => relaysOf(changes, 6).length === 1);
    assert.deepEqual(relaysOf(changes, 6), [["new.tf"]]);
  });
}

test("tfchain events — followEvents false uses storage subscriptions without reading the metadata", async (t) => {
  const fake = await fakeChain(t);
  const registry = await registryOn(t, [fake.url], { followEvents: false });
  recorder(registry);
  assert.equal(registry.changeSource, "storage");
  fake.produceBlock();
  assert.equal(fake.calls.includes("state_getMetadata"), false);
});

test("tfchain events — a runtime whose metadata places the twin calls elsewhere than the options is reported", async (t) => {
  const fake = await fakeChain(t);
  const errors: Error[] = [];
  const registry = await registryOn(t, [fake.url], { palletIndex: 11, onError: (e) => errors.push(e) });
  recorder(registry);
  await waitUntil(async () => registry.changeSource === "events");
  assert.equal(errors.length, 1);
  assert.match(
    errors[0]?.message ?? "",
    /runtime has TfgridModule at index 25 \(create_twin 17, update_twin 18\) but writes use 11\/17\/18/,
  );
  const fine = await registryOn(t, [fake.url], { onError: (e) => errors.push(e) });
  recorder(fine);
  await waitUntil(async () => fine.changeSource === "events");
  assert.equal(errors.length, 1, "matching options: nothing to report");
});
