/**
 * Simulation of P2P agents over a simulated bus: N agents (default 1000) in one process, on a virtual clock, with
 * message loss, crashes, comebacks, misbehaving agents and a colluding group. Prints Markdown tables (the figures
 * in docs/p2p.md come from here).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/p2p-sim.js
 *   P2P_N=1000 P2P_LOSS=0.05 P2P_SEED=1 P2P_SCALES=100,300 node dist/bench/p2p-sim.js
 *
 * Every size (P2P_N and P2P_SCALES) runs twice: with searches asking for up to maxResults, and for one result (the
 * same demand per agent at every N). P2P_SKIP=flood,scale,one,reputation leaves parts out; P2P_SAME_LOAD=1 also runs
 * the sizes with a tag vocabulary that grows with N (as many holders per tag value at every size);
 * P2P_WINDOW_START_MS (default 300000) is when the steady window starts; P2P_REP_SECONDS (default 300) sets the
 * reputation phase. A run with the default sizes takes about 8 minutes on 2 cores (2.7 GB); with
 * P2P_SCALES=100,300,3000 about 22 minutes and 5.3 GB (node --max-old-space-size=16000).
 */
import { P2P_DEFAULTS, type P2pAgent, type P2pOptions } from "../src/p2p/index.js";
import { machineLine } from "./harness.js";
import { forgingTransport, silentTransport } from "./p2p/misbehaviour.js";
import { type SearchSample, startSearchLoad } from "./p2p/workload.js";
import { World } from "./p2p/world.js";

const N = Number(process.env.P2P_N ?? 1000);
const LOSS = Number(process.env.P2P_LOSS ?? 0.05);
const SEED = Number(process.env.P2P_SEED ?? 1);
const SCALES = (process.env.P2P_SCALES ?? "100,300")
  .split(",")
  .filter((s) => s.length > 0)
  .map(Number);
const SKIP = new Set((process.env.P2P_SKIP ?? "").split(","));
const PERIOD = P2P_DEFAULTS.periodMs;
/** Each agent searches about once per this long. */
const SEARCH_EVERY_MS = 10_000;
/**
 * Length of the steady window in which traffic, suspicions and searches are measured: one record refresh period,
 * so that every periodic cost (records are re-signed and announced every 4–5 minutes) is in the rates.
 */
const STEADY_MS = P2P_DEFAULTS.recordRefreshMs;
/**
 * The steady window starts at this virtual time at every N (after the warm-up, which stops at 240 s): records
 * signed at the start are re-signed 225–300 s later, and again 225–300 s after that, so a window from 300 s holds
 * exactly one re-signing of every agent whatever N. (Started right after each warm-up, the window held one at
 * N = 100–1000 and about 1.5 at N = 3000.)
 */
const WINDOW_START_MS = Number(process.env.P2P_WINDOW_START_MS ?? 300_000);
/** Searches are summarised over the first and the last this many ms of the steady window. */
const SEARCH_WINDOW_MS = 30_000;
const KILLS = Math.max(2, Math.round(N / 50));
/** Length of the reputation phase (search load on, misbehaving agents and colluders at work). */
const REP_MS = Number(process.env.P2P_REP_SECONDS ?? 300) * 1000;

const realStart = performance.now();
const log = (msg: string): void => {
  console.error(`[${((performance.now() - realStart) / 1000).toFixed(1)} s] ${msg}`);
};

