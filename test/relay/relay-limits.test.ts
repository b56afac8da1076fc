import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryRegistry } from "../../src/registry/index.js";
import {
  MemoryQueueStore,
  QueueStoreFullError,
  RATE_LIMIT_WINDOW,
  RateLimiter,
  RelayOptionsError,
  RelayServer,
  resolveRelayOptions,
} from "../../src/relay/index.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { startRelay } from "../support/relay-fixture.js";

describe("relay — options", () => {
  const registry = new MemoryRegistry();
  test("defaults are filled in", () => {
    const o = resolveRelayOptions({ domains: ["d"], registry });
    assert.equal(o.host, "127.0.0.1");
    assert.equal(o.port, 0);
    assert.equal(o.maxSessions, 500_000);
    assert.equal(o.maxMessageSize, 1024 * 1024);
    assert.equal(o.sessionQueueLength, 10_000);
    assert.equal(o.sessionQueueAge, 3600);
    assert.equal(o.rateLimit, undefined);
  });
  test("bad options throw RelayOptionsError naming the option", () => {
    const bad = (opts: object, option: string) =>
      assert.throws(
        () => new RelayServer({ domains: ["d"], registry, ...opts }),
        (e: unknown) =>
          e instanceof RelayOptionsError && e.option === option && e.code === "RMB_ERR_RELAY_OPTIONS",
      );
    bad({ domains: [] }, "domains");
    bad({ domains: ["a_b"] }, "domains");
    bad({ registry: {} }, "registry");
    bad({ port: 70000 }, "port");
    bad({ maxSessions: 0 }, "maxSessions");
    bad({ maxMessageSize: 1.5 }, "maxMessageSize");
    bad({ sessionQueueLength: -1 }, "sessionQueueLength");
    bad({ sessionQueueAge: 0 }, "sessionQueueAge");
    bad({ rateLimit: { count: 0, size: 10 } }, "rateLimit.count");
    bad({ rateLimit: { count: 1, size: 0 } }, "rateLimit.size");
    bad({ redis: "localhost:6379" }, "redis");
    bad({ redis: { cluster: [] } }, "redis");
    bad({ redis: { cluster: ["no-port"] } }, "redis");
    bad({ redisPrefix: "has space" }, "redisPrefix");
    bad({ federationUrls: { "relay.b": "ftp://x" } }, "federationUrls");
    bad({ verifyFederatedSignatures: "yes" }, "verifyFederatedSignatures");
    bad({ federationConcurrency: 0 }, "federationConcurrency");
    bad({ federationTimeout: 0 }, "federationTimeout");
    bad({ federationRetryDelay: -5 }, "federationRetryDelay");
    bad({ rankerPeriod: 0 }, "rankerPeriod");
    bad({ shutdownTimeout: -1 }, "shutdownTimeout");
    bad({ maxClockSkew: -1 }, "maxClockSkew");
    bad({ maxClockSkew: 0.5 }, "maxClockSkew");
    bad({ maxDropReports: -1 }, "maxDropReports");
    bad({ log: "stderr" }, "log");
  });
  test("federation, shutdown and Redis defaults", () => {
    const o = resolveRelayOptions({ domains: ["d"], registry, shutdownTimeout: 0 });
    assert.equal(o.shutdownTimeout, 0);
    assert.equal(o.redis, undefined);
    assert.equal(o.redisPrefix, "rmb");
    assert.equal(o.federationConcurrency, 64);
    assert.equal(o.federationTimeout, 3000);
    assert.equal(o.federationRetryDelay, 3000);
    assert.equal(o.rankerPeriod, 3600);
    assert.equal(o.verifyFederatedSignatures, true);
    assert.equal(o.maxClockSkew, 300);
    assert.equal(o.maxDropReports, 100_000);
    assert.equal(resolveRelayOptions({ domains: ["d"], registry, maxClockSkew: 0 }).maxClockSkew, 0);
    assert.deepEqual(resolveRelayOptions({ domains: ["d"], registry, redis: { cluster: ["h:1"] } }).redis, {
      cluster: ["h:1"],
    });
  });
});

