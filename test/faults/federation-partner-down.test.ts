import assert from "node:assert/strict";
import { test } from "node:test";
import { RmbClient } from "../../src/sdk/index.js";
import { freePort, startRedisServer } from "../support/redis-server.js";
import { startRelayProcess } from "../support/relay-process.js";
import { teardown } from "../support/teardown.js";
import { type SetTwin, TwinSet } from "../support/twin-set.js";
import { serveBooked, startCallStream } from "./call-stream.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: the relay of the destination twin (a federation partner: another domain, its own Redis) is down for a few
 * seconds while messages for it are sent, then comes back within their lifetime. The sending relay keeps them in
 * its federation queue and retries; everything must arrive, once, and every answer must come back.
 *
 * The partner is stopped (SIGTERM) between two bursts, not in the middle of one: a frame a client writes to a relay
 * at the instant that relay goes away has no acknowledgement in the protocol and can vanish; that case is the
 * `kill -9` test's (where the sender sees a timeout).
 */

const HOME = "home.faults";
const PARTNER = "partner.faults";
/** Quick reconnects (a killed or stopped process closes its sockets: no silence to wait for); keep-alive timers
 * loose enough that a loaded machine does not drop healthy connections. */
const FAST_RELAY = { reconnectDelay: 50, maxReconnectDelay: 500, pingAfterIdle: 2000, silenceTimeout: 6000 };
const WARM_UP = 100;
const WHILE_DOWN = 300;
const DOWN_MS = 2500;

test("federation — partner relay down for a while, back within the messages' lifetime: everything delivered, once", async (t) => {
  const undo = teardown(t);
  const twins = new TwinSet();
  undo(() => twins.remove());
  const a = twins.add([HOME]);
  const b = twins.add([PARTNER]);
  const [homePort, partnerPort] = [await freePort(), await freePort()];
  const relays = [];
  for (const [domain, port, other, otherPort] of [
    [HOME, homePort, PARTNER, partnerPort],
    [PARTNER, partnerPort, HOME, homePort],
  ] as const) {
    const redis = await startRedisServer();
    undo(() => redis.stop());
    const relay = await startRelayProcess({
      domain,
      port,
      twinsFile: twins.file,
      redis: redis.url,
      args: ["--federation-url", `${other}=http://127.0.0.1:${otherPort}/`],
    });
    undo(() => relay.kill());
    relays.push(relay);
  }
  const [home, partner] = relays as [(typeof relays)[0], (typeof relays)[0]];

  const connect = async (twin: SetTwin, url: string) => {
    const client = await RmbClient.connect({
      identity: twin.identity,
      registry: twins.registry,
      relays: [url],
      twinId: twin.id,
      relay: FAST_RELAY,
    });
    undo(() => client.close());
    return client;
  };
  const caller = await connect(a, home.wsUrl);
  const server = await connect(b, partner.wsUrl);
  const served = new Ledger("service");
  serveBooked(server, "echo", served);

  // Both ways over federation while the partner is up.
  const warm = new Ledger("calls (partner up)");
  await startCallStream({
    caller,
    destination: b.id,
    command: "echo",
    count: WARM_UP,
    window: 16,
    timeoutMs: 10_000,
    ledger: warm,
    serviceLedger: served,
    prefix: "u",
  }).done;

  // The partner goes; a burst is sent while it is away; it comes back.
  assert.equal(await partner.stop(), 0);
  const calls = new Ledger("calls (partner down, then back)");
  const burst = startCallStream({
    caller,
    destination: b.id,
    command: "echo",
    count: WHILE_DOWN,
    window: WHILE_DOWN,
    timeoutMs: 30_000,
    ledger: calls,
    serviceLedger: served,
    prefix: "d",
  });
  await new Promise((r) => setTimeout(r, DOWN_MS));
  const deliveredWhileDown = served.counts().delivered - WARM_UP;
  await partner.start();
  await burst.done;
  await new Promise((r) => setTimeout(r, 300));

  calls.note("reached the service while the partner was down", deliveredWhileDown);
  t.diagnostic(warm.summary());
  t.diagnostic(calls.summary());
  t.diagnostic(served.summary());
  assert.deepEqual(warm.counts(), {
    sent: WARM_UP,
    delivered: WARM_UP,
    duplicated: 0,
    lost: 0,
    errored: 0,
    unexpected: 0,
  });
  assert.equal(deliveredWhileDown, 0);
  assert.deepEqual(
    calls.counts(),
    { sent: WHILE_DOWN, delivered: WHILE_DOWN, duplicated: 0, lost: 0, errored: 0, unexpected: 0 },
    calls.summary(),
  );
  const s = served.counts();
  assert.equal(s.delivered, WARM_UP + WHILE_DOWN);
  assert.equal(s.duplicated, 0);
});
