import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AgentTransport,
  type P2pAgent,
  resolveOptions,
  type ServiceTags,
  signRecord,
} from "../../src/p2p/index.js";
import { RecordCache } from "../../src/p2p/record-cache.js";
import { normalizeQuery } from "../../src/p2p/records.js";
import { FAST, signerFor, simAgents, startMesh } from "./sim-agents.js";

const PERIOD = FAST.periodMs!;
const tagsOf = (t: number): ServiceTags => ({
  category: t % 2 === 0 ? "compute" : "storage",
  name: `svc-${t}`,
  location: `city-${t % 3}`,
});

async function settle<T>(sim: ReturnType<typeof simAgents>, p: Promise<T>): Promise<T> {
  let done = false;
  const out = p.finally(() => {
    done = true;
  });
  await sim.net.runUntil(() => done, 60_000, 10);
  return out;
}

type Handler = Parameters<AgentTransport["serve"]>[1];

/** Wraps an agent's transport so that its `p2p.search` requests go to `search(its own handler, its twin)`. */
function onSearch(search: (own: Handler, self: number) => Handler) {
  return (t: AgentTransport): AgentTransport => ({
    self: t.self,
    request: (...args) => t.request(...args),
    serve: (command, handler) =>
      t.serve(command, command === "p2p.search" ? search(handler, t.self) : handler),
  });
}

/** Never answers a search. */
const never = (): Promise<never> => new Promise<never>(() => {});

/** A transport whose agent answers searches with a record of twin 1 signed by the wrong key. */
function forging(inner: AgentTransport, now: () => number): AgentTransport {
  return onSearch((_own, self) => (_from, body) => {
    const q = (body as { q: string }).q;
    const rec = signRecord(signerFor(self), 1, { category: q }, now(), 60_000);
    return { r: [{ rec, rep: 1 }], d: 0 };
  })(inner);
}

/**
 * Wraps an agent's transport so that it leaves its first `count` search requests unanswered (all of them by
 * default) and answers the later ones; `unanswered()` tells how many it left.
 */
function leavingSearches(count = Number.POSITIVE_INFINITY) {
  let left = 0;
  const wrap = onSearch((own) => (from, body) => {
    if (left >= count) return own(from, body);
    left++;
    return never();
  });
  return { wrap, unanswered: () => left };
}

/**
 * Neighbour search only: agents `askers` have one neighbour, agent 3 (tagged barber, its transport wrapped by
 * `wrap`), and agents 4…`size` join through it. Runs until every agent knows every other, then 10 periods more.
 */
async function throughAgent3(askers: number[], size: number, wrap: (t: AgentTransport) => AgentTransport) {
  const sim = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, tenureFullMs: 1000 });
  const agents = askers.map((t) => sim.make(t, { bootstrap: [3], options: { maxNeighbours: 1 } }));
  sim.make(3, { bootstrap: [askers[0]!], tags: { category: "barber" }, wrap });
  for (let t = 4; t <= size; t++) sim.make(t, { bootstrap: [3] });
  for (const a of sim.agents.values()) void a.start();
  const all = sim.agents.size;
  assert.ok(
    await sim.net.runUntil(
      () => [...sim.agents.values()].every((a) => a.members().length === all - 1),
      20_000,
    ),
  );
  await sim.net.run(10 * PERIOD);
  for (const a of agents) assert.deepEqual(a.neighbours(), [3]);
  return { sim, agents };
}

