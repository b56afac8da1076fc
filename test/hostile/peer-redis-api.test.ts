import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { KeyType } from "../../src/identity/index.js";
import {
  formatOutgoingRequest,
  formatOutgoingResponse,
  type JsonEcho,
  PeerKeys,
  parseIncomingResponse,
  parseOutgoingRequest,
  startJsonEcho,
} from "../../src/peer/index.js";
import { type NetTwin, type PeerHandle, type PeerNet, startPeerNet } from "../support/peer-net.js";
import { waitUntil } from "../support/wait.js";
import { FUZZ_SEED, liveRuns } from "./fuzz-config.js";
import { mutatedJsonObject, mutatedText } from "./mutate.js";

const RUNS = liveRuns(300);
const MAX_PAYLOAD = 1024;

function sample<T>(arb: fc.Arbitrary<T>, n: number): T[] {
  return fc.sample(arb, FUZZ_SEED === undefined ? n : { numRuns: n, seed: FUZZ_SEED });
}

/** What the peer reads back from an item: Redis hands it over as UTF-8 text. */
const asText = (item: string | Uint8Array) =>
  typeof item === "string" ? item : Buffer.from(item).toString("utf8");

/** The reply queue and `ref` an item names (the peer answers a refused item there), computed independently. */
function namedReturn(text: string): { ret: string; ref: string | null } | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null) return undefined;
  const { ret, ref } = o as Record<string, unknown>;
  return typeof ret === "string" && ret !== ""
    ? { ret, ref: typeof ref === "string" ? ref : null }
    : undefined;
}

