import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { E2eCipher } from "../../src/crypto/index.js";
import { EnvelopeSealer } from "../../src/peer/index.js";
import { type Envelope, unixNow } from "../../src/protocol/index.js";
import { RmbClient } from "../../src/sdk/index.js";
import { startRedisServer } from "../support/redis-server.js";
import { startRelayProcess } from "../support/relay-process.js";
import { teardown } from "../support/teardown.js";
import { type SetTwin, TwinSet } from "../support/twin-set.js";
import { startCallStream } from "./call-stream.js";
import { Ledger } from "./ledger.js";

/**
 * Fault: the relay's Redis is killed (SIGKILL, no shutdown save) and started again mid-stream, with its append-only
 * file on (`appendfsync always`). Two kinds of traffic flow to one service at once:
 *
 * - envelopes POSTed to the relay's federation ingress, as a partner relay sends them: `202` is the relay's
 *   acknowledgement (the envelope is in Redis). A POST without `202` is retried, as a partner relay does, until it
 *   is acknowledged. Every acknowledged envelope must reach the service, once.
 * - calls over websockets (SDK client → relay → SDK service → back): there the protocol has no acknowledgement, so
 *   every call must end answered or failed (a timeout is the failure the caller sees), none answered twice.
 */

const DOMAIN = "relay.faults";
/** Quick reconnects (a killed or stopped process closes its sockets: no silence to wait for); keep-alive timers
 * loose enough that a loaded machine does not drop healthy connections. */
const FAST_RELAY = { reconnectDelay: 50, maxReconnectDelay: 500, pingAfterIdle: 2000, silenceTimeout: 6000 };
const CALLS = 600;
const POSTS = 300;
const WINDOW = 32;
/** Longer than the relay's Redis client keeps retrying a command (so some routing fails and is reported). */
const OUTAGE_MS = 2500;

/** Posts signed requests from `from` to `to` at the relay's ingress, `concurrency` at a time, each until `202`. */
function startIngressStream(o: {
  url: string;
  from: SetTwin;
  to: SetTwin;
  registry: TwinSet["registry"];
  count: number;
  concurrency: number;
  ledger: Ledger;
  acked: Set<string>;
}): { done: Promise<void>; readonly refused: number } {
  const e2e = new E2eCipher(o.from.identity.e2e!.secret);
  const sealer = new EnvelopeSealer({ twin: o.from.id }, o.from.identity.signer, e2e, o.registry);
  let next = 0;
  let refused = 0;
  const one = async (): Promise<void> => {
    while (next < o.count) {
      const id = `f${next++}`;
      o.ledger.sent(id);
      const env: Envelope = {
        uid: randomUUID(),
        timestamp: unixNow(),
        expiration: 60,
        destination: { twin: o.to.id },
        message: { kind: "request", command: "echo" },
        payload: { kind: "plain", data: new TextEncoder().encode(JSON.stringify({ id })) },
        relays: [],
      };
      const body = await sealer.seal(env, unixNow());
      for (;;) {
        const status = await fetch(o.url, { method: "POST", body, signal: AbortSignal.timeout(5000) }).then(
          async (res) => {
            await res.arrayBuffer();
            return res.status;
          },
          () => 0,
        );
        if (status === 202) break;
        refused += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
      o.acked.add(id);
    }
  };
  const workers = Array.from({ length: o.concurrency }, one);
  return {
    done: Promise.all(workers).then(() => undefined),
    get refused() {
      return refused;
    },
  };
}

test("redis — SIGKILL and restart mid-stream with appendonly: every acknowledged envelope delivered once, every call answered or failed", async (t) => {
  const undo = teardown(t);
  const twins = new TwinSet();
  undo(() => twins.remove());
  const a = twins.add([DOMAIN]);
  const b = twins.add([DOMAIN]);
  const c = twins.add([DOMAIN]); // sends through the ingress; never connects (its answers wait in Redis)
  const redis = await startRedisServer({ appendonly: true });
  undo(() => redis.stop());
  const relay = await startRelayProcess({ domain: DOMAIN, twinsFile: twins.file, redis: redis.url });
  undo(() => relay.kill());

  const connect = async (twin: SetTwin) => {
    const client = await RmbClient.connect({
      identity: twin.identity,
      registry: twins.registry,
      relays: [relay.wsUrl],
      twinId: twin.id,
      relay: FAST_RELAY,
    });
    undo(() => client.close());
    return client;
  };
  const caller = await connect(a);
  const server = await connect(b);
  const served = new Ledger("service (websocket calls)");
  const ingress = new Ledger("ingress (acknowledged by 202)");
  server.serve("echo", (req) => {
    const { id } = req.json<{ id: string }>();
    if (id.startsWith("f")) ingress.delivered(id);
    else if (id.startsWith("w")) served.delivered(id);
    return { id };
  });

  const calls = new Ledger("calls");
  const stream = startCallStream({
    caller,
    destination: b.id,
    command: "echo",
    count: CALLS,
    window: WINDOW,
    timeoutMs: 5000,
    ledger: calls,
    serviceLedger: served,
    prefix: "w",
  });
  const acked = new Set<string>();
  const posts = startIngressStream({
    url: relay.httpUrl,
    from: c,
    to: b,
    registry: twins.registry,
    count: POSTS,
    concurrency: 8,
    ledger: ingress,
    acked,
  });

  await calls.until((x) => x.delivered >= 150, 30_000);
  const ackedBeforeKill = acked.size;
  await redis.kill();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await redis.restart();
  await Promise.all([stream.done, posts.done]);
  // Every acknowledged envelope reaches the service, however long the relay needs to recover.
  await ingress.until((x) => x.delivered >= acked.size, 20_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  // The relay lived through it and serves as before.
  const after = await caller.call(b.id, "echo", { id: "after" }, { timeout: 5000 }).catch((e: unknown) => e);

  const cc = calls.counts();
  // A command whose reply was lost when Redis died may have been applied (it is in the append-only file) and
  // still be reported as failed: the sender hears "failed to route" for a request the service got.
  const servedIds = new Set(served.deliveredIds());
  calls.note("errored yet served", calls.erroredIds().filter((id) => servedIds.has(id)).length);
  const ic = ingress.counts();
  ingress.note("acknowledged before the kill", ackedBeforeKill);
  ingress.note("POSTs refused or failed (retried)", posts.refused);
  t.diagnostic(calls.summary());
  t.diagnostic(served.summary());
  t.diagnostic(ingress.summary());
  assert.equal(relay.process?.child.exitCode, null, "the relay process is still running");
  assert.ok(!(after instanceof Error), `a call after the restart failed: ${String(after)}`);

  assert.equal(acked.size, POSTS);
  assert.equal(ic.delivered, POSTS, "every acknowledged envelope reached the service");
  assert.equal(ic.duplicated, 0, "none twice");
  assert.equal(ic.unexpected, 0);

  assert.equal(cc.sent, CALLS);
  assert.equal(cc.lost, 0, "every call settled");
  assert.equal(cc.delivered + cc.errored, cc.sent);
  assert.equal(cc.duplicated, 0);
  assert.equal(served.counts().duplicated, 0, "no request reached the service twice");
});
