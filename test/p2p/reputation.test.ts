import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveOptions, SimNetwork } from "../../src/p2p/index.js";
import { ReputationTable } from "../../src/p2p/reputation.js";

const MIN = 60_000;

/** A table on a virtual clock; `tenure` says how long each twin has been a member (0 = fresh). */
function table(tenure: Map<number, number> = new Map(), members = 100, extra: Record<string, number> = {}) {
  const net = new SimNetwork();
  const o = resolveOptions({ tenureFullMs: 10 * MIN, ...extra });
  const t = new ReputationTable(
    o,
    net.clock,
    (twin) => tenure.get(twin) ?? 0,
    () => members,
  );
  return { t, net, o };
}

describe("p2p reputation", () => {
  test("reputation — a stranger scores 0.5; good answers raise, timeouts lower a little, invalid data a lot", () => {
    const { t } = table();
    assert.equal(t.score(5), 0.5);
    for (let i = 0; i < 4; i++) t.record(5, "good");
    assert.ok(t.score(5) > 0.7);
    t.record(6, "timeout");
    const afterTimeout = t.score(6);
    assert.ok(afterTimeout < 0.5 && afterTimeout > 0.4, `${afterTimeout}`);
    t.record(7, "invalid");
    assert.ok(t.score(7) < 0.3, `${t.score(7)}`);
  });

  test("reputation — evidence decays with the half-life", async () => {
    const { t, net, o } = table();
    t.record(5, "invalid");
    const low = t.score(5);
    await net.run(o.reputationHalfLifeMs * 4);
    assert.ok(t.score(5) > low + 0.15, `${low} → ${t.score(5)}`);
  });

  test("reputation — twenty fresh identities reporting an honest agent do not move its score", () => {
    const { t } = table();
    for (let r = 100; r < 120; r++) assert.equal(t.addReport(r, 5, "invalid", 0), true);
    assert.equal(t.view(5).reporters, 20);
    assert.ok(t.score(5) > 0.49, `${t.score(5)}`);
    assert.equal(t.standing(100), 0);
    assert.equal(t.inDoubt(5), false, "weightless reports raise no doubt");
  });

  test("reputation — reporters this agent dealt with weigh by their standing; reports alone never go below 0.444", () => {
    const { t, o } = table();
    for (const r of [10, 11, 12, 13]) for (let i = 0; i < 4; i++) t.record(r, "good");
    assert.equal(t.standing(10), 1);
    t.addReport(10, 5, "invalid", 0);
    const one = t.score(5);
    assert.ok(one < 0.5 && one > 0.45, `one report: ${one}`);
    assert.ok(t.inDoubt(5));
    for (const r of [11, 12, 13]) t.addReport(r, 5, "invalid", 0);
    const floor = o.priorWeight / (2 * o.priorWeight + o.maxReportWeight);
    assert.ok(Math.abs(floor - 0.4444) < 0.001);
    assert.ok(t.score(5) < one && t.score(5) >= floor - 1e-9, `four reports: ${t.score(5)}`);
    // Own experience with the subject comes first: reports then count a quarter, and raise no doubt.
    for (let i = 0; i < 4; i++) t.record(6, "good");
    for (const r of [10, 11, 12, 13]) t.addReport(r, 6, "invalid", 0);
    assert.ok(t.score(6) > 0.7, `${t.score(6)}`);
    assert.equal(t.inDoubt(6), false);
  });

  test("reputation — a reporter that misbehaved towards us, or reports too many agents, has no standing", () => {
    const { t, o } = table();
    for (let i = 0; i < 4; i++) t.record(10, "good");
    t.record(10, "invalid");
    t.record(10, "invalid");
    assert.equal(t.standing(10), 0);
    for (let i = 0; i < 4; i++) t.record(11, "good");
    for (let s = 200; s < 200 + o.maxReportsPerReporter + 1; s++) t.addReport(11, s, "invalid", 0);
    assert.equal(t.standing(11), 0, "a reporter of everybody is ignored");
    assert.equal(t.score(200), 0.5);
  });

  test("reputation — collusion: no group of reporters, however old, many or familiar, sinks an honest agent below 0.4; misbehaviour seen at first hand does", () => {
    const tenure = new Map<number, number>();
    for (let r = 100; r < 300; r++) tenure.set(r, 20 * MIN);
    const { t } = table(tenure, 1000); // quorum: 10 % of 1000 members
    // 20 colluders of full tenure (2 % of the network) frame honest agent 5.
    for (let r = 100; r < 120; r++) t.addReport(r, 5, "invalid", 0);
    const twenty = t.score(5);
    assert.ok(twenty > 0.47, `20 of 1000 (${twenty})`);
    // 200 of them (20 %, twice the quorum) still leave it at the floor, above 0.4.
    for (let r = 120; r < 300; r++) t.addReport(r, 5, "invalid", 0);
    assert.ok(t.score(5) >= 0.44, `200 of 1000 (${t.score(5)})`);
    // Colluders that earned standing by answering well, reporting together with the tenured ones: the same floor.
    for (let r = 10; r < 30; r++) for (let i = 0; i < 4; i++) t.record(r, "good");
    for (let r = 10; r < 30; r++) t.addReport(r, 5, "invalid", 0);
    assert.ok(t.score(5) >= 0.44, `with 20 familiar colluders (${t.score(5)})`);
    // A forger (6) and a silent agent (7) reported by as many witnesses look the same to this stranger...
    for (let r = 100; r < 300; r++) t.addReport(r, 6, "invalid", 0);
    for (let r = 100; r < 300; r++) t.addReport(r, 7, "unresponsive", 0);
    for (const s of [5, 6, 7]) assert.ok(t.inDoubt(s), `${s} is in doubt`);
    assert.ok(Math.abs(t.score(6) - t.score(5)) < 0.01);
    // Even after a lost message of its own (a timeout), this agent still keeps the framed one above 0.4.
    t.record(5, "timeout");
    assert.ok(t.score(5) >= 0.4, `after a timeout (${t.score(5)})`);
    // ...until it checks them at first hand (what search() does before filtering): the honest agent answers well
    // and rises above neutral; the forger sends invalid data, the silent agent times out twice; both fall below 0.4.
    t.record(5, "good");
    t.record(5, "good");
    t.record(6, "invalid");
    t.record(7, "timeout");
    t.record(7, "timeout");
    assert.ok(t.score(5) > 0.5, `framed agent after a good answer: ${t.score(5)}`);
    assert.ok(t.score(6) < 0.3, `forger: ${t.score(6)}`);
    assert.ok(t.score(7) < 0.4, `silent: ${t.score(7)}`);
    assert.equal(t.inDoubt(5), false);
    // Without reports, two timeouts alone (lost messages happen) keep an agent at the filter.
    t.record(8, "timeout");
    t.record(8, "timeout");
    assert.ok(t.score(8) >= 0.4, `${t.score(8)}`);
  });

  test("reputation — one old member's report raises doubt whatever the size of the network; fresh identities' do not", async () => {
    for (const members of [20, 200, 1000, 5000]) {
      const tenure = new Map<number, number>([
        [100, 20 * MIN], // full tenure (tenureFullMs is 10 min here)
        [101, 5 * MIN], // half of it: standing 0.25
        [102, 5 * MIN],
        [103, 0],
      ]);
      const { t, net, o } = table(tenure, members);
      assert.equal(o.doubtStanding, 0.5);
      t.addReport(100, 5, "unresponsive", 0);
      await net.run(MIN);
      // In a large network the report weighs next to nothing in the score (one head of a quorum)...
      if (members >= 1000) assert.ok(t.score(5) > 0.49, `${members} members: ${t.score(5)}`);
      // ...but it is a reason to check: in doubt in a network of 20 as of 5000.
      assert.equal(t.inDoubt(5), true, `${members} members`);
      t.addReport(101, 6, "unresponsive", net.now);
      t.addReport(103, 6, "unresponsive", net.now);
      assert.equal(t.inDoubt(6), false, `${members} members: standing 0.25 + a fresh identity's 0`);
      t.addReport(102, 6, "unresponsive", net.now);
      assert.equal(t.inDoubt(6), true, `${members} members: standing 0.25 + 0.25`);
      // Old news: after two half-lives one report's standing is down to a quarter.
      await net.run(2 * o.reputationHalfLifeMs);
      assert.equal(t.inDoubt(5), false, `${members} members, two half-lives later`);
    }
    assert.throws(() => resolveOptions({ doubtStanding: 0 }), /options\.doubtStanding/);
  });

  test("reputation — a failed check (checkAttempts timeouts) keeps a silent agent below 0.4 beyond checkCooldownMs, at 1000 members as at 200", async () => {
    for (const members of [200, 1000]) {
      const tenure = new Map<number, number>([[100, 20 * MIN]]);
      const { t, net, o } = table(tenure, members);
      t.addReport(100, 7, "unresponsive", 0);
      for (let i = 0; i < o.checkAttempts; i++) t.record(7, "timeout");
      assert.ok(t.score(7) < 0.37, `${members} members: ${t.score(7)}`);
      await net.run(o.checkCooldownMs);
      assert.ok(t.score(7) < 0.38, `${members} members, checkCooldownMs later: ${t.score(7)}`);
      assert.equal(t.inDoubt(7), true, "checked again once the cooldown is over");
      // A framed honest agent with the same report answers its check: above neutral.
      t.addReport(100, 8, "invalid", net.now);
      t.record(8, "good");
      assert.ok(t.score(8) > 0.5, `${t.score(8)}`);
      assert.equal(t.inDoubt(8), false);
    }
  });

  test("reputation — a report keeps the weight its reporter had when it arrived; reports about oneself are ignored", () => {
    const tenure = new Map<number, number>([[100, 0]]);
    const { t } = table(tenure, 3);
    t.addReport(100, 5, "invalid", 0);
    tenure.set(100, 60 * MIN); // it ages afterwards
    assert.equal(t.score(5), 0.5, "a report filed while fresh stays weightless");
    assert.equal(t.addReport(5, 5, "invalid", 0), false);
    assert.equal(t.addReport(7, 5, "invalid", 10 * MIN), false, "from the future");
  });

  test("reputation — at most maxReportersPerSubject reports are kept per subject, those of most standing", () => {
    const { t } = table(new Map(), 100, { maxReportersPerSubject: 4 });
    for (const r of [10, 11]) for (let i = 0; i < 4; i++) t.record(r, "good");
    for (let r = 100; r < 110; r++) t.addReport(r, 5, "invalid", 0);
    t.addReport(10, 5, "invalid", 0);
    t.addReport(11, 5, "invalid", 0);
    assert.equal(t.view(5).reporters, 4);
    assert.ok(t.view(5).reportWeight >= 0.39, "the two reporters with standing were kept");
  });
});
