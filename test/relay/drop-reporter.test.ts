import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createEnvelope,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  unixNow,
} from "../../src/protocol/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { DropReporter } from "../../src/relay/drop-reporter.js";
import { droppedAnswerText } from "../../src/relay/error-envelope.js";
import {
  MemoryQueueStore,
  RelayMetrics,
  type RelayOptions,
  resolveRelayOptions,
} from "../../src/relay/index.js";

const SESSION = "7:caller";
const CAP = 3;

/** An answer from `twin` to the caller's call `uid`, alive for `ttl` seconds. */
function answer(uid: string, kind: "response" | "error", twin: number, ttl = 60): Envelope {
  return createEnvelope({
    uid,
    timestamp: unixNow(),
    expiration: ttl,
    source: { twin },
    destination: { twin: 7, connection: "caller" },
    message: kind === "response" ? { kind: "response" } : { kind: "error", code: 104, message: "bad" },
  });
}

/** A reporter over a real memory queue store with a cap of `CAP` entries, and what it logged. */
function setup(options: Partial<RelayOptions> = {}) {
  const lines: string[] = [];
  const metrics = new RelayMetrics();
  const resolved = resolveRelayOptions({
    domains: ["relay.test"],
    registry: new MemoryRegistry(),
    sessionQueueLength: CAP,
    log: (level, message) => lines.push(`${level} ${message}`),
    ...options,
  });
  let reporter!: DropReporter;
  const store = new MemoryQueueStore({
    maxLength: CAP,
    onDrop: (session, data, reason) => reporter.dropped(session, decodeEnvelope(data), reason),
  });
  reporter = new DropReporter({
    options: resolved,
    metrics,
    queueLength: (session) => store.length(session),
    deliver: async (session, data) => {
      await store.enqueue(session, data);
    },
  });
  /** Fills the caller's queue with `uids` (the oldest are dropped beyond the cap). */
  const fill = async (envs: Envelope[]) => {
    for (const env of envs) await store.enqueue(SESSION, encodeEnvelope(env));
  };
  /** The caller reads and acks everything queued; returns the envelopes. */
  const drain = async (): Promise<Envelope[]> => {
    const entries = await store.read(SESSION, undefined, 1000);
    await store.ack(
      SESSION,
      entries.map((e) => e.id),
    );
    return entries.map((e) => decodeEnvelope(e.data));
  };
  return { lines, metrics, store, reporter, fill, drain };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("relay — drop reports (answers dropped from a caller's full queue)", () => {
  test("a dropped response is reported to its session once the queue has room, with its uid and twin", async () => {
    const { metrics, reporter, fill, drain, store } = setup();
    await fill([answer("a", "response", 5), answer("b", "response", 5), answer("c", "error", 6)]);
    await fill([answer("d", "response", 5), answer("e", "response", 5)]); // drops a, b
    assert.deepEqual(metrics.droppedByKind.queue_full, { request: 0, response: 2, error: 0, other: 0 });
    assert.equal(reporter.waiting, 2);
    // While the queue stays full, nothing is queued for the reports (it would drop another answer).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await store.length(SESSION), CAP);
    assert.equal(metrics.dropReports.sent, 0);
    assert.deepEqual(
      (await drain()).map((e) => e.uid),
      ["c", "d", "e"],
    );
    await until(async () => (await store.length(SESSION)) === 2, "the reports");
    const reports = await drain();
    assert.deepEqual(
      reports.map((e) => [e.uid, e.message, e.source, e.signature, e.expiration]),
      ["a", "b"].map((uid) => [
        uid,
        { kind: "error", code: 0, message: droppedAnswerText("response", 5) },
        undefined,
        undefined,
        300,
      ]),
    );
    assert.deepEqual(reports[0]?.destination, { twin: 7, connection: "caller" });
    assert.equal(droppedAnswerText("response", 5), "session queue is full, dropped the response from twin 5");
    assert.deepEqual(metrics.dropReports, { sent: 2, expired: 0, overflow: 0, failed: 0 });
    assert.equal(metrics.errorsSent, 2);
    assert.equal(reporter.waiting, 0);
    assert.match(metrics.render(), /relay_queue_dropped_total\{reason="queue_full",kind="response"\} 2/);
    assert.match(metrics.render(), /relay_drop_reports_total\{outcome="sent"\} 2/);
  });

  test("the relay's own error envelope, dropped, is queued again as it was", async () => {
    const { fill, drain, store } = setup();
    const relayError = createEnvelope({
      uid: "r",
      timestamp: unixNow(),
      expiration: 300,
      destination: { twin: 7, connection: "caller" },
      message: { kind: "error", code: 0, message: "destination offline" },
    });
    await fill([
      relayError,
      answer("x", "response", 5),
      answer("y", "response", 5),
      answer("z", "response", 5),
    ]);
    assert.deepEqual(
      (await drain()).map((e) => e.uid),
      ["x", "y", "z"],
    );
    await until(async () => (await store.length(SESSION)) === 1, "the report");
    assert.deepEqual(await drain(), [relayError]);
  });

  test("maxDropReports bounds the reports waiting; beyond it drops are only counted", async () => {
    const { metrics, reporter, fill } = setup({ maxDropReports: 2 });
    await fill(["a", "b", "c", "d", "e", "f", "g"].map((uid) => answer(uid, "response", 5)));
    assert.equal(reporter.waiting, 2);
    assert.equal(metrics.dropReports.overflow, 2);
    assert.equal(metrics.dropped.queue_full, 4);
  });

  test("a report whose answer expired before the queue had room is given up", async () => {
    const { metrics, reporter, fill, drain, store } = setup();
    await fill([answer("short", "response", 5, 1), ...["b", "c", "d"].map((u) => answer(u, "response", 5))]);
    // (Waiting, unless the second ended between sending and dropping it: then it expired at once.)
    assert.equal(reporter.waiting + metrics.dropReports.expired, 1);
    await until(() => metrics.dropReports.expired === 1, "the report to expire");
    await drain();
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await store.length(SESSION), 0);
    assert.equal(metrics.dropReports.sent, 0);
    assert.equal(reporter.waiting, 0);
  });

  test("a queue store that fails gives the waiting reports up, counted and logged", async () => {
    const metrics = new RelayMetrics();
    const lines: string[] = [];
    const reporter = new DropReporter({
      options: resolveRelayOptions({
        domains: ["relay.test"],
        registry: new MemoryRegistry(),
        log: (level, message) => lines.push(`${level} ${message}`),
      }),
      metrics,
      queueLength: async () => {
        throw new Error("redis is gone");
      },
      deliver: async () => undefined,
    });
    reporter.dropped(SESSION, answer("a", "response", 5), "queue_full");
    await until(() => metrics.dropReports.failed === 1, "the failure");
    assert.equal(reporter.waiting, 0);
    assert.ok(lines.some((l) => l === `warn session ${SESSION}: drop reports not sent (1): redis is gone`));
  });

  test("drops are logged once per session and interval, with counts by kind and reason", async () => {
    const { lines, fill, metrics } = setup();
    const req = createEnvelope({
      uid: "q",
      timestamp: unixNow(),
      expiration: 60,
      source: { twin: 9 },
      message: { kind: "request", command: "x" },
    });
    // A request (its sender is told by the router) and a response dropped in the same interval: one line.
    await fill([req, ...["a", "b", "c", "d"].map((uid) => answer(uid, "response", 5))]);
    await until(() => lines.length > 0, "a log line");
    assert.deepEqual(lines, [
      `warn session ${SESSION}: relay queue dropped 1 request, 1 response (queue full); drop reports waiting for room in its queue: 1`,
    ]);
    assert.deepEqual(metrics.droppedByKind.queue_full, { request: 1, response: 1, error: 0, other: 0 });
    await fill(["e", "f"].map((uid) => answer(uid, "response", 5)));
    await until(() => lines.length > 1, "a second log line");
    assert.deepEqual(lines.slice(1), [
      `warn session ${SESSION}: relay queue dropped 2 responses (queue full); drop reports waiting for room in its queue: 3`,
    ]);
  });
});