describe("p2p search", () => {
  test("search — every agent finds every unique tag, through the tag's home agents, within 4 hops", async () => {
    const sim = simAgents({ loss: 0.05 });
    const agents = await startMesh(sim, 16, tagsOf);
    await sim.net.run(5 * PERIOD);
    for (const asker of agents) {
      const wanted = 1 + ((asker.twin + 4) % 16);
      const res = await settle(sim, asker.search(`SVC-${wanted}`));
      assert.deepEqual(
        res.results.map((r) => r.twin),
        [wanted],
        `twin ${asker.twin} looking for svc-${wanted}`,
      );
      assert.ok(res.hops !== undefined && res.hops <= 4);
      assert.equal(res.results[0]!.record.tags.name, `svc-${wanted}`);
    }
    const gpu = await settle(sim, agents[0]!.search({ category: "compute", location: "city-1" }));
    assert.ok(gpu.results.length > 0);
    assert.ok(gpu.results.every((r) => r.tags.category === "compute" && r.tags.location === "city-1"));
    const two = await settle(sim, agents[0]!.search("compute", { limit: 2 }));
    assert.equal(two.results.length, 2, "limit bounds the results (maxResults the default)");
    const none = await settle(sim, agents[0]!.search("no-such-tag"));
    assert.deepEqual(none.results, []);
    assert.equal(none.hops, undefined);
    sim.stopAll();
  });

  test("search — a forwarded search asks one agent at a time: the next only after an empty answer or searchHedgeMs", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 40, tagsOf);
    await sim.net.run(5 * PERIOD);
    const asker = agents[20]!; // not twin 1, the bootstrap agent (everybody announces to it)
    // A name the asker has not cached: its first home has it (announced to it), so one request is enough.
    let wanted: number | undefined;
    for (let t = 2; t <= 40 && wanted === undefined; t++) {
      if (t === asker.twin) continue;
      if ((await settle(sim, asker.search(`svc-${t}`, { maxHops: 0 }))).results.length === 0) wanted = t;
    }
    assert.ok(wanted !== undefined);
    const sent = asker.stats().search.sent;
    const res = await settle(sim, asker.search(`svc-${wanted}`, { maxHops: 1 }));
    assert.equal(res.results[0]?.twin, wanted);
    assert.equal(asker.stats().search.sent - sent, 1, "one agent asked");
    sim.stopAll();

    // Askers with two neighbours, one of which never answers searches: whichever is asked first, the search is
    // answered; when the silent one is asked first, the other is asked searchHedgeMs later.
    const hedge = 150;
    const sim2 = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 2, searchHedgeMs: hedge });
    const silentAsked = new Map<number, number>();
    const silentWrap = onSearch(() => (from) => {
      silentAsked.set(from, sim2.net.now);
      return never();
    });
    sim2.make(2, { bootstrap: [3], wrap: silentWrap });
    // The owner announces its record to the silent agent only (its one neighbour).
    sim2.make(3, { bootstrap: [2], tags: { category: "barber" }, options: { maxNeighbours: 1 } });
    const askers = [1, 4, 5, 6, 7, 8].map((t) => sim2.make(t, { bootstrap: [2, 3] }));
    for (const x of sim2.agents.values()) void x.start();
    await sim2.net.run(6 * PERIOD);
    for (const x of askers) assert.deepEqual([...x.neighbours()].sort(), [2, 3]);
    let silentFirst = 0;
    for (const x of askers) {
      const t0 = sim2.net.now;
      const before = x.stats().search.sent;
      const r = await settle(sim2, x.search("barber", { maxHops: 1 }));
      const took = sim2.net.now - t0;
      assert.equal(r.results[0]?.twin, 3, `asker ${x.twin}`);
      const askedSilent = silentAsked.get(x.twin);
      if (askedSilent !== undefined && askedSilent - t0 < hedge) {
        silentFirst++;
        assert.equal(x.stats().search.sent - before, 2);
        assert.ok(took >= hedge, `asker ${x.twin}: the owner was asked after searchHedgeMs (${took} ms)`);
      } else {
        assert.equal(x.stats().search.sent - before, 1, `asker ${x.twin}: answered by the first one asked`);
        assert.ok(took < hedge, `asker ${x.twin}: ${took} ms`);
      }
    }
    assert.ok(
      silentFirst > 0 && silentFirst < askers.length,
      `${silentFirst} askers asked the silent one first`,
    );
    sim2.stopAll();
  });

  test("search — an answer carries at most maxResults records, the best by reputation then freshness; the asker may ask for fewer", async () => {
    // Neighbour search only: ten barbers (3–12) announce to the hub (2), which answers askers from its cache.
    const sim = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 1, tenureFullMs: 1000 });
    const answered: { asker: number; l: unknown; records: number }[] = [];
    const spy = (t: AgentTransport): AgentTransport => ({
      self: t.self,
      request: async (to, command, body, timeoutMs) => {
        const reply = await t.request(to, command, body, timeoutMs);
        if (command === "p2p.search") {
          const records = (reply as { r: unknown[] }).r.length;
          answered.push({ asker: t.self, l: (body as { l?: unknown }).l, records });
        }
        return reply;
      },
      serve: (command, handler) => t.serve(command, handler),
    });
    const asker = sim.make(1, { bootstrap: [2], wrap: spy });
    const hub = sim.make(2, { bootstrap: [1], options: { maxResults: 4 } });
    for (let t = 3; t <= 12; t++)
      sim.make(t, { bootstrap: [2], tags: { category: "barber", name: `b-${t}` } });
    for (const a of sim.agents.values()) void a.start();
    assert.ok(await sim.net.runUntil(() => asker.members().length === 11, 20_000));
    await sim.net.run(5 * PERIOD);
    assert.equal((await settle(sim, hub.search("barber", { maxHops: 0, limit: 4 }))).results.length, 4);
    // 8–12 re-sign their records (the freshest); 11 and 12 are reported by three old members.
    for (let t = 8; t <= 12; t++) sim.agents.get(t)!.setTags({ category: "barber", name: `b-${t}` });
    for (const r of [3, 4, 5]) for (const s of [11, 12]) sim.agents.get(r)!.report(s, "invalid");
    await sim.net.run(3 * PERIOD);
    assert.ok(hub.reputationOf(11).score < 0.5 && hub.reputationOf(12).score < 0.5);
    assert.equal(hub.reputationOf(8).score, 0.5);

    const res = await settle(sim, asker.search("barber", { maxHops: 1 }));
    assert.deepEqual(
      res.results.map((r) => r.twin),
      [8, 9, 10, 3],
      "the hub's best 4 of 10: fresh records of agents it has nothing against, then older ones",
    );
    assert.deepEqual(answered, [{ asker: 1, l: 8, records: 4 }], "asked for maxResults (8), got the hub's 4");
    // The asker's own cache holds those 4: asking for fewer gives its best 2.
    const two = await settle(sim, asker.search("barber", { maxHops: 0, limit: 2 }));
    assert.deepEqual(
      two.results.map((r) => r.twin),
      [8, 9],
    );
    // A new asker that asks the hub for 2 gets 2 on the wire.
    const small = sim.make(13, { bootstrap: [2], wrap: spy });
    void small.start();
    assert.ok(await sim.net.runUntil(() => small.neighbours().includes(2), 10_000));
    const fewer = await settle(sim, small.search("barber", { maxHops: 1, limit: 2 }));
    assert.deepEqual(
      fewer.results.map((r) => r.twin),
      [8, 9],
    );
    assert.deepEqual(answered.at(-1), { asker: 13, l: 2, records: 2 });
    await assert.rejects(small.search("barber", { limit: 9 }), { code: "RMB_ERR_INVALID_ARGUMENT" });
    sim.stopAll();

    // An agent that answers with more records than asked for: the asker takes (and caches) its limit only.
    const sim2 = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 1 });
    const stuffing = (t: AgentTransport): AgentTransport => ({
      self: t.self,
      request: (...args) => t.request(...args),
      serve: (command, handler) =>
        command === "p2p.search"
          ? t.serve(command, () => ({
              r: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((owner) => ({
                rec: signRecord(signerFor(owner), owner, { category: "barber" }, sim2.net.now, 60_000),
                rep: 0.5,
              })),
              d: 0,
            }))
          : t.serve(command, handler),
    });
    const asker2 = sim2.make(1, { bootstrap: [2], options: { maxResults: 3 } });
    sim2.make(2, { bootstrap: [1], wrap: stuffing });
    for (const a of sim2.agents.values()) void a.start();
    assert.ok(await sim2.net.runUntil(() => asker2.neighbours().includes(2), 10_000));
    const got = await settle(sim2, asker2.search("barber", { maxHops: 1 }));
    assert.equal(got.results.length, 3);
    assert.equal((await settle(sim2, asker2.search("barber", { maxHops: 0 }))).results.length, 3, "3 cached");
    assert.equal(asker2.reputationOf(2).bad, 0, "a long answer is cut, not held against its sender");
    sim2.stopAll();
    assert.throws(() => resolveOptions({ maxResults: 0 }), /options\.maxResults/);
    assert.equal(resolveOptions().maxResults, 8);
  });

  test("search — answers are cached by every agent on the way back, and cache entries expire", async () => {
    // A line A(1) → B(2) → C(3) → D(4): neighbour flooding only, one neighbour each (the bootstrap agent).
    const sim = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 1, cacheTtlMs: 3000 });
    const boot: Record<number, number[]> = { 1: [2], 2: [3], 3: [4], 4: [3] };
    const agents = [1, 2, 3, 4].map((t) =>
      sim.make(t, {
        bootstrap: boot[t]!,
        ...(t === 4 ? { tags: { category: "barber", name: "dora" } } : {}),
      }),
    );
    for (const a of agents) void a.start();
    await sim.net.run(4 * PERIOD);
    const [a, b, c] = agents as [(typeof agents)[0], (typeof agents)[0], (typeof agents)[0]];
    assert.deepEqual(a.neighbours(), [2]);
    assert.deepEqual(b.neighbours(), [3]);
    // D announced its record to its neighbour C only.
    assert.equal((await settle(sim, c.search("dora", { maxHops: 0 }))).results.length, 1);
    assert.equal(
      (await settle(sim, b.search("dora", { maxHops: 0 }))).results.length,
      0,
      "B does not have it yet",
    );
    const res = await settle(sim, a.search("dora"));
    assert.deepEqual(
      res.results.map((r) => r.twin),
      [4],
    );
    assert.equal(res.hops, 2, "A → B → C (C answered from its cache)");
    assert.ok(res.fromCache);
    const atB = await settle(sim, b.search("dora", { maxHops: 0 }));
    assert.equal(atB.results.length, 1, "B cached the answer on its way back");
    assert.equal(atB.hops, 0);
    assert.equal((await settle(sim, a.search("dora", { maxHops: 0 }))).results.length, 1, "and so did A");
    await sim.net.run(3500);
    assert.equal(
      (await settle(sim, b.search("dora", { maxHops: 0 }))).results.length,
      0,
      "gone after cacheTtlMs",
    );
    sim.stopAll();
  });

  test("search — the record cache is bounded (LRU) and indexed by tag", () => {
    const cache = new RecordCache(2, 10_000);
    const rec = (t: number, category: string) => signRecord(signerFor(t), t, { category }, 0, 60_000);
    cache.put(rec(1, "a"), 0);
    cache.put(rec(2, "a"), 0);
    assert.equal(cache.find(normalizeQuery("a"), 1, 10).length, 2);
    cache.find(normalizeQuery("a"), 1, 1); // touches one of them
    cache.put(rec(3, "b"), 0);
    assert.equal(cache.size, 2);
    assert.equal(cache.find(normalizeQuery("a"), 1, 10).length, 1);
    assert.equal(cache.find(normalizeQuery("b"), 1, 10).length, 1);
    assert.equal(cache.find(normalizeQuery("b"), 10_001, 10).length, 0, "expired");
    assert.equal(cache.size, 1);
    const newer = signRecord(signerFor(1), 1, { category: "c" }, 5, 60_000);
    cache.put(newer, 6);
    cache.put(rec(1, "a"), 6);
    assert.equal(cache.get(1, 7)?.tags.category, "c", "an older record does not replace a newer one");
  });

  test("search — a forged answer is dropped, costs its sender reputation and is reported", async () => {
    const sim = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 1 });
    const now = () => sim.net.now;
    const asker = sim.make(1, { bootstrap: [2] });
    const liar = sim.make(2, { bootstrap: [3], wrap: (t) => forging(t, now) });
    const owner = sim.make(3, { bootstrap: [2], tags: { category: "barber" } });
    for (const a of [asker, liar, owner]) void a.start();
    await sim.net.run(4 * PERIOD);
    assert.deepEqual(asker.neighbours(), [2]);
    const res = await settle(sim, asker.search("barber"));
    assert.deepEqual(res.results, [], "the forged record is not returned");
    await sim.net.run(PERIOD);
    const view = asker.reputationOf(2);
    assert.ok(view.score < 0.4, `the liar's score dropped (${view.score})`);
    assert.ok(
      sim.events.some(
        (e) =>
          e.observer === 1 &&
          e.event.type === "misbehaviour" &&
          e.event.twin === 2 &&
          e.event.outcome === "invalid",
      ),
    );
    assert.ok(
      sim.events.some((e) => e.observer === 3 && e.event.type === "report" && e.event.subject === 2),
      "the asker's report reached the owner",
    );
    // The owner is found directly; results are filtered by the asker's view.
    const direct = await settle(sim, owner.search("barber"));
    assert.equal(direct.results[0]?.twin, 3);
    assert.equal(direct.results[0]?.reputation, 1);
    assert.equal(direct.hops, 0);
    sim.stopAll();
  });

  test("search — results carry the asker's view of reputation, and minReputation filters them", async () => {
    const sim = simAgents({ loss: 0 }, { ...FAST, homeReplicas: 0, maxNeighbours: 2 });
    const now = () => sim.net.now;
    const asker = sim.make(1, { bootstrap: [2, 3] });
    const liar = sim.make(2, {
      bootstrap: [1, 3],
      tags: { category: "barber" },
      wrap: (t) => forging(t, now),
    });
    const honest = sim.make(3, { bootstrap: [1, 2], tags: { category: "barber" } });
    for (const a of [asker, liar, honest]) void a.start();
    await sim.net.run(4 * PERIOD);
    const both = await settle(sim, asker.search("barber", { maxHops: 0 }));
    assert.deepEqual(
      both.results.map((r) => r.twin).sort(),
      [2, 3],
      "both announced their records to the asker",
    );
    await settle(sim, asker.search("dentist")); // the liar answers with a forged record
    const scored = await settle(sim, asker.search("barber", { maxHops: 0 }));
    const byTwin = new Map(scored.results.map((r) => [r.twin, r.reputation]));
    assert.ok(byTwin.get(2)! < 0.4 && byTwin.get(3)! >= 0.5, JSON.stringify([...byTwin]));
    const filtered = await settle(sim, asker.search("barber", { maxHops: 0, minReputation: 0.45 }));
    assert.deepEqual(
      filtered.results.map((r) => r.twin),
      [3],
    );
    sim.stopAll();
  });

  test("search — with minReputation, results in doubt are checked first: a framed agent passes, a reported forger and a silent agent do not", async () => {
    // Tenure is full after 1 s here, so the reporters below weigh as much as old members can.
    const sim = simAgents({ loss: 0 }, { ...FAST, tenureFullMs: 1000 });
    const rnd = sim.net.random;
    const forgeAll = onSearch(() => (_from, body) => {
      const q = (body as { q: unknown }).q;
      const tags = typeof q === "string" ? { category: q } : (q as ServiceTags);
      let signature = "";
      for (let i = 0; i < 130; i++) signature += Math.floor(rnd() * 16).toString(16);
      const rec = {
        twin: 1,
        tags,
        issuedAt: sim.net.now,
        expiresAt: sim.net.now + 60_000,
        signature,
      };
      return { r: [{ rec, rep: 1 }], d: 0 };
    });
    const silentAll = onSearch(() => never);
    const barber = (name: string): ServiceTags => ({ category: "barber", name });
    const asker = sim.make(1, { bootstrap: [2], options: { maxChecksPerSearch: 2 } });
    sim.make(2, { tags: barber("framed") });
    sim.make(3, { tags: barber("forger"), wrap: forgeAll });
    sim.make(4, { tags: barber("silent"), wrap: silentAll });
    for (let t = 5; t <= 16; t++) sim.make(t);
    for (const a of sim.agents.values()) void a.start();
    assert.ok(await sim.net.runUntil(() => asker.members().length === 15, 20_000));
    await sim.net.run(10 * PERIOD);
    // Agents 5–10 collude against 2; agents 11–16 witnessed 3 forging and 4 staying silent (the asker cannot tell
    // colluders from witnesses: all are old members it never dealt with).
    for (let t = 5; t <= 10; t++) sim.agents.get(t)!.report(2, "invalid");
    for (let t = 11; t <= 16; t++) {
      sim.agents.get(t)!.report(3, "invalid");
      sim.agents.get(t)!.report(4, "unresponsive");
    }
    await sim.net.run(5 * PERIOD);
    for (const s of [2, 3, 4]) {
      const v = asker.reputationOf(s);
      assert.equal(v.reporters, 6, `reports about ${s} reached the asker`);
      assert.ok(v.score >= 0.4 && v.score < 0.45, `hearsay alone about ${s}: ${v.score}`);
    }
    const all = await settle(sim, asker.search("barber"));
    assert.deepEqual(all.results.map((r) => r.twin).sort(), [2, 3, 4], "no filter: no check, everything");
    const checks = asker.stats().search.checks;
    assert.equal(checks, 0);
    // maxChecksPerSearch is 2 for this asker: two of the three are checked by the first filtered search…
    const firstHand = () =>
      [2, 3, 4].filter((t) => asker.reputationOf(t).good + asker.reputationOf(t).bad > 0);
    await settle(sim, asker.search("barber", { minReputation: 0.4 }));
    assert.equal(firstHand().length, 2);
    // …the third by the next one.
    const filtered = await settle(sim, asker.search("barber", { minReputation: 0.4 }));
    assert.deepEqual(firstHand(), [2, 3, 4]);
    assert.deepEqual(
      filtered.results.map((r) => r.twin),
      [2],
      "the framed agent passes its check; the forger and the silent agent fail theirs",
    );
    assert.ok(asker.reputationOf(2).score > 0.5, `framed: ${asker.reputationOf(2).score}`);
    assert.ok(asker.reputationOf(3).score < 0.3, `forger: ${asker.reputationOf(3).score}`);
    assert.ok(asker.reputationOf(4).score < 0.4, `silent: ${asker.reputationOf(4).score}`);
    assert.equal(
      asker.stats().search.checks,
      2 + asker.options.checkAttempts,
      "one request each, checkAttempts to the silent agent",
    );
    assert.equal(
      asker.stats().reports.filed,
      1,
      "the forger's invalid data is reported; the silent agent's failed check is not: it was reported already",
    );
    await settle(sim, asker.search("barber", { minReputation: 0.4 }));
    assert.equal(
      asker.stats().search.checks,
      2 + asker.options.checkAttempts,
      "not again within checkCooldownMs",
    );
    sim.stopAll();
  });

  test("search — a silent agent nobody reported: a search to it times out, the check fails, and the report spreads; an agent that holds it files none", async () => {
    // Askers 1 and 2 have one neighbour: the silent agent 3.
    const { sim, agents } = await throughAgent3([1, 2], 16, leavingSearches().wrap);
    const [first, second] = agents as [P2pAgent, P2pAgent];
    assert.equal(first.reputationOf(3).reporters, 0);

    const res = await settle(sim, first.search("dentist", { maxHops: 1 }));
    assert.deepEqual(res.results, []);
    await sim.net.run(10 * PERIOD);
    const o = first.options;
    assert.equal(
      first.stats().search.checks,
      o.checkAttempts,
      "the timeout was checked: no answer to any request",
    );
    assert.ok(first.reputationOf(3).score < 0.37, `${first.reputationOf(3).score}`);
    assert.equal(first.stats().reports.filed, 1);
    // Gossip pushes to 4 random members per hop: the report reaches (nearly) every one of the 13 others, far
    // more than the 3 hops it used to travel would reach in a large network.
    const others = [...sim.agents.values()].filter((a) => a.twin !== 1 && a.twin !== 3);
    const holders = others.filter((a) => a.reputationOf(3).reporters === 1);
    assert.ok(holders.length >= 11, `${holders.length} of 13 hold the report`);
    assert.ok(holders.includes(second), "the second asker holds it");
    for (const a of others) assert.ok(a.reputationOf(3).score > 0.45, "hearsay alone: doubt, no conviction");
    for (const a of holders) assert.ok(a.stats().reports.received >= 1);
    // The second asker finds the same at first hand, but the news travels already: no second report.
    await settle(sim, second.search("dentist", { maxHops: 1 }));
    await sim.net.run(10 * PERIOD);
    assert.equal(second.stats().search.checks, o.checkAttempts);
    assert.ok(second.reputationOf(3).score < 0.4);
    assert.equal(second.stats().reports.filed, 0);
    sim.stopAll();
  });

  test("search — an honest agent whose answers are lost 4 times in a row (a search, then 3 requests of its check) passes the check on its 4th request: no report", async () => {
    // The honest agent's first 4 search answers are lost (it never answers them), later ones arrive.
    const lossy = leavingSearches(4);
    const { sim, agents } = await throughAgent3([1], 8, lossy.wrap);
    const asker = agents[0]!;
    assert.equal(asker.options.checkAttempts, 4, "the default");

    const res = await settle(sim, asker.search("dentist", { maxHops: 1 }));
    assert.deepEqual(res.results, []);
    await sim.net.run(10 * PERIOD);
    assert.equal(lossy.unanswered(), 4);
    assert.equal(asker.stats().search.checks, 4, "3 requests lost, the 4th answered");
    assert.equal(asker.stats().reports.filed, 0, "an answered check clears it");
    for (const a of sim.agents.values()) assert.equal(a.reputationOf(3).reporters, 0);
    sim.stopAll();
  });

  test("search — hop limits: maxHops 0 only looks here; bad arguments are refused", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 4, tagsOf);
    const a = agents[0]!;
    const sent = a.stats().search.sent;
    const local = await settle(sim, a.search("no-such-tag", { maxHops: 0 }));
    assert.deepEqual(local.results, []);
    assert.equal(a.stats().search.sent, sent, "maxHops 0 sends nothing");
    await settle(sim, a.search("no-such-tag", { maxHops: 1 }));
    assert.ok(a.stats().search.sent > sent);
    await assert.rejects(a.search("x", { maxHops: 5 }), { code: "RMB_ERR_INVALID_ARGUMENT" });
    await assert.rejects(a.search("", {}), { code: "RMB_ERR_INVALID_ARGUMENT" });
    await assert.rejects(a.search("x", { minReputation: 2 }), { code: "RMB_ERR_INVALID_ARGUMENT" });
    await assert.rejects(a.search("x", { limit: 0 }), { code: "RMB_ERR_INVALID_ARGUMENT" });
    a.stop();
    await assert.rejects(a.search("x"), { code: "RMB_ERR_P2P_STOPPED" });
    sim.stopAll();
  });

  test("search — a dead agent's records are dropped from caches and results", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 8, tagsOf);
    await sim.net.run(5 * PERIOD);
    const asker = agents[0]!;
    assert.equal((await settle(sim, asker.search("svc-6"))).results[0]?.twin, 6);
    agents[5]!.stop();
    sim.net.kill(6);
    assert.ok(await sim.net.runUntil(() => asker.member(6)?.state === "dead", 30 * PERIOD));
    const after = await settle(sim, asker.search("svc-6"));
    assert.deepEqual(after.results, []);
    sim.stopAll();
  });
});