function pct(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const mean = (v: number[]): number => (v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length);
const f1 = (x: number): string => (Number.isNaN(x) ? "–" : x.toFixed(1));
const f2 = (x: number): string => (Number.isNaN(x) ? "–" : x.toFixed(2));
const pc = (x: number, digits = 1): string => (Number.isNaN(x) ? "–" : `${(100 * x).toFixed(digits)} %`);

/** Starts a world and runs it until every agent knows every other (or `maxMs`); returns the virtual ms it took. */
async function warmUp(world: World, maxMs = 240_000): Promise<number> {
  await world.startAll();
  const n = world.alive().length;
  const converged = (): boolean => world.alive().every((t) => world.agents.get(t)!.members().length >= n - 1);
  await world.net.runUntil(converged, maxMs, 5000);
  return world.net.now;
}

interface Traffic {
  messages: number;
  bytes: number;
  byCommand: Map<string, number>;
  bytesByCommand: Map<string, number>;
}

function trafficSnapshot(world: World): Traffic {
  const s = world.net.stats;
  return {
    messages: s.requests + s.responses,
    bytes: s.bytes,
    byCommand: new Map(s.byCommand),
    bytesByCommand: new Map(s.bytesByCommand),
  };
}

const SEARCH_COMMAND = "p2p.search";

function trafficRate(world: World, before: Traffic, sentBefore: Map<number, number>, ms: number, n: number) {
  const after = trafficSnapshot(world);
  const secs = ms / 1000;
  const perAgent = [...world.net.sentBy.entries()].map(([t, c]) => (c - (sentBefore.get(t) ?? 0)) / secs);
  const byCommand = new Map<string, number>();
  for (const [k, v] of after.byCommand) byCommand.set(k, (v - (before.byCommand.get(k) ?? 0)) / n / secs);
  const searchBytes =
    ((after.bytesByCommand.get(SEARCH_COMMAND) ?? 0) - (before.bytesByCommand.get(SEARCH_COMMAND) ?? 0)) /
    n /
    secs;
  const bytes = (after.bytes - before.bytes) / n / secs;
  return {
    msgs: (after.messages - before.messages) / n / secs,
    bytes,
    /** Bytes of everything but searches: membership, failure detection, gossip, sync, announcements. */
    protocolBytes: bytes - searchBytes,
    searchBytes,
    p99Agent: pct(perAgent, 99),
    byCommand,
  };
}

interface SearchSummary {
  count: number;
  success: number;
  within4: number;
  hops: number[];
  localHits: number;
  fromCache: number;
  rare: { count: number; success: number };
}

function summarize(samples: SearchSample[]): SearchSummary {
  const ok = samples.filter((s) => (s.response?.results.length ?? 0) > 0);
  const hops = ok.map((s) => s.response!.hops ?? 0);
  const rare = samples.filter((s) => s.holders === 1);
  return {
    count: samples.length,
    success: ok.length / samples.length,
    within4: ok.filter((s) => (s.response!.hops ?? 99) <= 4).length / samples.length,
    hops,
    localHits: ok.filter((s) => s.response!.hops === 0).length / samples.length,
    fromCache: ok.filter((s) => s.response!.fromCache).length / Math.max(1, ok.length),
    rare: {
      count: rare.length,
      success: rare.filter((s) => (s.response?.results.length ?? 0) > 0).length / Math.max(1, rare.length),
    },
  };
}

function hopHistogram(hops: number[]): string {
  const h = [0, 0, 0, 0, 0];
  for (const x of hops) h[Math.min(4, x)]!++;
  const total = Math.max(1, hops.length);
  return h.map((c, i) => `${i}: ${((100 * c) / total).toFixed(1)} %`).join(", ");
}

// ───────────────────────────── main world: membership, failures, search, traffic ─────────────────────────────

interface MainResult {
  warmupMs: number;
  /** Mean results per answered search in the steady window (each answer carries at most `maxResults`). */
  resultsPerSearch: number;
  probes: number;
  falseSuspicions: number;
  falseDeathDeclarations: number;
  falseDeathObservers: number;
  refutations: number;
  /** Traffic in the steady window, and the misbehaviour reports agents filed in it (all honest: lost messages). */
  traffic: ReturnType<typeof trafficRate> & { reportsFiled: number };
  searchesEarly: SearchSummary;
  searchesLate: SearchSummary;
  deathPeriods: number[];
  firstDeclarationPeriods: number[];
  rejoinPeriods: number[];
  searchDuringChurn: SearchSummary;
}

interface WorldRun {
  /** Crash and restart agents after the steady window. @default false */
  failures?: boolean;
  /** See {@link World}. @default 1 */
  vocabularyScale?: number;
  /** Results each search asks for (`limit`). @default the agents' maxResults */
  searchLimit?: number;
}

async function mainWorld(n: number, options: Partial<P2pOptions>, run: WorldRun = {}): Promise<MainResult> {
  const { failures: withFailures = false, vocabularyScale = 1, searchLimit } = run;
  const world = new World({ n, seed: SEED, loss: LOSS, options, vocabularyScale });
  const warmupMs = await warmUp(world);
  log(`n=${n} warm: ${(warmupMs / 1000).toFixed(0)} s virtual`);
  await world.net.run(Math.max(0, WINDOW_START_MS - world.net.now));
  const killed = new Set<number>();
  const deadSeen = new Map<number, Map<number, number>>();
  let falseSuspicions = 0;
  let falseDeathDeclarations = 0;
  const falseDeathPairs = new Set<string>();
  world.listeners.add((observer, e) => {
    if (e.type !== "member") return;
    const actuallyDown = killed.has(e.twin);
    if (e.state === "suspect" && e.cause === "probe" && !actuallyDown) falseSuspicions++;
    if (e.state === "dead" && !actuallyDown) {
      if (e.cause === "suspicion-timeout" || e.cause === "confirmed") falseDeathDeclarations++;
      falseDeathPairs.add(`${observer}:${e.twin}`);
    }
    if (e.state === "dead" && actuallyDown) {
      let m = deadSeen.get(e.twin);
      if (m === undefined) {
        m = new Map();
        deadSeen.set(e.twin, m);
      }
      if (!m.has(observer)) m.set(observer, world.net.now);
    }
  });
  type Stats = ReturnType<P2pAgent["stats"]>;
  /** A counter summed over all agents. */
  const sumStat = (of: (s: Stats) => number): number =>
    [...world.agents.values()].reduce((a, x) => a + of(x.stats()), 0);
  const reportsFiled = (): number => sumStat((s) => s.reports.filed);

  // Steady window: search load, no crashes.
  const samples: SearchSample[] = [];
  const stopLoad = startSearchLoad(
    world,
    { everyMs: SEARCH_EVERY_MS, ...(searchLimit === undefined ? {} : { limit: searchLimit }) },
    (s) => samples.push(s),
  );
  const reports0 = reportsFiled();
  const probes0 = sumStat((s) => s.membership.probes);
  const ref0 = sumStat((s) => s.membership.refutations);
  const t0 = trafficSnapshot(world);
  const sent0 = new Map(world.net.sentBy);
  const windowStart = world.net.now;
  await world.net.run(STEADY_MS);
  const traffic = { ...trafficRate(world, t0, sent0, STEADY_MS, n), reportsFiled: reportsFiled() - reports0 };
  const probes = sumStat((s) => s.membership.probes) - probes0;
  const refutations = sumStat((s) => s.membership.refutations) - ref0;
  const windowEnd = windowStart + STEADY_MS;
  const searchesEarly = summarize(samples.filter((s) => s.at < windowStart + SEARCH_WINDOW_MS));
  const searchesLate = summarize(
    // The last searches of the window may still be under way when it ends.
    samples.filter((s) => s.at >= windowEnd - SEARCH_WINDOW_MS - 6000 && s.at < windowEnd - 6000),
  );
  const answeredSamples = samples.filter((x) => (x.response?.results.length ?? 0) > 0);
  const resultsPerSearch = mean(answeredSamples.map((x) => x.response!.results.length));
  log(`n=${n} steady window done: ${samples.length} searches`);

  const deathPeriods: number[] = [];
  const firstDeclarationPeriods: number[] = [];
  const rejoinPeriods: number[] = [];
  let searchDuringChurn = summarize([]);
  if (withFailures) {
    // Crashes: KILLS agents at random times within 10 s; the search load goes on (about the living).
    const churnSamples: SearchSample[] = [];
    stopLoad();
    const stopChurnLoad = startSearchLoad(
      world,
      { everyMs: SEARCH_EVERY_MS, targets: () => world.alive() },
      (s) => churnSamples.push(s),
    );
    const candidates = world.alive();
    const victims: number[] = [];
    while (victims.length < KILLS) {
      const v = candidates[Math.floor(world.random() * candidates.length)]!;
      if (!victims.includes(v)) victims.push(v);
    }
    const killAt = new Map<number, number>();
    const observersAt = new Map<number, number[]>();
    for (const v of victims) {
      world.net.clock.setTimeout(() => {
        killed.add(v);
        observersAt.set(
          v,
          world.alive().filter((t) => t !== v),
        );
        world.kill(v);
        killAt.set(v, world.net.now);
      }, world.random() * 10_000);
    }
    const allKnow = (v: number): boolean => {
      const obs = observersAt.get(v);
      if (obs === undefined) return false;
      return obs.every((o) => {
        const a = world.agents.get(o)!;
        if (!a.running) return true;
        const m = a.member(v);
        return m === undefined || m.state === "dead";
      });
    };
    const knownAt = new Map<number, number>();
    await world.net.runUntil(
      () => {
        for (const v of victims) if (!knownAt.has(v) && allKnow(v)) knownAt.set(v, world.net.now);
        return knownAt.size === victims.length;
      },
      60_000,
      50,
    );
    for (const v of victims) {
      const k = knownAt.get(v);
      deathPeriods.push(k === undefined ? Number.POSITIVE_INFINITY : (k - killAt.get(v)!) / PERIOD);
      const first = Math.min(...(deadSeen.get(v)?.values() ?? [Number.POSITIVE_INFINITY]));
      firstDeclarationPeriods.push((first - killAt.get(v)!) / PERIOD);
    }
    log(`n=${n} deaths known: max ${f1(Math.max(...deathPeriods))} periods`);
    log(`  first declaration: ${firstDeclarationPeriods.map(f1).join(" ")}`);
    log(`  known by all:      ${deathPeriods.map(f1).join(" ")}`);
    await world.net.run(5000);
    // Comebacks: the crashed agents restart (fresh state, same keys) and join 3 random live agents.
    const backAt = new Map<number, number>();
    for (const v of victims) {
      const live = world.alive();
      const boot = [0, 1, 2].map(() => live[Math.floor(world.random() * live.length)]!);
      killed.delete(v);
      world.restart(v, boot);
      backAt.set(v, world.net.now);
    }
    const rejoined = new Map<number, number>();
    await world.net.runUntil(
      () => {
        for (const v of victims) {
          if (rejoined.has(v)) continue;
          const everyone = world
            .alive()
            .every((o) => o === v || world.agents.get(o)!.member(v)?.state === "alive");
          if (everyone) rejoined.set(v, world.net.now);
        }
        return rejoined.size === victims.length;
      },
      60_000,
      50,
    );
    for (const v of victims) {
      const r = rejoined.get(v);
      rejoinPeriods.push(r === undefined ? Number.POSITIVE_INFINITY : (r - backAt.get(v)!) / PERIOD);
    }
    stopChurnLoad();
    await world.net.run(6000);
    searchDuringChurn = summarize(churnSamples);
    log(`n=${n} comebacks: max ${f1(Math.max(...rejoinPeriods))} periods`);
  } else {
    stopLoad();
  }
  return {
    warmupMs,
    resultsPerSearch,
    probes,
    falseSuspicions,
    falseDeathDeclarations,
    falseDeathObservers: falseDeathPairs.size,
    refutations,
    traffic,
    searchesEarly,
    searchesLate,
    deathPeriods,
    firstDeclarationPeriods,
    rejoinPeriods,
    searchDuringChurn,
  };
}

// ───────────────────────────── reputation world ─────────────────────────────

/** Shares of search results that are forgers, silent agents, either. */
interface Share {
  all: number;
  forgers: number;
  silent: number;
}

/** How one class of agents is seen by the honest agents. */
interface Seen {
  /** Scores by every honest observer. */
  all: number[];
  /** Scores by the observers that dealt with them directly (first-hand evidence, checks included). */
  direct: number[];
}

interface RepResult {
  classes: { name: string; seen: Seen }[];
  colluders: number;
  /** Share of the results honest agents got that are forgers or silent agents. */
  misbehavingShare: { plain: Share; filteredFirst: Share; filtered: Share };
  answered: { plain: number; filtered: number };
  checksPerSearch: number;
}

const REP_THRESHOLD = 0.4;
/** The window (first and last) of the reputation phase over which search results are measured. */
const LAST_MS = 60_000;

async function reputationWorld(n: number): Promise<RepResult> {
  // Reputation needs tenure: it is scaled down to the length of a simulation (10 min by default, 60 s here).
  const options: Partial<P2pOptions> = { tenureFullMs: 60_000 };
  const world = new World({ n, seed: SEED + 1, loss: LOSS, options });
  world.populate(n);
  const bad = Math.round(n * 0.05);
  const forgers = new Set<number>();
  const silent = new Set<number>();
  const ids = [...world.tags.keys()].filter((t) => t > 5);
  while (forgers.size < bad) forgers.add(ids[Math.floor(world.random() * ids.length)]!);
  while (silent.size < bad) {
    const t = ids[Math.floor(world.random() * ids.length)]!;
    if (!forgers.has(t)) silent.add(t);
  }
  const rnd = world.random;
  for (const t of forgers) {
    world.wrap.set(t, (tr) =>
      forgingTransport(
        tr,
        rnd,
        () => n,
        () => world.net.now,
      ),
    );
  }
  for (const t of silent) world.wrap.set(t, (tr) => silentTransport(tr));
  await warmUp(world);
  log(`reputation world warm (${forgers.size} forgers, ${silent.size} silent)`);
  const honest = () => world.alive().filter((t) => !forgers.has(t) && !silent.has(t) && t <= n);
  let framed = honest()[Math.floor(world.random() * honest().length)]!;
  while (framed <= 5) framed = honest()[Math.floor(world.random() * honest().length)]!;

  let framed2 = framed;
  while (framed2 === framed || framed2 <= 5)
    framed2 = honest()[Math.floor(world.random() * honest().length)]!;
  // Two colluding groups of 20 identities that offer nothing: one joins now and waits until it has full tenure.
  const join = (from: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      const twin = from + i;
      world.identity(twin);
      world.tags.delete(twin);
      const live = honest();
      void world
        .agent(
          twin,
          [0, 1, 2].map(() => live[Math.floor(world.random() * live.length)]!),
        )
        .start();
      out.push(twin);
    }
    return out;
  };
  const aged = join(n + 1);
  // Honest agents with an odd twin id search with minReputation (and so check results in doubt); the others
  // search without a filter: the two halves see the same network at the same time.
  const filters = (t: number): boolean => t % 2 === 1 && !forgers.has(t) && !silent.has(t) && t <= n;
  const targets = (): number[] => world.alive().filter((t) => t <= n);
  const samples: SearchSample[] = [];
  const filteredSamples: SearchSample[] = [];
  const stopPlain = startSearchLoad(
    world,
    { everyMs: SEARCH_EVERY_MS, targets, askers: () => world.alive().filter((t) => !filters(t)) },
    (s) => samples.push(s),
  );
  const stopFiltered = startSearchLoad(
    world,
    {
      everyMs: SEARCH_EVERY_MS,
      targets,
      askers: () => world.alive().filter(filters),
      minReputation: REP_THRESHOLD,
    },
    (s) => filteredSamples.push(s),
  );
  const sumChecks = (): number => [...world.agents.values()].reduce((a, x) => a + x.stats().search.checks, 0);
  const start = world.net.now;
  await world.net.run(60_000);
  // The other group is fresh: it joins and files false reports against one honest agent 2 s later.
  const fresh = join(n + 21);
  await world.net.run(2000);
  for (const c of fresh) world.agents.get(c)!.report(framed, "invalid");
  await world.net.run(10_000);
  // The aged group (72 s old, tenure full after 60 s here) frames another honest agent.
  for (const c of aged) world.agents.get(c)!.report(framed2, "invalid");
  await world.net.run(Math.max(10_000, REP_MS - 72_000 - LAST_MS));
  const lastFrom = world.net.now;
  const checks0 = sumChecks();
  await world.net.run(LAST_MS);
  const checksLast = sumChecks() - checks0;
  stopPlain();
  stopFiltered();
  await world.net.run(6000);
  const inLast = (ss: SearchSample[]): SearchSample[] => ss.filter((x) => x.at >= lastFrom);
  const inFirst = (ss: SearchSample[]): SearchSample[] => ss.filter((x) => x.at < start + LAST_MS);

  const observers = honest().filter((t) => t !== framed && t !== framed2);
  const seen = (subjects: Iterable<number>): Seen => {
    const all: number[] = [];
    const direct: number[] = [];
    for (const subject of subjects) {
      for (const o of observers) {
        if (o === subject) continue;
        const v = world.agents.get(o)!.reputationOf(subject);
        all.push(v.score);
        if (v.good + v.bad > 0) direct.push(v.score);
      }
    }
    return { all, direct };
  };
  const misShare = (ss: SearchSample[]): Share => {
    let total = 0;
    let forging = 0;
    let silence = 0;
    for (const s of ss) {
      for (const r of s.response?.results ?? []) {
        total++;
        if (forgers.has(r.twin)) forging++;
        if (silent.has(r.twin)) silence++;
      }
    }
    const d = Math.max(1, total);
    return { all: (forging + silence) / d, forgers: forging / d, silent: silence / d };
  };
  const answered = (ss: SearchSample[]): number =>
    ss.filter((s) => (s.response?.results.length ?? 0) > 0).length / Math.max(1, ss.length);
  const honestAsker = (x: SearchSample): boolean =>
    x.asker <= n && !forgers.has(x.asker) && !silent.has(x.asker);
  const plain = samples.filter(honestAsker);
  return {
    classes: [
      { name: "honest (100 of them)", seen: seen(observers.slice(0, 100)) },
      { name: "forgers (answer searches with forged records)", seen: seen(forgers) },
      { name: "silent (never answer searches)", seen: seen(silent) },
      { name: "honest agent framed by 20 fresh identities", seen: seen([framed]) },
      { name: "honest agent framed by 20 identities of full tenure", seen: seen([framed2]) },
    ],
    colluders: fresh.length,
    misbehavingShare: {
      plain: misShare(inLast(plain)),
      filteredFirst: misShare(inFirst(filteredSamples)),
      filtered: misShare(inLast(filteredSamples)),
    },
    answered: { plain: answered(inLast(plain)), filtered: answered(inLast(filteredSamples)) },
    checksPerSearch: checksLast / Math.max(1, inLast(filteredSamples).length + inLast(samples).length),
  };
}

