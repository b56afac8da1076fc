import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { E2eCipher } from "../../src/crypto/index.js";
import { KeyType } from "../../src/identity/index.js";
import {
  decodeBacklog,
  formatOutgoingRequest,
  formatOutgoingResponse,
  type JsonIncomingResponse,
  PeerKeys,
  parseIncomingRequest,
  parseIncomingResponse,
  RmbPeer,
  runJsonTester,
  startJsonEcho,
} from "../../src/peer/index.js";
import {
  createEnvelope,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  signEnvelope,
  unixNow,
  WireErrorCode,
} from "../../src/protocol/index.js";
import type { Twin, TwinRegistry } from "../../src/registry/index.js";
import { type NetTwin, type PeerHandle, type PeerNet, startPeerNet } from "../support/peer-net.js";
import { freePort } from "../support/redis-server.js";
import { RelayTestClient } from "../support/relay-client.js";
import { waitUntil } from "../support/wait.js";
import { startWsTap } from "../support/ws-tap.js";

const text = (s: string) => new TextEncoder().encode(s);
const randomBytesKey = () => new Uint8Array(randomBytes(32));

/** Pushes one JSON request through `handle`'s peer and pops the responses from a fresh reply queue. */
async function call(
  handle: PeerHandle,
  fields: { dst: number[]; cmd?: string; dat?: Uint8Array; exp?: number; ref?: string | null; now?: number },
  expected = fields.dst.length,
  timeoutMs = 5000,
): Promise<JsonIncomingResponse[]> {
  const ret = `ret-${Math.random().toString(36).slice(2)}`;
  await handle.client.lpush(
    PeerKeys.local,
    formatOutgoingRequest({
      ver: 1,
      ref: fields.ref === undefined ? "my-ref" : fields.ref,
      cmd: fields.cmd ?? "testme",
      exp: fields.exp ?? 60,
      dat: fields.dat ?? text("hello"),
      tag: null,
      dst: fields.dst,
      ret,
      shm: "application/json",
      now: fields.now ?? unixNow(),
    }),
  );
  return popAll(handle, ret, expected, timeoutMs);
}

async function popAll(handle: PeerHandle, ret: string, expected: number, timeoutMs = 5000) {
  const out: JsonIncomingResponse[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < expected) {
    const left = (deadline - Date.now()) / 1000;
    if (left <= 0) break;
    const got = await handle.client.blpop(ret, Math.max(left, 0.01));
    if (got === null) break;
    out.push(parseIncomingResponse(got[1]));
  }
  return out;
}

