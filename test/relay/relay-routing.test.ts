import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { decodeEnvelope, type Envelope, encodeEnvelope } from "../../src/protocol/index.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { type RelayFixture, startRelay } from "../support/relay-fixture.js";
import { forEachStoreMode } from "../support/store-modes.js";

function assertRelayError(
  env: Envelope,
  request: Envelope,
  text: string,
  destination: Envelope["destination"],
) {
  assert.equal(env.uid, request.uid);
  assert.deepEqual(env.message, { kind: "error", code: 0, message: text });
  assert.equal(env.expiration, 300);
  assert.ok(Math.abs(env.timestamp - Math.floor(Date.now() / 1000)) <= 2);
  assert.equal(env.source, undefined);
  assert.equal(env.signature, undefined);
  assert.equal(env.tags, undefined);
  assert.equal(env.schema, undefined);
  assert.equal(env.payload, undefined);
  assert.deepEqual(env.destination, destination);
}

forEachStoreMode((mode, store) => {
  describe(`relay — routing (§4.3–4.6) [${mode}]`, () => {
    let f: RelayFixture;
    const open: RelayTestClient[] = [];
    const connect = async (who: "alice" | "bob", sid?: string) => {
      const signer = who === "alice" ? f.alice : f.bob;
      const c = await RelayTestClient.connect(f.port, signer, {
        twin: f.twins[who].id,
        ...(sid === undefined ? {} : { sid }),
      });
      open.push(c);
      return c;
    };
    before(async () => {
      f = await startRelay(store());
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });
    after(async () => {
      await f.relay.stop();
    });

    test("local delivery between two twins forwards the exact bytes (unknown fields kept)", async () => {
      const a = await connect("alice");
      const b = await connect("bob", "s1");
      const env = requestEnvelope({ twin: 1 }, { twin: 2, connection: "s1" }, { schema: "application/json" });
      // append an unknown field 99 (varint 7) to prove the relay does not re-encode
      const bytes = Buffer.concat([encodeEnvelope(env), Buffer.from([0x98, 0x06, 0x07])]);
      a.send(bytes);
      const got = await b.next();
      assert.deepEqual(Buffer.from(got.raw), bytes);
      // and back
      const reply = requestEnvelope(
        { twin: 2, connection: "s1" },
        { twin: 1 },
        { message: { kind: "response" } },
      );
      b.send(encode(reply));
      assert.equal((await a.next()).env.uid, reply.uid);
    });

    test("rejects an envelope whose source is not the session (error only for requests)", async () => {
      const a = await connect("alice", "x");
      const resp = requestEnvelope({ twin: 1 }, { twin: 2 }, { message: { kind: "response" } });
      a.send(encode(resp)); // no error for a response
      const req = requestEnvelope({ twin: 1 }, { twin: 2 });
      a.send(encode(req));
      const got = await a.next();
      assertRelayError(got.env, req, "message wrong source", { twin: 1, connection: "x" });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(a.received.length, 1);
    });

    test("missing destination and twin 0 → message with missing destination", async () => {
      const a = await connect("alice");
      const r1 = requestEnvelope({ twin: 1 }, undefined);
      const r2 = requestEnvelope({ twin: 1 }, { twin: 0 });
      a.send(encode(r1));
      a.send(encode(r2));
      const [e1, e2] = await a.waitFor(2);
      assertRelayError(e1!.env, r1, "message with missing destination", { twin: 1 });
      assertRelayError(e2!.env, r2, "message with missing destination", { twin: 1 });
    });

    test("unknown twin and twin without relay → error texts", async () => {
      const a = await connect("alice");
      const reqs = [
        [requestEnvelope({ twin: 1 }, { twin: 999 }), "unknown twin destination"],
        [requestEnvelope({ twin: 1 }, { twin: f.twins.dave.id }), "relay info is not set for this twin"],
      ] as const;
      for (const [r] of reqs) a.send(encode(r));
      const got = await a.waitFor(2);
      for (const [i, [r, text]] of reqs.entries()) assertRelayError(got[i]!.env, r, text, { twin: 1 });
    });

    test("ping → pong: source/destination swapped, 'hello world' appended, sent back to the sender", async () => {
      const a = await connect("alice", "p");
      const ping = requestEnvelope(
        { twin: 1, connection: "p" },
        { twin: 0 },
        {
          message: { kind: "ping" },
          payload: { kind: "plain", data: new TextEncoder().encode(">") },
          signature: new Uint8Array(0),
          expiration: 40,
        },
      );
      a.send(encode(ping));
      const { env } = await a.next();
      assert.equal(env.message?.kind, "pong");
      assert.deepEqual(env.source, { twin: 0 });
      assert.deepEqual(env.destination, { twin: 1, connection: "p" });
      assert.equal(env.payload?.kind, "plain");
      assert.equal(new TextDecoder().decode(env.payload!.data), ">hello world");
      assert.equal(env.uid, ping.uid);
      assert.equal(env.expiration, 40);
      assert.deepEqual(env.signature, new Uint8Array(0));
    });

    test("ping without payload gets exactly 'hello world'", async () => {
      const a = await connect("alice");
      const ping = requestEnvelope({ twin: 1 }, undefined, { message: { kind: "ping" } });
      delete ping.payload;
      a.send(encode(ping));
      const { env } = await a.next();
      assert.equal(new TextDecoder().decode(env.payload!.data), "hello world");
      assert.equal(env.source, undefined);
    });

    test("store and forward: offline messages are delivered in order on connect", async () => {
      const a = await connect("alice");
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        const bytes = encode(
          requestEnvelope({ twin: 1 }, { twin: 2, connection: "later" }, { uid: `m${i}` }),
        );
        sent.push(bytes);
        a.send(bytes);
      }
      // make sure the relay handled all of them (a ping round trip is ordered after them)
      a.send(encode(requestEnvelope({ twin: 1 }, undefined, { message: { kind: "ping" } })));
      await a.next();
      const b = await connect("bob", "later");
      const got = await b.waitFor(20);
      assert.deepEqual(
        got.map((g) => Buffer.from(g.raw)),
        sent.map((s) => Buffer.from(s)),
      );
    });

    test("fail-fast to an offline local session → destination offline; online → delivered", async () => {
      const a = await connect("alice");
      const r = requestEnvelope({ twin: 1 }, { twin: 2, connection: "ff" }, { tags: "x, fail-fast" });
      a.send(encode(r));
      assertRelayError((await a.next()).env, r, "destination offline", { twin: 1 });
      const b = await connect("bob", "ff");
      const r2 = requestEnvelope({ twin: 1 }, { twin: 2, connection: "ff" }, { tags: "fail-fast" });
      a.send(encode(r2));
      assert.equal((await b.next()).env.uid, r2.uid);
      assert.equal(b.received.length, 1);
    });

    test("session replacement: the old socket is closed, the new one keeps working", async () => {
      const a = await connect("alice");
      const b1 = await connect("bob", "r");
      const b2 = await connect("bob", "r");
      const closed = await b1.closed();
      assert.equal(closed.code, 4000);
      await new Promise((r) => setTimeout(r, 30));
      const r = requestEnvelope({ twin: 1 }, { twin: 2, connection: "r" });
      a.send(encode(r));
      assert.equal((await b2.next()).env.uid, r.uid);
      assert.equal(b2.ws.readyState, b2.ws.OPEN);
    });

    test("a slow consumer does not stall others; it gets everything in order once it reads again", async () => {
      const a = await connect("alice");
      const slow = await connect("bob", "slow");
      slow.ws.pause(); // stop reading from the socket: the relay's writes back up
      const big = new Uint8Array(64 * 1024);
      const uids: string[] = [];
      for (let i = 0; i < 100; i++) {
        const r = requestEnvelope({ twin: 1 }, { twin: 2, connection: "slow" }, { uid: `s${i}` });
        r.payload = { kind: "plain", data: big };
        uids.push(r.uid);
        a.send(encode(r));
      }
      const toSelf = requestEnvelope({ twin: 1 }, { twin: 1 });
      a.send(encode(toSelf));
      assert.equal((await a.next()).env.uid, toSelf.uid);
      slow.ws.resume();
      const got = await slow.waitFor(100, 10_000);
      assert.deepEqual(
        got.map((g) => g.env.uid),
        uids,
      );
    });

    test("text frames and undecodable binary frames close the connection", async () => {
      const a = await connect("alice");
      a.ws.send("hello");
      assert.equal((await a.closed()).code, 1003);
      const b = await connect("bob");
      b.send(new Uint8Array([0xff, 0xff, 0xff]));
      assert.equal((await b.closed()).code, 1007);
    });

    test("error envelopes decode as valid protobuf", () => {
      const r = requestEnvelope({ twin: 1 }, { twin: 2 });
      assert.equal(decodeEnvelope(encode(r)).uid, r.uid);
    });
  });
});
