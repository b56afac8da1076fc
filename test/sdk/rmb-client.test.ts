import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KeyType } from "../../src/identity/index.js";
import { createEnvelope, encodeEnvelope, signEnvelope, unixNow } from "../../src/protocol/index.js";
import { RelayServer } from "../../src/relay/index.js";
import {
  bytes,
  PeerClient,
  RmbCallError,
  RmbClient,
  RmbClientClosedError,
  RmbHandlerError,
  RmbTimeoutError,
  text,
} from "../../src/sdk/index.js";
import {
  type NetTwin,
  PEER_DOMAIN,
  type PeerHandle,
  type PeerNet,
  startPeerNet,
} from "../support/peer-net.js";
import { freePort } from "../support/redis-server.js";
import { RelayTestClient } from "../support/relay-client.js";
import { waitUntil } from "../support/wait.js";

const FAST = { reconnectDelay: 50, maxReconnectDelay: 300 };

describe("SDK direct client (RmbClient) against our relay", () => {
  let net: PeerNet;
  let alice: NetTwin;
  let bob: NetTwin;
  let carol: NetTwin; // sr25519, no encryption key
  let a: RmbClient;
  let b: RmbClient;
  let c: RmbClient;
  const clients: RmbClient[] = [];

  const connect = async (twin: NetTwin, extra: Partial<Parameters<typeof RmbClient.connect>[0]> = {}) => {
    const client = await RmbClient.connect({
      identity: twin.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${net.port}`],
      relay: FAST,
      ...extra,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Sr25519);
    carol = net.twin(KeyType.Sr25519, { pk: false });
    a = await connect(alice);
    b = await connect(bob);
    c = await connect(carol);
    for (const client of [b, c]) {
      client.serve("calc.add", (req) => {
        const { x, y } = req.json<{ x: number; y: number }>();
        return x + y;
      });
      client.serve("echo", (req) => bytes(req.data, req.schema));
      client.serve("whoami", (req) => ({ twin: req.source.twin, session: req.source.session ?? null }));
      client.serve("fail", () => {
        throw new Error("it broke");
      });
      client.serve("forbidden", () => {
        throw new RmbHandlerError(403, "not for you");
      });
    }
  });

  after(async () => {
    for (const client of clients) await client.close();
    await net?.stop();
  });

  test("call resolves with the answer; JSON in and out, schema application/json", async () => {
    const res = await a.call(bob.twin.id, "calc.add", { x: 2, y: 40 }, { timeout: 5000 });
    assert.equal(res.json<number>(), 42);
    assert.equal(res.schema, "application/json");
    assert.deepEqual(res.source, { twin: bob.twin.id });
    assert.equal(b.session, undefined, "a client is the twin itself unless given a session");
  });

  test("raw bytes and text keep their schema; the handler sees the caller's twin and session", async () => {
    const raw = await a.call(
      bob.twin.id,
      "echo",
      bytes(new Uint8Array([0, 255, 7]), "application/octet-stream"),
    );
    assert.deepEqual([...raw.data], [0, 255, 7]);
    assert.equal(raw.schema, "application/octet-stream");
    const t = await a.call(bob.twin.id, "echo", text("héllo"));
    assert.equal(t.text(), "héllo");
    assert.equal(t.schema, "text/plain");
    const who = await a.call(bob.twin.id, "whoami");
    assert.deepEqual(who.json(), { twin: alice.twin.id, session: null });
  });

  test("encrypted both ways when both twins publish their key (checked on the wire)", async () => {
    const eve = net.twin(KeyType.Ed25519);
    const ws = await RelayTestClient.connect(net.port, eve.identity.signer, { twin: eve.twin.id });
    try {
      const { E2eCipher } = await import("../../src/crypto/index.js");
      const { createEnvelope, encodeEnvelope, signEnvelope, unixNow } = await import(
        "../../src/protocol/index.js"
      );
      const cipher = new E2eCipher(eve.identity.e2e!.secret);
      const answer = a.call(eve.twin.id, "secret", { q: 1 });
      const { env } = await ws.next();
      assert.equal(env.payload?.kind, "cipher");
      assert.equal(
        new TextDecoder().decode(cipher.decryptFrom(alice.twin.pk!, env.payload!.data)),
        '{"q":1}',
      );
      const reply = signEnvelope(
        createEnvelope({
          uid: env.uid,
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: eve.twin.id },
          destination: env.source!,
          message: { kind: "response" },
          schema: "application/json",
          payload: {
            kind: "cipher",
            data: cipher.encryptFor(alice.twin.pk!, new TextEncoder().encode('"ok"')),
          },
        }),
        eve.identity.signer,
      );
      const { duplicates, unmatched } = a.stats;
      ws.send(encodeEnvelope(reply));
      assert.equal((await answer).json(), "ok");
      // The same answer again is a redelivery; an answer to a call this client never made is unmatched.
      ws.send(encodeEnvelope(reply));
      ws.send(encodeEnvelope(signEnvelope({ ...reply, uid: `${reply.uid}-other` }, eve.identity.signer)));
      const deadline = Date.now() + 10_000;
      while (a.stats.duplicates === duplicates || a.stats.unmatched === unmatched) {
        assert.ok(Date.now() < deadline, `stats ${JSON.stringify(a.stats)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(a.stats, { duplicates: duplicates + 1, unmatched: unmatched + 1 });
    } finally {
      await ws.close();
    }
  });

  test("plain both ways with a twin that has no encryption key", async () => {
    const res = await a.call(carol.twin.id, "calc.add", { x: 1, y: 1 });
    assert.equal(res.json(), 2);
    const back = await c
      .call(alice.twin.id, "nothing.here", undefined, { timeout: 5000 })
      .catch((e: unknown) => e);
    assert.ok(back instanceof RmbCallError);
    assert.equal(back.wireCode, 500);
    assert.equal(back.message, "other: unknown command 'nothing.here'");
    assert.equal(back.source, alice.twin.id);
  });

  test("handler errors come back as RmbCallError: 255 with the message, or the code of RmbHandlerError", async () => {
    await assert.rejects(a.call(bob.twin.id, "fail"), (e: unknown) => {
      assert.ok(e instanceof RmbCallError);
      assert.equal(e.wireCode, 255);
      assert.equal(e.message, "it broke");
      assert.equal(e.source, bob.twin.id);
      return true;
    });
    await assert.rejects(a.call(bob.twin.id, "forbidden"), {
      name: "RmbCallError",
      wireCode: 403,
      message: "not for you",
    });
  });

  test("callMany: every destination answers for itself (success, unknown twin, handler error)", async () => {
    const results = await a.callMany(
      [bob.twin.id, carol.twin.id, 999_999],
      "calc.add",
      { x: 20, y: 1 },
      { timeout: 5000 },
    );
    assert.equal(results.length, 3);
    assert.deepEqual(
      results.map((r) => (r.ok ? r.response.json() : (r.error as RmbCallError).wireCode)),
      [21, 21, 103],
    );
    assert.equal(results[2]?.ok === false && results[2].error.message, "unknown twin id '999999'");
  });

  test("clients of one twin in different sessions each get their own answers", async () => {
    const a2 = await connect(alice, { session: "second" });
    const a3 = await connect(alice, { session: "random" });
    assert.match(a3.session ?? "", /^rmb-ts-[0-9a-f]{8}$/);
    const [one, two, three] = await Promise.all([
      a.call(bob.twin.id, "whoami"),
      a2.call(bob.twin.id, "whoami"),
      a3.call(bob.twin.id, "whoami"),
    ]);
    assert.deepEqual(one.json(), { twin: alice.twin.id, session: null });
    assert.deepEqual(two.json(), { twin: alice.twin.id, session: "second" });
    assert.deepEqual(three.json(), { twin: alice.twin.id, session: a3.session });
    // A session can be addressed directly.
    a2.serve("only.second", () => "from second");
    const direct = await b.call({ twin: alice.twin.id, session: "second" }, "only.second");
    assert.equal(direct.json(), "from second");
  });

  test("timeout: a twin that is offline never answers; fail-fast gets the relay's error at once", async () => {
    const offline = net.twin(KeyType.Ed25519);
    await assert.rejects(a.call(offline.twin.id, "echo", "x", { timeout: 300 }), RmbTimeoutError);
    await assert.rejects(
      a.call(offline.twin.id, "echo", "x", { timeout: 5000, failFast: true }),
      (e: unknown) => {
        assert.ok(e instanceof RmbCallError);
        assert.equal(e.source, 0, "reported by the relay");
        assert.equal(e.wireCode, 0);
        return true;
      },
    );
  });

  test("AbortSignal cancels a call; a late answer is dropped", async () => {
    b.serve("slow", async () => {
      await new Promise((r) => setTimeout(r, 200));
      return "late";
    });
    const controller = new AbortController();
    const pending = a.call(bob.twin.id, "slow", undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("user cancelled")), 20);
    await assert.rejects(pending, /user cancelled/);
    await assert.rejects(a.call(bob.twin.id, "slow", undefined, { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
    // The client still works after the late answer arrived and was dropped.
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await a.call(bob.twin.id, "calc.add", { x: 1, y: 2 })).json(), 3);
  });

  test("a request delivered twice is handled once", async () => {
    let calls = 0;
    b.serve("count", () => ++calls);
    const raw = await RelayTestClient.connect(net.port, alice.identity.signer, {
      twin: alice.twin.id,
      sid: "raw",
    });
    try {
      const { createEnvelope, encodeEnvelope, signEnvelope, unixNow } = await import(
        "../../src/protocol/index.js"
      );
      const env = signEnvelope(
        createEnvelope({
          uid: "twice",
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: alice.twin.id, connection: "raw" },
          destination: { twin: bob.twin.id, connection: b.session as string },
          message: { kind: "request", command: "count" },
          payload: { kind: "plain", data: new Uint8Array(0) },
        }),
        alice.identity.signer,
      );
      raw.send(encodeEnvelope(env));
      raw.send(encodeEnvelope(env));
      await raw.next();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(calls, 1);
    } finally {
      await raw.close();
    }
  });

  test("close rejects pending calls and later calls with RmbClientClosedError", async () => {
    const a3 = await connect(alice, { session: "closing" });
    b.serve("hang", () => new Promise(() => {}));
    const pending = assert.rejects(a3.call(bob.twin.id, "hang"), RmbClientClosedError);
    await new Promise((r) => setTimeout(r, 50));
    await a3.close();
    await pending;
    await assert.rejects(a3.call(bob.twin.id, "echo"), RmbClientClosedError);
  });
});