describe("rmb-peer end to end (real Redis, relay and peers)", () => {
  let net: PeerNet;
  let alice: NetTwin; // ed25519
  let bob: NetTwin; // ed25519
  let carol: NetTwin; // sr25519
  let dave: NetTwin; // sr25519
  let a: PeerHandle;
  let b: PeerHandle;
  let c: PeerHandle;
  let d: PeerHandle;
  const echoes: { stop(): Promise<void> }[] = [];
  // kim's peer looks twins up through a registry that the tests can make fail.
  let kim: NetTwin;
  let k: PeerHandle;
  const kimLog: string[] = [];
  /** Lookups of these twins throw (until removed). */
  const registryDown = new Set<number>();
  /** The next lookup of each of these twins throws once. */
  const registryHiccup = new Set<number>();

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Ed25519);
    carol = net.twin(KeyType.Sr25519);
    dave = net.twin(KeyType.Sr25519);
    a = await net.peer(alice, 1);
    b = await net.peer(bob, 2);
    c = await net.peer(carol, 3);
    d = await net.peer(dave, 4);
    for (const h of [b, c, d]) echoes.push(await startJsonEcho(h.redisUrl, "testme"));
    const flaky: TwinRegistry = {
      async getTwin(id: number): Promise<Twin | undefined> {
        if (registryDown.has(id) || registryHiccup.delete(id)) throw new Error("registry is down");
        return net.registry.getTwin(id);
      },
      getTwinIdByAccount: (account: Uint8Array) => net.registry.getTwinIdByAccount(account),
    };
    kim = net.twin(KeyType.Ed25519);
    k = await net.peer(kim, 9, { registry: flaky, log: (level, line) => kimLog.push(`${level}: ${line}`) });
  });

  after(async () => {
    for (const e of echoes) await e.stop();
    await net?.stop();
  });

  for (const count of [1, 200, 1000]) {
    test(`exchange with ed25519 keys: ${count} messages, none lost`, async () => {
      const report = await runJsonTester({ redis: a.redisUrl, dst: [bob.twin.id], count, timeout: 30 });
      assert.equal(report.errors, 0, report.errorSamples.join("; "));
      assert.equal(report.received, count);
      assert.deepEqual(report.missingTwins, []);
    });

    test(`exchange with sr25519 keys: ${count} messages, none lost`, async () => {
      const report = await runJsonTester({ redis: c.redisUrl, dst: [dave.twin.id], count, timeout: 30 });
      assert.equal(report.errors, 0, report.errorSamples.join("; "));
      assert.equal(report.received, count);
      assert.deepEqual(report.missingTwins, []);
    });

    test(`multiple destinations (ed25519 and sr25519 twins): ${count} messages, 2 responses each`, async () => {
      const report = await runJsonTester({
        redis: a.redisUrl,
        dst: [bob.twin.id, carol.twin.id],
        count,
        timeout: 30,
      });
      assert.equal(report.errors, 0, report.errorSamples.join("; "));
      assert.equal(report.received, 2 * count);
      assert.equal(report.responsesByTwin[String(bob.twin.id)], count);
      assert.equal(report.responsesByTwin[String(carol.twin.id)], count);
    });
  }

  test("a response carries the payload back, the client's ref, the responder as src and its schema", async () => {
    const [res] = await call(a, { dst: [bob.twin.id], dat: text("ping ✓"), ref: "ref-42" });
    assert.ok(res);
    assert.equal(res.err, null);
    assert.equal(new TextDecoder().decode(res.dat), "ping ✓");
    assert.equal(res.ref, "ref-42");
    assert.equal(res.src, String(bob.twin.id));
    assert.equal(res.shm, "application/json");
  });

  test("a null ref comes back as null; responses of a fan-out share the client's ref", async () => {
    const none = await call(a, { dst: [bob.twin.id], ref: null });
    assert.equal(none[0]?.ref, null);
    const two = await call(a, { dst: [bob.twin.id, carol.twin.id], ref: "shared" });
    assert.deepEqual(
      two.map((r) => r.ref),
      ["shared", "shared"],
    );
    assert.deepEqual(two.map((r) => r.src).sort(), [String(bob.twin.id), String(carol.twin.id)].sort());
  });

  test("unknown destination twin: exactly one error response, code 103", async () => {
    const responses = await call(a, { dst: [987654] }, 2, 1000);
    assert.equal(responses.length, 1);
    assert.deepEqual(responses[0]?.err, {
      code: WireErrorCode.UnknownTwin,
      message: "unknown twin id '987654'",
    });
    assert.equal(responses[0]?.src, "");
    assert.equal(responses[0]?.now, 0);
    assert.equal(responses[0]?.ref, "my-ref");
  });

  test("one unknown destination among good ones: the good ones still answer", async () => {
    const responses = await call(a, { dst: [bob.twin.id, 987654] });
    assert.equal(responses.length, 2);
    assert.equal(responses.filter((r) => r.err === null).length, 1);
    assert.equal(responses.find((r) => r.err !== null)?.err?.code, WireErrorCode.UnknownTwin);
  });

  test("a registry failure while looking up a destination: exactly one error response, code 500", async () => {
    registryDown.add(bob.twin.id);
    try {
      const responses = await call(k, { dst: [bob.twin.id] }, 2, 1000);
      assert.equal(responses.length, 1);
      assert.deepEqual(responses[0]?.err, {
        code: WireErrorCode.Other,
        message: "other: failed to get twin information: registry is down",
      });
      assert.equal(responses[0]?.src, "");
      assert.equal(responses[0]?.ref, "my-ref");
    } finally {
      registryDown.delete(bob.twin.id);
    }
    // Failures are not cached: the next request goes through.
    const [ok] = await call(k, { dst: [bob.twin.id] });
    assert.equal(ok?.err, null);
  });

  test("no relay connection before the request expires: error 500 on ret", async () => {
    const lena = net.twin(KeyType.Ed25519);
    const redisUrl = `${net.redis.url}/10`;
    const offline = new RmbPeer({
      identity: lena.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${await freePort()}`], // nothing listens there
      redis: redisUrl,
      update: false,
      relay: { reconnectDelay: 50, maxReconnectDelay: 200 },
    });
    await offline.start();
    const client = new Redis(redisUrl);
    try {
      const responses = await call(
        { peer: offline, redisUrl, client },
        { dst: [bob.twin.id], exp: 2 },
        1,
        10_000,
      );
      assert.equal(responses.length, 1);
      assert.deepEqual(responses[0]?.err, {
        code: WireErrorCode.Other,
        message: "other: no relay connection before the message expired",
      });
      assert.equal(responses[0]?.src, "");
      assert.equal(responses[0]?.ref, "my-ref");
      assert.equal(offline.stats.envelopesOut, 0);
    } finally {
      await offline.stop();
      client.disconnect();
    }
  });

  test("responses reach ret as they arrive: a fast destination's answer is popped while a slow one still works", async () => {
    const ret = "speed-ret";
    const cmd = PeerKeys.command("speed.test");
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "speed",
        cmd: "speed.test",
        exp: 60,
        dat: text("q"),
        tag: null,
        dst: [bob.twin.id, carol.twin.id],
        ret,
        shm: null,
        now: 0,
      }),
    );
    const [atBob, atCarol] = await Promise.all([b.client.blpop(cmd, 5), c.client.blpop(cmd, 5)]);
    assert.ok(atBob && atCarol);
    const answer = async (h: PeerHandle, popped: [string, string], dat: string) => {
      const req = parseIncomingRequest(popped[1]);
      await h.client.lpush(
        PeerKeys.reply,
        formatOutgoingResponse({
          ver: 1,
          ref: req.ref,
          dat: text(dat),
          dst: req.src,
          shm: null,
          now: 0,
          err: null,
        }),
      );
    };
    // bob answers at once; carol holds her request until bob's answer has been popped from ret.
    await answer(b, atBob, "fast");
    const [first] = await popAll(a, ret, 1, 5000);
    assert.equal(first?.src, String(bob.twin.id));
    assert.equal(new TextDecoder().decode(first?.dat), "fast");
    assert.equal(await a.client.llen(ret), 0, "nothing else is waiting on ret");
    await answer(c, atCarol, "slow");
    const [second] = await popAll(a, ret, 1, 5000);
    assert.equal(second?.src, String(carol.twin.id));
    assert.equal(new TextDecoder().decode(second?.dat), "slow");
    assert.equal(second?.ref, "speed");
  });

  test("between two peers payloads travel as cipher both ways (seen by a tap in front of the relay)", async () => {
    const tap = await startWsTap(net.port);
    const nina = net.twin(KeyType.Sr25519);
    const n = await net.peer(nina, 13, { relays: [`ws://127.0.0.1:${tap.port}`] });
    try {
      const secret = "wire-tap-secret-payload";
      const [res] = await call(n, { dst: [bob.twin.id], dat: text(secret) });
      assert.equal(res?.err, null);
      assert.equal(new TextDecoder().decode(res?.dat), secret);
      const envelopes = (frames: Uint8Array[]) =>
        frames
          .map((f) => decodeEnvelope(f))
          .filter((e) => e.message?.kind !== "ping" && e.message?.kind !== "pong");
      const [request] = envelopes(tap.up).filter((e) => e.message?.kind === "request");
      const [response] = envelopes(tap.down).filter((e) => e.message?.kind === "response");
      assert.ok(request && response, "the tap saw the request and the response");
      assert.equal(request.uid, response.uid);
      assert.equal(request.payload?.kind, "cipher");
      assert.equal(response.payload?.kind, "cipher");
      const mine = new E2eCipher(nina.identity.e2e!.secret);
      assert.equal(new TextDecoder().decode(mine.decryptFrom(bob.twin.pk!, request.payload!.data)), secret);
      assert.equal(new TextDecoder().decode(mine.decryptFrom(bob.twin.pk!, response.payload!.data)), secret);
      const plainBytes = Buffer.from(secret);
      for (const frame of [...tap.up, ...tap.down]) {
        assert.equal(
          Buffer.from(frame).indexOf(plainBytes),
          -1,
          "the payload never crosses the wire in clear",
        );
      }
    } finally {
      await n.peer.stop();
      await tap.stop();
    }
  });

  test("a service is handed the request with the envelope uid as ref, the sender as src and ret msgbus.system.reply", async () => {
    const ret = "direct-ret";
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "client-ref",
        cmd: "inspect.me",
        exp: 120,
        dat: text("data"),
        tag: "t1",
        dst: [bob.twin.id],
        ret,
        shm: "text/plain",
        now: unixNow(),
      }),
    );
    const got = await b.client.blpop(PeerKeys.command("inspect.me"), 5);
    assert.ok(got);
    const req = parseIncomingRequest(got[1]);
    assert.match(req.ref, /^[0-9a-f-]{36}$/, "ref is the envelope uid (a UUID), not the client's ref");
    assert.equal(req.src, String(alice.twin.id));
    assert.equal(req.cmd, "inspect.me");
    assert.equal(req.ret, "msgbus.system.reply");
    assert.equal(req.tag, "t1");
    assert.equal(req.shm, "text/plain");
    assert.equal(new TextDecoder().decode(req.dat), "data");
    assert.ok(req.exp > 0 && req.exp <= 120);
    // The backlog of the request is in alice's Redis with the client's ref and reply queue.
    const backlog = decodeBacklog(
      new Uint8Array((await a.client.getBuffer(PeerKeys.backlog(req.ref))) as Buffer),
    );
    assert.equal(backlog.reference, "client-ref");
    assert.equal(backlog.replyTo, ret);
    // A service error travels back as err with its code.
    await b.client.lpush(
      PeerKeys.reply,
      JSON.stringify({
        ver: 1,
        ref: req.ref,
        dat: "",
        dst: req.src,
        shm: null,
        now: 0,
        err: { code: 255, message: "boom" },
      }),
    );
    const [res] = await popAll(a, ret, 1);
    assert.deepEqual(res?.err, { code: 255, message: "boom" });
    assert.equal(res?.ref, "client-ref");
    assert.equal(res?.src, String(bob.twin.id));
  });

  test("lifetimes: exp 0 gets the 300 s default, a long exp is capped at 1800 s, an already expired request gets 102", async () => {
    const seen: number[] = [];
    for (const exp of [0, 7200]) {
      await a.client.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: null,
          cmd: "ttl.check",
          exp,
          dat: text(""),
          tag: null,
          dst: [bob.twin.id],
          ret: "ttl-ret",
          shm: null,
          now: 0,
        }),
      );
      const got = await b.client.blpop(PeerKeys.command("ttl.check"), 5);
      assert.ok(got);
      const req = parseIncomingRequest(got[1]);
      seen.push(req.exp);
      const ttl = await a.client.ttl(PeerKeys.backlog(req.ref));
      assert.ok(ttl > 0 && ttl <= Math.min(exp || 300, 1800), `backlog ttl ${ttl}`);
    }
    assert.deepEqual(seen, [300, 1800]);
    const expired = await call(a, { dst: [bob.twin.id], exp: 5, now: unixNow() - 60 });
    assert.deepEqual(expired[0]?.err, {
      code: WireErrorCode.Expired,
      message: "envelope validation error: message has expired",
    });
  });

  test("rmb.version is answered by the peer itself", async () => {
    const [res] = await call(a, { dst: [bob.twin.id], cmd: "rmb.version" });
    assert.equal(res?.err, null);
    assert.equal(res?.shm, "application/json");
    assert.equal(typeof JSON.parse(new TextDecoder().decode(res?.dat)), "string");
  });

  test("malformed items on the Redis API get an error on the caller's reply queue and the gateway keeps serving", async () => {
    await a.client.lpush(PeerKeys.local, "this is not json");
    await a.client.lpush(
      PeerKeys.local,
      JSON.stringify({ ver: 1, ret: "bad-ret", ref: "r1", cmd: "x", exp: 10, dat: "***", dst: [1], now: 0 }),
    );
    await a.client.lpush(
      PeerKeys.local,
      JSON.stringify({ ver: 1, ret: "bad-ret", ref: "r2", exp: 10, dat: "", dst: [1], now: 0 }),
    );
    // Items are handled concurrently, so the two errors may come back in either order.
    const errors = (await popAll(a, "bad-ret", 2)).sort((x, y) => (x.ref ?? "").localeCompare(y.ref ?? ""));
    assert.deepEqual(
      errors.map((e) => [e.ref, e.err?.code, e.err?.message]),
      [
        ["r1", 500, "other: bad request: 'dat' is not valid base64"],
        ["r2", 500, "other: bad request: missing field 'cmd'"],
      ],
    );
    const [ok] = await call(a, { dst: [bob.twin.id] });
    assert.equal(ok?.err, null);
    assert.ok(a.peer.stats.malformed >= 3);
  });

  test("a malformed service response is reported to the requester instead of leaving it waiting", async () => {
    const ret = "malformed-reply-ret";
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "m",
        cmd: "bad.service",
        exp: 60,
        dat: text("x"),
        tag: null,
        dst: [bob.twin.id],
        ret,
        shm: null,
        now: 0,
      }),
    );
    const got = await b.client.blpop(PeerKeys.command("bad.service"), 5);
    assert.ok(got);
    const req = parseIncomingRequest(got[1]);
    await b.client.lpush(
      PeerKeys.reply,
      JSON.stringify({ ver: 1, ref: req.ref, dst: req.src, dat: "%%%", now: 0 }),
    );
    const [res] = await popAll(a, ret, 1);
    assert.equal(res?.err?.code, 500);
    assert.match(res?.err?.message ?? "", /malformed response: 'dat' is not valid base64/);
  });

  test("msgbus.<cmd> and reply lists keep only the newest listCap items", async () => {
    const frank = net.twin(KeyType.Ed25519);
    const f = await net.peer(frank, 5, { listCap: 3 });
    for (let i = 0; i < 6; i++) {
      await a.client.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: null,
          cmd: "capped",
          exp: 60,
          dat: text(`m${i}`),
          tag: null,
          dst: [frank.twin.id],
          ret: "cap-ret",
          shm: null,
          now: 0,
        }),
      );
    }
    await waitUntil(async () => f.peer.stats.requestsDelivered === 6);
    const kept = (await f.client.lrange(PeerKeys.command("capped"), 0, -1)).map((j) =>
      new TextDecoder().decode(parseIncomingRequest(j).dat),
    );
    assert.deepEqual(kept, ["m5", "m4", "m3"]);
    // The reply list on frank's side is capped the same way (answers awaited one by one, so their order is known).
    for (let i = 0; i < 6; i++) {
      await f.client.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: `r${i}`,
          cmd: "testme",
          exp: 60,
          dat: text(`a${i}`),
          tag: null,
          dst: [bob.twin.id],
          ret: "cap-ret",
          shm: null,
          now: 0,
        }),
      );
      await waitUntil(async () => f.peer.stats.responsesDelivered === i + 1);
    }
    const answers = (await f.client.lrange("cap-ret", 0, -1)).map((j) => parseIncomingResponse(j));
    assert.deepEqual(
      answers.map((r) => [r.ref, new TextDecoder().decode(r.dat)]),
      [
        ["r5", "a5"],
        ["r4", "a4"],
        ["r3", "a3"],
      ],
    );
  });

  describe("raw envelopes from a twin without a peer", () => {
    let eve: NetTwin;
    let ws: RelayTestClient;
    let cipher: E2eCipher;

    before(async () => {
      eve = net.twin(KeyType.Ed25519);
      ws = await RelayTestClient.connect(net.port, eve.identity.signer, { twin: eve.twin.id });
      cipher = new E2eCipher(eve.identity.e2e!.secret);
    });
    after(async () => {
      await ws.close();
    });

    function request(to: NetTwin, extra: Partial<Envelope> = {}): Envelope {
      return createEnvelope({
        uid: `u-${Math.random().toString(36).slice(2)}`,
        timestamp: unixNow(),
        expiration: 60,
        source: { twin: eve.twin.id },
        destination: { twin: to.twin.id },
        message: { kind: "request", command: "testme" },
        payload: { kind: "cipher", data: cipher.encryptFor(to.twin.pk!, text("secret")) },
        ...extra,
      });
    }

    test("encrypted both ways: a cipher request is decrypted for the service, the response comes back as cipher", async () => {
      const env = signEnvelope(request(bob), eve.identity.signer);
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.equal(res.uid, env.uid);
      assert.equal(res.message?.kind, "response");
      assert.equal(res.source?.twin, bob.twin.id);
      assert.equal(res.payload?.kind, "cipher");
      assert.equal(new TextDecoder().decode(cipher.decryptFrom(bob.twin.pk!, res.payload!.data)), "secret");
    });

    test("peer → twin: outgoing requests are encrypted with the destination's key and signed", async () => {
      await a.client.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: null,
          cmd: "to.eve",
          exp: 60,
          dat: text("for eve"),
          tag: null,
          dst: [eve.twin.id],
          ret: "eve-ret",
          shm: null,
          now: 0,
        }),
      );
      const { env } = await ws.next();
      assert.equal(env.source?.twin, alice.twin.id);
      assert.equal(env.payload?.kind, "cipher");
      assert.equal(
        new TextDecoder().decode(cipher.decryptFrom(alice.twin.pk!, env.payload!.data)),
        "for eve",
      );
      assert.equal(env.signature?.[0], 0x65);
    });

    test("bad signature: error 104 to the sender, nothing reaches the service", async () => {
      const env = signEnvelope(request(bob), eve.identity.signer);
      env.payload = { kind: "cipher", data: cipher.encryptFor(bob.twin.pk!, text("tampered")) };
      const before = b.peer.stats.requestsDelivered;
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.equal(res.uid, env.uid);
      assert.equal(res.message?.kind, "error");
      assert.equal((res.message as { code: number }).code, WireErrorCode.InvalidSignature);
      assert.match((res.message as { message: string }).message, /^invalid envelope signature: /);
      // The error is encrypted for eve like any envelope: 28 bytes = nonce + tag of an empty plaintext.
      assert.equal(res.payload?.kind, "cipher");
      assert.equal(res.payload?.data.length, 28);
      assert.equal(b.peer.stats.requestsDelivered, before);
    });

    test("unsigned request: error 104 'message is not signed'", async () => {
      const env = request(bob);
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.deepEqual(res.message, {
        kind: "error",
        code: WireErrorCode.InvalidSignature,
        message: "invalid envelope signature: message is not signed",
      });
    });

    test("signed by another key than the twin's account (unauthorized): error 104", async () => {
      const env = signEnvelope(request(bob), carol.identity.signer);
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.equal((res.message as { code: number }).code, WireErrorCode.InvalidSignature);
    });

    test("expired request: error 102", async () => {
      const env = signEnvelope(
        request(bob, { timestamp: unixNow() - 120, expiration: 60 }),
        eve.identity.signer,
      );
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.deepEqual(res.message, {
        kind: "error",
        code: WireErrorCode.Expired,
        message: "envelope validation error: message has expired",
      });
    });

    test("undecryptable cipher: error 106", async () => {
      const env = signEnvelope(
        request(bob, { payload: { kind: "cipher", data: new Uint8Array(40).fill(7) } }),
        eve.identity.signer,
      );
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.deepEqual(res.message, {
        kind: "error",
        code: WireErrorCode.E2e,
        message: "e2e error: invalid cipher data",
      });
    });

    test("a registry failure while checking the sender: error 500 to the sender, nothing reaches the service", async () => {
      registryHiccup.add(eve.twin.id); // kim's first lookup of eve fails; the one for the error reply works
      const env = signEnvelope(
        request(kim, { message: { kind: "request", command: "checked" } }),
        eve.identity.signer,
      );
      ws.send(encodeEnvelope(env));
      const { env: res } = await ws.next();
      assert.equal(res.uid, env.uid);
      assert.equal(res.source?.twin, kim.twin.id);
      assert.deepEqual(res.message, {
        kind: "error",
        code: WireErrorCode.Other,
        message: "other: failed to get twin information: registry is down",
      });
      assert.equal(await k.client.llen(PeerKeys.command("checked")), 0);
      assert.equal(k.peer.stats.requestsDelivered, 0);
    });

    test("a sender unknown to the registry (removed after it connected): refused with 103, nothing delivered", async () => {
      const oscar = net.twin(KeyType.Ed25519);
      const o = await RelayTestClient.connect(net.port, oscar.identity.signer, { twin: oscar.twin.id });
      try {
        net.registry.delete(oscar.twin.id);
        const oscarCipher = new E2eCipher(oscar.identity.e2e!.secret);
        const env = signEnvelope(
          createEnvelope({
            uid: `gone-${Math.random().toString(36).slice(2)}`,
            timestamp: unixNow(),
            expiration: 60,
            source: { twin: oscar.twin.id },
            destination: { twin: kim.twin.id },
            message: { kind: "request", command: "from.nobody" },
            payload: { kind: "cipher", data: oscarCipher.encryptFor(kim.twin.pk!, text("who am I")) },
          }),
          oscar.identity.signer,
        );
        const rejected = k.peer.stats.rejected;
        o.send(encodeEnvelope(env));
        await waitUntil(async () => k.peer.stats.rejected === rejected + 1);
        const refusal = kimLog.find((l) => l.includes(`refused envelope ${env.uid}`));
        assert.equal(
          refusal,
          `debug: refused envelope ${env.uid} from twin ${oscar.twin.id}: unknown twin id '${oscar.twin.id}' (code 103)`,
        );
        // The 103 cannot be answered: there is no record to route, sign for or encrypt to.
        await waitUntil(async () =>
          kimLog.some((l) => l.includes(`error reply to ${oscar.twin.id} not sent`)),
        );
        assert.equal(await k.client.llen(PeerKeys.command("from.nobody")), 0);
      } finally {
        await o.close();
      }
    });

    test("the peer's own Redis refuses the request (WRONGTYPE): error 0 to the sender, tags kept, 300 s", async () => {
      const cmd = PeerKeys.command("wrong.type");
      await b.client.set(cmd, "not a list");
      try {
        const env = signEnvelope(
          request(bob, { message: { kind: "request", command: "wrong.type" }, tags: "keep-me" }),
          eve.identity.signer,
        );
        ws.send(encodeEnvelope(env));
        const { env: res } = await ws.next();
        assert.equal(res.uid, env.uid);
        assert.equal(res.message?.kind, "error");
        const { code, message } = res.message as { code: number; message: string };
        assert.equal(code, WireErrorCode.Generic);
        assert.match(message, /^WRONGTYPE /);
        assert.equal(res.tags, "keep-me");
        assert.equal(res.expiration, 300);
        // The failed push left no delivery mark: nothing was handed over.
        assert.equal(await b.client.exists(PeerKeys.seen(`request|${eve.twin.id}|${env.uid}`)), 0);
      } finally {
        await b.client.del(cmd);
      }
    });

    test("cipher from a twin without a public key: error 105", async () => {
      const mallory = net.twin(KeyType.Ed25519, { pk: false });
      const m = await RelayTestClient.connect(net.port, mallory.identity.signer, { twin: mallory.twin.id });
      try {
        const env = signEnvelope(
          createEnvelope({
            uid: "no-pk",
            timestamp: unixNow(),
            expiration: 60,
            source: { twin: mallory.twin.id },
            destination: { twin: bob.twin.id },
            message: { kind: "request", command: "testme" },
            payload: { kind: "cipher", data: new Uint8Array(40) },
          }),
          mallory.identity.signer,
        );
        m.send(encodeEnvelope(env));
        const { env: res } = await m.next();
        assert.deepEqual(res.message, {
          kind: "error",
          code: WireErrorCode.NoPublicKey,
          message: "sender twin has no public key",
        });
        // A twin without a key gets plain responses.
        const plain = signEnvelope(
          createEnvelope({
            uid: "plain",
            timestamp: unixNow(),
            expiration: 60,
            source: { twin: mallory.twin.id },
            destination: { twin: bob.twin.id },
            message: { kind: "request", command: "testme" },
            payload: { kind: "plain", data: text("clear") },
          }),
          mallory.identity.signer,
        );
        m.send(encodeEnvelope(plain));
        const { env: echo } = await m.next();
        assert.equal(echo.payload?.kind, "plain");
        assert.equal(new TextDecoder().decode(echo.payload!.data), "clear");
      } finally {
        await m.close();
      }
    });

    test("exactly once: the same request delivered twice reaches the service once", async () => {
      const env = signEnvelope(
        request(bob, { message: { kind: "request", command: "once.only" } }),
        eve.identity.signer,
      );
      const bytes = encodeEnvelope(env);
      ws.send(bytes);
      ws.send(bytes);
      const first = await b.client.blpop(PeerKeys.command("once.only"), 5);
      assert.ok(first);
      await waitUntil(async () => b.peer.stats.duplicates >= 1);
      assert.equal(await b.client.llen(PeerKeys.command("once.only")), 0);
      // The delivery is also marked in bob's Redis, for the envelope's lifetime (60 s).
      const ttl = await b.client.ttl(PeerKeys.seen(`request|${eve.twin.id}|${env.uid}`));
      assert.ok(ttl > 30 && ttl <= 60, `mark ttl ${ttl}`);
    });

    test("exactly once across a restart: a request redelivered to the restarted peer (same Redis) is dropped", async () => {
      const mona = net.twin(KeyType.Ed25519);
      const cmd = PeerKeys.command("once.restart");
      const before = await net.peer(mona, 11, { maxSeenTtl: 30 });
      const env = signEnvelope(
        request(mona, { message: { kind: "request", command: "once.restart" } }),
        eve.identity.signer,
      );
      const bytes = encodeEnvelope(env);
      ws.send(bytes);
      const first = await before.client.blpop(cmd, 5);
      assert.ok(first);
      assert.equal(parseIncomingRequest(first[1]).ref, env.uid);
      // The mark lives for the envelope's lifetime (60 s), capped by maxSeenTtl.
      const ttl = await before.client.ttl(PeerKeys.seen(`request|${eve.twin.id}|${env.uid}`));
      assert.ok(ttl > 0 && ttl <= 30, `mark ttl ${ttl}`);
      await before.peer.stop();

      const after = await net.peer(mona, 11, { maxSeenTtl: 30 });
      ws.send(bytes); // as a relay redelivers what a crashed connection may not have confirmed
      const fresh = signEnvelope(
        request(mona, { message: { kind: "request", command: "once.restart" } }),
        eve.identity.signer,
      );
      ws.send(encodeEnvelope(fresh));
      await waitUntil(
        async () => after.peer.stats.requestsDelivered === 1 && after.peer.stats.duplicates === 1,
      );
      const queued = (await after.client.lrange(cmd, 0, -1)).map((j) => parseIncomingRequest(j).ref);
      assert.deepEqual(queued, [fresh.uid]);
    });

    test("exactly once: a response delivered twice reaches the client once", async () => {
      await a.client.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: "dup",
          cmd: "to.eve",
          exp: 60,
          dat: text("q"),
          tag: null,
          dst: [eve.twin.id],
          ret: "dup-ret",
          shm: null,
          now: 0,
        }),
      );
      const { env: req } = await ws.next();
      const res = signEnvelope(
        createEnvelope({
          uid: req.uid,
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: eve.twin.id },
          destination: { twin: alice.twin.id },
          message: { kind: "response" },
          payload: { kind: "cipher", data: cipher.encryptFor(alice.twin.pk!, text("answer")) },
        }),
        eve.identity.signer,
      );
      const bytes = encodeEnvelope(res);
      ws.send(bytes);
      ws.send(bytes);
      const responses = await popAll(a, "dup-ret", 2, 1000);
      assert.equal(responses.length, 1);
      assert.equal(new TextDecoder().decode(responses[0]?.dat), "answer");
      assert.equal(responses[0]?.ref, "dup");
    });

    test("a flood of envelopes pauses reading from the relay at maxInFlight and loses nothing", async () => {
      const gina = net.twin(KeyType.Ed25519);
      const g = await net.peer(gina, 6, { maxInFlight: 4 });
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 300; i++) {
        frames.push(
          encodeEnvelope(
            signEnvelope(
              request(gina, {
                uid: `flood-${i}`,
                message: { kind: "request", command: "flood" },
                payload: { kind: "plain", data: text(String(i)) },
              }),
              eve.identity.signer,
            ),
          ),
        );
      }
      for (const f of frames) ws.send(f);
      await waitUntil(async () => g.peer.stats.requestsDelivered === 300);
      assert.ok(g.peer.stats.readPauses > 0, "reading was paused at least once");
      assert.equal(await g.client.llen(PeerKeys.command("flood")), 300);
    });

    test("a sender whose key changed is re-fetched once when its cipher fails against the cached record", async () => {
      // A registry without change events: only the retry can notice the new key.
      const quiet = {
        getTwin: (id: number) => net.registry.getTwin(id),
        getTwinIdByAccount: (acc: Uint8Array) => net.registry.getTwinIdByAccount(acc),
      };
      const judy = net.twin(KeyType.Ed25519);
      const j = await net.peer(judy, 8, { registry: quiet });
      const sendWith = (c: E2eCipher, uid: string) =>
        ws.send(
          encodeEnvelope(
            signEnvelope(
              request(judy, {
                uid,
                message: { kind: "request", command: "rotated" },
                payload: { kind: "cipher", data: c.encryptFor(judy.twin.pk!, text(uid)) },
              }),
              eve.identity.signer,
            ),
          ),
        );
      sendWith(cipher, "before-rotation");
      await waitUntil(async () => j.peer.stats.requestsDelivered === 1);
      const rotated = new E2eCipher(randomBytesKey());
      net.registry.set({ ...eve.twin, pk: rotated.publicKey });
      try {
        sendWith(rotated, "after-rotation");
        await waitUntil(async () => j.peer.stats.requestsDelivered === 2);
        assert.equal(j.peer.stats.rejected, 0);
      } finally {
        net.registry.set(eve.twin);
      }
    });

    test("a response to a request this peer does not know is dropped", async () => {
      const before = a.peer.stats.lateResponses;
      const res = signEnvelope(
        createEnvelope({
          uid: "never-sent",
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: eve.twin.id },
          destination: { twin: alice.twin.id },
          message: { kind: "response" },
          payload: { kind: "plain", data: text("?") },
        }),
        eve.identity.signer,
      );
      ws.send(encodeEnvelope(res));
      await waitUntil(async () => a.peer.stats.lateResponses > before);
    });
  });

  test("a twin whose key changes in the registry is encrypted for with the new key at once", async () => {
    const hank = net.twin(KeyType.Ed25519);
    const hws = await RelayTestClient.connect(net.port, hank.identity.signer, { twin: hank.twin.id });
    try {
      const send = () =>
        a.client.lpush(
          PeerKeys.local,
          formatOutgoingRequest({
            ver: 1,
            ref: null,
            cmd: "k",
            exp: 60,
            dat: text("x"),
            tag: null,
            dst: [hank.twin.id],
            ret: "k-ret",
            shm: null,
            now: 0,
          }),
        );
      await send();
      const first = (await hws.next()).env;
      assert.equal(first.payload?.kind, "cipher");
      // hank rotates his encryption key; the registry reports the change and the peer's cache follows it.
      const rotated = new E2eCipher(randomBytesKey());
      net.registry.set({ ...hank.twin, pk: rotated.publicKey });
      await send();
      const second = (await hws.next()).env;
      assert.equal(new TextDecoder().decode(rotated.decryptFrom(alice.twin.pk!, second.payload!.data)), "x");
    } finally {
      await hws.close();
    }
  });

  test("a peer running with another twin's id is refused by the relay (401) and never connects", async () => {
    const ivan = net.twin(KeyType.Ed25519);
    const warnings: string[] = [];
    const wrong = new RmbPeer({
      identity: ivan.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${net.port}`],
      redis: `${net.redis.url}/7`,
      update: false,
      twinId: bob.twin.id,
      relay: { reconnectDelay: 50, maxReconnectDelay: 200 },
      log: (level, message) => {
        if (level === "warn") warnings.push(message);
      },
    });
    await wrong.start();
    try {
      await assert.rejects(wrong.waitConnected(500), /no relay connection within 500 ms/);
      assert.ok(
        warnings.some((w) => /401/.test(w)),
        warnings.join("\n"),
      );
    } finally {
      await wrong.stop();
    }
  });

  test('relay error envelopes reach the client with src "0" (fail-fast to an offline twin)', async () => {
    const offline = net.twin(KeyType.Ed25519);
    const ret = "relay-err-ret";
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "ff",
        cmd: "x",
        exp: 60,
        dat: text(""),
        tag: "fail-fast",
        dst: [offline.twin.id],
        ret,
        shm: null,
        now: 0,
      }),
    );
    const [res] = await popAll(a, ret, 1);
    assert.equal(res?.src, "0");
    assert.equal(res?.ref, "ff");
    assert.equal(res?.err?.code, 0);
    assert.ok((res?.err?.message ?? "").length > 0);
  });
});