// ───────────────────────────── run and print ─────────────────────────────

console.log(`## P2P agents: simulation of ${N} agents, ${pc(LOSS, 0)} message loss, seed ${SEED}\n`);
console.log(machineLine());
console.log("");
console.log(
  `Protocol period ${PERIOD} ms; one-way latency 10 ms + exp(mean 20 ms); every agent searches a random existing tag every ${SEARCH_EVERY_MS / 1000} s on average.`,
);

const main = await mainWorld(N, {}, { failures: true });
type Scaled = MainResult["traffic"] & { resultsPerSearch: number };
const scaled = (r: MainResult): Scaled => ({ ...r.traffic, resultsPerSearch: r.resultsPerSearch });
const allSizes = [...new Set([N, ...SCALES])].sort((a, b) => a - b);
/** The default workload: every search asks for up to maxResults, so answers carry more records where more agents hold the tag. */
const scale = new Map<number, Scaled>([[N, scaled(main)]]);
if (!SKIP.has("scale")) {
  for (const n of allSizes) if (n !== N) scale.set(n, scaled(await mainWorld(n, {})));
}
/**
 * The same demand per agent at every N: every search asks for one result (`limit` 1; every tag asked for has a
 * holder), so an answer carries one record whatever the number of agents holding the tag, and what is left to
 * vary with N is the protocol: how often an agent's own cache answers, where the query goes, membership, gossip.
 */
