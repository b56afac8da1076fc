import assert from "node:assert/strict";
import { test } from "node:test";
import type { RelayLink } from "../../src/peer/relay-link.js";
import { RelayPool } from "../../src/peer/relay-pool.js";
import { startRedisServer } from "../support/redis-server.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { createTwins, startRelay } from "../support/relay-fixture.js";
import { teardown } from "../support/teardown.js";
import { waitUntil } from "../support/wait.js";

/**
 * Two URLs of one relay group (two relay processes on one Redis) hold one session between them: a newer login on
 * one evicts the other (close code 4000). Found by the fault tests (test/faults/relay-kill.test.ts): the pool used
 * to reconnect the evicted link at once, which evicted the other, and so on for ever.
 */
test("relay pool — two relays of one group: the link that lost the session stands by, and takes over when the holder's relay goes", async (t) => {
  const undo = teardown(t);
  const redis = await startRedisServer();
  undo(() => redis.stop());
  const twins = createTwins();
  const o = { redis: redis.url };
  const first = await startRelay(o, twins);
  undo(() => first.relay.stop());
  const second = await startRelay(o, twins);
  undo(() => second.relay.stop());

  const frames: Uint8Array[] = [];
  const pool = new RelayPool({
    relays: [`ws://127.0.0.1:${first.port}`, `ws://127.0.0.1:${second.port}`],
    signer: twins.alice,
    twin: twins.twins.alice.id,
    onFrame: (bytes) => frames.push(bytes),
    reconnectDelay: 10,
    maxReconnectDelay: 50,
  });
  undo(() => pool.stop());
  pool.start();
  const links = pool.links as RelayLink[];
  await waitUntil(async () => links.some((l) => l.standingBy));
  // Give a fight for the session every chance to show: ten times the longest reconnect delay.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(pool.connectedCount, 1);
  assert.deepEqual(
    links.map((l) => l.stats.connects),
    [1, 1],
  );
  assert.equal(
    links.reduce((sum, l) => sum + l.replaced, 0),
    1,
  );
  const holder = links.findIndex((l) => l.isOpen);
  const standby = links[1 - holder]!;
  assert.equal(standby.standingBy, true);

  // The holder's relay goes away: the standing-by link takes over, and frames for the twin reach it.
  await (holder === 0 ? first : second).relay.stop();
  await waitUntil(async () => standby.isOpen, 5000);
  assert.equal(standby.standingBy, false);
  const other = holder === 0 ? second : first;
  const bob = await RelayTestClient.connect(other.port, twins.bob, { twin: 2 });
  undo(() => bob.close());
  bob.send(encode(requestEnvelope({ twin: 2 }, { twin: 1 }, { uid: "after-takeover" })));
  await waitUntil(async () => frames.length === 1, 5000);
});
