import assert from "node:assert/strict";
import { test } from "node:test";
import { RmbClient } from "../../src/sdk/index.js";
import { type RmbProcess, spawnRmb } from "../support/cli.js";
import { startRedisServer } from "../support/redis-server.js";
import { startRelayProcess } from "../support/relay-process.js";
import { teardown } from "../support/teardown.js";
import { TwinSet } from "../support/twin-set.js";
import { startJsonStream } from "./json-stream.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: the peer gateway (`rmb peer`, a child process) is killed (`kill -9`) while requests it sent are being
 * handled by a remote service, and started again a few seconds later. The application talks to it over its Redis
 * API, as rmb-rs clients do:
 *
 * - `long`: requests that live 60 s, answered while the gateway is down: the relay keeps the answers, the new
 *   gateway process finds the requests' records in Redis and hands the answers over, once each.
 * - `short`: requests that live 2 s, answered while the gateway is down, so they have expired when it is back: their
 *   answers are dropped cleanly (logged, never pushed to the application's queue, not even late).
 * - `queued`: requests pushed while the gateway is down that expire before it is back: the new gateway answers each
 *   with error 102 instead of sending it.
 */

const DOMAIN = "relay.faults";
const N = 60;
const DOWN_MS = 3000;

test("peer gateway — kill -9 with requests in flight, restarted: live answers delivered once, expired ones dropped cleanly", async (t) => {
  const undo = teardown(t);
  const twins = new TwinSet();
  undo(() => twins.remove());
  const a = twins.add([DOMAIN]);
  const b = twins.add([DOMAIN]);
  const redis = await startRedisServer();
  undo(() => redis.stop());
  const relay = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file });
  undo(() => relay.kill());
  const api = `${redis.url}/1`;

  let gateway: RmbProcess | undefined;
  let logs = "";
  const startGateway = async (): Promise<void> => {
    const proc = spawnRmb(
      ["peer", "-k", "ed25519", "--twins", twins.file, "--relay", relay.wsUrl, "-r", api, "-d"],
      { RMB_SECRET: a.secret },
    );
    gateway = proc;
    await proc.waitForStdout(/rmb-peer running as twin \d+/, 15_000);
    // The start-up line comes before the relay connection; wait for it too.
    await waitFor(() => /now connected to relay/.test(proc.stderr()), 10_000);
  };
  const killGateway = async (): Promise<void> => {
    const proc = gateway;
    gateway = undefined;
    if (proc === undefined) return;
    await proc.stop("SIGKILL");
    logs += proc.stderr();
  };
  undo(killGateway);
  await startGateway();

  const server = await RmbClient.connect({
    identity: b.identity,
    registry: twins.registry,
    relays: [relay.wsUrl],
    twinId: b.id,
  });
  undo(() => server.close());
  const served = new Ledger("service");
  // The service holds its answers to `long` and `short` requests until the gateway is dead and the relay has seen
  // its connection go: answers released earlier would reach the old gateway (on a loaded machine the service can
  // take longer to receive all requests than any fixed delay), and an answer written to a socket whose process was
  // just killed is lost with the socket (the relay's queue lets go of a message once it was written).
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => {
    release = r;
  });
  /** Envelope uid (what the gateway logs) → the group of the request. */
  const groupOf = new Map<string, string>();
  server.serve("work", async (req) => {
    const { id, hold } = req.json<{ id: string; hold?: boolean }>();
    served.delivered(id);
    groupOf.set(req.uid, id.slice(0, 1));
    if (hold === true) await released;
    return { id };
  });

  const stream = async (
    name: string,
    prefix: string,
    exp: number,
    extra: Record<string, unknown> = {},
    graceMs = 5000,
  ) => {
    const ledger = new Ledger(name);
    const s = await startJsonStream({
      redis: api,
      destination: b.id,
      command: "work",
      count: N,
      window: N,
      exp,
      ledger,
      serviceLedger: served,
      prefix,
      extra,
      // The application waits past the lifetime (until after the gateway is back), so a late answer would be seen.
      graceMs,
    });
    undo(() => s.stop());
    return { ledger, s };
  };

  // Warm-up: the gateway works.
  const warm = await stream("warm-up", "w", 20);
  await warm.s.done;
  // In flight at the service when the gateway dies.
  // Long enough to outlive even a slow restart on a loaded machine.
  const long = await stream("long (60 s) answered while down", "l", 60, { hold: true });
  // The application waits well past their lifetime (until after even a slow restart), so a late answer would be seen.
  const short = await stream("short (2 s) answered while down", "s", 2, { hold: true }, 12_000);
  await served.until((c) => c.delivered >= 3 * N, 10_000);
  await killGateway();
  await waitForAsync(async () => (await relayConnections(relay.httpUrl)) === 1, 10_000);
  release();
  // Their 102 comes from the restarted gateway: the application waits for it however long the restart takes on a
  // loaded machine (a fixed 5 s after the 1 s lifetime was shorter than DOWN_MS plus a 3 s restart).
  const queued = await stream("queued while down (1 s)", "q", 1, {}, 60_000);
  await new Promise((r) => setTimeout(r, DOWN_MS));
  const restarting = Date.now();
  await startGateway();
  const restartMs = Date.now() - restarting;
  await Promise.all([long.s.done, short.s.done, queued.s.done]);
  // Anything late would show up now.
  await new Promise((r) => setTimeout(r, 1000));
  logs += gateway?.stderr() ?? "";
  const droppedLines = logs
    .split("\n")
    .filter((l) => /received reply of an expired message|refused envelope .*message has expired/.test(l));

  served.note("gateway restart took (ms)", restartMs);
  for (const x of [warm, long, short, queued]) {
    x.ledger.note("late", x.s.late);
    t.diagnostic(x.ledger.summary());
  }
  // Which answers the gateway dropped, by the group of their request.
  const groupOfLine = (line: string) =>
    groupOf.get(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(line)?.[0] ?? "") ?? "?";
  const droppedByGroup: Record<string, number> = {};
  for (const line of droppedLines)
    droppedByGroup[groupOfLine(line)] = (droppedByGroup[groupOfLine(line)] ?? 0) + 1;
  const expiredEnvelopes = droppedLines.filter((l) => /refused envelope/.test(l)).length;
  served.note("answers dropped by the restarted gateway as expired envelopes", expiredEnvelopes);
  served.note("… as replies to requests it no longer knows", droppedLines.length - expiredEnvelopes);
  t.diagnostic(served.summary());

  const exact = (ledger: Ledger, counts: Partial<ReturnType<Ledger["counts"]>>) =>
    assert.deepEqual(
      ledger.counts(),
      { sent: N, delivered: 0, duplicated: 0, lost: 0, errored: 0, unexpected: 0, ...counts },
      ledger.summary(),
    );
  exact(warm.ledger, { delivered: N });
  // Each expired answer was dropped once, on purpose, and only those.
  assert.deepEqual(
    droppedByGroup,
    { s: N },
    droppedLines
      .filter((l) => groupOfLine(l) !== "s")
      .slice(0, 10)
      .join("\n"),
  );
  exact(long.ledger, { delivered: N });
  // Expired while the gateway was down: no answer ever reached the application; it gave up on each.
  exact(short.ledger, { errored: N });
  assert.deepEqual(short.ledger.errorReasons(), { timeout: N });
  assert.equal(short.s.popped, 0);
  exact(queued.ledger, { errored: N });
  assert.deepEqual(queued.ledger.errorReasons(), { "code 102": N });
  const s = served.counts();
  assert.equal(
    s.delivered,
    3 * N,
    "warm-up, long and short requests reached the service; queued ones did not",
  );
  assert.equal(s.duplicated, 0);
  for (const x of [warm, long, short, queued]) assert.equal(x.s.late, 0);
});

/** `relay_connections` from the relay's metrics. */
async function relayConnections(httpUrl: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", httpUrl))).text();
  const m = /^relay_connections (\d+)$/m.exec(text);
  if (m === null) throw new Error("relay_connections missing from the metrics");
  return Number(m[1]);
}

async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
