import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RelayPool } from "../../src/peer/index.js";
import { RmbClient } from "../../src/sdk/index.js";
import { type RelayProcess, startRelayProcess } from "../support/relay-process.js";
import { type ProxyMode, startTcpProxy } from "../support/tcp-proxy.js";
import { teardown } from "../support/teardown.js";
import { type SetTwin, TwinSet } from "../support/twin-set.js";
import { startCallStream } from "./call-stream.js";
import { Ledger } from "./ledger.js";

/**
 * Faults of the network between a client and its relay, made by a TCP proxy the test controls: bytes swallowed
 * (drop), a frozen path (stall), a half-closed connection (either way), a slow link, connection resets. Each
 * scenario has its own caller behind its own proxy (they run side by side); the service and the `rmb relay`
 * process are shared. A caller streams calls through the fault; then the fault is lifted and a fresh batch of
 * calls must all succeed. Every call ends answered or failed (timeouts are the failures a caller sees), none
 * twice, and the client notices every fault that breaks its connection and reconnects.
 */

const DOMAIN = "relay.faults";
/** Keep-alive timers of the callers: a ping after 500 ms idle, a silent connection given up after 2 s (loose enough
 * that a loaded machine does not drop a healthy one). */
const TIMERS = { reconnectDelay: 50, maxReconnectDelay: 300, pingAfterIdle: 500, silenceTimeout: 2000 };
/** A handshake that gets no answer (through a black hole) is abandoned after this. */
const CONNECT_TIMEOUT = 1000;
const CALL_TIMEOUT = 2000;
const STREAM = 150;
const AFTER = 30;
const WINDOW = 8;

interface Scenario {
  name: string;
  mode: ProxyMode;
  /** How long the fault lasts. */
  ms: number;
  /** The fault breaks the connection: the client must reconnect. */
  breaks: boolean;
  /** Nothing may fail (the fault only delays). */
  lossless?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: "drop (black hole): detected by silence, reconnected",
    mode: { kind: "drop" },
    ms: 2500,
    breaks: true,
  },
  {
    name: "stall longer than the silence timeout: detected, reconnected",
    mode: { kind: "stall" },
    ms: 2500,
    breaks: true,
  },
  {
    name: "stall shorter than the silence timeout: nothing lost, no reconnect",
    mode: { kind: "stall" },
    ms: 400,
    breaks: false,
    lossless: true,
  },
  {
    name: "half-close toward the client: EOF seen at once, reconnected",
    mode: { kind: "half-close", toward: "client" },
    ms: 1000,
    breaks: true,
  },
  {
    name: "half-close toward the relay (client hears nothing): detected by silence, reconnected",
    mode: { kind: "half-close", toward: "server" },
    ms: 2500,
    breaks: true,
  },
  {
    name: "slow link (40 ms per chunk): nothing lost",
    mode: { kind: "slow", delayMs: 40 },
    ms: 1500,
    breaks: false,
    lossless: true,
  },
  { name: "connection reset: reconnected", mode: { kind: "reset" }, ms: 500, breaks: true },
];

