import assert from "node:assert/strict";
import { test } from "node:test";
import { droppedAnswerText } from "../../src/relay/error-envelope.js";
import { teardown } from "../support/teardown.js";
import { errorReason } from "./call-stream.js";
import { relayMetric, startCappedRelay } from "./capped-relay.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: a caller stops reading while its answers keep coming. Its session queue on the relay overflows with
 * responses (`--queue-length`) and the relay drops the oldest. rmb-rs drops them silently and the calls time out;
 * this relay keeps each dropped answer's uid and, once the caller reads again and its queue has room, sends it an
 * error envelope with that uid (`session queue is full, dropped the response from twin N`), logs the drops once per
 * session per second and counts them in `relay_queue_dropped_total{reason,kind}`. Every call ends answered or with
 * that error, none with a timeout, none twice.
 */

const DOMAIN = "relay.faults";
/**
 * Above the relay's frames in flight per connection (`maxInFlight`, 64): with a smaller cap the relay counts (and
 * reports) as dropped a new entry that it then still writes to a connection with room (Router.deliver offers the
 * entry its own enqueue dropped), and a call would get both its answer and a report (the report is then ignored).
 */
const QUEUE_LENGTH = 100;
/** The caller calls until the relay has dropped this many of its answers (socket buffers absorb a varying number). */
const MIN_DROPS = 50;
/** Calls at most (the test fails if the caller's queue has not overflowed by then). */
const MAX_CALLS = 3000;
/** Requests the service may have waiting at once: its own queue stays far below the cap, only the caller's overflows. */
const SERVICE_WINDOW = 10;
/** Bytes of padding per response, so that socket buffers fill with a moderate count. */
const PADDING = 32 * 1024;

test("slow caller — answers dropped from its full queue are reported to it, none vanishes", async (t) => {
  const undo = teardown(t);
  const {
    twins: [callerTwin, serviceTwin, holderTwin],
    relay,
    connect,
  } = await startCappedRelay(undo, DOMAIN, QUEUE_LENGTH);
  // One incoming request at a time: while its handler is held, the caller stops reading from the relay (it still
  // sends).
  const caller = await connect(callerTwin, { maxConcurrentRequests: 1 });
  const service = await connect(serviceTwin);
  const holder = await connect(holderTwin);
  const served = new Ledger("service");
  service.serve("echo", (req) => {
    const { id } = req.json<{ id: string }>();
    served.delivered(id);
    return { id, padding: "x".repeat(PADDING) };
  });
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let holding!: () => void;
  const isHolding = new Promise<void>((r) => {
    holding = r;
  });
  caller.serve("hold", async () => {
    holding();
    await held;
    return "released";
  });
  const hold = holder.call(callerTwin.id, "hold", null, { timeout: 120_000 });
  undo(() => release());
  await isHolding;

  // The caller calls while it does not read: the answers pile up in its queue on the relay until it overflows.
  const droppedPattern = /relay_queue_dropped_total\{reason="queue_full",kind="response"\} (\d+)/;
  const calls = new Ledger("calls of the slow caller");
  const settled: Promise<void>[] = [];
  let sent = 0;
  while (sent < MAX_CALLS) {
    if (sent % 10 === 0 && (await relayMetric(relay.httpUrl, droppedPattern)) >= MIN_DROPS) break;
    await served.until((c) => c.delivered >= sent - SERVICE_WINDOW, 60_000);
    const id = `c${sent++}`;
    calls.sent(id);
    served.sent(id);
    settled.push(
      caller.call(serviceTwin.id, "echo", { id }, { timeout: 60_000 }).then(
        (res) => {
          if (res.json<{ id?: string }>().id === id) calls.delivered(id);
          else calls.errored(id, "wrong answer");
        },
        (err: unknown) => calls.errored(id, errorReason(err)),
      ),
    );
  }
  await served.until((c) => c.delivered === sent, 60_000);
  assert.ok((await relayMetric(relay.httpUrl, droppedPattern)) > 0, "the caller's queue never overflowed");

  // The caller reads again: what is left in its queue arrives, then a report for each dropped answer.
  release();
  assert.equal(await hold.then((r) => r.json<string>()), "released");
  await Promise.all(settled);

  const c = calls.counts();
  const droppedResponses = await relayMetric(relay.httpUrl, droppedPattern);
  const droppedRequests = await relayMetric(
    relay.httpUrl,
    /relay_queue_dropped_total\{reason="queue_full",kind="request"\} (\d+)/,
  );
  const reportsSent = await relayMetric(relay.httpUrl, /relay_drop_reports_total\{outcome="sent"\} (\d+)/);
  calls.note("responses dropped by the relay", droppedResponses);
  calls.note("drop reports sent", reportsSent);
  t.diagnostic(calls.summary());
  t.diagnostic(served.summary());

  assert.equal(c.sent, sent);
  assert.equal(c.lost, 0);
  assert.equal(c.duplicated, 0);
  assert.equal(c.delivered + c.errored, sent, "every call answered or told why not");
  assert.ok(c.errored > 0, "the caller's queue overflowed");
  // Every error is the relay's report of a dropped response: no timeout, nothing else.
  assert.deepEqual(calls.errorReasons(), {
    [`relay: ${droppedAnswerText("response", serviceTwin.id)}`]: c.errored,
  });
  assert.equal(droppedRequests, 0, "only the caller's queue overflowed");
  assert.equal(droppedResponses, c.errored, "each dropped response failed exactly its call");
  assert.equal(reportsSent, c.errored);
  // The service saw each request once: what was lost was an answer, and the caller was told.
  assert.deepEqual(served.counts(), {
    sent,
    delivered: sent,
    duplicated: 0,
    lost: 0,
    errored: 0,
    unexpected: 0,
  });
  // The operator sees it too: one log line per session and second, not one per message.
  const lines = relay
    .stderr()
    .split("\n")
    .filter((l) => l.includes(`session ${callerTwin.id}: relay queue dropped`));
  assert.ok(lines.length > 0, relay.stderr());
  assert.ok(lines.length < droppedResponses || droppedResponses === 1, `${lines.length} log lines`);
  assert.match(lines[0] as string, /WARN .*\d+ responses? \(queue full\)/);
});
