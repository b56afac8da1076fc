import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { highestTwinId, registryBootstrap, seededRandom } from "../../src/p2p/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { FAST, signerFor, simAgents } from "./sim-agents.js";

const PERIOD = FAST.periodMs!;

/** A registry with twins 1…n (keys of `signerFor`), as the registrar and tfchain hand ids out. */
function registryOf(n: number): MemoryRegistry {
  const registry = new MemoryRegistry();
  for (let t = 1; t <= n; t++)
    registry.register({ accountId: signerFor(t).publicKey, relays: ["relay.test"] });
  return registry;
}

describe("p2p bootstrap from the twin registry", () => {
  test("registry bootstrap — the newest twins first, then older ones at random; never the agent itself", async () => {
    const registry = registryOf(100);
    let lookups = 0;
    const counting = {
      getTwin: (id: number) => {
        lookups++;
        return registry.getTwin(id);
      },
      getTwinIdByAccount: (key: Uint8Array) => registry.getTwinIdByAccount(key),
    };
    const source = registryBootstrap(counting, { newest: 5, older: 4, random: seededRandom(1) });
    const list = await source.candidates(40);
    assert.deepEqual(list.slice(0, 5), [100, 99, 98, 97, 96]);
    assert.equal(list.length, 9);
    assert.ok(
      list.slice(5).every((t) => t >= 1 && t < 96 && t !== 40),
      JSON.stringify(list),
    );
    assert.equal(new Set(list).size, 9);
    assert.ok(lookups < 40, `${lookups} registry lookups`);
    // A small registry: everybody but itself.
    assert.deepEqual((await registryBootstrap(registryOf(4)).candidates(2)).sort(), [1, 3, 4]);
    assert.throws(() => registryBootstrap(registry, { newest: -1 }), /options\.newest/);
  });

  test("registry bootstrap — the highest twin id is found past gaps of up to maxGap missing ids", async () => {
    const ids = new Set([...Array(50).keys()].map((i) => i + 1));
    for (const gone of [51, 52, 53, 60, 61]) ids.delete(gone);
    for (let t = 54; t <= 59; t++) ids.add(t);
    for (let t = 62; t <= 70; t++) ids.add(t);
    const exists = async (id: number) => ids.has(id);
    assert.equal(await highestTwinId(exists, 10, 16), 70);
    assert.equal(await highestTwinId(exists, 0, 16), 70);
    assert.equal(await highestTwinId(exists, 45, 16), 70);
    assert.equal(await highestTwinId(exists, 45, 1), 50, "a gap wider than maxGap hides what is beyond");
    // A registry that cannot be reached offers nothing (and does not throw).
    const down = registryBootstrap({
      getTwin: () => Promise.reject(new Error("down")),
      getTwinIdByAccount: () => Promise.resolve(undefined),
    });
    assert.deepEqual(await down.candidates(1), []);
  });

  test("agent — with no bootstrap agents, it joins through candidates from the registry, and looks again while alone", async () => {
    const sim = simAgents({ loss: 0 }, { ...FAST, discoverPeriods: 10 });
    // Twins 1–12 are in the registry; only 3 runs an agent (waiting alone): the others are no agents at all.
    const discover = registryBootstrap(registryOf(12), { random: seededRandom(2) });
    const lone = sim.make(3, { bootstrap: [] });
    void lone.start();
    await sim.net.run(PERIOD);
    const finder = sim.make(7, { bootstrap: [], discover });
    let started = false;
    void finder.start().then(() => {
      started = true;
    });
    assert.ok(await sim.net.runUntil(() => started, 60_000));
    const found = sim.events.find((e) => e.observer === 7 && e.event.type === "discovery")?.event;
    assert.ok(found?.type === "discovery");
    assert.deepEqual(found.joined, [3]);
    assert.equal(found.candidates, 11);
    assert.ok(await sim.net.runUntil(() => lone.member(7)?.state === "alive", 20 * PERIOD));
    sim.stopAll();

    // Nobody to find at start: it looks again every discoverPeriods while it has no contact.
    const sim2 = simAgents({ loss: 0 }, { ...FAST, discoverPeriods: 10 });
    const early = sim2.make(5, { bootstrap: [], discover });
    void early.start();
    await sim2.net.run(2 * PERIOD);
    const runs = () => sim2.events.filter((e) => e.observer === 5 && e.event.type === "discovery");
    assert.equal(runs().length, 1);
    assert.deepEqual((runs()[0]!.event as { joined: number[] }).joined, []);
    const late = sim2.make(6, { bootstrap: [] });
    void late.start();
    assert.ok(await sim2.net.runUntil(() => late.member(5)?.state === "alive", 30 * PERIOD));
    const last = runs().at(-1)!.event as { joined: number[] };
    assert.deepEqual(last.joined, [6]);
    const count = runs().length;
    await sim2.net.run(30 * PERIOD);
    assert.equal(runs().length, count, "no more looking once it has contacts");
    sim2.stopAll();
  });
});
