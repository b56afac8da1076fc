import type { Clock } from "./clock.js";
import type { P2pOptions } from "./options.js";

/** What happened when this agent dealt with another one. */
export const Outcome = {
  /** It answered with valid data. */
  Good: "good",
  /** It did not answer in time (weighs `timeoutWeight`: messages get lost). */
  Timeout: "timeout",
  /** It sent forged, expired or malformed data (weighs `invalidWeight`). */
  Invalid: "invalid",
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Why an agent reports another. */
export const ReportReason = {
  /** It sent invalid data (forged or malformed records, bad signatures). */
  Invalid: "invalid",
  /** It stopped answering searches while still answering pings. */
  Unresponsive: "unresponsive",
} as const;
export type ReportReason = (typeof ReportReason)[keyof typeof ReportReason];

/** Below this direct score, a reporter has no standing whatever its tenure. */
const MIN_DIRECT_FOR_STANDING = 0.4;
const NO_STANDING: Standing = Object.freeze({ exp: 0, ten: 0 });

export function isReportReason(value: unknown): value is ReportReason {
  return value === ReportReason.Invalid || value === ReportReason.Unresponsive;
}

/** One agent's view of another. */
export interface ReputationView {
  twin: number;
  /**
   * In (0, 1): `(prior + good) / (2·prior + good + bad + trust·reports)`, where `trust` falls from 1 to ¼ as this
   * agent's own dealings with it reach `confidenceInteractions`; a stranger scores 0.5.
   */
  score: number;
  /** Decayed weight of good answers seen by this agent itself. */
  good: number;
  /** Decayed weight of timeouts and invalid data seen by this agent itself. */
  bad: number;
  /** Reporters whose report about it is held. */
  reporters: number;
  /** Weight those reports add to `bad` (each weighed by its reporter's standing, capped). */
  reportWeight: number;
  /** Its weight as a reporter, in [0, 1]: 0 for a fresh identity or one that misbehaved towards this agent. */
  standing: number;
}

interface Evidence {
  good: number;
  bad: number;
  /** When `good`/`bad` were last decayed. */
  at: number;
}

interface Report {
  reason: ReportReason;
  at: number;
  /** The reporter's standing from experience when the report arrived. */
  exp: number;
  /** Its standing from tenure when the report arrived (a fresh identity cannot gain weight by waiting). */
  ten: number;
}

/** Where a reporter's standing comes from. */
interface Standing {
  /** From this agent's direct dealings with it. */
  exp: number;
  /** From how long it has been a member. */
  ten: number;
}

/**
 * Local, behavioural reputation: a Beta-like score per agent from this agent's own dealings with it (good answers,
 * timeouts, invalid data; all decaying with a half-life), lowered by gossiped misbehaviour reports. A report weighs
 * its reporter's *standing* in this table. Standing comes from direct experience with the reporter (each good
 * answer it gave this agent adds `1/confidenceInteractions`; none at all if it misbehaved towards this agent) or,
 * for reporters this agent never dealt with, from tenure: how long it has been a member, rising as
 * `(age/tenureFullMs)²`, so fresh identities weigh about nothing. A reporter counts once per subject and at most
 * `reportWeight`; one reporting many agents is ignored. Reporters known by tenure only count as a *quorum*: their
 * reports reach the full weight only when they come from `reportQuorum` of the live members, so a group of
 * identities that merely stayed members long enough moves a stranger's view in proportion to its share of the
 * network. A report weighs the lower of its reporter's standing when it arrived and now, so an identity cannot
 * report while fresh and let the report gain weight as it ages. Standing is taken from direct experience and
 * tenure only, never from reports, so that colluders cannot vouch for each other.
 *
 * All reports about one agent together weigh at most `maxReportWeight`, which is small: hearsay alone never
 * brings a score below `priorWeight / (2·priorWeight + maxReportWeight)` (0.444), whoever the reporters are — a
 * stranger cannot tell colluders from honest witnesses, so reports only raise *doubt* ({@link inDoubt}). What
 * convicts is first-hand evidence: this agent's own dealings, including the check `search()` makes of a doubted
 * result before it filters by reputation.
 */
export class ReputationTable {
  readonly #o: P2pOptions;
  readonly #clock: Clock;
  readonly #tenureOf: (twin: number) => number;
  readonly #memberCount: () => number;
  readonly #evidence = new Map<number, Evidence>();
  readonly #reports = new Map<number, Map<number, Report>>();
  /** Decayed count of subjects each reporter reported. */
  readonly #load = new Map<number, Evidence>();

  constructor(
    options: P2pOptions,
    clock: Clock,
    tenureOf: (twin: number) => number,
    memberCount: () => number,
  ) {
    this.#o = options;
    this.#clock = clock;
    this.#tenureOf = tenureOf;
    this.#memberCount = memberCount;
  }

  /** Records one dealing with `twin`. */
  record(twin: number, outcome: Outcome): void {
    const e = this.#get(this.#evidence, twin, true)!;
    if (outcome === Outcome.Good) e.good += 1;
    else e.bad += outcome === Outcome.Timeout ? this.#o.timeoutWeight : this.#o.invalidWeight;
  }

  /**
   * Holds `reporter`'s report about `subject` (its latest only). Returns false when it is ignored: about the
   * reporter itself, older than the one held, or from the future.
   */
  addReport(reporter: number, subject: number, reason: ReportReason, at: number): boolean {
    const now = this.#clock.now();
    if (reporter === subject || at > now + this.#o.maxClockSkewMs) return false;
    let bySubject = this.#reports.get(subject);
    if (bySubject === undefined) {
      bySubject = new Map();
      this.#reports.set(subject, bySubject);
      this.#bound(this.#reports);
    }
    const held = bySubject.get(reporter);
    if (held !== undefined && held.at >= at) return false;
    if (held === undefined) this.#get(this.#load, reporter, true)!.good += 1;
    const now2 = this.#standing(reporter);
    bySubject.set(reporter, {
      reason,
      at,
      exp: Math.min(now2.exp, held?.exp ?? 1),
      ten: Math.min(now2.ten, held?.ten ?? 1),
    });
    if (bySubject.size > this.#o.maxReportersPerSubject) {
      // Keep the reporters that weigh most.
      let weakest: number | undefined;
      let low = Number.POSITIVE_INFINITY;
      for (const r of bySubject.keys()) {
        const s = this.standing(r);
        if (s < low) {
          low = s;
          weakest = r;
        }
      }
      if (weakest !== undefined) bySubject.delete(weakest);
    }
    return true;
  }

  /** The score of `twin` in (0, 1) (0.5 for a stranger). */
  score(twin: number): number {
    const e = this.#get(this.#evidence, twin, false);
    const p = this.#o.priorWeight;
    const good = e?.good ?? 0;
    const bad = e?.bad ?? 0;
    // Own experience first: with `confidenceInteractions` dealings of its own, reports count a quarter.
    const trust = 1 - 0.75 * Math.min(1, (good + bad) / this.#o.confidenceInteractions);
    return (p + good) / (2 * p + good + bad + trust * this.#reportWeight(twin));
  }

  /**
   * True when this agent has not itself had a good answer from `twin` lately but has a reason to distrust it:
   * the standing of its reporters adds up to `doubtStanding` (one old member's report; fresh identities, who weigh
   * about nothing, raise none), or it did not answer this agent (a timeout, which may be a lost message). Worth
   * checking at first hand before relying on it. Unlike the weight of reports in the score, this does not shrink
   * as the network grows.
   */
  inDoubt(twin: number): boolean {
    const e = this.#get(this.#evidence, twin, false);
    if ((e?.good ?? 0) >= 1) return false;
    return (e?.bad ?? 0) > 0 || this.reporterStanding(twin) >= this.#o.doubtStanding;
  }

  /** `twin`'s weight as a reporter, in [0, 1]. */
  standing(twin: number): number {
    const s = this.#standing(twin);
    return Math.min(1, Math.max(s.exp, s.ten));
  }

  #standing(twin: number): Standing {
    const e = this.#get(this.#evidence, twin, false);
    const good = e?.good ?? 0;
    const bad = e?.bad ?? 0;
    const load = this.#get(this.#load, twin, false)?.good ?? 0;
    if (load > this.#o.maxReportsPerReporter) return NO_STANDING;
    const n = good + bad;
    const p = this.#o.priorWeight;
    const direct = (p + good) / (2 * p + n);
    // It misbehaved towards us (more than a lost message or two): its word is worth nothing here.
    if (direct < MIN_DIRECT_FOR_STANDING) return NO_STANDING;
    const age = Math.min(1, this.#tenureOf(twin) / this.#o.tenureFullMs);
    return {
      exp: Math.min(1, good / this.#o.confidenceInteractions),
      ten: age * age,
    };
  }

  view(twin: number): ReputationView {
    const e = this.#get(this.#evidence, twin, false);
    return {
      twin,
      score: this.score(twin),
      good: e?.good ?? 0,
      bad: e?.bad ?? 0,
      reporters: this.#reports.get(twin)?.size ?? 0,
      reportWeight: this.#reportWeight(twin),
      standing: this.standing(twin),
    };
  }

  /** Twins this table holds evidence or reports about. */
  known(): number[] {
    return [...new Set([...this.#evidence.keys(), ...this.#reports.keys()])];
  }

  /**
   * The standing of the reporters of `subject` added up, each as its report weighs (the lower of then and now,
   * decayed); compared with `doubtStanding`.
   */
  reporterStanding(subject: number): number {
    const reports = this.#reports.get(subject);
    if (reports === undefined) return 0;
    const now = this.#clock.now();
    let sum = 0;
    for (const [reporter, r] of reports) {
      const s = this.#standing(reporter);
      const standing = Math.min(1, Math.max(Math.min(r.exp, s.exp), Math.min(r.ten, s.ten)));
      sum += standing * 2 ** (-Math.max(0, now - r.at) / this.#o.reputationHalfLifeMs);
    }
    return sum;
  }

  #reportWeight(subject: number): number {
    const reports = this.#reports.get(subject);
    if (reports === undefined) return 0;
    const now = this.#clock.now();
    let sum = 0;
    let byTenure = 0;
    for (const [reporter, r] of reports) {
      const age = Math.max(0, now - r.at);
      const now2 = this.#standing(reporter);
      const exp = Math.min(r.exp, now2.exp);
      const ten = Math.max(0, Math.min(r.ten, now2.ten) - exp);
      const decay = 2 ** (-age / this.#o.reputationHalfLifeMs);
      sum += exp * this.#o.reportWeight * decay;
      // Reporters known by tenure only count as heads towards the quorum.
      byTenure += ten * decay;
    }
    const quorum = Math.min(
      this.#o.maxReportersPerSubject,
      Math.max(3, this.#o.reportQuorum * this.#memberCount()),
    );
    const tenure = this.#o.maxReportWeight * Math.min(1, byTenure / quorum);
    return Math.min(sum + tenure, this.#o.maxReportWeight);
  }

  #get(map: Map<number, Evidence>, twin: number, create: boolean): Evidence | undefined {
    const now = this.#clock.now();
    let e = map.get(twin);
    if (e === undefined) {
      if (!create) return undefined;
      e = { good: 0, bad: 0, at: now };
      map.set(twin, e);
      this.#bound(map);
      return e;
    }
    if (now > e.at) {
      const f = 2 ** (-(now - e.at) / this.#o.reputationHalfLifeMs);
      e.good *= f;
      e.bad *= f;
      e.at = now;
    }
    return e;
  }

  #bound(map: Map<number, unknown>): void {
    while (map.size > this.#o.maxReputationEntries) {
      const oldest = map.keys().next();
      if (oldest.done === true) break;
      map.delete(oldest.value);
    }
  }
}
