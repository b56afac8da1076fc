import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { createSigner } from "../../src/identity/index.js";
import { type Envelope, signEnvelope } from "../../src/protocol/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { RelayRanker } from "../../src/relay/federation/ranker.js";
import { type RelayOptions, RelayServer } from "../../src/relay/index.js";
import { freePort, type RedisServerHandle, startRedisServer } from "../support/redis-server.js";
import { encode, httpRequest, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { waitUntil } from "../support/wait.js";

const A = "relay-a.test";
const B = "relay-b.test";
const C = "relay-c.test"; // answers what a test tells it to (a plain HTTP server)

/** Alice on relay A, Bob on relay B, Carol on A and C, Erin only on C. One registry, as on a chain. */
function network() {
  const registry = new MemoryRegistry();
  const alice = createSigner("//Alice", "ed25519");
  const bob = createSigner("//Bob", "sr25519");
  const carol = createSigner("//Charlie", "ed25519");
  const erin = createSigner("//Eve", "ed25519");
  registry.set({ id: 1, accountId: alice.publicKey, relays: [A] });
  registry.set({ id: 2, accountId: bob.publicKey, relays: [B] });
  registry.set({ id: 3, accountId: carol.publicKey, relays: [C, B] });
  registry.set({ id: 4, accountId: erin.publicKey, relays: [C] });
  return { registry, alice, bob, carol, erin };
}

type Net = ReturnType<typeof network>;

interface Pair {
  net: Net;
  a: RelayServer;
  b: RelayServer;
  portA: number;
  portB: number;
  stop(): Promise<void>;
}

const sign = (env: Envelope, signer: ReturnType<typeof createSigner>) => signEnvelope(env, signer);

async function startPair(
  extra: (domain: string) => Partial<RelayOptions>,
  urls: Record<string, string> = {},
): Promise<Pair> {
  const net = network();
  const portA = await freePort();
  const portB = await freePort();
  const federationUrls = { [A]: `http://127.0.0.1:${portA}/`, [B]: `http://127.0.0.1:${portB}/`, ...urls };
  const common = { registry: net.registry, federationUrls, federationRetryDelay: 200 };
  const a = new RelayServer({ domains: [A], port: portA, ...common, ...extra(A) });
  const b = new RelayServer({ domains: [B], port: portB, ...common, ...extra(B) });
  await a.start();
  await b.start();
  return {
    net,
    a,
    b,
    portA,
    portB,
    async stop() {
      await a.stop();
      await b.stop();
    },
  };
}

function federationSuite(mode: string, extra: () => (domain: string) => Partial<RelayOptions>): void {
  describe(`relay federation (§4.8) [${mode}]`, () => {
    test("a request from a peer on relay A reaches its destination on relay B byte for byte, and the reply comes back", async () => {
      const p = await startPair(extra());
      const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
      const bob = await RelayTestClient.connect(p.portB, p.net.bob, { twin: 2 });
      try {
        const req = encode(sign(requestEnvelope({ twin: 1 }, { twin: 2 }), p.net.alice));
        alice.send(req);
        const got = await bob.next();
        assert.deepEqual(Buffer.from(got.raw), Buffer.from(req));
        const reply = sign(
          requestEnvelope({ twin: 2 }, { twin: 1 }, { uid: got.env.uid, message: { kind: "response" } }),
          p.net.bob,
        );
        bob.send(encode(reply));
        const back = await alice.next();
        assert.equal(back.env.uid, got.env.uid);
        assert.equal(back.env.message?.kind, "response");
        assert.match(await metrics(p.portA), /federation_message_success\{relay="relay-b.test"\} 1/);
      } finally {
        await alice.close();
        await bob.close();
        await p.stop();
      }
    });

    test("many messages to an offline peer on the other relay are all delivered when it connects", async () => {
      const p = await startPair(extra());
      const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
      try {
        const n = 100;
        for (let i = 0; i < n; i++) {
          alice.send(encode(sign(requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: `u${i}` }), p.net.alice)));
        }
        await waitUntil(() =>
          metrics(p.portB).then((m) => /relay_message_rx \d+/.exec(m)?.[0] === `relay_message_rx ${n}`),
        );
        const bob = await RelayTestClient.connect(p.portB, p.net.bob, { twin: 2 });
        const got = await bob.waitFor(n, 10_000);
        assert.deepEqual(new Set(got.map((r) => r.env.uid)).size, n);
        await bob.close();
      } finally {
        await alice.close();
        await p.stop();
      }
    });

    test("fail-fast to an offline peer on another relay: 404 there, a permanent error envelope here", async () => {
      const p = await startPair(extra());
      const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
      try {
        const req = sign(requestEnvelope({ twin: 1 }, { twin: 2 }, { tags: "fail-fast" }), p.net.alice);
        alice.send(encode(req));
        const err = await alice.next();
        assert.equal(err.env.uid, req.uid);
        assert.deepEqual(err.env.message, {
          kind: "error",
          code: 0,
          message: "remote relay rejected permanently: destination offline",
        });
        assert.deepEqual(err.env.destination, { twin: 1 });
      } finally {
        await alice.close();
        await p.stop();
      }
    });

    test("a destination relay that is down is retried until it comes back", async () => {
      const p = await startPair(extra());
      await p.b.stop();
      const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
      let b2: RelayServer | undefined;
      try {
        const req = sign(requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: "patient" }), p.net.alice);
        alice.send(encode(req));
        await waitUntil(() =>
          metrics(p.portA).then((m) => /federation_message_error\{relay="relay-b.test"\} [3-9]/.test(m)),
        );
        // B comes back on the same port (a fresh Redis prefix is not needed: the queue lives on A's side).
        const { rateLimit: _unused, redis, ...rest } = p.b.options;
        b2 = new RelayServer({ ...rest, ...(redis === undefined ? {} : { redis }), port: p.portB });
        await b2.start();
        const bob = await RelayTestClient.connect(p.portB, p.net.bob, { twin: 2 });
        assert.equal((await bob.next(10_000)).env.uid, "patient");
        await bob.close();
        assert.equal(alice.received.length, 0);
      } finally {
        await alice.close();
        await b2?.stop();
        await p.a.stop();
      }
    });

    test("a request that cannot be federated before it expires gets an error envelope", async () => {
      const p = await startPair(extra(), { [C]: "http://127.0.0.1:1/" });
      const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
      try {
        const req = sign(requestEnvelope({ twin: 1 }, { twin: 4 }, { expiration: 2 }), p.net.alice);
        alice.send(encode(req));
        const err = await alice.next(10_000);
        assert.equal(err.env.uid, req.uid);
        assert.deepEqual(err.env.message, {
          kind: "error",
          code: 0,
          message: "message expired before it reached the destination relay",
        });
      } finally {
        await alice.close();
        await p.stop();
      }
    });
  });
}