const oneResult = new Map<number, Scaled>();
if (!SKIP.has("scale") && !SKIP.has("one")) {
  for (const n of allSizes) oneResult.set(n, scaled(await mainWorld(n, {}, { searchLimit: 1 })));
}
/**
 * The same load per agent at every N: the tag vocabulary grows with N (the base vocabulary at the smallest N), so a
 * tag value has as many holders on average at every size and a search matches as many agents. With the fixed
 * vocabulary above, a tag has ten times the holders at N = 1000 as at 100, and answers carry more records (up to
 * maxResults): more of the network matches, not more protocol per agent.
 */
const sameLoad = new Map<number, Scaled>();
if (!SKIP.has("scale") && process.env.P2P_SAME_LOAD === "1") {
  const smallest = allSizes[0]!;
  for (const n of allSizes) {
    if (n === smallest) {
      sameLoad.set(n, scale.get(n)!);
      continue;
    }
    sameLoad.set(n, scaled(await mainWorld(n, {}, { vocabularyScale: n / smallest })));
  }
}
let flood: MainResult | undefined;
if (!SKIP.has("flood")) flood = await mainWorld(N, { homeReplicas: 0 });
let rep: RepResult | undefined;
if (!SKIP.has("reputation")) rep = await reputationWorld(N);

