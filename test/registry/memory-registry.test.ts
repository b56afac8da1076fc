import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createSigner } from "../../src/identity/index.js";
import {
  InvalidTwinError,
  MemoryRegistry,
  parseRelayField,
  TwinNotFoundError,
} from "../../src/registry/index.js";

const alice = createSigner("//Alice", "ed25519");
const bob = createSigner("//Bob", "sr25519");

describe("registry — MemoryRegistry", () => {
  test("register assigns ids from 1 and getTwin / getTwinIdByAccount find them", async () => {
    const r = new MemoryRegistry();
    const a = r.register({ accountId: alice.publicKey, relays: ["relay.one"] });
    const b = r.register({ accountId: bob.publicKey });
    assert.equal(a.id, 1);
    assert.equal(b.id, 2);
    assert.deepEqual((await r.getTwin(1))?.relays, ["relay.one"]);
    assert.equal((await r.getTwin(2))?.relays, undefined);
    assert.equal(await r.getTwin(3), undefined);
    assert.equal(await r.getTwinIdByAccount(bob.publicKey), 2);
    assert.equal(await r.getTwinIdByAccount(new Uint8Array(32)), undefined);
    assert.equal(r.size, 2);
  });

  test("returned twins are copies", async () => {
    const r = new MemoryRegistry();
    r.register({ accountId: alice.publicKey, relays: ["a"] });
    const t = await r.getTwin(1);
    t!.relays!.push("b");
    t!.accountId[0] = 0;
    const again = await r.getTwin(1);
    assert.deepEqual(again?.relays, ["a"]);
    assert.deepEqual(again?.accountId, alice.publicKey);
  });

  test("set replaces a twin and re-indexes its account; delete removes it", async () => {
    const r = new MemoryRegistry();
    r.register({ accountId: alice.publicKey });
    r.set({ id: 1, accountId: bob.publicKey, relays: ["x"] });
    assert.equal(await r.getTwinIdByAccount(alice.publicKey), undefined);
    assert.equal(await r.getTwinIdByAccount(bob.publicKey), 1);
    r.set({ id: 7, accountId: alice.publicKey });
    assert.equal(r.register({ accountId: new Uint8Array(32).fill(9) }).id, 2);
    r.delete(7);
    assert.equal(await r.getTwin(7), undefined);
    assert.throws(
      () => r.delete(7),
      (e: unknown) => e instanceof TwinNotFoundError && e.code === "RMB_ERR_TWIN_NOT_FOUND" && e.twinId === 7,
    );
  });

  test("rejects malformed twins and duplicate accounts with InvalidTwinError", () => {
    const r = new MemoryRegistry();
    r.register({ accountId: alice.publicKey });
    const bad = (fn: () => unknown, msg: RegExp) =>
      assert.throws(
        fn,
        (e: unknown) =>
          e instanceof InvalidTwinError && e.code === "RMB_ERR_INVALID_TWIN" && msg.test(e.message),
      );
    bad(() => r.register({ accountId: alice.publicKey }), /already belongs to twin 1/);
    bad(() => r.register({ accountId: new Uint8Array(31) }), /32 bytes/);
    bad(() => r.register({ accountId: bob.publicKey, pk: new Uint8Array(32) }), /33 bytes/);
    bad(() => r.register({ accountId: bob.publicKey, relays: ["a_b"] }), /invalid relay domain/);
    bad(() => r.set({ id: 0, accountId: bob.publicKey }), /twin id/);
  });

  test("parseRelayField splits the chain relay field on '_'", () => {
    assert.deepEqual(parseRelayField("r1.example_r2.example"), ["r1.example", "r2.example"]);
    assert.deepEqual(parseRelayField("r1.example"), ["r1.example"]);
    assert.deepEqual(parseRelayField(""), []);
  });
});

test("memory registry — createTwin/updateTwin for a signer, with change events", async () => {
  const { MemoryRegistry, TwinExistsError, TwinNotFoundError } = await import("../../src/registry/index.js");
  const { createSigner } = await import("../../src/identity/index.js");
  const registry = new MemoryRegistry();
  const alice = createSigner("//Alice", "sr25519");
  const changes: unknown[] = [];
  const unwatch = registry.watch((c) => changes.push(c.kind === "twin" ? c.twin.relays : c.kind));
  const created = await registry.createTwin(alice, { relays: ["a.example"] });
  assert.equal(created.id, 1);
  await assert.rejects(registry.createTwin(alice, { relays: [] }), TwinExistsError);
  const pk = new Uint8Array(33).fill(2);
  const updated = await registry.updateTwin(alice, { relays: ["b.example"], pk });
  assert.deepEqual([updated.id, updated.relays, updated.pk], [1, ["b.example"], pk]);
  await assert.rejects(
    registry.updateTwin(createSigner("//Bob", "sr25519"), { relays: [] }),
    TwinNotFoundError,
  );
  unwatch();
  await registry.updateTwin(alice, { relays: [] });
  assert.deepEqual(changes, [["a.example"], ["b.example"]]);
});
