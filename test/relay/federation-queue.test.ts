import assert from "node:assert/strict";
import { test } from "node:test";
import { RedisFederationQueue } from "../../src/relay/federation/redis-federation-queue.js";
import { connectRedis } from "../../src/relay/redis/connection.js";
import { startRedisServer } from "../support/redis-server.js";
import { teardown } from "../support/teardown.js";
import { waitUntil } from "../support/wait.js";

const RETRY_DELAY = 250;
const CONCURRENCY = 4;
const ENTRIES = 80;

/**
 * Found by the federation fault test (test/faults/federation-partner-down.test.ts): entries left for retry were
 * claimed `concurrency` at a time per retry delay, so a backlog built while a partner relay was down drained at
 * 64 envelopes per 3 s once it was back (10,000 envelopes: 8 minutes), and short-lived ones expired meanwhile.
 */
test("redis federation queue — a backlog left for retry drains in one pass once deliveries succeed", async (t) => {
  const undo = teardown(t);
  const redis = await startRedisServer();
  undo(() => redis.stop());
  const client = connectRedis(redis.url);
  const blocking = connectRedis(redis.url);
  await Promise.all([client.connect(), blocking.connect()]);
  undo(() => client.disconnect());
  const queue = new RedisFederationQueue(client, blocking, "fq", "me", RETRY_DELAY);
  undo(() => queue.close());
  let partnerUp = false;
  const attempted = new Set<string>();
  const delivered = new Set<string>();
  await queue.start(async (data) => {
    const key = Buffer.from(data).toString();
    attempted.add(key);
    if (!partnerUp) return "retry";
    delivered.add(key);
    return "done";
  }, CONCURRENCY);
  for (let i = 0; i < ENTRIES; i++) await queue.push(Buffer.from(`e${i}`));
  await waitUntil(async () => attempted.size === ENTRIES, 10_000);

  partnerUp = true;
  const back = Date.now();
  await waitUntil(async () => delivered.size === ENTRIES, 10_000);
  const took = Date.now() - back;
  // One retry delay to be claimed again, then as fast as the handler goes; `CONCURRENCY` per retry delay would
  // take ENTRIES / CONCURRENCY × RETRY_DELAY = 5 s.
  assert.ok(took < 2500, `the backlog took ${took} ms to drain`);
  assert.equal(await queue.length(), 0);
});