const maxDeath = Math.max(...main.deathPeriods);
const falseRate = main.falseSuspicions / Math.max(1, main.probes);
const sizes = [...scale.keys()].sort((a, b) => a - b);
/** "Independent of N": the largest per-agent rate over the sizes is at most this times the smallest. */
const FLAT = 1.25;
const spreadOf = (xs: number[]): number => Math.max(...xs) / Math.min(...xs);
const msgs = sizes.map((n) => scale.get(n)!.msgs);
const protocolBytes = sizes.map((n) => scale.get(n)!.protocolBytes);
const allBytes = sizes.map((n) => scale.get(n)!.bytes);
/**
 * A row of per-agent rates over the sizes `ns`. Without `notJudged` the target applies (the same demand per agent
 * at every N); with it the row is shown for information, `notJudged` saying why the demand itself changes with N.
 */
const flatRow = (
  what: string,
  xs: number[],
  digits: (x: number) => string,
  ns = sizes,
  notJudged?: string,
): void => {
  const sp = spreadOf(xs);
  const target = notJudged === undefined ? `independent of N (max/min ≤ ${FLAT})` : `no target: ${notJudged}`;
  const met = notJudged === undefined ? (sp <= FLAT ? "yes" : "NOT met") : "–";
  console.log(
    `| ${what} at N = ${ns.join(" / ")} | ${xs.map(digits).join(" / ")} (max/min ${f2(sp)}) | ${target} | ${met} |`,
  );
};
const f0 = (x: number): string => String(Math.round(x));

