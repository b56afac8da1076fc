import assert from "node:assert/strict";
import { test } from "node:test";
import { teardown } from "../support/teardown.js";
import { serveBooked, startCallStream } from "./call-stream.js";
import { relayMetrics, startCappedRelay } from "./capped-relay.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: one consumer reads far slower than the others. A caller streams to a fast service and, at the same time,
 * floods a slow one whose handler is held: the slow service stops reading (its client pauses the socket), the
 * relay's writes to it back up, and its queue on the relay fills to the cap (`--queue-length`). The fast service
 * must not be slowed (its calls all complete while the slow one is still held), and the cap must be applied with
 * an error report to the sender of each dropped request: every call to the slow service ends answered or with the
 * relay's error, none with a silent timeout, none twice.
 */

const DOMAIN = "relay.faults";
const QUEUE_LENGTH = 100;
const TO_SLOW = 600;
const TO_FAST = 400;
/** Bytes of padding per call to the slow service, so that socket buffers fill with a moderate count. */
const PADDING = 16 * 1024;

test("slow consumer — others are not slowed; the queue cap drops with error reports, not silently", async (t) => {
  const undo = teardown(t);
  const {
    twins: [a, fast, slow],
    relay,
    connect,
  } = await startCappedRelay(undo, DOMAIN, QUEUE_LENGTH);
  // The caller takes in whatever arrives (it never pauses reading), so that its own queue on the relay, under the
  // same small cap, never overflows: only requests are dropped here (slow-caller.test.ts drops responses).
  const caller = await connect(a, { maxConcurrentRequests: 100_000 });
  const fastService = await connect(fast);
  // One request at a time: while its handler is held, the client stops reading from the relay.
  const slowService = await connect(slow, { maxConcurrentRequests: 1 });
  const servedFast = new Ledger("fast service");
  const servedSlow = new Ledger("slow service");
  serveBooked(fastService, "echo", servedFast);
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  slowService.serve("echo", async (req) => {
    const { id } = req.json<{ id: string }>();
    servedSlow.delivered(id);
    await held;
    // Released, it stays slower than the others (its answers do not come as one burst).
    await new Promise((r) => setTimeout(r, 3));
    return { id };
  });

  const toSlow = new Ledger("calls to the slow service");
  const slowStream = startCallStream({
    caller,
    destination: slow.id,
    command: "echo",
    count: TO_SLOW,
    window: TO_SLOW,
    timeoutMs: 30_000,
    ledger: toSlow,
    serviceLedger: servedSlow,
    prefix: "s",
    padding: PADDING,
  });
  // The cap is reached (and reported) before the fast traffic starts.
  await toSlow.until((c) => c.errored > 0, 20_000);
  const toFast = new Ledger("calls to the fast service");
  await startCallStream({
    caller,
    destination: fast.id,
    command: "echo",
    count: TO_FAST,
    window: 16,
    timeoutMs: 10_000,
    ledger: toFast,
    serviceLedger: servedFast,
    prefix: "f",
  }).done;
  const slowServedWhileFast = servedSlow.counts().delivered;
  const slowSettledWhileFast = toSlow.counts().delivered;
  release();
  await slowStream.done;

  const s = toSlow.counts();
  const servedIds = new Set(servedSlow.deliveredIds());
  const erroredYetServed = toSlow.erroredIds().filter((id) => servedIds.has(id)).length;
  toSlow.note("errored yet served", erroredYetServed);
  toSlow.note("reached the slow service while it was held", slowServedWhileFast);
  // The relay's own count of messages its queues dropped (any session's).
  const metrics = await relayMetrics(relay.httpUrl);
  const relayDrops = Number(
    /relay_queue_dropped_total\{reason="queue_full",kind="request"\} (\d+)/.exec(metrics)?.[1],
  );
  const otherDrops = [...metrics.matchAll(/relay_queue_dropped_total\{reason="\w+",kind="(\w+)"\} (\d+)/g)]
    .filter(([, kind, n]) => kind !== "request" && n !== "0")
    .map(([line]) => line);
  toSlow.note("drops counted by the relay", relayDrops);
  t.diagnostic(toFast.summary());
  t.diagnostic(servedFast.summary());
  t.diagnostic(toSlow.summary());
  t.diagnostic(servedSlow.summary());

  // Others are not slowed: every fast call answered while the slow service was still held.
  assert.deepEqual(toFast.counts(), {
    sent: TO_FAST,
    delivered: TO_FAST,
    duplicated: 0,
    lost: 0,
    errored: 0,
    unexpected: 0,
  });
  assert.equal(slowSettledWhileFast, 0, "no slow call was answered while the slow service was held");
  // The cap applied with reports: nothing timed out, every drop was told to the caller.
  assert.equal(s.sent, TO_SLOW);
  assert.equal(s.lost, 0);
  assert.equal(s.delivered + s.errored, s.sent);
  assert.equal(s.duplicated, 0);
  assert.ok(s.errored > 0, "the cap was reached");
  assert.equal(relayDrops, s.errored, "every message the relay dropped was reported to its sender");
  assert.deepEqual(otherDrops, [], "only requests were dropped");
  // Only messages still waiting are dropped: those already written to the slow service's connection reach it.
  assert.equal(erroredYetServed, 0, "no call was reported dropped and then served");
  assert.deepEqual(Object.keys(toSlow.errorReasons()), [
    "relay: destination queue is full, dropping message",
  ]);
  assert.equal(servedSlow.counts().duplicated, 0);
});