describe("hostile input — rmb-peer Redis API (real redis-server, relay and peers)", () => {
  let net: PeerNet;
  let alice: NetTwin;
  let bob: NetTwin;
  let a: PeerHandle;
  let echo: JsonEcho;

  before(async () => {
    net = await startPeerNet();
    alice = net.twin(KeyType.Ed25519);
    bob = net.twin(KeyType.Sr25519);
    a = await net.peer(alice, 1, { maxPayloadSize: MAX_PAYLOAD });
    const b = await net.peer(bob, 2);
    echo = await startJsonEcho(b.redisUrl, "testme");
  });
  after(async () => {
    await echo?.stop();
    await net?.stop();
  });

  /** A normal request through peer `a` to bob's echo service gets its answer. */
  async function assertServing(): Promise<void> {
    const ret = `normal-${Math.random().toString(36).slice(2)}`;
    await a.client.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref: "normal",
        cmd: "testme",
        exp: 30,
        dat: new TextEncoder().encode("still here"),
        tag: null,
        dst: [bob.twin.id],
        ret,
        shm: null,
        now: 0,
      }),
    );
    const got = await a.client.blpop(ret, 10);
    assert.ok(got !== null, "no answer to a normal request");
    const res = parseIncomingResponse(got[1]);
    assert.deepEqual([res.err, res.ref, new TextDecoder().decode(res.dat)], [null, "normal", "still here"]);
  }

  test("random and mutated items on msgbus.system.local: each malformed one that names a ret queue gets its error there; the peer keeps serving", async () => {
    const template = fc
      .record({
        ref: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
        cmd: fc.constantFrom("testme", "rmb.version", "rmb.nope", ""),
        exp: fc.constantFrom(0, 30, 4_000_000_000),
        dat: fc.uint8Array({ maxLength: 32 }),
        dst: fc.array(fc.constantFrom(bob.twin.id, 424242, 0), { maxLength: 2 }),
        ret: fc.uuid().map((u) => `h-ret-${u}`),
        now: fc.constantFrom(0, 1, 9_999_999_999),
      })
      .map((r) => ({ ver: 1, tag: null, shm: null, ...r }));
    const items: (string | Uint8Array)[] = sample(
      fc.oneof(
        { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 120 }) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) },
        { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
        { weight: 3, arbitrary: mutatedText(template.map(formatOutgoingRequest)) },
        {
          weight: 3,
          arbitrary: mutatedJsonObject(template.map((r) => JSON.parse(formatOutgoingRequest(r)))),
        },
      ),
      RUNS,
    );
    // Items that name the peer's own queues, and an oversized payload.
    items.push(
      JSON.stringify({ ret: PeerKeys.local, ref: "self-local", dst: "x" }),
      JSON.stringify({ ret: PeerKeys.reply, ref: "self-reply", dst: "x" }),
      formatOutgoingRequest({
        ver: 1,
        ref: "big",
        cmd: "testme",
        exp: 30,
        dat: new Uint8Array(MAX_PAYLOAD + 1),
        tag: null,
        dst: [bob.twin.id],
        ret: "h-ret-big",
        shm: null,
        now: 0,
      }),
    );
    const expected: { ret: string; ref: string | null; message: RegExp }[] = [];
    for (const item of items) {
      const text = asText(item);
      const named = namedReturn(text);
      if (named === undefined || !named.ret.startsWith("h-ret-")) continue;
      try {
        parseOutgoingRequest(text);
      } catch {
        expected.push({ ...named, message: /^other: bad request: .+/ });
      }
    }
    expected.push({
      ret: "h-ret-big",
      ref: "big",
      message: /^other: bad request: payload of 1025 bytes exceeds the limit of 1024$/,
    });
    const before = a.peer.stats.localRequests;
    for (let i = 0; i < items.length; i += 100)
      await a.client.lpush(
        PeerKeys.local,
        ...items.slice(i, i + 100).map((x) => (typeof x === "string" ? x : Buffer.from(x))),
      );

    for (const e of expected) {
      // The queue may also hold answers to other items whose mutated ret happens to collide: look for the error.
      let found = false;
      while (!found) {
        const got = await a.client.blpop(e.ret, 10);
        assert.ok(got !== null, `no error arrived on ${e.ret}`);
        const res = parseIncomingResponse(got[1]);
        found = res.err !== null && e.message.test(res.err.message);
        if (found) assert.deepEqual([res.err?.code, res.src, res.ref], [500, "", e.ref]);
      }
    }
    await waitUntil(async () => a.peer.stats.localRequests >= before + items.length);
    await assertServing();
    // No item keeps feeding itself back (an error pushed to msgbus.system.local is read once, refused, and dropped).
    await waitUntil(async () => {
      const count = a.peer.stats.localRequests;
      await assertServing();
      return a.peer.stats.localRequests === count + 1;
    });
  });

  test("random and mutated items on msgbus.system.reply: the peer reads them all and keeps serving", async () => {
    const template = fc.record({
      ver: fc.constant(1),
      ref: fc.option(fc.uuid(), { nil: null }),
      dat: fc.uint8Array({ maxLength: 32 }),
      dst: fc.constantFrom(String(bob.twin.id), `${bob.twin.id}:sess`, "424242", "0", "x"),
      shm: fc.constant(null),
      now: fc.constantFrom(0, 9_999_999_999),
      err: fc.option(fc.record({ code: fc.nat(), message: fc.string({ maxLength: 10 }) }), { nil: null }),
    });
    const items: (string | Uint8Array)[] = sample(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 120 }),
        fc.uint8Array({ maxLength: 120 }),
        fc.json({ maxDepth: 2 }),
        mutatedText(template.map(formatOutgoingResponse)),
        mutatedJsonObject(template.map((r) => JSON.parse(formatOutgoingResponse(r)))),
      ),
      RUNS,
    );
    const before = a.peer.stats.localResponses;
    for (let i = 0; i < items.length; i += 100)
      await a.client.lpush(
        PeerKeys.reply,
        ...items.slice(i, i + 100).map((x) => (typeof x === "string" ? x : Buffer.from(x))),
      );
    await waitUntil(async () => a.peer.stats.localResponses >= before + items.length);
    assert.ok(a.peer.stats.malformed > 0);
    await assertServing();
  });
});