console.log("\n### Targets\n");
console.log("| measure | result | target | met |");
console.log("|---|---:|---:|:-:|");
console.log(
  `| death known by all agents (max over ${main.deathPeriods.length} crashes) | ${f1(maxDeath)} periods | ≤ 10 periods | ${maxDeath <= 10 ? "yes" : "NOT met"} |`,
);
console.log(
  `| false suspicions / probes at ${pc(LOSS, 0)} loss | ${pc(falseRate, 3)} | < 1 % | ${falseRate < 0.01 ? "yes" : "NOT met"} |`,
);
console.log(
  `| searches for an existing tag answered within 4 hops | ${pc(main.searchesLate.within4, 2)} | ≥ 99 % | ${main.searchesLate.within4 >= 0.99 ? "yes" : "NOT met"} |`,
);
flatRow("messages per agent per second (all traffic)", msgs, f2);
flatRow(
  "bytes per agent per second without search (membership, gossip, sync, announcements)",
  protocolBytes,
  f0,
);
const oneSizes = [...oneResult.keys()].sort((a, b) => a - b);
if (oneSizes.length > 1) {
  flatRow(
    "bytes per agent per second (all traffic, search answers included), each search asking for one result",
    oneSizes.map((n) => oneResult.get(n)!.bytes),
    f0,
    oneSizes,
  );
}
flatRow(
  `bytes per agent per second (all traffic, search answers included), each search asking for up to ${P2P_DEFAULTS.maxResults} results`,
  allBytes,
  f0,
  sizes,
  `a tag has more holders at larger N, so answers carry more records (up to ${P2P_DEFAULTS.maxResults}): more is asked for and found`,
);
const sameSizes = [...sameLoad.keys()].sort((a, b) => a - b);
if (sameSizes.length > 1) {
  const why = "the tag vocabulary grows with N, so an agent's cache covers less of what is asked";
  flatRow(
    "messages per agent per second (all traffic), tag vocabulary growing with N",
    sameSizes.map((n) => sameLoad.get(n)!.msgs),
    f2,
    sameSizes,
    why,
  );
  flatRow(
    "bytes per agent per second (all traffic), tag vocabulary growing with N",
    sameSizes.map((n) => sameLoad.get(n)!.bytes),
    f0,
    sameSizes,
    why,
  );
}

