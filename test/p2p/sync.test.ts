import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveOptions, SimNetwork } from "../../src/p2p/index.js";
import { Membership } from "../../src/p2p/membership.js";
import { FAST, simAgents, startMesh } from "./sim-agents.js";

const PERIOD = FAST.periodMs!;

/** A bare membership of `twin` on `net` that knows `members` (alive) and never ticks during the test. */
async function member(net: SimNetwork, twin: number, members: Iterable<number>, maxSyncMembers = 512) {
  const m = new Membership({
    transport: net.transport(twin),
    clock: net.clock,
    random: net.random,
    options: resolveOptions({ periodMs: 3_600_000, pingTimeoutMs: 1000, maxSyncMembers }),
    bootstrap: [],
    broadcast: () => {},
    emit: () => {},
  });
  await m.start();
  for (const t of members) m.applyUpdate([t, 0, 0], false);
  return m;
}

/** Runs `m.sync()` until it reached a live peer (fake members do not answer); returns the bytes it took. */
async function syncOnce(net: SimNetwork, m: Membership): Promise<number> {
  for (;;) {
    const before = net.stats.bytesByCommand.get("p2p.sync") ?? 0;
    let ok: boolean | undefined;
    void m.sync().then((r) => {
      ok = r;
    });
    await net.runUntil(() => ok !== undefined, 60_000, 10);
    if (ok) return (net.stats.bytesByCommand.get("p2p.sync") ?? 0) - before;
  }
}

const ids = (m: Membership): number[] => [...m.live()].sort((a, b) => a - b);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("p2p anti-entropy (p2p.sync by digest)", () => {
  test("sync — lists that differ in two members are repaired by swapping a few leaves, not the whole list", async () => {
    const net = new SimNetwork({ seed: 3 });
    const common = range(100, 599);
    const a = await member(net, 1, [2, ...common, 700]);
    const b = await member(net, 2, [1, ...common.filter((t) => t !== 300), 800]);
    const bytes = await syncOnce(net, a);
    // Both know the union (each besides itself).
    assert.deepEqual(
      [1, ...ids(a)].sort((x, y) => x - y),
      [2, ...ids(b)].sort((x, y) => x - y),
    );
    assert.ok(
      ids(a).includes(800) && ids(b).includes(700) && ids(b).includes(300),
      "both learnt what they missed",
    );
    assert.equal(a.stats.syncRepairs, 1);
    const fullList = JSON.stringify(common.map((t) => [t, 0, 0])).length;
    assert.ok(bytes < fullList / 4, `${bytes} bytes for a sync, a full list is ${fullList}`);
    // Now they agree: one exchange of digests, no repair.
    const again = await syncOnce(net, a);
    assert.equal(a.stats.syncRepairs, 1);
    assert.ok(again < 300, `${again} bytes once the lists agree`);
    a.stop();
    b.stop();
  });

  test("sync — an agreeing sync costs the same whatever the size of the list; a repair sends at most maxSyncMembers", async () => {
    const costs: number[] = [];
    for (const n of [50, 2000]) {
      const net = new SimNetwork({ seed: 4 });
      const a = await member(net, 1, [2, ...range(10, 10 + n)]);
      const b = await member(net, 2, [1, ...range(10, 10 + n)]);
      costs.push(await syncOnce(net, a));
      assert.equal(a.stats.syncRepairs, 0);
      a.stop();
      b.stop();
    }
    assert.ok(
      Math.max(...costs) / Math.min(...costs) < 1.2,
      `bytes per sync at 50 and 2000 members: ${costs}`,
    );

    const net = new SimNetwork({ seed: 5 });
    const a = await member(net, 1, [2, ...range(10, 409)], 50);
    const b = await member(net, 2, [1], 50);
    await syncOnce(net, a);
    assert.ok(b.live().length <= 1 + 50, `b learnt ${b.live().length - 1} members from one sync`);
    assert.ok(b.live().length > 1);
    for (let i = 0; i < 40 && b.live().length < 401; i++) await syncOnce(net, b);
    assert.equal(b.live().length, 401, "repeated syncs converge");
    a.stop();
    b.stop();
  });

  test("sync — the failure detector's traffic per agent does not grow with the number of agents", async () => {
    const perAgent = async (n: number): Promise<{ msgs: number; bytes: number }> => {
      const sim = simAgents({ loss: 0.05, seed: 9 });
      const agents = await startMesh(sim, n);
      await sim.net.run(40 * PERIOD);
      const s = sim.net.stats;
      const m0 = s.requests + s.responses;
      const b0 = s.bytes;
      await sim.net.run(100 * PERIOD);
      const secs = (100 * PERIOD) / 1000;
      const out = { msgs: (s.requests + s.responses - m0) / n / secs, bytes: (s.bytes - b0) / n / secs };
      sim.stopAll();
      assert.equal(agents.length, n);
      return out;
    };
    const small = await perAgent(16);
    const large = await perAgent(64);
    const ratio = (x: number, y: number): number => Math.max(x, y) / Math.min(x, y);
    assert.ok(ratio(small.msgs, large.msgs) < 1.25, `messages/s per agent: ${small.msgs} vs ${large.msgs}`);
    assert.ok(ratio(small.bytes, large.bytes) < 1.25, `bytes/s per agent: ${small.bytes} vs ${large.bytes}`);
  });
});
