import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import {
  createJwt,
  encodeEnvelope,
  JWT_HEADER_TYPED,
  signEnvelope,
  unixNow,
} from "../../src/protocol/index.js";
import {
  encode,
  httpRequest,
  RelayTestClient,
  requestEnvelope,
  tryUpgrade,
} from "../support/relay-client.js";
import { waitUntil } from "../support/wait.js";
import { clientFrame, RawWebSocket } from "./raw-websocket.js";
import { type HostileNet, startHostileNet } from "./relay-net.js";

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");
const TEN_YEARS = 10 * 365 * 24 * 3600;

/** Two bystanders of `net` still exchange a request. */
async function assertBystandersTalk(net: HostileNet): Promise<void> {
  const [, aId, bId] = net.ids;
  const a = await RelayTestClient.connect(net.port, net.a, { twin: aId, sid: "bystander" });
  const b = await RelayTestClient.connect(net.port, net.b, { twin: bId, sid: "bystander" });
  try {
    const req = requestEnvelope(
      { twin: aId, connection: "bystander" },
      { twin: bId, connection: "bystander" },
    );
    a.send(encode(req));
    assert.equal((await b.next()).env.uid, req.uid);
  } finally {
    await a.close();
    await b.close();
  }
}

/** Sends raw HTTP request bytes and resolves with the status line of the answer. */
function rawHttp(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (c: Buffer) => {
      data += c.toString("latin1");
      const eol = data.indexOf("\r\n");
      if (eol >= 0) {
        socket.destroy();
        resolve(data.slice(0, eol));
      }
    });
    socket.on("error", reject);
    socket.write(head);
  });
}

describe("hostile input — relay logins: captured JWTs replayed with changed claims", () => {
  test("a token whose sid, sub, exp, iat or header was changed after signing is refused (401, bad signature); the original still works", async (t) => {
    const net = await startHostileNet();
    t.after(() => net.relay.stop());
    const [hostileId, aId] = net.ids;
    const now = unixNow();
    const token = createJwt(net.a, { twin: aId, sid: "session-a", iat: now, ttl: 60 });
    const [h, c, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(c, "base64url").toString()) as Record<string, unknown>;
    const rewrite = (changes: Record<string, unknown>, header = h) =>
      `${header}.${b64(JSON.stringify({ ...claims, ...changes }))}.${s}`;
    const replays: [string, string][] = [
      ["another session of the same twin", rewrite({ sid: "session-b" })],
      ["no session (the twin itself)", rewrite({ sid: null })],
      ["another twin", rewrite({ sub: hostileId })],
      ["a longer life", rewrite({ exp: now + 3600 })],
      ["a later issue time", rewrite({ iat: now + 10 })],
      ["another header", rewrite({}, b64(JWT_HEADER_TYPED))],
    ];
    for (const [what, replay] of replays) {
      const r = await tryUpgrade(net.port, replay);
      assert.equal(r.status, 401, what);
      assert.match(r.body, /^invalid jwt: jwt: .*signature/, what);
    }
    // Signed by the hostile twin's own key but claiming twin a: the relay checks against a's account key.
    const forged = await tryUpgrade(net.port, createJwt(net.hostile, { twin: aId, sid: "session-a" }));
    assert.equal(forged.status, 401);
    assert.match(forged.body, /^invalid jwt: jwt: /);
    assert.equal(net.relay.sessionCount, 0, "no refused login left a session");
    // The genuine token is a bearer token for its own session until it expires (as in rmb-rs).
    assert.equal((await tryUpgrade(net.port, token)).status, 101);
  });
});

