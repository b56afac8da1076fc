import { InvalidArgumentError } from "../errors.js";

/**
 * Every limit and timer of a {@link P2pAgent}. All are optional in {@link P2pAgentConfig.options}; the defaults are
 * {@link P2P_DEFAULTS}.
 */
export interface P2pOptions {
  // ── membership (SWIM) ──
  /** Protocol period: each period an agent probes one member. @default 1000 */
  periodMs: number;
  /** How long a direct ping waits for its ack before indirect probes are tried. @default 300 */
  pingTimeoutMs: number;
  /** Members asked to ping a target that did not answer (`ping-req`). @default 3 */
  indirectProbes: number;
  /** Periods a member stays suspect (while being re-probed every period) before it is declared dead. @default 3 */
  suspicionPeriods: number;
  /** Suspects re-probed per period on top of the round-robin probe. @default 4 */
  maxSuspectProbes: number;
  /** Each membership update rides on `retransmitMult × ⌈log10(n+1)⌉` pings/acks. @default 4 */
  retransmitMult: number;
  /** Membership updates carried by one ping or ack. @default 8 */
  maxPiggyback: number;
  /** Membership updates waiting to be piggybacked (beyond, the oldest are dropped). @default 512 */
  maxUpdateBuffer: number;
  /**
   * A membership update is piggybacked for at most this many periods after it was queued: by then it reached
   * everybody or was superseded (the sync repairs the rest). Keeps a burst of news (a thousand joins) from filling
   * every message for minutes. @default 30
   */
  maxUpdateAgePeriods: number;
  /** Members sent in an answer to `p2p.join` (and taken from one bulk list). @default 4096 */
  maxJoinMembers: number;
  /**
   * Every this many periods an agent compares a digest of its member list with a random member's and swaps the
   * entries where they differ (push-pull anti-entropy: repairs whatever gossip and piggybacking missed). @default 20
   */
  syncPeriods: number;
  /** Member entries sent in one `p2p.sync` message when digests differ (the rest at the next sync). @default 512 */
  maxSyncMembers: number;
  /** With no live member left, re-join the bootstrap agents every this many periods. @default 5 */
  rejoinPeriods: number;
  /** Candidates from `P2pAgentConfig.discover` asked to let this agent join at once. @default 8 */
  discoverBatch: number;
  /** With no live member left, ask `P2pAgentConfig.discover` again every this many periods. @default 30 */
  discoverPeriods: number;
  /** How long a dead member is remembered (so that stale news cannot resurrect it). @default 120000 */
  deadRetentionMs: number;
  /** Members known at most (alive, suspect and remembered dead). @default 100000 */
  maxMembers: number;
  /** An update whose incarnation is more than this above the one known is ignored (a lying neighbour). @default 1000000 */
  maxIncarnationStep: number;
  // ── gossip ──
  /**
   * Members each gossip message is pushed to by every agent that gets it first. A push reaches all but about
   * e^−fanout of the agents (≈ 2 % at 4, 0.25 % at 6); the rest learn a death by piggybacking, which in a burst of
   * deaths can take several periods. @default 6
   */
  gossipFanout: number;
  /** Hops a gossip message travels at most. @default 8 */
  gossipMaxHops: number;
  /** Gossip ids remembered for duplicate suppression. @default 20000 */
  gossipSeenSize: number;
  /** How long a gossip id is remembered. @default 300000 */
  gossipSeenTtlMs: number;
  /** Timeout of one gossip push. @default 2000 */
  gossipTimeoutMs: number;
  // ── overlay, records, search ──
  /** Overlay neighbours (drawn from live members, replaced when they die). @default 8 */
  maxNeighbours: number;
  /**
   * Home agents per tag (rendezvous hashing over the member list): owners announce their record to the homes of each
   * of their tags, and searches go to those homes first. 0 = pure neighbour flooding. @default 3
   */
  homeReplicas: number;
  /** Lifetime of an agent's signed service record. @default 600000 */
  recordTtlMs: number;
  /** An agent signs (and announces) a fresh record this often; must be below {@link recordTtlMs}. @default 300000 */
  recordRefreshMs: number;
  /**
   * Each fresh record is re-signed after `recordRefreshMs × (1 − recordRefreshJitter × u)`, u drawn uniformly from
   * [0, 1), so that agents started together (a deployment, a network after an outage) do not re-sign and announce
   * in step. Below 1. @default 0.25
   */
  recordRefreshJitter: number;
  /** Every this many periods an agent announces its record to homes/neighbours that do not have it yet. @default 5 */
  announcePeriods: number;
  /** Tolerated clock difference for record and report times. @default 60000 */
  maxClockSkewMs: number;
  /** Records cached (LRU). @default 4096 */
  cacheSize: number;
  /** How long a record learnt from others is cached (at most until it expires). @default 300000 */
  cacheTtlMs: number;
  /** Longest tag value, in characters. @default 64 */
  maxTagLength: number;
  /** Agents a search is forwarded to by each agent that cannot answer it. @default 3 */
  searchFanout: number;
  /**
   * A forwarded search goes to one agent at a time: to the next when the previous answered nothing or after this
   * long without an answer (a hedged request: a lost message costs this much, and the agents that would have
   * answered the same records are not asked). @default 250
   */
  searchHedgeMs: number;
  /** Hop limit of searches (a caller may ask for less). @default 4 */
  searchMaxHops: number;
  /** Time granted per remaining hop to a forwarded search. @default 1000 */
  searchHopTimeoutMs: number;
  /**
   * Records one search answer carries at most: what an agent returns to an asker, forwards back along the path,
   * and takes from an answer it gets (the rest of a longer answer is ignored, not cached). When more records
   * match, the best are chosen: highest reputation in the answering agent's table first, then the freshest
   * (latest signed). The asker may ask for fewer (`SearchOptions.limit`). It bounds the bytes of an answer (≈ 340
   * per record) whatever the number of agents holding the tag, so a search costs the same in a network of a
   * hundred or of a million agents. @default 8
   */
  maxResults: number;
  /** Search ids remembered for duplicate suppression. @default 20000 */
  searchSeenSize: number;
  /** Records whose verified signature is remembered (verification cache). @default 8192 */
  verifiedCacheSize: number;
  // ── reputation ──
  /** Prior successes and failures of the Beta score (a stranger scores priorGood/(priorGood+priorBad)). @default 2 */
  priorWeight: number;
  /** Weight of a timeout in the score (a good answer weighs 1). @default 0.5 */
  timeoutWeight: number;
  /** Weight of invalid data (forged, expired or malformed) in the score. @default 4 */
  invalidWeight: number;
  /** Half-life of behavioural evidence and reports. @default 3600000 */
  reputationHalfLifeMs: number;
  /** Most a single report weighs (from a reporter of full standing), in failures. @default 0.2 */
  reportWeight: number;
  /**
   * Cap of the total weight of reports about one agent, in failures. It bounds what hearsay alone can do: a
   * stranger's score falls at most to `priorWeight / (2·priorWeight + maxReportWeight)` (0.444 by default, above the
   * recommended `minReputation` 0.4 even after a timeout of this agent's own: 0.404), whoever and however many the
   * reporters are. Reports raise doubt; only this agent's own dealings — including the check `search()` makes of a
   * doubted result — bring a score lower. @default 0.5
   */
  maxReportWeight: number;
  /**
   * Reporters known by tenure only (this agent never dealt with them) move a score in proportion to how many they
   * are: the full `maxReportWeight` takes this fraction of the live members (at least 3, at most
   * `maxReportersPerSubject`), so a group of old
   * identities smaller than that cannot sink an honest agent in the eyes of strangers. @default 0.1
   */
  reportQuorum: number;
  /**
   * Reports kept per subject (one per reporter; beyond, those of lower standing are dropped). Also the most
   * reporters a quorum needs. @default 128
   */
  maxReportersPerSubject: number;
  /** Subjects one reporter may report within a half-life before its reports are ignored. @default 16 */
  maxReportsPerReporter: number;
  /** Good answers from a reporter that give it full standing (each gives `1/confidenceInteractions`). @default 4 */
  confidenceInteractions: number;
  /**
   * Membership age at which a reporter known by tenure only reaches full standing (it rises as
   * `(age / tenureFullMs)²`, so fresh identities weigh ~0): what an identity must wait before its word counts
   * with strangers. @default 86400000 (a day)
   */
  tenureFullMs: number;
  /** An agent reports the same subject again only after this long. @default 600000 */
  reportCooldownMs: number;
  /**
   * Consecutive unanswered searches and check requests (from a member that answers pings) before it is reported
   * unresponsive; a check that got no answer to any of its `checkAttempts` requests reports it at once. @default 3
   */
  unresponsiveAfter: number;
  /**
   * Hops of an "unresponsive" report (at most `reportMaxHops`). Such a report follows a check none of whose
   * `checkAttempts` requests was answered (an honest agent's: ≈ 0.01 % of checks at 5 % loss), and an agent files
   * one only when it holds no report of `doubtStanding` about the subject, so they are few and may travel as far
   * as "invalid" ones: far enough for a stranger to doubt, and check, a silent agent in a network of thousands.
   * With fan-out 4, 3 hops reach ≈ 84 agents. @default 6
   */
  unresponsiveMaxHops: number;
  /**
   * Results `search()` checks at most per search (when it filters by `minReputation`): an agent in doubt — this
   * agent had no good answer from it, and reporters of `doubtStanding` reported it or it timed out — is asked for
   * its own record first (up to `checkAttempts` requests while they time out); what it answers is first-hand
   * evidence. @default 4
   */
  maxChecksPerSearch: number;
  /** An agent checks the same other agent again only after this long. @default 600000 */
  checkCooldownMs: number;
  /**
   * Requests of one first-hand check (the first and its retries when they time out). A check that gets no answer
   * at all from an agent that answers pings is no lost message (all are lost with probability ≈ 0.01 % at 5 %
   * loss): its timeouts put the agent below 0.4 here for about an hour, and it is reported unresponsive. Every such
   * report of an honest agent goes to the whole network, and their number grows with N, so each request more
   * divides the per-agent gossip traffic they cost by ≈ 10 (with 3 the simulation saw 6 such reports in 5 minutes
   * at N = 3000, 0.06 gossip messages per agent per second; with 4, none). @default 4
   */
  checkAttempts: number;
  /**
   * Reports raise doubt about an agent (so that `search()` checks it at first hand before filtering by reputation)
   * once their reporters' standing adds up to this: one reporter of full standing (full tenure, or
   * `confidenceInteractions` good answers to this agent) is 1, a fresh identity ~0. Unlike the weight of reports in
   * the score (a share of a quorum of the members), it does not depend on the size of the network: one old
   * member's report makes a stranger check, in a network of ten or of ten thousand. Must be above 0. @default 0.5
   */
  doubtStanding: number;
  /** Hops of a misbehaviour report. @default 6 */
  reportMaxHops: number;
  /** Reputation table entries at most. @default 100000 */
  maxReputationEntries: number;
}

