import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Envelope, signEnvelope } from "../../src/protocol/index.js";
import { encode, httpRequest, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { type RelayFixture, startRelay } from "../support/relay-fixture.js";
import { forEachStoreMode } from "../support/store-modes.js";

forEachStoreMode((mode, store) => {
  describe(`relay — HTTP surface (§4.1, §4.8.2, §4.14) [${mode}]`, () => {
    let f: RelayFixture;
    before(async () => {
      f = await startRelay({ ...store(), maxMessageSize: 4096 });
    });
    after(async () => {
      await f.relay.stop();
    });

    test("federation POST / queues the exact body and answers 202 with an empty body", async () => {
      const env = signEnvelope(requestEnvelope({ twin: 3 }, { twin: 1, connection: "fed" }), f.charlie);
      const bytes = encode(env);
      assert.deepEqual(await httpRequest(f.port, "POST", "/", bytes), { status: 202, body: "" });
      const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1, sid: "fed" });
      try {
        assert.deepEqual(Buffer.from((await a.next()).raw), Buffer.from(bytes));
      } finally {
        await a.close();
      }
    });

    test("federation POST / with fail-fast: offline → 404 destination offline, online → 202", async () => {
      const env = signEnvelope(
        requestEnvelope({ twin: 3 }, { twin: 1, connection: "ff" }, { tags: "fail-fast" }),
        f.charlie,
      );
      assert.deepEqual(await httpRequest(f.port, "POST", "/", encode(env)), {
        status: 404,
        body: "destination offline",
      });
      const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1, sid: "ff" });
      try {
        assert.equal((await httpRequest(f.port, "POST", "/", encode(env))).status, 202);
        assert.equal((await a.next()).env.uid, env.uid);
      } finally {
        await a.close();
      }
    });

    test("federation POST / refuses envelopes not signed by their source twin (401) and expired ones (400)", async () => {
      const post = (env: Envelope) => httpRequest(f.port, "POST", "/", encode(env));
      const unsigned = requestEnvelope({ twin: 3 }, { twin: 1 });
      assert.deepEqual(await post(unsigned), { status: 401, body: "unauthorized: message is not signed" });
      const forged = signEnvelope(requestEnvelope({ twin: 3 }, { twin: 1 }), f.alice); // claims to be charlie
      assert.deepEqual(await post(forged), {
        status: 401,
        body: "unauthorized: ed25519 signature verification failed",
      });
      const tampered = signEnvelope(requestEnvelope({ twin: 3 }, { twin: 1 }), f.charlie);
      tampered.payload = { kind: "plain", data: new Uint8Array([1, 2, 3]) };
      assert.equal((await post(tampered)).status, 401);
      const ghost = signEnvelope(requestEnvelope({ twin: 77 }, { twin: 1 }), f.charlie);
      assert.deepEqual(await post(ghost), { status: 401, body: "unauthorized: unknown source twin 77" });
      const anonymous = requestEnvelope({ twin: 3 }, { twin: 1 });
      delete anonymous.source;
      assert.deepEqual(await post(signEnvelope(anonymous, f.charlie)), {
        status: 401,
        body: "unauthorized: envelope has no source",
      });
      const expired = signEnvelope(
        requestEnvelope({ twin: 3 }, { twin: 1 }, { timestamp: 1000, expiration: 60 }),
        f.charlie,
      );
      assert.deepEqual(await post(expired), { status: 400, body: "bad request: envelope expired" });
      const okay = signEnvelope(requestEnvelope({ twin: 3 }, { twin: 1, connection: "auth" }), f.charlie);
      assert.equal((await post(okay)).status, 202);
    });

    test("federation POST / with an undecodable body → 400 bad request: <err>", async () => {
      const r = await httpRequest(f.port, "POST", "/", new Uint8Array([0xff, 0xff, 0xff]));
      assert.equal(r.status, 400);
      assert.match(r.body, /^bad request: .+/);
    });

    test("federation POST / larger than maxMessageSize → 413", async () => {
      const env = requestEnvelope(
        { twin: 3 },
        { twin: 1 },
        { payload: { kind: "plain", data: new Uint8Array(5000) } },
      );
      const r = await httpRequest(f.port, "POST", "/", encode(env));
      assert.equal(r.status, 413);
    });

    test("websocket frames larger than maxMessageSize close the connection (1009)", async () => {
      const a = await RelayTestClient.connect(f.port, f.alice, { twin: 1 });
      a.send(new Uint8Array(5000));
      assert.equal((await a.closed()).code, 1009);
    });

    test("GET /metrics serves Prometheus text with message counters and the connections gauge", async () => {
      const r = await httpRequest(f.port, "GET", "/metrics");
      assert.equal(r.status, 200);
      for (const name of [
        "relay_message_rx",
        "relay_message_tx",
        "relay_message_rx_bytes",
        "relay_message_tx_bytes",
        "relay_connections",
      ]) {
        assert.match(r.body, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"));
        assert.match(r.body, new RegExp(`^${name} \\d+$`, "m"));
      }
      assert.match(r.body, /^relay_message_rx [1-9]\d*$/m);
      assert.match(r.body, /^relay_federation_ingress_total\{status="202"\} [1-9]/m);
    });

    test("anything else → 404 page not found", async () => {
      assert.deepEqual(await httpRequest(f.port, "GET", "/"), { status: 404, body: "page not found" });
      assert.deepEqual(await httpRequest(f.port, "POST", "/other"), { status: 404, body: "page not found" });
    });
  });
});
