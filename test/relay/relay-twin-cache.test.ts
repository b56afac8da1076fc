import assert from "node:assert/strict";
import { test } from "node:test";
import { createSigner } from "../../src/identity/index.js";
import { CachedRegistry, MemoryRegistry, type Twin, type TwinRegistry } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { encode, httpRequest, RelayTestClient, requestEnvelope } from "../support/relay-client.js";

/** A registry reached "remotely": counts lookups (stands in for tfchain or a registrar). */
class RemoteRegistry implements TwinRegistry {
  readonly inner = new MemoryRegistry();
  lookups = 0;
  async getTwin(id: number): Promise<Twin | undefined> {
    this.lookups += 1;
    return this.inner.getTwin(id);
  }
  getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    return this.inner.getTwinIdByAccount(accountId);
  }
}

test("a relay caches twin lookups of a remote registry and refreshes a twin on invalidation", async () => {
  const remote = new RemoteRegistry();
  const alice = createSigner("//Alice", "ed25519");
  const bob = createSigner("//Bob", "ed25519");
  remote.inner.set({ id: 1, accountId: alice.publicKey, relays: ["r.test"] });
  remote.inner.set({ id: 2, accountId: bob.publicKey, relays: ["r.test"] });
  const relay = new RelayServer({ domains: ["r.test"], registry: remote });
  assert.ok(relay.options.registry instanceof CachedRegistry);
  const { port } = await relay.start();
  try {
    const a = await RelayTestClient.connect(port, alice, { twin: 1 });
    for (let i = 0; i < 10; i++) a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: "x" })));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(remote.lookups, 2); // twin 1 at login, twin 2 once for ten messages
    // Bob moves to another relay; the relay learns it only after invalidation.
    remote.inner.set({ id: 2, accountId: bob.publicKey });
    relay.invalidateTwin(2);
    a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: "x" }, { uid: "after" })));
    const err = await a.next();
    assert.equal(err.env.uid, "after");
    assert.deepEqual(err.env.message, {
      kind: "error",
      code: 0,
      message: "relay info is not set for this twin",
    });
    const metrics = (await httpRequest(port, "GET", "/metrics")).body;
    assert.match(metrics, /rmb_cache_hits_total 9/);
    assert.match(metrics, /rmb_cache_misses_total 3/);
    await a.close();
  } finally {
    await relay.stop();
  }
});

test("twinCache: false and a MemoryRegistry use the registry directly", () => {
  const remote = new RemoteRegistry();
  assert.equal(
    new RelayServer({ domains: ["d"], registry: remote, twinCache: false }).options.registry,
    remote,
  );
  const mem = new MemoryRegistry();
  assert.equal(new RelayServer({ domains: ["d"], registry: mem }).options.registry, mem);
});
