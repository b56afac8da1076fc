import assert from "node:assert/strict";
import { test } from "node:test";
import { createSigner } from "../../src/identity/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { freePort, startRedisServer } from "../support/redis-server.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";

/**
 * Found by the hostile-input suite: with the destination relay unreachable, federated envelopes were retried until
 * they expired and the federation queue grew without bound. `federationQueueLength` caps it; the sender of each
 * refused request gets an error envelope.
 */
for (const mode of ["embedded", "redis"] as const) {
  test(`federation queue cap (${mode}): beyond federationQueueLength the sender gets 'federation queue is full'`, async (t) => {
    const redis = mode === "redis" ? await startRedisServer() : undefined;
    const registry = new MemoryRegistry();
    const alice = createSigner("//Alice", "ed25519");
    const bob = createSigner("//Bob", "ed25519");
    registry.set({ id: 1, accountId: alice.publicKey, relays: ["here.test"] });
    registry.set({ id: 2, accountId: bob.publicKey, relays: ["away.test"] });
    const relay = new RelayServer({
      domains: ["here.test"],
      registry,
      host: "127.0.0.1",
      federationUrls: { "away.test": `http://127.0.0.1:${await freePort()}/` }, // nobody listens: retried
      federationRetryDelay: 60_000,
      federationQueueLength: 3,
      ...(redis === undefined ? {} : { redis: redis.url, redisPrefix: "cap" }),
    });
    const { port } = await relay.start();
    const a = await RelayTestClient.connect(port, alice, { twin: 1 });
    // Stopped in this order (node:test runs after-hooks first to last): client, relay, then its Redis.
    t.after(() => a.close());
    t.after(() => relay.stop());
    t.after(() => redis?.stop());
    for (let i = 0; i < 5; i++) a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: `m${i}` })));
    const errors = await a.waitFor(2);
    assert.deepEqual(
      errors.map((r) => r.env.uid).sort(),
      ["m3", "m4"],
      "the first three are queued, the last two refused",
    );
    for (const { env } of errors) {
      assert.equal(env.message?.kind, "error");
      assert.match(
        (env.message as { message: string }).message,
        /failed to route message to twin '2' on another relay: relay federation queue is full \(3 messages\)/,
      );
    }
  });
}