describe("SDK direct client: reconnect after a relay restart", () => {
  test("calls work again once the relay is back; state changes are reported", async () => {
    const net = await startPeerNet();
    const port = await freePort();
    let relay = new RelayServer({ domains: [PEER_DOMAIN], registry: net.registry, host: "127.0.0.1", port });
    await relay.start();
    const alice = net.twin(KeyType.Ed25519);
    const bob = net.twin(KeyType.Ed25519);
    const opts = { registry: net.registry, relays: [`ws://127.0.0.1:${port}`], relay: FAST };
    const a = await RmbClient.connect({ identity: alice.identity, ...opts });
    const b = await RmbClient.connect({ identity: bob.identity, ...opts });
    const states: number[] = [];
    a.onConnectionChange((n) => states.push(n));
    try {
      b.serve("ping", () => "pong");
      assert.equal((await a.call(bob.twin.id, "ping")).json(), "pong");
      await relay.stop();
      await waitUntil(async () => a.connectedRelays === 0 && b.connectedRelays === 0);
      relay = new RelayServer({ domains: [PEER_DOMAIN], registry: net.registry, host: "127.0.0.1", port });
      await relay.start();
      await waitUntil(async () => a.connectedRelays === 1 && b.connectedRelays === 1);
      assert.equal((await a.call(bob.twin.id, "ping", undefined, { timeout: 5000 })).json(), "pong");
      assert.deepEqual(states.slice(0, 2), [0, 1]);
    } finally {
      await a.close();
      await b.close();
      await relay.stop();
      await net.stop();
    }
  });
});

