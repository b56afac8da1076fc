import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { createTwins, startRelay } from "../support/relay-fixture.js";
import { waitUntil } from "../support/wait.js";

/**
 * A session's connection evicted by a newer login on another relay process (found by the fault tests, see
 * test/faults/relay-kill.test.ts): what the old connection sent is still routed, and what is queued for the session
 * meanwhile reaches the new connection.
 */
describe("relay on Redis — eviction of a session's older connection", () => {
  let redis: RedisServerHandle;
  let n = 0;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.stop();
  });

  test("frames the evicted connection sent before it heard of the eviction are routed; messages queued on its process meanwhile reach the new connection", async () => {
    const o = { redis: redis.url, redisPrefix: `ev${++n}` };
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    const relayB = await startRelay(o, twins);
    const alice = await RelayTestClient.connect(relayA.port, twins.alice, { twin: 1 });
    const old = await RelayTestClient.connect(relayA.port, twins.bob, { twin: 2, sid: "s" });
    // The old peer stops reading: it does not see the relay's close frame and keeps sending, as a peer does until
    // the close reaches it.
    old.ws.pause();
    const fresh = await RelayTestClient.connect(relayB.port, twins.bob, { twin: 2, sid: "s" });
    try {
      await waitUntil(async () => relayA.relay.metrics.evictions.replaced === 1);
      const fromOld = requestEnvelope({ twin: 2, connection: "s" }, { twin: 1 }, { uid: "from-old" });
      old.send(encode(fromOld));
      assert.equal((await alice.next()).env.uid, "from-old");
      // Relay A still has the closing connection of bob:s; the message must go to the fresh one on relay B.
      const toBob = requestEnvelope({ twin: 1 }, { twin: 2, connection: "s" }, { uid: "to-fresh" });
      alice.send(encode(toBob));
      assert.equal((await fresh.next()).env.uid, "to-fresh");
    } finally {
      old.ws.terminate();
      await Promise.all([alice.close(), fresh.close()]);
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });
});
