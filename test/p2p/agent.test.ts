import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { P2P_DEFAULTS, P2pAgent, resolveOptions, SimNetwork } from "../../src/p2p/index.js";
import { FAST, signerFor, simAgents, startMesh } from "./sim-agents.js";

const PERIOD = FAST.periodMs!;

describe("p2p agent", () => {
  test("agent — every limit is an option with a default; bad values are refused naming the option", () => {
    const o = resolveOptions();
    assert.deepEqual(o, { ...P2P_DEFAULTS });
    assert.equal(o.gossipFanout, 6);
    assert.equal(o.searchMaxHops, 4);
    assert.equal(o.cacheSize, 4096);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ gossipFanout: 0 }, /options\.gossipFanout/],
      [{ cacheSize: 1.5 }, /options\.cacheSize/],
      [{ periodMs: -1 }, /options\.periodMs/],
      [{ nope: 1 }, /options\.nope.*unknown option/],
      [{ pingTimeoutMs: 1000, periodMs: 1000 }, /options\.pingTimeoutMs/],
      [{ recordRefreshMs: 600_000 }, /options\.recordRefreshMs/],
      [{ reportQuorum: 2 }, /options\.reportQuorum/],
      [{ recordRefreshJitter: 1 }, /options\.recordRefreshJitter/],
      [{ recordRefreshJitter: -0.1 }, /options\.recordRefreshJitter/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => resolveOptions(options),
        { code: "RMB_ERR_INVALID_ARGUMENT", message },
        JSON.stringify(options),
      );
    }
    assert.equal(resolveOptions({ homeReplicas: 0 }).homeReplicas, 0);
  });

  test("agent — the constructor checks transport, signer, keys, bootstrap and tags", () => {
    const net = new SimNetwork();
    const base = {
      transport: net.transport(1),
      signer: signerFor(1),
      keys: { publicKeyOf: () => undefined },
    };
    assert.throws(() => new P2pAgent({ ...base, bootstrap: [0] }), /invalid argument 'bootstrap'/);
    assert.throws(() => new P2pAgent({ ...base, tags: { category: "" } }), /invalid argument 'tags'/);
    assert.throws(
      () => new P2pAgent({ ...base, tags: { category: "a", colour: "red" } as never }),
      /invalid argument 'tags'/,
    );
    assert.throws(
      () => new P2pAgent({ ...base, transport: net.transport(0) }),
      /invalid argument 'transport'/,
    );
    assert.throws(() => new P2pAgent({ ...base, options: { gossipFanout: -1 } }), /options\.gossipFanout/);
    const agent = new P2pAgent({ ...base, tags: { category: "Barber" } });
    assert.equal(agent.record(), undefined, "signed at start");
    assert.throws(() => agent.report(1, "invalid"), /invalid argument 'subject'/);
    assert.throws(() => agent.report(2, "rude" as never), /invalid argument 'reason'/);
  });

  test("agent — emits member events, signs and refreshes its record, re-announces new tags", async () => {
    const sim = simAgents({ loss: 0 }, { ...FAST, recordTtlMs: 4000, recordRefreshMs: 2000 });
    const agents = await startMesh(sim, 6, (t) => ({ category: `cat-${t}` }));
    assert.ok(
      sim.events.some(
        (e) =>
          e.observer === 1 && e.event.type === "member" && e.event.twin === 6 && e.event.state === "alive",
      ),
    );
    const a = agents[2]!;
    const first = a.record()!;
    assert.equal(first.twin, 3);
    assert.deepEqual(first.tags, { category: "cat-3" });
    await sim.net.run(2500);
    const second = a.record()!;
    assert.ok(second.issuedAt > first.issuedAt, "re-signed before it expires");
    a.setTags({ category: "Barber", location: "Ghent" });
    assert.deepEqual(a.record()!.tags, { category: "barber", location: "ghent" });
    let found: number[] = [];
    void agents[0]!.search({ category: "barber", location: "ghent" }).then((r) => {
      found = r.results.map((x) => x.twin);
    });
    await sim.net.run(10 * PERIOD);
    assert.deepEqual(found, [3]);
    a.setTags(undefined);
    assert.equal(a.record(), undefined);
    sim.stopAll();
  });

  test("agent — records are re-signed after recordRefreshMs less a jitter drawn at each signing", async () => {
    const intervals = async (jitter: number): Promise<number[]> => {
      const sim = simAgents(
        { loss: 0 },
        { ...FAST, recordTtlMs: 8000, recordRefreshMs: 4000, recordRefreshJitter: jitter },
      );
      const agents = await startMesh(sim, 8, (t) => ({ category: `cat-${t}` }));
      const issued = new Map<number, number[]>(agents.map((a) => [a.twin, [a.record()!.issuedAt]]));
      for (let step = 0; step < 120; step++) {
        await sim.net.run(PERIOD);
        for (const a of agents) {
          const seen = issued.get(a.twin)!;
          const at = a.record()!.issuedAt;
          if (at !== seen.at(-1)) seen.push(at);
        }
      }
      sim.stopAll();
      const out: number[] = [];
      for (const seen of issued.values())
        for (let i = 1; i < seen.length; i++) out.push(seen[i]! - seen[i - 1]!);
      return out;
    };
    // Records are checked once per period, so a re-signing happens within one period after its time.
    const fixed = await intervals(0);
    assert.ok(fixed.length >= 8 * 4, `every agent re-signed several times (${fixed.length})`);
    for (const d of fixed) assert.ok(d >= 4000 && d <= 4000 + PERIOD, `without jitter: ${d}`);
    const jittered = await intervals(0.5);
    assert.ok(jittered.length >= 8 * 4, `every agent re-signed several times (${jittered.length})`);
    for (const d of jittered) assert.ok(d >= 2000 && d <= 4000 + PERIOD, `within the jitter: ${d}`);
    const spread = Math.max(...jittered) - Math.min(...jittered);
    assert.ok(spread >= 4 * PERIOD, `the intervals differ (spread ${spread} ms)`);
    assert.ok(
      jittered.reduce((a, b) => a + b, 0) / jittered.length < 4000 - PERIOD,
      "on average sooner than recordRefreshMs",
    );
  });

  test("agent — report() files a signed report once per cooldown and it spreads", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 6);
    assert.equal(agents[0]!.report(4, "unresponsive"), true);
    assert.equal(agents[0]!.report(4, "unresponsive"), false, "cooldown");
    await sim.net.run(5 * PERIOD);
    for (const a of agents.slice(1)) {
      if (a.twin === 4) continue;
      assert.ok(
        sim.events.some(
          (e) =>
            e.observer === a.twin && e.event.type === "report" && e.event.reporter === 1 && e.event.accepted,
        ),
        `twin ${a.twin} got the report`,
      );
      assert.equal(a.reputationOf(4).reporters, 1);
    }
    assert.equal(agents[0]!.stats().reports.filed, 1);
    sim.stopAll();
  });

  test("agent — an unresponsive report travels unresponsiveMaxHops, an invalid one reportMaxHops", async () => {
    // Fan-out 1: a report goes down a single chain of agents, one per hop.
    const sim = simAgents(
      { loss: 0 },
      { ...FAST, gossipFanout: 1, unresponsiveMaxHops: 3, reportMaxHops: 6 },
    );
    const agents = await startMesh(sim, 30);
    const reached = (reason: string): number =>
      new Set(
        sim.events
          .filter(
            (e) =>
              e.event.type === "report" && e.event.reason === reason && e.event.accepted && e.observer !== 1,
          )
          .map((e) => e.observer),
      ).size;
    agents[0]!.report(20, "unresponsive");
    agents[0]!.report(21, "invalid");
    await sim.net.run(10 * PERIOD);
    assert.equal(reached("unresponsive"), 3);
    assert.ok(reached("invalid") > 3 && reached("invalid") <= 6, `${reached("invalid")}`);
    sim.stopAll();
  });
});