console.log("\n### Membership (SWIM) \n");
console.log("| measure | value |");
console.log("|---|---:|");
console.log(`| warm-up: all ${N} agents know each other after | ${f1(main.warmupMs / 1000)} s virtual |`);
console.log(`| probes in the ${STEADY_MS / 1000} s steady window | ${main.probes} |`);
console.log(
  `| false suspicions (first hand, agent alive) | ${main.falseSuspicions} (${pc(falseRate, 3)} of probes) |`,
);
console.log(
  `| false deaths declared / (observer, agent) pairs marked dead while alive | ${main.falseDeathDeclarations} / ${main.falseDeathObservers} |`,
);
console.log(`| refutations (incarnation raised) | ${main.refutations} |`);
console.log(
  `| crash → first agent declares it dead: mean / max | ${f1(mean(main.firstDeclarationPeriods))} / ${f1(Math.max(...main.firstDeclarationPeriods))} periods |`,
);
console.log(
  `| crash → known dead by all: mean / p50 / max | ${f1(mean(main.deathPeriods))} / ${f1(pct(main.deathPeriods, 50))} / ${f1(maxDeath)} periods |`,
);
console.log(
  `| restart → alive again for all: mean / max | ${f1(mean(main.rejoinPeriods))} / ${f1(Math.max(...main.rejoinPeriods))} periods |`,
);

