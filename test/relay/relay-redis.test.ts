import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RelayServer, RelayStateError } from "../../src/relay/index.js";
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedisCluster,
  startRedisServer,
} from "../support/redis-server.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { createTwins, DOMAIN, startRelay } from "../support/relay-fixture.js";
import { waitUntil } from "../support/wait.js";

const toBob = (i: number) =>
  requestEnvelope(
    { twin: 1 },
    { twin: 2 },
    { uid: `m${i}`, payload: { kind: "plain", data: new Uint8Array([i]) } },
  );

describe("relay on Redis", () => {
  let redis: RedisServerHandle;
  let prefixN = 0;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis.stop();
  });
  const opts = () => ({ redis: redis.url, redisPrefix: `r${++prefixN}` });

  test("messages queued for an offline peer survive a relay restart, in order and byte for byte", async () => {
    const o = opts();
    const twins = createTwins();
    const first = await startRelay(o, twins);
    const a = await RelayTestClient.connect(first.port, twins.alice, { twin: 1 });
    const frames = Array.from({ length: 20 }, (_, i) => encode(toBob(i)));
    for (const f of frames) a.send(f);
    await a.close();
    // Give the relay time to route what it has read, then stop it: bob never connected.
    await waitUntil(async () => first.relay.metrics.messageRx === frames.length);
    await first.relay.stop();

    const second = await startRelay(o, twins);
    const b = await RelayTestClient.connect(second.port, twins.bob, { twin: 2 });
    try {
      const got = await b.waitFor(frames.length);
      assert.deepEqual(
        got.map((r) => Buffer.from(r.raw)),
        frames.map((f) => Buffer.from(f)),
      );
    } finally {
      await b.close();
      await second.relay.stop();
    }
  });

  test("two relay processes on one Redis: a message from a peer on A reaches a peer on B and back", async () => {
    const o = opts();
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    const relayB = await startRelay(o, twins);
    const a = await RelayTestClient.connect(relayA.port, twins.alice, { twin: 1 });
    const b = await RelayTestClient.connect(relayB.port, twins.bob, { twin: 2 });
    try {
      const n = 200;
      for (let i = 0; i < n; i++) a.send(encode(toBob(i & 0xff)));
      const got = await b.waitFor(n, 10_000);
      assert.deepEqual(
        got.map((r) => r.env.uid),
        Array.from({ length: n }, (_, i) => `m${i & 0xff}`),
      );
      const reply = requestEnvelope({ twin: 2 }, { twin: 1 }, { message: { kind: "response" }, uid: "back" });
      b.send(encode(reply));
      const [back] = await a.waitFor(1);
      assert.equal(back!.env.uid, "back");
      assert.equal(back!.env.source?.twin, 2);
    } finally {
      await a.close();
      await b.close();
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });

  test("senders on two processes interleaving to one session: nothing lost, each sender's order kept", async () => {
    const o = opts();
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    const relayB = await startRelay(o, twins);
    const bob = await RelayTestClient.connect(relayA.port, twins.bob, { twin: 2 });
    const local = await RelayTestClient.connect(relayA.port, twins.alice, { twin: 1, sid: "x" });
    const remote = await RelayTestClient.connect(relayB.port, twins.alice, { twin: 1, sid: "y" });
    try {
      const n = 150;
      for (let i = 0; i < n; i++) {
        local.send(encode(requestEnvelope({ twin: 1, connection: "x" }, { twin: 2 }, { uid: `x${i}` })));
        remote.send(encode(requestEnvelope({ twin: 1, connection: "y" }, { twin: 2 }, { uid: `y${i}` })));
      }
      const got = (await bob.waitFor(2 * n, 10_000)).map((r) => r.env.uid);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(bob.received.length, 2 * n, "no duplicates");
      for (const p of ["x", "y"]) {
        assert.deepEqual(
          got.filter((u) => u!.startsWith(p)),
          Array.from({ length: n }, (_, i) => `${p}${i}`),
        );
      }
    } finally {
      await Promise.all([bob.close(), local.close(), remote.close()]);
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });

  test("a session logging in on another relay process evicts its older connection", async () => {
    const o = opts();
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    const relayB = await startRelay(o, twins);
    const old = await RelayTestClient.connect(relayA.port, twins.bob, { twin: 2, sid: "s" });
    const fresh = await RelayTestClient.connect(relayB.port, twins.bob, { twin: 2, sid: "s" });
    try {
      const closed = await old.closed();
      assert.equal(closed.code, 4000);
      assert.equal(fresh.ws.readyState, fresh.ws.OPEN);
      // The surviving connection still receives.
      const a = await RelayTestClient.connect(relayA.port, twins.alice, { twin: 1 });
      a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: "s" }, { uid: "to-fresh" })));
      const [got] = await fresh.waitFor(1);
      assert.equal(got!.env.uid, "to-fresh");
      await a.close();
    } finally {
      await fresh.close();
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });

  test("two logins of one session racing on two processes: exactly one connection survives", async () => {
    const o = opts();
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    const relayB = await startRelay(o, twins);
    try {
      for (let round = 0; round < 8; round++) {
        const sid = `race${round}`;
        const [x, y] = await Promise.all([
          RelayTestClient.connect(relayA.port, twins.bob, { twin: 2, sid }),
          RelayTestClient.connect(relayB.port, twins.bob, { twin: 2, sid }),
        ]);
        await waitUntil(async () => [x, y].filter((c) => c.ws.readyState === c.ws.OPEN).length === 1);
        await new Promise((r) => setTimeout(r, 30));
        assert.equal([x, y].filter((c) => c.ws.readyState === c.ws.OPEN).length, 1, `round ${round}`);
        await x!.close();
        await y!.close();
      }
    } finally {
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });

  test("stop() routes every frame already received before closing (graceful drain)", async () => {
    const o = opts();
    const twins = createTwins();
    const first = await startRelay(o, twins);
    const a = await RelayTestClient.connect(first.port, twins.alice, { twin: 1 });
    const n = 300;
    for (let i = 0; i < n; i++) a.send(encode(toBob(i & 0xff)));
    // Stop as soon as the first frame arrived: most are still waiting to be routed.
    await waitUntil(async () => first.relay.metrics.messageRx > 0);
    await first.relay.stop();
    const second = await startRelay(o, twins);
    const b = await RelayTestClient.connect(second.port, twins.bob, { twin: 2 });
    try {
      assert.equal((await b.waitFor(n, 10_000)).length, n);
    } finally {
      await a.close();
      await b.close();
      await second.relay.stop();
    }
  });

  test("a session that logged in while Redis was down gets its messages once Redis is back (resync on reconnect)", async () => {
    const durable = await startRedisServer({ appendonly: true });
    const twins = createTwins();
    const f = await startRelay({ redis: durable.url }, twins);
    try {
      const a = await RelayTestClient.connect(f.port, twins.alice, { twin: 1 });
      a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: "waiting" })));
      await waitUntil(async () => f.relay.metrics.messageRx === 1);
      await new Promise((r) => setTimeout(r, 50));
      await durable.kill();
      const b = await RelayTestClient.connect(f.port, twins.bob, { twin: 2 });
      await new Promise((r) => setTimeout(r, 300)); // the first reads fail
      await durable.restart();
      assert.equal((await b.next(10_000)).env.uid, "waiting");
      await a.close();
      await b.close();
    } finally {
      await f.relay.stop();
      await durable.stop();
    }
  });

  test("a relay whose Redis cannot be reached refuses to start with a clear error", async () => {
    const twins = createTwins();
    const relay = new RelayServer({
      domains: [DOMAIN],
      registry: twins.registry,
      redis: "redis://127.0.0.1:1",
    });
    await assert.rejects(
      relay.start(),
      (e: unknown) =>
        e instanceof RelayStateError &&
        e.code === "RMB_ERR_RELAY_STATE" &&
        /cannot reach redis/.test(e.message),
    );
  });

  test("messages expired in a Redis queue are reported to their senders by the sweep", async () => {
    let now = 1_000_000;
    const o = { ...opts(), sessionQueueAge: 60, clock: () => now };
    const twins = createTwins();
    const f = await startRelay(o, twins);
    const a = await RelayTestClient.connect(f.port, twins.alice, { twin: 1 });
    try {
      const req = requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: "late", timestamp: now });
      a.send(encode(req));
      await waitUntil(async () => f.relay.metrics.messageRx === 1);
      now += 61;
      await f.relay.sweep();
      const [err] = await a.waitFor(1);
      assert.equal(err!.env.uid, "late");
      assert.deepEqual(err!.env.message, {
        kind: "error",
        code: 0,
        message: "message expired in relay queue, destination did not connect in time",
      });
    } finally {
      await a.close();
      await f.relay.stop();
    }
  });
});