describe("SDK against rmb-peer (PeerClient and RmbClient)", () => {
  let net: PeerNet;
  let alice: NetTwin;
  let bob: NetTwin;
  let direct: RmbClient;
  let behindA: PeerClient;
  let behindB: PeerClient;
  let pa: PeerHandle;
  const extraClients: RmbClient[] = [];

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Sr25519);
    pa = await net.peer(alice, 1);
    const pb = await net.peer(bob, 2);
    behindA = await PeerClient.connect({ redis: pa.redisUrl });
    behindB = await PeerClient.connect({ redis: pb.redisUrl });
    const carol = net.twin(KeyType.Ed25519);
    direct = await RmbClient.connect({
      identity: carol.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${net.port}`],
      relay: FAST,
    });
    direct.serve("calc.mul", (req) => {
      const { x, y } = req.json<{ x: number; y: number }>();
      return x * y;
    });
    behindB.serve("calc.add", (req) => {
      const { x, y } = req.json<{ x: number; y: number }>();
      return x + y;
    });
    behindB.serve("fail", () => {
      throw new RmbHandlerError(42, "nope");
    });
  });

  after(async () => {
    await behindA?.close();
    await behindB?.close();
    await direct?.close();
    for (const client of extraClients) await client.close();
    await net?.stop();
  });

  test("peer client → rmb-peer → relay → rmb-peer → peer client service", async () => {
    const res = await behindA.call(bob.twin.id, "calc.add", { x: 5, y: 6 }, { timeout: 5000 });
    assert.equal(res.json(), 11);
    assert.deepEqual(res.source, { twin: bob.twin.id });
    await assert.rejects(behindA.call(bob.twin.id, "fail"), {
      name: "RmbCallError",
      wireCode: 42,
      message: "nope",
    });
  });

  test("peer client → rmb-peer → relay → direct client service, and back the other way", async () => {
    const carolId = direct.twinId;
    assert.equal((await behindA.call(carolId, "calc.mul", { x: 6, y: 7 })).json(), 42);
    assert.equal((await direct.call(bob.twin.id, "calc.add", { x: 1, y: 2 })).json(), 3);
  });

  test("peer client callMany, timeouts and unknown twins", async () => {
    const results = await behindA.callMany(
      [bob.twin.id, direct.twinId, 424242],
      "calc.add",
      { x: 1, y: 1 },
      { timeout: 1500 },
    );
    assert.equal(results[0]?.ok && results[0].response.json(), 2);
    assert.equal(
      results[1]?.ok === false && (results[1].error as RmbCallError).wireCode,
      500,
      "carol does not serve calc.add",
    );
    assert.equal(results[2]?.ok === false && (results[2].error as RmbCallError).wireCode, 103);
    const offline = net.twin(KeyType.Ed25519);
    await assert.rejects(behindA.call(offline.twin.id, "x", undefined, { timeout: 300 }), RmbTimeoutError);
  });

  test("a service added later is picked up at once (blocking pop restarted)", async () => {
    behindB.serve("late.added", () => "here");
    const res = await behindA.call(bob.twin.id, "late.added", undefined, { timeout: 3000 });
    assert.equal(res.json(), "here");
  });

  test("peer client to a twin without an encryption key: plain both ways (checked on the wire)", async () => {
    const plain = net.twin(KeyType.Ed25519, { pk: false });
    const ws = await RelayTestClient.connect(net.port, plain.identity.signer, { twin: plain.twin.id });
    try {
      const answer = behindA.call(plain.twin.id, "plain.echo", { q: "in clear" }, { timeout: 5000 });
      const { env } = await ws.next();
      assert.equal(env.source?.twin, alice.twin.id);
      assert.equal(env.payload?.kind, "plain");
      assert.equal(new TextDecoder().decode(env.payload?.data), '{"q":"in clear"}');
      assert.equal(env.schema, "application/json");
      const reply = signEnvelope(
        createEnvelope({
          uid: env.uid,
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: plain.twin.id },
          destination: env.source!,
          message: { kind: "response" },
          schema: "application/json",
          payload: { kind: "plain", data: new TextEncoder().encode('{"a":"in clear too"}') },
        }),
        plain.identity.signer,
      );
      ws.send(encodeEnvelope(reply));
      const res = await answer;
      assert.deepEqual(res.json(), { a: "in clear too" });
      assert.deepEqual(res.source, { twin: plain.twin.id });
    } finally {
      await ws.close();
    }
    // The same with an SDK service whose twin publishes no key.
    const keyless = net.twin(KeyType.Sr25519, { pk: false });
    const service = await RmbClient.connect({
      identity: keyless.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${net.port}`],
      relay: FAST,
    });
    extraClients.push(service);
    service.serve("calc.sub", (req) => {
      const { x, y } = req.json<{ x: number; y: number }>();
      return x - y;
    });
    assert.equal((await behindA.call(keyless.twin.id, "calc.sub", { x: 9, y: 4 })).json(), 5);
  });

  test("peer client: an AbortSignal cancels a call; a late answer is dropped", async () => {
    let reached!: () => void;
    const atService = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    behindB.serve("slow.peer", async () => {
      reached();
      await gate;
      return "late";
    });
    const controller = new AbortController();
    const pending = behindA.call(bob.twin.id, "slow.peer", undefined, {
      signal: controller.signal,
      timeout: 20_000,
    });
    await atService;
    controller.abort(new Error("user cancelled"));
    await assert.rejects(pending, /user cancelled/);
    await assert.rejects(behindA.call(bob.twin.id, "slow.peer", undefined, { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
    // The service answers after all: the answer reaches the client's reply queue and is dropped.
    const delivered = pa.peer.stats.responsesDelivered;
    release();
    await waitUntil(async () => pa.peer.stats.responsesDelivered === delivered + 1);
    assert.equal((await behindA.call(bob.twin.id, "calc.add", { x: 2, y: 2 })).json(), 4);
  });
});