console.log("\n### Search\n");
const srow = (name: string, s: SearchSummary): void => {
  console.log(
    `| ${name} | ${s.count} | ${pc(s.success, 2)} | ${pc(s.within4, 2)} | ${pc(s.rare.success, 1)} (${s.rare.count}) | ${f2(mean(s.hops))} / ${pct(s.hops, 99) ?? "–"} | ${pc(s.localHits)} | ${pc(s.fromCache)} |`,
  );
};
console.log(
  "| phase | searches | answered | within 4 hops | unique tags answered (n) | hops mean / p99 | own-cache hits | answered from a cache |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
srow("first 30 s", main.searchesEarly);
srow("after warm-up (last 30 s)", main.searchesLate);
srow(`during ${KILLS} crashes and comebacks`, main.searchDuringChurn);
if (flood !== undefined) srow("neighbour flooding only (homeReplicas 0), last 30 s", flood.searchesLate);
console.log(`\nHops (after warm-up): ${hopHistogram(main.searchesLate.hops)}`);

console.log("\n### Traffic per agent (steady window, search load on)\n");
console.log(
  "| N | searches ask for | tag vocabulary | messages/s | bytes/s | of which search | p99 agent messages/s | ping | ping-req | gossip | search | announce | sync | bytes per search request | results per answered search | reports filed in the window |",
);
console.log("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
const trafficRow = (n: number, limit: string, vocabulary: string, t: Scaled): void => {
  const c = (k: string): string => f2(t.byCommand.get(`p2p.${k}`) ?? 0);
  const perRequest = t.searchBytes / Math.max(1e-9, t.byCommand.get(SEARCH_COMMAND) ?? 0);
  console.log(
    `| ${n} | ${limit} | ${vocabulary} | ${f2(t.msgs)} | ${f0(t.bytes)} | ${f0(t.searchBytes)} | ${f2(t.p99Agent)} | ${c("ping")} | ${c("ping-req")} | ${c("gossip")} | ${c("search")} | ${c("announce")} | ${c("sync")} | ${f0(perRequest)} | ${f1(t.resultsPerSearch)} | ${t.reportsFiled} |`,
  );
};
const upTo = `up to ${P2P_DEFAULTS.maxResults}`;
for (const n of sizes) trafficRow(n, upTo, "fixed", scale.get(n)!);
for (const n of oneSizes) trafficRow(n, "1", "fixed", oneResult.get(n)!);
const smallestSame = sameSizes[0];
for (const n of sameSizes)
  if (n !== smallestSame) trafficRow(n, upTo, `× ${f1(n / smallestSame!)}`, sameLoad.get(n)!);
console.log(
  `\n(messages = requests + answers; bytes = JSON bodies of both; the command columns count requests per agent per second; a search request's bytes are the query and its answer, which carries at most maxResults = ${P2P_DEFAULTS.maxResults} records.)`,
);

if (rep !== undefined) {
  console.log(
    `\n### Reputation after ${REP_MS / 1000} s of searches (${Math.round(N * 0.05)} forgers, ${Math.round(N * 0.05)} silent agents, two groups of ${rep.colluders} colluders framing honest agents)\n`,
  );
  console.log(
    `| agents | all honest agents: mean score | p10 | share below ${REP_THRESHOLD} | first hand: (observer, agent) pairs | mean score | share below ${REP_THRESHOLD} |`,
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const below = (xs: number[]): number => xs.filter((x) => x < REP_THRESHOLD).length / Math.max(1, xs.length);
  for (const { name, seen } of rep.classes) {
    console.log(
      `| ${name} | ${f2(mean(seen.all))} | ${f2(pct(seen.all, 10))} | ${pc(below(seen.all))} | ${seen.direct.length} | ${f2(mean(seen.direct))} | ${pc(below(seen.direct))} |`,
    );
  }
  const share = (x: Share): string => `${pc(x.all)} (forgers ${pc(x.forgers)}, silent ${pc(x.silent)})`;
  const m = rep.misbehavingShare;
  console.log(`\nSearch results that are misbehaving agents, honest askers, last ${LAST_MS / 1000} s:\n`);
  console.log(
    `- searching without a filter: ${share(m.plain)}, searches answered ${pc(rep.answered.plain, 2)};`,
  );
  console.log(
    `- searching with minReputation ${REP_THRESHOLD}: ${share(m.filtered)}, searches answered ${pc(rep.answered.filtered, 2)}, ${f2(rep.checksPerSearch)} first-hand checks per search made by anybody (checks of results in doubt and after timeouts) (first ${LAST_MS / 1000} s of the phase: ${share(m.filteredFirst)}).`,
  );
}
log("done");