describe("relay on a Redis Cluster (3 masters started by the test)", () => {
  let cluster: RedisClusterHandle;
  before(async () => {
    cluster = await startRedisCluster(3);
  });
  after(async () => {
    await cluster?.stop();
  });

  test("sessions spread over the cluster's slots; two relay processes exchange messages and survive a restart", async () => {
    const o = { redis: { cluster: cluster.addresses } };
    const twins = createTwins();
    const relayA = await startRelay(o, twins);
    let relayB = await startRelay(o, twins);
    const sids = ["a", "b", "c", "d", "e", "f"];
    const a = await RelayTestClient.connect(relayA.port, twins.alice, { twin: 1 });
    try {
      // Bob's sessions are offline: queued in streams on different masters.
      for (const sid of sids)
        a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: sid }, { uid: sid })));
      await waitUntil(async () => relayA.relay.metrics.messageRx === sids.length);
      await relayB.relay.stop();
      relayB = await startRelay(o, twins);
      for (const sid of sids) {
        const b = await RelayTestClient.connect(relayB.port, twins.bob, { twin: 2, sid });
        const [got] = await b.waitFor(1);
        assert.equal(got!.env.uid, sid);
        // Live traffic through the cluster's pub/sub: A → B while connected.
        a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: sid }, { uid: `${sid}-live` })));
        const [, live] = await b.waitFor(2);
        assert.equal(live!.env.uid, `${sid}-live`);
        await b.close();
      }
    } finally {
      await a.close();
      await relayA.relay.stop();
      await relayB.relay.stop();
    }
  });
});