federationSuite("embedded", () => () => ({}));

describe("with one Redis per relay", () => {
  const servers: RedisServerHandle[] = [];
  before(async () => {
    servers.push(await startRedisServer(), await startRedisServer());
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  let n = 0;
  federationSuite("redis", () => {
    const prefix = `f${++n}`;
    return (domain) => ({ redis: servers[domain === A ? 0 : 1]!.url, redisPrefix: prefix });
  });
});

describe("federation — statuses from the other relay", () => {
  let server: Server;
  let port = 0;
  let status = 500;
  let hits = 0;
  before(async () => {
    server = createServer((req, res) => {
      hits += 1;
      req.resume();
      req.on("end", () => res.writeHead(status).end(status === 403 ? "go away" : ""));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
  });

  test("any 4xx is permanent: one attempt, the sender is told the remote's reason", async () => {
    status = 403;
    hits = 0;
    const p = await startPair(() => ({}), { [C]: `http://127.0.0.1:${port}/` });
    const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
    try {
      alice.send(encode(sign(requestEnvelope({ twin: 1 }, { twin: 4 }), p.net.alice)));
      const err = await alice.next();
      assert.deepEqual(err.env.message, {
        kind: "error",
        code: 0,
        message: "remote relay rejected permanently: go away",
      });
      assert.equal(hits, 1);
    } finally {
      await alice.close();
      await p.stop();
    }
  });

  test("200 is not success (only 202 is): every domain is tried, three passes, then retried later", async () => {
    status = 200;
    hits = 0;
    const p = await startPair(() => ({}), { [C]: `http://127.0.0.1:${port}/` });
    const alice = await RelayTestClient.connect(p.portA, p.net.alice, { twin: 1 });
    try {
      // Carol is on C (answers 200) and B (accepts); B ranks first after C is downvoted, so she gets it.
      alice.send(encode(sign(requestEnvelope({ twin: 1 }, { twin: 3 }, { uid: "to-carol" }), p.net.alice)));
      const carol = await RelayTestClient.connect(p.portB, p.net.carol, { twin: 3 });
      assert.equal((await carol.next(5000)).env.uid, "to-carol");
      await carol.close();
      // Erin is only on C: three passes per attempt, and attempts repeat.
      alice.send(encode(sign(requestEnvelope({ twin: 1 }, { twin: 4 }, { expiration: 60 }), p.net.alice)));
      await waitUntil(async () => hits >= 1 + 6);
      assert.equal(alice.received.length, 0);
    } finally {
      await alice.close();
      await p.stop();
    }
  });
});

describe("federation — ranker (§4.9)", () => {
  test("failures push a domain back until they age out of the window", () => {
    let now = 10_000;
    const r = new RelayRanker(3600, () => now);
    assert.equal(r.rank("x"), 0);
    r.downvote("x");
    r.downvote("x");
    r.downvote("y");
    assert.equal(r.rank("x"), 2);
    for (let i = 0; i < 20; i++) assert.deepEqual(r.order(["x", "y", "z"]), ["z", "y", "x"]);
    now += 3601;
    assert.equal(r.rank("x"), 0);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.order(["x", "y"]).join());
    assert.deepEqual([...seen].sort(), ["x,y", "y,x"]); // equal ranks come in random order
  });

  test("the rank is failures per hour of the window", () => {
    const r = new RelayRanker(7200, () => 5);
    for (let i = 0; i < 4; i++) r.downvote("d");
    assert.equal(r.rank("d"), 2);
  });
});

async function metrics(port: number): Promise<string> {
  return (await httpRequest(port, "GET", "/metrics")).body;
}