describe("hostile input — relay frames and bodies with huge declared lengths", () => {
  test("a websocket frame header declaring 2^40 bytes (or more than 2^53) closes that connection with 1009 at once", async (t) => {
    const net = await startHostileNet({ maxMessageSize: 64 * 1024 });
    t.after(() => net.relay.stop());
    const [hostileId] = net.ids;
    for (const declared of [64 * 1024 + 1, 2 ** 40, Number.MAX_SAFE_INTEGER + 1]) {
      const raw = await RawWebSocket.open(net.port, createJwt(net.hostile, { twin: hostileId }));
      // Only the header and 10 bytes are sent: the relay must refuse from the header, not wait for (or buffer) more.
      raw.write(clientFrame(2, new Uint8Array(10), declared));
      const close = await raw.closed();
      assert.equal(close?.code, 1009, `declared ${declared}`);
      await raw.destroy();
    }
    await waitUntil(async () => net.relay.sessionCount === 0);
    await assertBystandersTalk(net);
  });

  test("a frame within the size limit declaring a huge protobuf field closes with 1007; POST / answers 400 with the reason", async (t) => {
    const net = await startHostileNet();
    t.after(() => net.relay.stop());
    const [hostileId] = net.ids;
    const bodies = [
      Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61, 0x62), // uid of 2^32−1 bytes
      Uint8Array.of(0x0a, 0x83, 0x80, 0x80, 0x80, 0x10, 0x61, 0x62, 0x63), // 2^32 + 3: not "abc"
      Uint8Array.of(0x52, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), // payload of 2^63 bytes
    ];
    for (const body of bodies) {
      const ws = await RelayTestClient.connect(net.port, net.hostile, { twin: hostileId });
      ws.send(body);
      assert.deepEqual(await ws.closed(), { code: 1007, reason: "invalid envelope" });
      const r = await httpRequest(net.port, "POST", "/", body);
      assert.equal(r.status, 400);
      assert.match(
        r.body,
        /^bad request: declared length (\d+ exceeds the \d+ remaining bytes|exceeds 2\^53-1)$/,
      );
    }
    await assertBystandersTalk(net);
  });

  test("POST / with a Content-Length of 2^40 gets 413 before any body is sent", async (t) => {
    const net = await startHostileNet({ maxMessageSize: 64 * 1024 });
    t.after(() => net.relay.stop());
    const status = await rawHttp(
      net.port,
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${2 ** 40}\r\n\r\n`,
    );
    assert.equal(status, "HTTP/1.1 413 Payload Too Large");
    assert.equal((await httpRequest(net.port, "GET", "/metrics")).status, 200);
  });
});

describe("hostile input — relay floods beyond the rate limit", () => {
  test("a flooding twin gets one error per refused frame and keeps its connection; other twins are not limited by it", async (t) => {
    const net = await startHostileNet({ rateLimit: { count: 20, size: 64 * 1024 } });
    t.after(() => net.relay.stop());
    const [hostileId] = net.ids;
    const flood = await RelayTestClient.connect(net.port, net.hostile, { twin: hostileId });
    t.after(() => flood.close());
    const reqs = Array.from({ length: 100 }, () => requestEnvelope({ twin: hostileId }, { twin: hostileId }));
    for (const r of reqs) flood.send(encode(r));
    const got = await flood.waitFor(100);
    const delivered = got.filter((g) => g.env.message?.kind === "request");
    const refused = got.filter(
      (g) =>
        g.env.message?.kind === "error" && g.env.message.message === "exceeded rate limits, dropping message",
    );
    assert.equal(delivered.length, 20);
    assert.equal(refused.length, 80);
    assert.deepEqual(
      refused.map((g) => g.env.uid),
      reqs.slice(20).map((r) => r.uid),
    );
    assert.equal(flood.ws.readyState, flood.ws.OPEN);
    // The limit is per twin: the bystanders talk while the flooding twin is over its limit.
    await assertBystandersTalk(net);
  });

  test("frames above the byte budget are refused even as a twin's first frame; the connection stays open", async (t) => {
    const net = await startHostileNet({ rateLimit: { count: 1000, size: 2048 } });
    t.after(() => net.relay.stop());
    const [hostileId] = net.ids;
    const ws = await RelayTestClient.connect(net.port, net.hostile, { twin: hostileId });
    t.after(() => ws.close());
    const big = requestEnvelope(
      { twin: hostileId },
      { twin: hostileId },
      {
        payload: { kind: "plain", data: new Uint8Array(4096) },
      },
    );
    ws.send(encode(big));
    const [first] = await ws.waitFor(1);
    assert.deepEqual(first?.env.message, {
      kind: "error",
      code: 0,
      message: "exceeded rate limits, dropping message",
    });
    const small = requestEnvelope({ twin: hostileId }, { twin: hostileId });
    ws.send(encode(small));
    const [, second] = await ws.waitFor(2);
    assert.equal(second?.env.uid, small.uid);
    assert.equal(second?.env.message?.kind, "request");
  });
});

describe("hostile input — envelope timestamps at the relay (websocket frames routed as rmb-rs does; POST / refuses far-future ones)", () => {
  test("a far-future timestamp is routed over the websocket (receivers check times) but refused by POST / beyond maxClockSkew", async (t) => {
    const net = await startHostileNet();
    t.after(() => net.relay.stop());
    const [hostileId, aId] = net.ids;
    const future = unixNow() + TEN_YEARS;
    const a = await RelayTestClient.connect(net.port, net.a, { twin: aId });
    t.after(() => a.close());
    const ws = await RelayTestClient.connect(net.port, net.hostile, { twin: hostileId });
    t.after(() => ws.close());
    const viaWs = requestEnvelope({ twin: hostileId }, { twin: aId }, { timestamp: future, expiration: 60 });
    ws.send(encode(viaWs));
    const got = await a.next();
    assert.deepEqual([got.env.uid, got.env.timestamp], [viaWs.uid, future]);
    const dated = (timestamp: number) =>
      signEnvelope(
        requestEnvelope({ twin: hostileId }, { twin: aId }, { timestamp, expiration: 60 }),
        net.hostile,
      );
    const farAhead = dated(future);
    assert.deepEqual(await httpRequest(net.port, "POST", "/", encodeEnvelope(farAhead)), {
      status: 400,
      body: "bad request: envelope timestamp is in the future",
    });
    const beyondSkew = dated(unixNow() + net.relay.options.maxClockSkew + 60);
    assert.deepEqual(await httpRequest(net.port, "POST", "/", encodeEnvelope(beyondSkew)), {
      status: 400,
      body: "bad request: envelope timestamp is in the future",
    });
    // Within the skew (a sender whose clock runs a little ahead) it is accepted and delivered.
    const withinSkew = dated(unixNow() + net.relay.options.maxClockSkew - 60);
    assert.deepEqual(await httpRequest(net.port, "POST", "/", encodeEnvelope(withinSkew)), {
      status: 202,
      body: "",
    });
    assert.equal((await a.next()).env.uid, withinSkew.uid);
    // Timestamps beyond 2^53−1 cannot be held exactly: refused as undecodable (1007 / 400) rather than rounded.
    const huge = Uint8Array.of(
      0x0a,
      0x01,
      0x78,
      0x18,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x01,
    );
    assert.deepEqual(await httpRequest(net.port, "POST", "/", huge), {
      status: 400,
      body: "bad request: uint64 value exceeds 2^53-1",
    });
    ws.send(huge);
    assert.deepEqual(await ws.closed(), { code: 1007, reason: "invalid envelope" });
  });
});
