import assert from "node:assert/strict";
import { test } from "node:test";
import { RelayPool, RmbPeer } from "../../src/peer/index.js";
import type { RelayLink } from "../../src/peer/relay-link.js";
import { PeerClient, RmbClient } from "../../src/sdk/index.js";
import { startRedisServer } from "../support/redis-server.js";
import { startRelayProcess } from "../support/relay-process.js";
import { teardown } from "../support/teardown.js";
import { TwinSet } from "../support/twin-set.js";
import { waitUntil } from "../support/wait.js";
import { serveBooked, startCallStream } from "./call-stream.js";
import { startJsonStream } from "./json-stream.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: `kill -9` of a relay process while requests flow. Traffic: an application on rmb-peer A's Redis API sends
 * requests (a window of 32 outstanding) to a service behind rmb-peer B; both peers use one `rmb relay` process in
 * Redis mode. Every answer that reaches A's reply queue is booked, so an answer handed to the application twice
 * would show as a duplicate.
 */

const DOMAIN = "relay.faults";
/** Quick reconnects (a killed or stopped process closes its sockets: no silence to wait for); keep-alive timers
 * loose enough that a loaded machine does not drop healthy connections. */
const FAST_RELAY = { reconnectDelay: 50, maxReconnectDelay: 500, pingAfterIdle: 2000, silenceTimeout: 6000 };
const COUNT = 800;
const WINDOW = 32;
/** Lifetime of each request in seconds: longer than a relay restart takes, even on a loaded machine. */
const EXP = 5;
/** What a sender may be told when its request or answer was lost: its own timeout, or (should the relay stay
 * away for a whole lifetime) the gateway's or the SDK's "no relay connection before it expired". */
const SENDER_ERROR =
  /^(timeout|code 500|RelayUnavailableError: no relay connection before the message expired)$/;

test("relay — kill -9 mid-stream, restarted on the same Redis: every request answered or timed out, none twice", async (t) => {
  const undo = teardown(t);
  const twins = new TwinSet();
  undo(() => twins.remove());
  const a = twins.add([DOMAIN]);
  const b = twins.add([DOMAIN]);
  const redis = await startRedisServer();
  undo(() => redis.stop());
  const relay = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file, redis: `${redis.url}/0` });
  undo(() => relay.kill());

  const peer = (twin: typeof a, db: number) =>
    new RmbPeer({
      identity: twin.identity,
      registry: twins.registry,
      relays: [relay.wsUrl],
      redis: `${redis.url}/${db}`,
      update: false,
      twinId: twin.id,
      relay: FAST_RELAY,
    });
  const peerA = peer(a, 1);
  const peerB = peer(b, 2);
  for (const p of [peerA, peerB]) {
    await p.start();
    undo(() => p.stop(1000));
    await p.waitConnected(10_000);
  }
  const service = await PeerClient.connect({ redis: `${redis.url}/2` });
  undo(() => service.close());
  const served = new Ledger("service");
  serveBooked(service, "echo", served);

  const calls = new Ledger("answers");
  const stream = await startJsonStream({
    redis: `${redis.url}/1`,
    destination: b.id,
    command: "echo",
    count: COUNT,
    window: WINDOW,
    exp: EXP,
    ledger: calls,
    serviceLedger: served,
  });
  undo(() => stream.stop());

  await calls.until((c) => c.delivered >= 250, 30_000);
  await relay.kill();
  const sentAtKill = stream.sent;
  await new Promise((r) => setTimeout(r, 300));
  await relay.start();
  await stream.done;
  // Redeliveries after the restart come within a moment; give a duplicate the chance to show.
  await new Promise((r) => setTimeout(r, 500));

  const c = calls.counts();
  calls.note("killed after sending", sentAtKill);
  calls.note("wire duplicates dropped by the peers", peerA.stats.duplicates + peerB.stats.duplicates);
  calls.note("late answers", stream.late);
  t.diagnostic(calls.summary());
  t.diagnostic(served.summary());
  assert.equal(c.sent, COUNT);
  assert.equal(c.lost, 0, calls.summary());
  assert.equal(c.delivered + c.errored, c.sent);
  assert.equal(c.duplicated, 0, "no answer reached the application twice");
  assert.equal(c.unexpected, 0);
  assert.equal(served.counts().duplicated, 0, "no request reached the service twice");
  // Only what was outstanding when the relay died can be lost, and the loss is told as a timeout.
  assert.ok(c.errored <= WINDOW, `more errors than calls outstanding at the kill: ${calls.summary()}`);
  for (const reason of Object.keys(calls.errorReasons())) assert.match(reason, SENDER_ERROR);
  assert.ok(c.delivered >= COUNT - WINDOW);
});

test("relay — kill -9 of one of two relay processes on one Redis: the other takes over, every call answered or failed, none twice", async (t) => {
  const undo = teardown(t);
  const twins = new TwinSet();
  undo(() => twins.remove());
  const a = twins.add([DOMAIN]);
  const b = twins.add([DOMAIN]);
  const redis = await startRedisServer();
  undo(() => redis.stop());
  const first = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file, redis: redis.url });
  undo(() => first.kill());
  const second = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file, redis: redis.url });
  undo(() => second.kill());

  const pools: RelayPool[] = [];
  const client = async (twin: typeof a) => {
    const c = await RmbClient.connect({
      identity: twin.identity,
      registry: twins.registry,
      relays: [first.wsUrl, second.wsUrl],
      twinId: twin.id,
      relay: FAST_RELAY,
      transport: (o) => {
        const pool = new RelayPool(o);
        pools.push(pool);
        return pool;
      },
    });
    undo(() => c.close());
    return c;
  };
  const caller = await client(a);
  const server = await client(b);
  const served = new Ledger("service");
  serveBooked(server, "echo", served);

  const calls = new Ledger("answers");
  const stream = startCallStream({
    caller,
    destination: b.id,
    command: "echo",
    count: COUNT,
    window: WINDOW,
    timeoutMs: EXP * 1000,
    ledger: calls,
    serviceLedger: served,
  });
  await calls.until((c) => c.delivered >= 250, 30_000);
  await first.kill();
  const sentAtKill = stream.sent;
  await stream.done;
  await new Promise((r) => setTimeout(r, 500));

  const c = calls.counts();
  calls.note("killed after sending", sentAtKill);
  const links = pools.flatMap((p) => p.links as RelayLink[]);
  const replaced = links.reduce((n, l) => n + l.replaced, 0);
  calls.note("connects per link", links.map((l) => l.stats.connects).join("/"));
  calls.note("sessions replaced", replaced);
  t.diagnostic(calls.summary());
  t.diagnostic(served.summary());
  assert.equal(c.sent, COUNT);
  assert.equal(c.lost, 0, calls.summary());
  assert.equal(c.delivered + c.errored, c.sent);
  assert.equal(c.duplicated, 0);
  assert.equal(served.counts().duplicated, 0, "no request reached the service twice");
  assert.ok(c.errored <= WINDOW, `more errors than calls outstanding at the kill: ${calls.summary()}`);
  for (const reason of Object.keys(calls.errorReasons())) assert.match(reason, SENDER_ERROR);
  // One session, two processes: a link that lost the session stands by instead of evicting the other back (at
  // most the start-up race per client, not a fight for the session all along).
  assert.ok(replaced <= 2 * pools.length, `sessions replaced ${replaced} times`);
  // The second relay carries both clients now.
  await waitUntil(async () => pools.every((p) => p.links[1]!.state === "open"), 10_000);
  for (const pool of pools) assert.notEqual(pool.links[0]!.state, "open");
});
