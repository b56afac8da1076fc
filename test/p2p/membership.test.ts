import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type P2pAgent, SimNetwork } from "../../src/p2p/index.js";
import type { MemberEvent } from "../../src/p2p/membership.js";
import { FAST, FAST_LATENCY, fastMembership, simAgents, startMesh } from "./sim-agents.js";

const PERIOD = FAST.periodMs!;
const liveIds = (a: P2pAgent): number[] => a.members().map((m) => m.twin);

describe("p2p membership (SWIM)", () => {
  test("membership — agents that join one bootstrap agent all learn each other", async () => {
    const sim = simAgents({ loss: 0.05 });
    const agents = await startMesh(sim, 12);
    for (const a of agents) {
      assert.equal(a.members().length, 11);
      assert.ok(a.members().every((m) => m.state === "alive"));
    }
    sim.stopAll();
  });

  test("membership — a crashed agent is suspected, declared dead within 10 periods, and leaves every contact list", async () => {
    const sim = simAgents({ loss: 0.05 });
    const agents = await startMesh(sim, 12);
    await sim.net.run(20 * PERIOD);
    sim.events.length = 0;
    const victim = agents[5]!;
    victim.stop();
    sim.net.kill(victim.twin);
    const killedAt = sim.net.now;
    const others = agents.filter((a) => a !== victim);
    const gone = await sim.net.runUntil(
      () => others.every((a) => !liveIds(a).includes(victim.twin)),
      30 * PERIOD,
      50,
    );
    assert.ok(gone, "every agent removed it");
    assert.ok(
      sim.net.now - killedAt <= 10 * PERIOD,
      `within 10 periods (took ${(sim.net.now - killedAt) / PERIOD})`,
    );
    const about = sim.events.filter((e) => e.event.type === "member" && e.event.twin === victim.twin);
    const suspected = about.findIndex((e) => e.event.type === "member" && e.event.state === "suspect");
    const dead = about.findIndex((e) => e.event.type === "member" && e.event.state === "dead");
    assert.ok(suspected >= 0 && dead > suspected, "suspect before dead");
    assert.ok(
      about.some((e) => e.event.type === "member" && e.event.cause === "suspicion-timeout"),
      "somebody declared it after its own suspicion timed out",
    );
    for (const a of others) assert.equal(a.member(victim.twin)?.state, "dead");
    sim.stopAll();
  });

  test("membership — a live agent cut off for less than the suspicion timeout refutes and is never declared dead", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 8);
    await sim.net.run(10 * PERIOD);
    sim.events.length = 0;
    const target = agents[3]!;
    const before = target.incarnation;
    // Cut off long enough to be probed and suspected (every agent probes it within a few periods), not declared.
    sim.net.partition([target.twin]);
    const suspected = await sim.net.runUntil(
      () => agents.some((a) => a !== target && a.member(target.twin)?.state === "suspect"),
      20 * PERIOD,
      10,
    );
    assert.ok(suspected, "suspected while cut off");
    sim.net.heal();
    await sim.net.run(15 * PERIOD);
    assert.ok(target.incarnation > before, "it raised its incarnation to refute the suspicion");
    for (const a of agents) if (a !== target) assert.equal(a.member(target.twin)?.state, "alive");
    assert.ok(
      !sim.events.some(
        (e) => e.event.type === "member" && e.event.twin === target.twin && e.event.state === "dead",
      ),
      "no false death",
    );
    assert.ok(target.stats().membership.refutations >= 1);
    sim.stopAll();
  });

  test("membership — a crashed agent that restarts comes back with a higher incarnation and is alive for everyone", async () => {
    const sim = simAgents({ loss: 0.05 });
    const agents = await startMesh(sim, 10);
    const victim = agents[4]!;
    victim.stop();
    sim.net.kill(victim.twin);
    const others = agents.filter((a) => a !== victim);
    assert.ok(
      await sim.net.runUntil(() => others.every((a) => a.member(victim.twin)?.state === "dead"), 40 * PERIOD),
    );
    const deadInc = others[0]!.member(victim.twin)!.incarnation;
    sim.net.revive(victim.twin);
    const back = sim.make(victim.twin, { bootstrap: [2, 3] }); // a fresh process: incarnation 0, no members
    void back.start();
    const alive = await sim.net.runUntil(
      () => others.every((a) => a.member(victim.twin)?.state === "alive") && back.members().length === 9,
      20 * PERIOD,
    );
    assert.ok(alive, "alive again in every contact list");
    assert.ok(back.incarnation > deadInc, "with an incarnation above the one it died with");
    sim.stopAll();
  });

  test("membership — an agent isolated long enough to be declared dead comes back when the partition heals", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 8);
    const lonely = agents[6]!;
    const others = agents.filter((a) => a !== lonely);
    sim.net.partition([lonely.twin]);
    assert.ok(
      await sim.net.runUntil(() => others.every((a) => a.member(lonely.twin)?.state === "dead"), 40 * PERIOD),
    );
    assert.ok(
      await sim.net.runUntil(() => lonely.members().length === 0, 40 * PERIOD),
      "it lost everybody too",
    );
    sim.net.heal();
    const healed = await sim.net.runUntil(
      () => others.every((a) => a.member(lonely.twin)?.state === "alive") && lonely.members().length === 7,
      30 * PERIOD,
    );
    assert.ok(healed, "it re-joined through its bootstrap agent and everybody re-added it");
    sim.stopAll();
  });

  test("membership — at 5 % loss, false suspicions stay far below 1 % of probes and nobody is falsely declared dead", async () => {
    const sim = simAgents({ loss: 0.05, seed: 11 });
    const agents = await startMesh(sim, 16);
    const probes0 = agents.reduce((n, a) => n + a.stats().membership.probes, 0);
    sim.events.length = 0;
    await sim.net.run(300 * PERIOD);
    const probes = agents.reduce((n, a) => n + a.stats().membership.probes, 0) - probes0;
    const suspicions = sim.events.filter(
      (e) => e.event.type === "member" && e.event.state === "suspect" && e.event.cause === "probe",
    ).length;
    const deaths = sim.events.filter((e) => e.event.type === "member" && e.event.state === "dead").length;
    assert.ok(probes > 4000, `${probes} probes`);
    assert.ok(suspicions / probes < 0.01, `${suspicions} suspicions in ${probes} probes`);
    assert.equal(deaths, 0);
    sim.stopAll();
  });

  test("membership — maxMembers bounds the contact list", async () => {
    const sim = simAgents({ loss: 0 });
    const agents = await startMesh(sim, 6);
    const small = sim.make(7, { bootstrap: [1], options: { maxMembers: 3 } });
    void small.start();
    await sim.net.run(30 * PERIOD);
    assert.equal(small.members().length, 3);
    assert.ok(
      agents.every((a) => a.member(7)?.state === "alive"),
      "the others still know it",
    );
    sim.stopAll();
  });

  test("membership — the round robin is shared: each period every member is probed by exactly one agent, and each agent probes every other member once in n − 1 periods", async () => {
    const sim = simAgents({ loss: 0 });
    const n = 12;
    const pings: { at: number; from: number; to: number }[] = [];
    const list: P2pAgent[] = [];
    for (let t = 1; t <= n; t++) {
      const agent = sim.make(t, {
        bootstrap: t === 1 ? [] : [1],
        wrap: (tr) => ({
          get self() {
            return tr.self;
          },
          serve: tr.serve.bind(tr),
          request: (to, command, body, ms) => {
            if (command === "p2p.ping") pings.push({ at: sim.net.now, from: t, to });
            return tr.request(to, command, body, ms);
          },
        }),
      });
      void agent.start();
      list.push(agent);
    }
    assert.ok(await sim.net.runUntil(() => list.every((a) => a.members().length === n - 1), 60_000));
    // Let the lists settle (no suspicion at 0 loss), then watch 3 × (n − 1) whole periods.
    await sim.net.run(3 * PERIOD);
    const from = Math.ceil(sim.net.now / PERIOD);
    const periods = 3 * (n - 1);
    await sim.net.run((from + periods) * PERIOD - sim.net.now);
    const watched = pings.filter((p) => p.at >= from * PERIOD && p.at < (from + periods) * PERIOD);
    assert.equal(
      sim.events.filter((e) => e.event.type === "member" && e.event.state !== "alive").length,
      0,
      "nobody suspected: every ping is a round-robin probe",
    );
    for (let k = from; k < from + periods; k++) {
      const inPeriod = watched.filter((p) => Math.floor(p.at / PERIOD) === k);
      assert.equal(inPeriod.length, n, `period ${k}: one probe per agent`);
      assert.deepEqual(
        [...new Set(inPeriod.map((p) => p.to))].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i + 1),
        `period ${k}: every member probed once`,
      );
    }
    for (let t = 1; t <= n; t++) {
      const first = watched.filter((p) => p.from === t && p.at < (from + n - 1) * PERIOD).map((p) => p.to);
      assert.deepEqual(
        [...first].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i + 1).filter((x) => x !== t),
        `twin ${t} probes every other member once in n − 1 periods`,
      );
    }
    sim.stopAll();
  });

  test("membership — a death declared at an older incarnation is checked: confirmed at once if our probe fails, refused if it answers", async () => {
    const net = new SimNetwork({ seed: 5, latency: FAST_LATENCY });
    const events: MemberEvent[] = [];
    const make = (twin: number, emit = (_e: MemberEvent) => {}) => fastMembership(net, twin, { emit });
    const a = make(1, (e) => events.push(e));
    const x = make(3);
    const y = make(4);
    for (const m of [a, x, y]) await m.start();
    // `a` heard of later incarnations of 3 and 4 than the agent that will declare them dead.
    a.applyUpdate([3, 0, 5], false);
    a.applyUpdate([4, 0, 5], false);
    x.stop();
    net.kill(3);
    a.applyUpdate([3, 2, 2]);
    a.applyUpdate([4, 2, 2]);
    assert.equal(a.member(3)?.state, "alive", "not applied as such");
    const t0 = net.now;
    assert.ok(await net.runUntil(() => a.member(3)?.state === "dead", 20 * PERIOD, 10));
    assert.ok(net.now - t0 <= 2 * PERIOD, `confirmed within ${(net.now - t0) / PERIOD} periods`);
    const death = events.find((e) => e.twin === 3 && e.state === "dead");
    assert.equal(death?.cause, "confirmed");
    assert.equal(death?.incarnation, 5, "at the incarnation it knew");
    await net.run(10 * PERIOD);
    assert.equal(a.member(4)?.state, "alive", "4 answered the probe: the stale death is refused");
    for (const m of [a, y]) m.stop();
  });

  test("membership — a first-hand suspicion runs its course when news of a newer suspicion arrives", async () => {
    const net = new SimNetwork({ seed: 6, latency: FAST_LATENCY });
    const events: { at: number; e: MemberEvent }[] = [];
    const make = (twin: number) =>
      fastMembership(net, twin, {
        bootstrap: twin === 1 ? [] : [1],
        emit: (e) => events.push({ at: net.now, e }),
      });
    const watcher = make(1);
    const victim = make(2);
    await watcher.start();
    void victim.start();
    assert.ok(await net.runUntil(() => watcher.member(2)?.state === "alive", 10 * PERIOD, 10));
    victim.stop();
    net.kill(2);
    const suspicion = () =>
      events.find((x) => x.e.twin === 2 && x.e.state === "suspect" && x.e.cause === "probe");
    assert.ok(await net.runUntil(() => suspicion() !== undefined, 10 * PERIOD, 10));
    // Somebody else suspects it at a later incarnation, which the watcher never heard of.
    watcher.applyUpdate([2, 1, 1]);
    assert.equal(watcher.member(2)?.incarnation, 1);
    assert.ok(await net.runUntil(() => watcher.member(2)?.state === "dead", 20 * PERIOD, 10));
    const death = events.find((x) => x.e.twin === 2 && x.e.state === "dead")!;
    assert.equal(death.e.cause, "suspicion-timeout");
    assert.equal(death.e.incarnation, 1);
    const took = (death.at - suspicion()!.at) / PERIOD;
    assert.ok(took <= FAST.suspicionPeriods! + 0.5, `declared ${took} periods after its own suspicion`);
    watcher.stop();
  });

  test("membership — news that a member we hold dead is back, at a lower incarnation, is checked: our ping makes it come back above", async () => {
    const net = new SimNetwork({ seed: 8, latency: FAST_LATENCY });
    const broadcasts: number[][] = [];
    const make = (twin: number) =>
      fastMembership(net, twin, { broadcast: (u) => broadcasts.push([twin, ...u]) });
    const a = make(1);
    const x = make(3); // a fresh process: incarnation 0
    for (const m of [a, x]) await m.start();
    a.applyUpdate([3, 0, 5], false);
    a.applyUpdate([3, 2, 5]); // somebody declared it dead at 5
    assert.equal(a.member(3)?.state, "dead");
    a.applyUpdate([3, 0, 1]); // its comeback, at an incarnation set by an agent that knew less
    assert.equal(a.member(3)?.state, "dead", "not applied as such");
    assert.ok(await net.runUntil(() => a.member(3)?.state === "alive", 3 * PERIOD, 10));
    assert.equal(a.member(3)?.incarnation, 6, "it came back above the incarnation it was held dead at");
    assert.equal(x.incarnation, 6);
    assert.ok(
      broadcasts.some(([from, twin, state, inc]) => from === 3 && twin === 3 && state === 0 && inc === 6),
      "and pushed its comeback to everybody",
    );
    for (const m of [a, x]) m.stop();
  });
});