/** The defaults of {@link P2pOptions}. */
export const P2P_DEFAULTS: Readonly<P2pOptions> = Object.freeze({
  periodMs: 1000,
  pingTimeoutMs: 300,
  indirectProbes: 3,
  suspicionPeriods: 3,
  maxSuspectProbes: 4,
  retransmitMult: 4,
  maxPiggyback: 8,
  maxUpdateBuffer: 512,
  maxUpdateAgePeriods: 30,
  maxJoinMembers: 4096,
  syncPeriods: 20,
  maxSyncMembers: 512,
  rejoinPeriods: 5,
  discoverBatch: 8,
  discoverPeriods: 30,
  deadRetentionMs: 120_000,
  maxMembers: 100_000,
  maxIncarnationStep: 1_000_000,
  gossipFanout: 6,
  gossipMaxHops: 8,
  gossipSeenSize: 20_000,
  gossipSeenTtlMs: 300_000,
  gossipTimeoutMs: 2000,
  maxNeighbours: 8,
  homeReplicas: 3,
  recordTtlMs: 600_000,
  recordRefreshMs: 300_000,
  recordRefreshJitter: 0.25,
  announcePeriods: 5,
  maxClockSkewMs: 60_000,
  cacheSize: 4096,
  cacheTtlMs: 300_000,
  maxTagLength: 64,
  searchFanout: 3,
  searchHedgeMs: 250,
  searchMaxHops: 4,
  searchHopTimeoutMs: 1000,
  maxResults: 8,
  searchSeenSize: 20_000,
  verifiedCacheSize: 8192,
  priorWeight: 2,
  timeoutWeight: 0.5,
  invalidWeight: 4,
  reputationHalfLifeMs: 3_600_000,
  reportWeight: 0.2,
  maxReportWeight: 0.5,
  reportQuorum: 0.1,
  maxReportersPerSubject: 128,
  maxReportsPerReporter: 16,
  confidenceInteractions: 4,
  tenureFullMs: 86_400_000,
  reportCooldownMs: 600_000,
  unresponsiveAfter: 3,
  unresponsiveMaxHops: 6,
  maxChecksPerSearch: 4,
  checkCooldownMs: 600_000,
  checkAttempts: 4,
  doubtStanding: 0.5,
  reportMaxHops: 6,
  maxReputationEntries: 100_000,
});

