import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KeyType } from "../../src/identity/index.js";
import { InvalidArgumentError } from "../../src/index.js";
import { FAR_FUTURE_TEXT } from "../../src/peer/envelope-opener.js";
import { createEnvelope, encodeEnvelope, signEnvelope, unixNow } from "../../src/protocol/index.js";
import { RmbClient } from "../../src/sdk/index.js";
import { type NetTwin, type PeerNet, startPeerNet } from "../support/peer-net.js";
import { RelayTestClient } from "../support/relay-client.js";

const TEN_YEARS = 10 * 365 * 24 * 3600;
const FAST = { reconnectDelay: 50, maxReconnectDelay: 300 };

/**
 * The SDK client checks envelope times like the peer gateway: expired (102) and, beyond rmb-rs, dated more than
 * `maxClockSkew` (300 s by default) ahead (102 `envelope validation error: message timestamp is too far in the
 * future`). A refused request is answered to its sender; a refused answer is dropped (its call keeps waiting for a
 * genuine one).
 */
describe("hostile input — envelope timestamps at the SDK client (real relay)", () => {
  let net: PeerNet;
  let bob: NetTwin;
  let eve: NetTwin; // writes raw envelopes
  let b: RmbClient;
  let ws: RelayTestClient;
  const handled: string[] = [];

  before(async () => {
    net = await startPeerNet();
    bob = net.twin(KeyType.Sr25519);
    eve = net.twin(KeyType.Ed25519, { pk: false });
    b = await RmbClient.connect({
      identity: bob.identity,
      registry: net.registry,
      relays: [`ws://127.0.0.1:${net.port}`],
      relay: FAST,
    });
    b.serve("when", (req) => {
      handled.push(req.uid);
      return "ok";
    });
    ws = await RelayTestClient.connect(net.port, eve.identity.signer, { twin: eve.twin.id });
  });
  after(async () => {
    await ws?.close();
    await b?.close();
    await net?.stop();
  });

  const request = (timestamp: number) =>
    signEnvelope(
      createEnvelope({
        uid: `dated-${Math.random().toString(36).slice(2)}`,
        timestamp,
        expiration: 60,
        source: { twin: eve.twin.id },
        destination: { twin: bob.twin.id },
        message: { kind: "request", command: "when" },
      }),
      eve.identity.signer,
    );

  test("a request dated ten years ahead is answered with 102 and never reaches the handler", async () => {
    const req = request(unixNow() + TEN_YEARS);
    ws.send(encodeEnvelope(req));
    const { env: answer } = await ws.next(10_000);
    assert.equal(answer.uid, req.uid);
    assert.equal(answer.source?.twin, bob.twin.id);
    assert.deepEqual(answer.message, { kind: "error", code: 102, message: FAR_FUTURE_TEXT });
    assert.ok(!handled.includes(req.uid));
  });

  test("a request dated within the skew (240 s ahead) is served", async () => {
    const req = request(unixNow() + 240);
    ws.send(encodeEnvelope(req));
    const { env: answer } = await ws.next(10_000);
    assert.equal(answer.uid, req.uid);
    assert.equal(answer.message?.kind, "response");
    assert.ok(handled.includes(req.uid));
  });

  test("an answer dated far ahead is dropped; the genuine answer resolves the call", async () => {
    const call = b.call(eve.twin.id, "eve.cmd", "hi", { timeout: 20_000 });
    const { env: req } = await ws.next(10_000);
    const answer = (timestamp: number, text: string) =>
      encodeEnvelope(
        signEnvelope(
          createEnvelope({
            uid: req.uid,
            timestamp,
            expiration: 60,
            source: { twin: eve.twin.id },
            destination: { twin: bob.twin.id },
            message: { kind: "response" },
            payload: { kind: "plain", data: new TextEncoder().encode(text) },
          }),
          eve.identity.signer,
        ),
      );
    ws.send(answer(unixNow() + TEN_YEARS, "forged lifetime"));
    ws.send(answer(unixNow(), "genuine"));
    assert.equal((await call).text(), "genuine");
  });

  test("maxClockSkew is validated when the client connects", async () => {
    await assert.rejects(
      RmbClient.connect({
        identity: bob.identity,
        registry: net.registry,
        relays: [`ws://127.0.0.1:${net.port}`],
        maxClockSkew: -1,
      }),
      (e: unknown) => e instanceof InvalidArgumentError && /maxClockSkew/.test(e.message),
    );
  });
});
