import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KeyType } from "../../src/identity/index.js";
import {
  formatOutgoingRequest,
  formatOutgoingResponse,
  PeerKeys,
  parseIncomingRequest,
  SeenMessages,
} from "../../src/peer/index.js";
import { createEnvelope, encodeEnvelope, signEnvelope, unixNow } from "../../src/protocol/index.js";
import { type NetTwin, type PeerHandle, type PeerNet, startPeerNet } from "../support/peer-net.js";
import { RelayTestClient } from "../support/relay-client.js";

const TEN_YEARS = 10 * 365 * 24 * 3600;
const MAX_TTL = 1800; // PEER_DEFAULTS.maxTtl

/**
 * What rmb-peer does with envelope times (rmb-rs `src/types/mod.rs`): an incoming envelope is refused only when
 * `timestamp + expiration <= now` (102); a timestamp in the future is not checked. Outgoing envelopes are stamped:
 * a future or zero timestamp becomes now with the lifetime unchanged, a past one becomes now with the lifetime
 * shortened to keep the deadline. docs/peer.md: "Incoming checks (in rmb-rs's order): lifetime (102), …".
 */
describe("hostile input — envelope timestamps at rmb-peer (real redis-server, relay and peers)", () => {
  let net: PeerNet;
  let alice: NetTwin;
  let bob: NetTwin;
  let eve: NetTwin; // a twin without a peer: writes raw envelopes
  let a: PeerHandle;
  let b: PeerHandle;
  let ws: RelayTestClient;

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Sr25519);
    eve = net.twin(KeyType.Ed25519, { pk: false });
    a = await net.peer(alice, 1);
    b = await net.peer(bob, 2);
    ws = await RelayTestClient.connect(net.port, eve.identity.signer, { twin: eve.twin.id });
  });
  after(async () => {
    await ws?.close();
    await net?.stop();
  });

  test("a signed request with a far-future timestamp is accepted like rmb-rs does; the answer leaves stamped now, its lifetime capped", async () => {
    const future = unixNow() + TEN_YEARS;
    const req = signEnvelope(
      createEnvelope({
        uid: `future-${Math.random().toString(36).slice(2)}`,
        timestamp: future,
        expiration: 60,
        source: { twin: eve.twin.id },
        destination: { twin: bob.twin.id },
        message: { kind: "request", command: "future.cmd" },
        payload: { kind: "plain", data: new TextEncoder().encode("from the future") },
      }),
      eve.identity.signer,
    );
    ws.send(encodeEnvelope(req));
    const got = await b.client.blpop(PeerKeys.command("future.cmd"), 10);
    assert.ok(got !== null, "the request did not reach the service");
    const delivered = parseIncomingRequest(got[1]);
    assert.deepEqual([delivered.ref, delivered.now, delivered.exp], [req.uid, future, 60]);
    // A service that copies the request's `now` into its answer: the peer stamps the envelope itself.
    await b.client.lpush(
      PeerKeys.reply,
      formatOutgoingResponse({
        ver: 1,
        ref: delivered.ref,
        dat: new TextEncoder().encode("ok"),
        dst: delivered.src,
        shm: null,
        now: future,
        err: null,
      }),
    );
    const { env: res } = await ws.next();
    const now = unixNow();
    assert.equal(res.uid, req.uid);
    assert.equal(res.message?.kind, "response");
    assert.ok(Math.abs(res.timestamp - now) <= 2, `response stamped ${res.timestamp}, now ${now}`);
    assert.ok(res.expiration > 0 && res.expiration <= MAX_TTL, `response lifetime ${res.expiration}`);
  });

  test("a local request with a far-future 'now' leaves stamped now with its lifetime", async () => {
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: null,
        cmd: "to.eve",
        exp: 120,
        dat: new TextEncoder().encode("hi"),
        tag: null,
        dst: [eve.twin.id],
        ret: "future-ret",
        shm: null,
        now: unixNow() + TEN_YEARS,
      }),
    );
    const { env } = await ws.next();
    assert.equal(env.source?.twin, alice.twin.id);
    assert.ok(Math.abs(env.timestamp - unixNow()) <= 2, `stamped ${env.timestamp}`);
    assert.equal(env.expiration, 120);
  });

  test("remembered uids stay bounded when senders choose far-future lifetimes", () => {
    const seen = new SeenMessages(1000);
    const now = unixNow();
    for (let i = 0; i < 50_000; i++) {
      assert.equal(seen.firstTime(`request|${i}|uid-${i}`, now + TEN_YEARS + (i % 977), now), true);
    }
    assert.equal(seen.size, 1000);
    assert.ok(seen.retained <= 2000, `${seen.retained} keys retained for 1000 remembered`);
    // The newest are still recognised as repeats; the forgotten oldest are not.
    assert.equal(seen.firstTime("request|49999|uid-49999", now + TEN_YEARS, now), false);
    assert.equal(seen.firstTime("request|0|uid-0", now + TEN_YEARS, now), true);
  });
});