/** Options that may be 0 (the others must be ≥ 1). */
const MAY_BE_ZERO = new Set<keyof P2pOptions>([
  "indirectProbes",
  "maxChecksPerSearch",
  "homeReplicas",
  "maxSuspectProbes",
  "maxPiggyback",
]);
/** Options that are fractions or weights (any finite number ≥ 0), not integers. */
const REALS = new Set<keyof P2pOptions>([
  "priorWeight",
  "timeoutWeight",
  "invalidWeight",
  "reportWeight",
  "maxReportWeight",
  "reportQuorum",
  "confidenceInteractions",
  "doubtStanding",
  "recordRefreshJitter",
]);

/** The defaults overridden by `options`; throws `InvalidArgumentError` naming the first bad option. */
export function resolveOptions(options: Partial<P2pOptions> = {}): P2pOptions {
  const out = { ...P2P_DEFAULTS } as P2pOptions;
  for (const [key, value] of Object.entries(options) as [keyof P2pOptions, unknown][]) {
    if (!(key in P2P_DEFAULTS)) throw new InvalidArgumentError(`options.${key}`, "unknown option");
    if (value === undefined) continue;
    const real = REALS.has(key);
    const min = MAY_BE_ZERO.has(key) || real ? 0 : 1;
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value < min ||
      (!real && !Number.isInteger(value))
    ) {
      throw new InvalidArgumentError(
        `options.${key}`,
        `expected ${real ? "a number" : "an integer"} ≥ ${min}, got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  if (out.pingTimeoutMs >= out.periodMs) {
    throw new InvalidArgumentError("options.pingTimeoutMs", "must be less than options.periodMs");
  }
  if (out.recordRefreshMs >= out.recordTtlMs) {
    throw new InvalidArgumentError("options.recordRefreshMs", "must be less than options.recordTtlMs");
  }
  if (out.recordRefreshJitter >= 1) {
    throw new InvalidArgumentError("options.recordRefreshJitter", "must be below 1");
  }
  if (out.reportQuorum > 1) throw new InvalidArgumentError("options.reportQuorum", "must be at most 1");
  if (out.doubtStanding <= 0) throw new InvalidArgumentError("options.doubtStanding", "must be above 0");
  return out;
}