describe("network faults between a client and its relay (TCP proxy)", { concurrency: true }, () => {
  let twins: TwinSet;
  const callers = new Map<string, SetTwin>();
  let relay: RelayProcess;
  let service: RmbClient;
  let server: SetTwin;
  /** The service's books, one per caller (ids are `<twin>:<n>`). */
  const served = new Map<string, Ledger>();

  before(async () => {
    twins = new TwinSet();
    server = twins.add([DOMAIN]);
    for (const s of SCENARIOS) callers.set(s.name, twins.add([DOMAIN]));
    relay = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file });
    service = await RmbClient.connect({
      identity: server.identity,
      registry: twins.registry,
      relays: [relay.wsUrl],
      twinId: server.id,
    });
    service.serve("echo", (req) => {
      const { id } = req.json<{ id: string }>();
      served.get(id.slice(0, id.indexOf(":")))?.delivered(id);
      return { id };
    });
  });

  after(async () => {
    await service?.close();
    await relay?.kill();
    twins?.remove();
  });

  for (const scenario of SCENARIOS) {
    test(`network — ${scenario.name}`, async (t) => {
      const undo = teardown(t);
      const twin = callers.get(scenario.name)!;
      const proxy = await startTcpProxy(relay.port);
      undo(() => proxy.stop());
      let pool: RelayPool | undefined;
      const caller = await RmbClient.connect({
        identity: twin.identity,
        registry: twins.registry,
        relays: [`ws://127.0.0.1:${proxy.port}`],
        twinId: twin.id,
        relay: TIMERS,
        transport: (o) => {
          pool = new RelayPool({ ...o, connectTimeout: CONNECT_TIMEOUT });
          return pool;
        },
      });
      undo(() => caller.close());
      const link = pool!.links[0]!;
      const prefix = `${twin.id}:`;
      const service = new Ledger("service");
      served.set(String(twin.id), service);

      const mode =
        scenario.mode.kind === "half-close"
          ? `half-close toward ${scenario.mode.toward}`
          : scenario.mode.kind;
      const calls = new Ledger(`calls through ${mode} (${scenario.ms} ms)`);
      const stream = startCallStream({
        caller,
        destination: server.id,
        command: "echo",
        count: STREAM,
        window: WINDOW,
        timeoutMs: CALL_TIMEOUT,
        ledger: calls,
        serviceLedger: service,
        prefix,
      });
      await calls.until((c) => c.delivered >= 40, 20_000);
      const disconnectsBefore = link.stats.disconnects;
      proxy.setMode(scenario.mode);
      await new Promise((r) => setTimeout(r, scenario.ms));
      proxy.setMode({ kind: "pass" });
      await stream.done;
      const disconnects = link.stats.disconnects - disconnectsBefore;

      // Lifted: the client is (or gets) connected again and every call succeeds.
      const resumed = new Ledger("calls after the fault");
      await startCallStream({
        caller,
        destination: server.id,
        command: "echo",
        count: AFTER,
        window: WINDOW,
        timeoutMs: 10_000,
        ledger: resumed,
        serviceLedger: service,
        prefix: `${prefix}after:`,
      }).done;

      const c = calls.counts();
      calls.note("disconnects", disconnects);
      calls.note("connect failures", link.stats.connectFailures);
      calls.note("proxy", JSON.stringify(proxy.stats));
      t.diagnostic(calls.summary());
      t.diagnostic(resumed.summary());
      t.diagnostic(service.summary());
      assert.equal(c.sent, STREAM);
      assert.equal(c.lost, 0, "nothing hangs: every call settled");
      assert.equal(c.delivered + c.errored, c.sent);
      assert.equal(c.duplicated, 0);
      assert.equal(c.unexpected, 0);
      assert.equal(service.counts().duplicated, 0, "no request reached the service twice");
      // A caller gives up at its timeout; a call made while no connection is up fails when its lifetime ends
      // before one is (the SDK passes on the pool's RelayUnavailableError); a request that sat in a stalled path and
      // arrived late is refused by the service's peer as expired (102), which the caller hears as well.
      for (const reason of Object.keys(calls.errorReasons())) {
        assert.match(
          reason,
          /^(timeout|code 102|RelayUnavailableError: no relay connection before the message expired)$/,
        );
      }
      if (scenario.lossless) assert.equal(c.errored, 0, calls.summary());
      if (scenario.breaks) assert.ok(disconnects >= 1, "the client noticed the broken connection");
      else assert.equal(disconnects, 0, "the connection survived");
      assert.deepEqual(resumed.counts(), {
        sent: AFTER,
        delivered: AFTER,
        duplicated: 0,
        lost: 0,
        errored: 0,
        unexpected: 0,
      });
    });
  }
});