describe("relay — rate limiter (§4.11)", () => {
  test("fixed 60 s window per twin, counting frames and bytes; oversize frames refused", () => {
    let now = RATE_LIMIT_WINDOW * 1000;
    const l = new RateLimiter({ count: 2, size: 100 }, 10, () => now);
    assert.equal(l.measure(1, 101), false);
    assert.equal(l.measure(1, 10), true);
    assert.equal(l.measure(1, 10), true);
    assert.equal(l.measure(1, 10), false);
    assert.equal(l.measure(2, 90), true);
    assert.equal(l.measure(2, 11), false); // bytes over size
    now += RATE_LIMIT_WINDOW - 1;
    assert.equal(l.measure(1, 10), false);
    now += 1;
    assert.equal(l.measure(1, 10), true);
  });

  test("refused frames get 'exceeded rate limits, dropping message' and the connection stays open", async () => {
    const f = await startRelay({ rateLimit: { count: 2, size: 10_000 } });
    const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1 });
    try {
      const reqs = [1, 2, 3].map(() => requestEnvelope({ twin: 1 }, { twin: 1 }));
      for (const r of reqs) a.send(encode(r));
      const got = await a.waitFor(3);
      assert.deepEqual(
        got.map((g) => g.env.message),
        [
          { kind: "request", command: "test.echo" },
          { kind: "request", command: "test.echo" },
          { kind: "error", code: 0, message: "exceeded rate limits, dropping message" },
        ],
      );
      assert.equal(got[2]!.env.uid, reqs[2]!.uid);
      assert.equal(a.ws.readyState, a.ws.OPEN);
    } finally {
      await a.close();
      await f.relay.stop();
    }
  });
});

// The store's own behaviour (FIFO, caps, ages) is the contract in queue-store-contract.test.ts.
describe("relay — session queues", () => {
  test("a request dropped from a full queue is answered with an error envelope to its sender", async () => {
    const f = await startRelay({ sessionQueueLength: 2 });
    const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1 });
    try {
      const reqs = [0, 1, 2].map(() => requestEnvelope({ twin: 1 }, { twin: 2, connection: "away" }));
      const resp = requestEnvelope(
        { twin: 1 },
        { twin: 2, connection: "away" },
        { message: { kind: "response" } },
      );
      a.send(encode(resp)); // dropped silently: not a request
      for (const r of reqs) a.send(encode(r));
      const got = await a.waitFor(1);
      assert.equal(got[0]!.env.uid, reqs[0]!.uid);
      assert.deepEqual(got[0]!.env.message, {
        kind: "error",
        code: 0,
        message: "destination queue is full, dropping message",
      });
      assert.deepEqual(got[0]!.env.destination, { twin: 1 });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(a.received.length, 1);
    } finally {
      await a.close();
      await f.relay.stop();
    }
  });

  test("maxBytes caps the bytes held across all sessions; acks and drops free them", async () => {
    const s = new MemoryQueueStore({ maxBytes: 100, maxLength: 1 });
    await s.enqueue("1:a", new Uint8Array(60));
    await assert.rejects(
      s.enqueue("1:b", new Uint8Array(60)),
      (e: unknown) => e instanceof QueueStoreFullError && e.code === "RMB_ERR_QUEUE_FULL",
    );
    assert.equal(s.bytes, 60);
    const [first] = await s.read("1:a", undefined, 1);
    await s.ack("1:a", [first!.id]);
    assert.equal(s.bytes, 0);
    await s.enqueue("1:b", new Uint8Array(60));
    await s.enqueue("1:b", new Uint8Array(30)); // maxLength 1 drops the 60-byte entry
    assert.equal(s.bytes, 30);
  });

  test("a full queue storage refuses messages with rmb-rs's route error; the sender's connection keeps working", async () => {
    const padding = { payload: { kind: "plain" as const, data: new Uint8Array(400) } };
    const frame = encode(requestEnvelope({ twin: 1 }, { twin: 2, connection: "away" }, padding));
    const f = await startRelay({ maxQueuedBytes: 2 * frame.length + 200 });
    const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1 });
    try {
      const reqs = [0, 1, 2].map(() =>
        requestEnvelope({ twin: 1 }, { twin: 2, connection: "away" }, padding),
      );
      for (const r of reqs) a.send(encode(r));
      const [err] = await a.waitFor(1);
      assert.equal(err!.env.uid, reqs[2]!.uid);
      assert.deepEqual(err!.env.message, {
        kind: "error",
        code: 0,
        message: `failed to route message to peer '2:away': relay queue storage is full (${2 * frame.length + 200} bytes)`,
      });
      // still served: a ping gets its pong
      a.send(encode(requestEnvelope({ twin: 1 }, undefined, { message: { kind: "ping" } })));
      const [, pongMsg] = await a.waitFor(2);
      assert.equal(pongMsg!.env.message?.kind, "pong");
      // the two queued requests are delivered when the destination connects
      const b = await RelayTestClient.connect(f.port, f.bob, { twin: 2, sid: "away" });
      const got = await b.waitFor(2);
      assert.deepEqual(
        got.map((g) => g.env.uid),
        [reqs[0]!.uid, reqs[1]!.uid],
      );
      await b.close();
    } finally {
      await a.close();
      await f.relay.stop();
    }
  });
});
