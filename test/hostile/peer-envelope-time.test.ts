import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KeyType } from "../../src/identity/index.js";
import { FAR_FUTURE_TEXT } from "../../src/peer/envelope-opener.js";
import {
  formatOutgoingRequest,
  formatOutgoingResponse,
  PEER_DEFAULTS,
  PeerKeys,
  parseIncomingRequest,
  parseIncomingResponse,
  SeenMessages,
} from "../../src/peer/index.js";
import { createEnvelope, encodeEnvelope, signEnvelope, unixNow } from "../../src/protocol/index.js";
import { type NetTwin, type PeerHandle, type PeerNet, startPeerNet } from "../support/peer-net.js";
import { RelayTestClient } from "../support/relay-client.js";

const TEN_YEARS = 10 * 365 * 24 * 3600;
const MAX_TTL = 1800; // PEER_DEFAULTS.maxTtl
const SKEW = PEER_DEFAULTS.maxClockSkew; // 300 s

/** A request from `from` to `to`, dated `timestamp`, signed by `signer`. */
function datedRequest(from: NetTwin, to: NetTwin, timestamp: number, command: string) {
  return signEnvelope(
    createEnvelope({
      uid: `dated-${Math.random().toString(36).slice(2)}`,
      timestamp,
      expiration: 60,
      source: { twin: from.twin.id },
      destination: { twin: to.twin.id },
      message: { kind: "request", command },
      payload: { kind: "plain", data: new TextEncoder().encode("from the future") },
    }),
    from.identity.signer,
  );
}

/**
 * What rmb-peer does with envelope times (rmb-rs `src/types/mod.rs`): an incoming envelope is refused when
 * `timestamp + expiration <= now` (102). rmb-rs does not check a timestamp in the future, which lets a sender stretch
 * an envelope's lifetime by dating it ahead; this peer refuses one dated more than `maxClockSkew` (300 s) ahead, also
 * with 102, and answers the sender of a request. Outgoing envelopes are stamped: a future or zero timestamp becomes
 * now with the lifetime unchanged, a past one becomes now with the lifetime shortened to keep the deadline.
 * docs/peer.md: "Incoming checks (in rmb-rs's order): lifetime (102), …".
 */
describe("hostile input — envelope timestamps at rmb-peer (real redis-server, relay and peers)", () => {
  let net: PeerNet;
  let alice: NetTwin;
  let bob: NetTwin;
  let carol: NetTwin;
  let eve: NetTwin; // a twin without a peer: writes raw envelopes
  let a: PeerHandle;
  let b: PeerHandle;
  let c: PeerHandle; // carol's peer tolerates an hour of skew
  let ws: RelayTestClient;

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Sr25519);
    carol = net.twin(KeyType.Ed25519);
    eve = net.twin(KeyType.Ed25519, { pk: false });
    a = await net.peer(alice, 1);
    b = await net.peer(bob, 2);
    c = await net.peer(carol, 3, { maxClockSkew: 3600 });
    ws = await RelayTestClient.connect(net.port, eve.identity.signer, { twin: eve.twin.id });
  });
  after(async () => {
    await ws?.close();
    await net?.stop();
  });

  for (const ahead of [TEN_YEARS, SKEW + 120]) {
    test(`a signed request dated ${ahead === TEN_YEARS ? "ten years" : `${ahead} s`} ahead is refused with 102, answered to its sender, and never reaches the service`, async () => {
      const rejected = b.peer.stats.rejected;
      const req = datedRequest(eve, bob, unixNow() + ahead, "future.refused");
      ws.send(encodeEnvelope(req));
      const { env: answer } = await ws.next(10_000);
      assert.equal(answer.uid, req.uid);
      assert.equal(answer.source?.twin, bob.twin.id);
      assert.deepEqual(answer.message, { kind: "error", code: 102, message: FAR_FUTURE_TEXT });
      assert.equal(b.peer.stats.rejected, rejected + 1);
      assert.equal(await b.client.llen(PeerKeys.command("future.refused")), 0);
    });
  }

  test("a request dated within the skew is accepted; the answer leaves stamped now, its lifetime capped", async () => {
    const future = unixNow() + SKEW - 60;
    const req = datedRequest(eve, bob, future, "future.cmd");
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
    const { env: res } = await ws.next(10_000);
    const now = unixNow();
    assert.equal(res.uid, req.uid);
    assert.equal(res.message?.kind, "response");
    assert.ok(Math.abs(res.timestamp - now) <= 2, `response stamped ${res.timestamp}, now ${now}`);
    assert.ok(res.expiration > 0 && res.expiration <= MAX_TTL, `response lifetime ${res.expiration}`);
  });

  test("maxClockSkew is the peer's option: a peer allowing 3600 s takes a request dated 1000 s ahead", async () => {
    const future = unixNow() + 1000;
    const req = datedRequest(eve, carol, future, "future.wide");
    ws.send(encodeEnvelope(req));
    const got = await c.client.blpop(PeerKeys.command("future.wide"), 10);
    assert.ok(got !== null, "the request did not reach the service");
    assert.deepEqual([parseIncomingRequest(got[1]).ref, parseIncomingRequest(got[1]).now], [req.uid, future]);
  });

  test("an answer dated far ahead is refused: the client never sees it, and the genuine answer still gets through", async () => {
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "ask-eve",
        cmd: "eve.cmd",
        exp: 120,
        dat: new TextEncoder().encode("hi"),
        tag: null,
        dst: [eve.twin.id],
        ret: "future-answers",
        shm: null,
        now: unixNow(),
      }),
    );
    const { env: req } = await ws.next(10_000);
    assert.equal(req.message?.kind, "request");
    const rejected = a.peer.stats.rejected;
    const answer = (timestamp: number, text: string) =>
      encodeEnvelope(
        signEnvelope(
          createEnvelope({
            uid: req.uid,
            timestamp,
            expiration: 60,
            source: { twin: eve.twin.id },
            destination: { twin: alice.twin.id },
            message: { kind: "response" },
            payload: { kind: "plain", data: new TextEncoder().encode(text) },
          }),
          eve.identity.signer,
        ),
      );
    ws.send(answer(unixNow() + TEN_YEARS, "forged lifetime"));
    ws.send(answer(unixNow(), "genuine"));
    const got = await a.client.blpop("future-answers", 10);
    assert.ok(got !== null, "no answer reached the client");
    assert.equal(new TextDecoder().decode(parseIncomingResponse(got[1]).dat), "genuine");
    assert.equal(a.peer.stats.rejected, rejected + 1);
    assert.equal(await a.client.llen("future-answers"), 0);
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
