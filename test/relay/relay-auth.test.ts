import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createJwt, JWT_HEADER_TYPED, unixNow } from "../../src/protocol/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { encode, RelayTestClient, requestEnvelope, tryUpgrade } from "../support/relay-client.js";
import { type RelayFixture, startRelay } from "../support/relay-fixture.js";

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");

describe("relay — JWT login (§3.3)", () => {
  let f: RelayFixture;
  before(async () => {
    f = await startRelay();
  });
  after(async () => {
    await f.relay.stop();
  });

  test("no query string → 400 missing jwt", async () => {
    assert.deepEqual(await tryUpgrade(f.port, undefined), { status: 400, body: "missing jwt" });
  });

  test("garbage token → 401 invalid jwt: jwt: …", async () => {
    const r = await tryUpgrade(f.port, "not-a-token");
    assert.equal(r.status, 401);
    assert.equal(r.body, "invalid jwt: jwt: expected three '.' separated parts");
  });

  test("expired token → 401 invalid jwt: jwt has expired; exp == now is still accepted", async () => {
    const now = unixNow();
    const expired = createJwt(f.alice, { twin: 1, iat: now - 100, ttl: 10 });
    assert.deepEqual(await tryUpgrade(f.port, expired), {
      status: 401,
      body: "invalid jwt: jwt has expired",
    });
    const edge = createJwt(f.alice, { twin: 1, iat: now - 100, ttl: 100 + 5 });
    assert.equal((await tryUpgrade(f.port, edge)).status, 101);
  });

  test("unknown twin → 401 twin not found <id>", async () => {
    const token = createJwt(f.alice, { twin: 999 });
    assert.deepEqual(await tryUpgrade(f.port, token), { status: 401, body: "twin not found 999" });
  });

  test("token signed by another key → 401 invalid jwt", async () => {
    const token = createJwt(f.bob, { twin: f.twins.alice.id });
    const r = await tryUpgrade(f.port, token);
    assert.equal(r.status, 401);
    assert.match(r.body, /^invalid jwt: jwt: /);
  });

  test("wrong algorithm in header → 401 invalid jwt", async () => {
    const token = createJwt(f.alice, { twin: 1, header: '{"alg":"HS256"}' });
    const r = await tryUpgrade(f.port, token);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'invalid jwt: jwt: expected algorithm RS512 but found "HS256"');
  });

  test("valid rmb-rs style and TS style tokens upgrade (sr25519 and ed25519)", async () => {
    assert.equal((await tryUpgrade(f.port, createJwt(f.alice, { twin: 1 }))).status, 101);
    const ts = createJwt(f.bob, { twin: 2, sid: "abc", header: JWT_HEADER_TYPED });
    assert.equal((await tryUpgrade(f.port, ts)).status, 101);
  });

  test("twin lookup failure → 500 failed to get twin: <err>", async () => {
    const relay = new RelayServer({
      domains: ["x"],
      registry: {
        getTwin: async () => {
          throw new Error("chain down");
        },
        getTwinIdByAccount: async () => undefined,
      },
    });
    const { port } = await relay.start();
    try {
      const token = createJwt(f.alice, { twin: 1 });
      assert.deepEqual(await tryUpgrade(port, token), {
        status: 500,
        body: "failed to get twin: chain down",
      });
    } finally {
      await relay.stop();
    }
  });

  test("sid null, missing and string give sessions '1', '1' and '1:<sid>'", async () => {
    const now = unixNow();
    const claims = `{"sub":1,"iat":${now},"exp":${now + 60}}`;
    const input = `${b64('{"alg":"RS512"}')}.${b64(claims)}`;
    const missing = `${input}.${b64(f.alice.sign(Buffer.from(input)))}`;

    const cases: { token: string; source: { twin: number; connection?: string } }[] = [
      { token: createJwt(f.alice, { twin: 1 }), source: { twin: 1 } },
      { token: missing, source: { twin: 1 } },
      { token: createJwt(f.alice, { twin: 1, sid: "" }), source: { twin: 1, connection: "" } },
      { token: createJwt(f.alice, { twin: 1, sid: "s:1" }), source: { twin: 1, connection: "s:1" } },
    ];
    for (const { token, source } of cases) {
      const ws = await RelayTestClient.connectToken(f.port, token);
      try {
        // A request to self from the right source is delivered back; from the wrong one it is refused.
        ws.send(encode(requestEnvelope(source, source)));
        const ok = await ws.next();
        assert.equal(ok.env.message?.kind, "request", JSON.stringify(source));
        const other = source.connection === undefined ? { twin: 1, connection: "" } : { twin: 1 };
        ws.send(encode(requestEnvelope(other, source)));
        const err = await ws.next();
        assert.deepEqual(err.env.message, { kind: "error", code: 0, message: "message wrong source" });
      } finally {
        await ws.close();
      }
    }
  });

  test("maxSessions refuses further sessions with 503", async () => {
    const g = await startRelay({ maxSessions: 1 });
    const a = await RelayTestClient.connect(g.port, g.alice, { twin: 1 });
    try {
      const r = await tryUpgrade(g.port, createJwt(g.bob, { twin: 2 }));
      assert.deepEqual(r, { status: 503, body: "max number of users" });
      // replacing the same session is still allowed
      const again = await RelayTestClient.connect(g.port, g.alice, { twin: 1 });
      await again.close();
    } finally {
      await a.close();
      await g.relay.stop();
    }
  });
});
