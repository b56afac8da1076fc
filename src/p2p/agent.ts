import { InvalidArgumentError } from "../errors.js";
import type { Signer } from "../identity/signer.js";
import { isValidSignature } from "../identity/verify.js";
import { bytesKey, LruCache } from "../lru-cache.js";
import type { TwinRegistry } from "../registry/twin-registry.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { P2pStoppedError } from "./errors.js";
import { Gossip, type GossipStats } from "./gossip.js";
import {
  type MemberEvent,
  type MemberInfo,
  MemberState,
  Membership,
  type MembershipStats,
  type MemberUpdate,
} from "./membership.js";
import { type P2pOptions, resolveOptions } from "./options.js";
import { type Random, sample } from "./random.js";
import { RecordCache } from "./record-cache.js";
import {
  checkRecord,
  type NormalizedQuery,
  normalizeQuery,
  normalizeTags,
  type RecordProblem,
  type ServiceRecord,
  type ServiceTags,
  signRecord,
  type TagQuery,
} from "./records.js";
import type { BootstrapSource } from "./registry-bootstrap.js";
import {
  isReportReason,
  Outcome,
  type ReportReason,
  ReputationTable,
  type ReputationView,
} from "./reputation.js";
import { type Resolved, SearchService, type SearchStats } from "./search.js";
import type { AgentTransport } from "./transport.js";
import { isCount, isTwinId } from "./wire.js";

/** Where an agent finds the 32-byte account key of a twin (to verify its records and reports). */
export interface KeyDirectory {
  publicKeyOf(twin: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

/** Account keys from a twin registry (tfchain, a registrar, a `MemoryRegistry`; wrap it in a `CachedRegistry`). */
export function registryKeys(registry: TwinRegistry): KeyDirectory {
  return { publicKeyOf: async (twin) => (await registry.getTwin(twin))?.accountId };
}

/** Verifies a 65-byte RMB signature against a 32-byte account key (default: `isValidSignature`). */
export type SignatureVerifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

/** Everything a {@link P2pAgent} is made of. */
export interface P2pAgentConfig {
  /** How it talks to other agents: `RmbAgentTransport` over an RMB client, or a `SimNetwork` transport. */
  transport: AgentTransport;
  /** The twin's key: signs its service record and its reports. */
  signer: Signer;
  /** Account keys of other twins, e.g. `registryKeys(registry)`. */
  keys: KeyDirectory;
  /** The service this agent advertises; none for an agent that only searches. */
  tags?: ServiceTags;
  /** Agents to join at start (from configuration). */
  bootstrap?: readonly number[];
  /**
   * Where to find contacts when the bootstrap agents do not answer or none are given, e.g.
   * `registryBootstrap(registry)`: at start, and again every `discoverPeriods` while the agent has no contact.
   */
  discover?: BootstrapSource;
  /** @default the system clock */
  clock?: Clock;
  /** @default Math.random */
  random?: Random;
  /** @default isValidSignature (ed25519 and sr25519) */
  verify?: SignatureVerifier;
  /** Limits and timers; see `P2P_DEFAULTS`. */
  options?: Partial<P2pOptions>;
}

/** What a {@link P2pAgent} reports to its listeners. */
export type P2pEvent =
  | MemberEvent
  /** Another agent timed out or sent invalid data to this one (its score dropped). */
  | { type: "misbehaviour"; twin: number; outcome: "timeout" | "invalid"; reason: string }
  /** A misbehaviour report arrived (`accepted` = new, held and passed on) or was filed by this agent. */
  | { type: "report"; reporter: number; subject: number; reason: ReportReason; accepted: boolean }
  /** The agent looked for contacts (`discover`): `candidates` asked, the twins that `joined` it in. */
  | { type: "discovery"; candidates: number; joined: number[] };

/** Options of one search. */
export interface SearchOptions {
  /** Hops the query may travel (0 = own cache only). @default options.searchMaxHops */
  maxHops?: number;
  /**
   * Drop results whose twin scores below this in this agent's reputation table. Results in doubt (this agent had
   * no good answer from them, and reporters of `options.doubtStanding` reported them or they timed out here) are
   * first checked at first hand — asked for their own record — at most `options.maxChecksPerSearch` per search.
   * @default 0 (no filter, no checks)
   */
  minReputation?: number;
  /** Results at most (also asked of the agents that answer); at most `options.maxResults`. @default options.maxResults */
  limit?: number;
  /** Give up after this long. @default maxHops × options.searchHopTimeoutMs */
  timeoutMs?: number;
}

/** One agent offering what was searched for. */
export interface SearchResult {
  /** Its twin id (its RMB address). */
  twin: number;
  tags: ServiceTags;
  /** The signed record (verified by this agent). */
  record: ServiceRecord;
  /** Its score in this agent's reputation table (1 for this agent itself). */
  reputation: number;
  /** Its score as seen by the agent that returned it. */
  reportedReputation: number;
}

/** The answer to a search. */
export interface SearchResponse {
  results: SearchResult[];
  /** Hops to the agent that answered: 0 = this agent's own cache or record; `undefined` = nothing found. */
  hops: number | undefined;
  /** Answered from a cache rather than by the owner of the records. */
  fromCache: boolean;
}

/** All counters of an agent. */
export interface P2pAgentStats {
  membership: MembershipStats;
  gossip: GossipStats;
  search: SearchStats;
  cache: { size: number; hits: number; lookups: number };
  reports: { filed: number; received: number };
}

const MEMBER_KIND = "member";
const REPORT_KIND = "report";

/**
 * An RMB agent: a twin running a service that other agents find by tag, with no central index.
 *
 * - **Membership** (SWIM, imAlive): a contact list kept by probing one member per period; failed members become
 *   suspect, then dead (pushed to everybody), and come back when they return with a higher incarnation.
 * - **Gossip**: push with bounded fan-out, hop limit and duplicate suppression (deaths, comebacks, reports).
 * - **Records**: the service's tags in a record signed by the twin key, re-signed before it expires and announced
 *   to the tag's home agents and to the overlay neighbours.
 * - **Search**: own cache, then home agents and neighbours up to `maxHops` hops; answers are verified and cached
 *   on the way back.
 * - **Reputation**: a local behavioural score per agent plus gossiped, signed misbehaviour reports weighed by the
 *   reporter's standing; results carry it and can be filtered by it.
 *
 * @example
 * const client = await RmbClient.connect({ identity, registry, relays });
 * const agent = new P2pAgent({
 *   transport: new RmbAgentTransport(client, client.twinId),
 *   signer: identity.signer,
 *   keys: registryKeys(registry),
 *   tags: { category: "compute", subcategory: "gpu", location: "ghent" },
 *   bootstrap: [17, 42],
 * });
 * await agent.start();
 * const { results } = await agent.search("gpu", { minReputation: 0.4 });
 * agent.stop();
 */
export class P2pAgent {
  /** This agent's twin id. */
  readonly twin: number;
  /** The options in force (defaults filled in). */
  readonly options: P2pOptions;
  readonly #signer: Signer;
  readonly #keys: KeyDirectory;
  readonly #clock: Clock;
  readonly #random: Random;
  /** Age at which the current record is re-signed (`recordRefreshMs` less a random part, drawn at each signing). */
  #refreshAfterMs = 0;
  readonly #verifySig: SignatureVerifier;
  readonly #membership: Membership;
  readonly #gossip: Gossip;
  readonly #search: SearchService;
  readonly #cache: RecordCache;
  readonly #reputation: ReputationTable;
  readonly #verified: LruCache<string, true>;
  readonly #listeners = new Set<(event: P2pEvent) => void>();
  readonly #reportedAt = new Map<number, number>();
  /** When this agent last checked another at first hand (see `#checkDoubted`). */
  readonly #checkedAt = new Map<number, number>();
  readonly #timeouts = new Map<number, number>();
  readonly #bootstrap: readonly number[];
  readonly #discoverSource: BootstrapSource | undefined;
  #discovering = false;
  #lastDiscovery = 0;
  readonly #reports = { filed: 0, received: 0 };
  #tags: ServiceTags | undefined;
  #record: ServiceRecord | undefined;
  #neighbours: number[] = [];
  #running = false;
  #timer: TimerHandle | undefined;
  #ticks = 0;

  constructor(config: P2pAgentConfig) {
    const { transport, signer, keys } = config;
    if (transport === undefined || !isTwinId(transport.self)) {
      throw new InvalidArgumentError("transport", "expected an AgentTransport with a twin id");
    }
    if (signer === undefined || typeof signer.sign !== "function") {
      throw new InvalidArgumentError("signer", "expected a Signer");
    }
    if (keys === undefined || typeof keys.publicKeyOf !== "function") {
      throw new InvalidArgumentError("keys", "expected a KeyDirectory");
    }
    const bootstrap = config.bootstrap ?? [];
    if (!Array.isArray(bootstrap) || !bootstrap.every(isTwinId)) {
      throw new InvalidArgumentError("bootstrap", "expected an array of twin ids");
    }
    this.options = resolveOptions(config.options);
    const o = this.options;
    this.twin = transport.self;
    this.#signer = signer;
    this.#keys = keys;
    this.#clock = config.clock ?? systemClock;
    this.#random = config.random ?? Math.random;
    this.#verifySig = config.verify ?? isValidSignature;
    this.#bootstrap = bootstrap.filter((t) => t !== this.twin);
    if (config.discover !== undefined && typeof config.discover.candidates !== "function") {
      throw new InvalidArgumentError("discover", "expected a BootstrapSource");
    }
    this.#discoverSource = config.discover;
    this.#tags = config.tags === undefined ? undefined : checkTags(config.tags, o.maxTagLength);
    this.#verified = new LruCache(o.verifiedCacheSize);
    this.#cache = new RecordCache(o.cacheSize, o.cacheTtlMs);
    this.#membership = new Membership({
      transport,
      clock: this.#clock,
      random: this.#random,
      options: o,
      bootstrap: this.#bootstrap,
      broadcast: (u) => this.#broadcastMember(u),
      emit: (e) => this.#onMember(e),
    });
    this.#reputation = new ReputationTable(
      o,
      this.#clock,
      (t) => this.#membership.tenureOf(t),
      () => this.#membership.live().length + 1,
    );
    this.#gossip = new Gossip({
      transport,
      clock: this.#clock,
      random: this.#random,
      options: o,
      peers: () => this.#membership.live(),
      signer,
      verify: (t, m, s) => this.#verify(t, m, s),
      onInvalid: (from, reason) => this.#invalid(from, reason),
    });
    this.#gossip.on(MEMBER_KIND, (m) => this.#onMemberGossip(m.body));
    this.#gossip.on(REPORT_KIND, (m) => this.#onReport(m.origin, m.body), { signed: true });
    this.#search = new SearchService({
      transport,
      clock: this.#clock,
      random: this.#random,
      options: o,
      cache: this.#cache,
      ownRecord: () => this.#currentRecord(),
      live: () => this.#membership.live(),
      membershipVersion: () => this.#membership.version,
      isDead: (t) => this.#membership.member(t)?.state === MemberState.Dead,
      neighbours: () => this.#neighbours,
      score: (t) => this.#reputation.score(t),
      check: (r) => this.#check(r),
      good: (t) => this.#good(t),
      timeout: (t, q, check) => this.#timeout(t, q, check),
      invalid: (t, reason) => this.#invalid(t, reason),
    });
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Serves the `p2p.*` commands, signs the service record, joins the bootstrap agents (or, when none answered,
   * candidates from `discover`) and starts the protocol timers. Resolves once the first join round is over (it
   * does not fail when nobody answered: the agent keeps trying every `rejoinPeriods` periods, and `discover` every
   * `discoverPeriods`).
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#sign();
    this.#gossip.start();
    this.#search.start();
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.options.periodMs);
    const joined = await this.#membership.start();
    if (!this.#running) return;
    if (!joined && this.#discoverSource !== undefined) await this.#discover();
    if (!this.#running) return;
    this.#refreshNeighbours();
    this.#search.announce();
  }

  /** Stops serving and all timers (other agents will find it dead). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#membership.stop();
    this.#gossip.stop();
    this.#search.stop();
  }

  /**
   * Finds agents offering `query` (a tag, matched against every tag field, or fields that must all match):
   * this agent's own record and cache first, then home agents and neighbours up to `maxHops` hops away.
   * Rejects with `P2pStoppedError` if the agent is not running, `InvalidArgumentError` for a bad query or option.
   */
  async search(query: TagQuery, options: SearchOptions = {}): Promise<SearchResponse> {
    if (!this.#running) throw new P2pStoppedError();
    const o = this.options;
    let q: NormalizedQuery;
    try {
      q = normalizeQuery(query, o.maxTagLength);
    } catch (err) {
      throw new InvalidArgumentError("query", (err as Error).message);
    }
    const maxHops = options.maxHops ?? o.searchMaxHops;
    if (!isCount(maxHops) || maxHops > o.searchMaxHops) {
      throw new InvalidArgumentError("maxHops", `expected an integer in [0, ${o.searchMaxHops}]`);
    }
    const limit = options.limit ?? o.maxResults;
    if (!isCount(limit) || limit < 1 || limit > o.maxResults) {
      throw new InvalidArgumentError("limit", `expected an integer in [1, ${o.maxResults}]`);
    }
    const minReputation = options.minReputation ?? 0;
    if (typeof minReputation !== "number" || !(minReputation >= 0 && minReputation <= 1)) {
      throw new InvalidArgumentError("minReputation", "expected a number in [0, 1]");
    }
    const accept = (twin: number): boolean => this.#scoreOf(twin) >= minReputation;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<Resolved>((resolve) => {
      const ms = options.timeoutMs ?? Math.max(1, maxHops) * o.searchHopTimeoutMs + o.searchHopTimeoutMs;
      timer = this.#clock.setTimeout(
        () => resolve({ results: [], distance: undefined, fromCache: false }),
        ms,
      );
    });
    const run = async (): Promise<Resolved> => {
      const found = await this.#search.search(q, maxHops, limit, accept);
      if (minReputation <= 0 || found.results.length === 0) return found;
      // Reports only raise doubt: check doubted results at first hand, then filter on what that showed.
      await this.#checkDoubted(found.results.map((f) => f.record));
      const kept = found.results.filter((f) => accept(f.record.twin));
      return kept.length > 0
        ? { ...found, results: kept }
        : { results: [], distance: undefined, fromCache: false };
    };
    const res = await Promise.race([run(), timeout]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    return {
      results: res.results.map((f) => ({
        twin: f.record.twin,
        tags: f.record.tags,
        record: f.record,
        reputation: this.#scoreOf(f.record.twin),
        reportedReputation: f.reputation,
      })),
      hops: res.distance,
      fromCache: res.fromCache,
    };
  }

  /** The contact list: live members (alive or suspect). */
  members(): MemberInfo[] {
    return this.#membership.members();
  }

  /** What this agent knows of one member (also dead ones it still remembers). */
  member(twin: number): MemberInfo | undefined {
    return this.#membership.member(twin);
  }

  /** The overlay neighbours. */
  neighbours(): readonly number[] {
    return this.#neighbours;
  }

  /** This agent's view of `twin`'s reputation. */
  reputationOf(twin: number): ReputationView {
    const view = this.#reputation.view(twin);
    return twin === this.twin ? { ...view, score: 1 } : view;
  }

  /** This agent's current signed record (`undefined` if it advertises nothing). */
  record(): ServiceRecord | undefined {
    return this.#currentRecord();
  }

  /** The membership incarnation of this agent. */
  get incarnation(): number {
    return this.#membership.incarnation;
  }

  /** Changes the advertised tags (or stops advertising with `undefined`); the new record is announced at once. */
  setTags(tags: ServiceTags | undefined): void {
    this.#tags = tags === undefined ? undefined : checkTags(tags, this.options.maxTagLength);
    this.#sign();
    if (this.#running) this.#search.announce();
  }

  /**
   * Files a signed misbehaviour report about `subject` and gossips it (at most once per `reportCooldownMs` per
   * subject). The agent does this itself when another agent sends it invalid data or stops answering.
   */
  report(subject: number, reason: ReportReason): boolean {
    if (!isTwinId(subject) || subject === this.twin)
      throw new InvalidArgumentError("subject", "expected another twin");
    if (!isReportReason(reason))
      throw new InvalidArgumentError("reason", "expected 'invalid' or 'unresponsive'");
    if (!this.#running) throw new P2pStoppedError();
    const now = Math.floor(this.#clock.now());
    const last = this.#reportedAt.get(subject);
    if (last !== undefined && now - last < this.options.reportCooldownMs) return false;
    this.#reportedAt.set(subject, now);
    if (this.#reportedAt.size > this.options.maxReputationEntries) {
      this.#reportedAt.delete(this.#reportedAt.keys().next().value!);
    }
    this.#reports.filed++;
    const o = this.options;
    this.#gossip.publish(
      REPORT_KIND,
      { s: subject, r: reason, at: now },
      {
        maxHops:
          reason === "unresponsive" ? Math.min(o.unresponsiveMaxHops, o.reportMaxHops) : o.reportMaxHops,
      },
    );
    this.#emit({ type: "report", reporter: this.twin, subject, reason, accepted: true });
    return true;
  }

  /** Calls `listener` for every {@link P2pEvent}; returns a function that removes it. */
  on(listener: (event: P2pEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): P2pAgentStats {
    return {
      membership: { ...this.#membership.stats },
      gossip: { ...this.#gossip.stats },
      search: { ...this.#search.stats },
      cache: { size: this.#cache.size, hits: this.#cache.hits, lookups: this.#cache.lookups },
      reports: { ...this.#reports },
    };
  }

  // ── internals ──

  #tick(): void {
    if (!this.#running) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.options.periodMs);
    this.#ticks++;
    if (
      this.#discoverSource !== undefined &&
      !this.#discovering &&
      this.#membership.live().length === 0 &&
      this.#ticks - this.#lastDiscovery >= this.options.discoverPeriods
    ) {
      void this.#discover();
    }
    this.#refreshNeighbours();
    const rec = this.#record;
    let fresh = false;
    if (rec !== undefined && this.#clock.now() - rec.issuedAt >= this.#refreshAfterMs) {
      this.#sign();
      fresh = true;
    }
    if (fresh || this.#ticks % this.options.announcePeriods === 0) this.#search.announce();
  }

  /**
   * Asks the `discover` source for candidates and lets them join this agent in, `discoverBatch` at a time, until
   * one answers (its answer is the whole member list) or somebody joined this agent meanwhile.
   */
  async #discover(): Promise<void> {
    const source = this.#discoverSource;
    if (source === undefined || this.#discovering) return;
    this.#discovering = true;
    this.#lastDiscovery = this.#ticks;
    let candidates: number[] = [];
    const joined: number[] = [];
    try {
      try {
        candidates = (await source.candidates(this.twin)).filter((t) => isTwinId(t) && t !== this.twin);
      } catch {
        candidates = [];
      }
      const batch = this.options.discoverBatch;
      for (let i = 0; i < candidates.length && this.#running; i += batch) {
        if (this.#membership.live().length > 0) break;
        joined.push(...(await this.#membership.joinAll(candidates.slice(i, i + batch))));
        if (joined.length > 0) break;
      }
    } finally {
      this.#discovering = false;
    }
    if (this.#running) this.#emit({ type: "discovery", candidates: candidates.length, joined });
  }

  #sign(): void {
    const o = this.options;
    this.#refreshAfterMs = o.recordRefreshMs * (1 - o.recordRefreshJitter * this.#random());
    this.#record =
      this.#tags === undefined
        ? undefined
        : signRecord(this.#signer, this.twin, this.#tags, this.#clock.now(), o.recordTtlMs, o.maxTagLength);
  }

  #currentRecord(): ServiceRecord | undefined {
    const r = this.#record;
    return r !== undefined && r.expiresAt > this.#clock.now() ? r : undefined;
  }

  #refreshNeighbours(): void {
    const m = this.#membership;
    let list = this.#neighbours.filter((n) => m.isLive(n));
    const want = this.options.maxNeighbours;
    if (list.length < want) {
      const fromBootstrap = this.#bootstrap.filter((b) => m.isLive(b) && !list.includes(b));
      list = [...list, ...fromBootstrap.slice(0, want - list.length)];
    }
    if (list.length < want) {
      const have = new Set(list);
      list = [...list, ...sample(m.live(), want - list.length, this.#random, (x) => have.has(x))];
    }
    this.#neighbours = list;
  }

  /**
   * Checks (at most `maxChecksPerSearch`, lowest scores first) the owners of `records` that are in doubt (see
   * `ReputationTable.inDoubt`) and were not checked within `checkCooldownMs`.
   */
  async #checkDoubted(records: readonly ServiceRecord[]): Promise<void> {
    const o = this.options;
    const now = this.#clock.now();
    const doubted = records
      .filter((r) => {
        if (r.twin === this.twin || !this.#reputation.inDoubt(r.twin)) return false;
        const at = this.#checkedAt.get(r.twin);
        return at === undefined || now - at >= o.checkCooldownMs;
      })
      .sort((a, b) => this.#reputation.score(a.twin) - this.#reputation.score(b.twin))
      .slice(0, o.maxChecksPerSearch)
      .filter((r) => this.#mayCheck(r.twin, now));
    // Ask each for its own record (the tags of the record we hold of it).
    await Promise.all(doubted.map((r) => this.#checkAt(r.twin, normalizeQuery(r.tags, o.maxTagLength))));
  }

  #scoreOf(twin: number): number {
    return twin === this.twin ? 1 : this.#reputation.score(twin);
  }

  #broadcastMember(u: MemberUpdate): void {
    if (!this.#running) return;
    this.#gossip.publish(MEMBER_KIND, u, { id: `m:${u[0]}:${u[1]}:${u[2]}` });
  }

  #onMemberGossip(body: unknown): boolean {
    if (!Array.isArray(body) || !isTwinId(body[0]) || ![0, 1, 2].includes(body[1]) || !isCount(body[2])) {
      return false;
    }
    this.#membership.applyUpdate([body[0], body[1] as 0 | 1 | 2, body[2]]);
    return true;
  }

  #onMember(e: MemberEvent): void {
    if (e.state === MemberState.Dead) {
      this.#cache.delete(e.twin);
      this.#neighbours = this.#neighbours.filter((n) => n !== e.twin);
    }
    this.#emit(e);
  }

  #onReport(reporter: number, body: unknown): boolean {
    const b = body as { s?: unknown; r?: unknown; at?: unknown } | null;
    if (b === null || typeof b !== "object" || !isTwinId(b.s) || !isReportReason(b.r) || !isCount(b.at)) {
      return false;
    }
    this.#reports.received++;
    const accepted = reporter !== this.twin && this.#reputation.addReport(reporter, b.s, b.r, b.at);
    this.#emit({ type: "report", reporter, subject: b.s, reason: b.r, accepted });
    return accepted;
  }

  #good(twin: number): void {
    this.#reputation.record(twin, Outcome.Good);
    this.#timeouts.delete(twin);
  }

  /**
   * `twin` did not answer a search (or a request of a check of it: `check`). Scored; a search timeout from an agent
   * that answers pings is checked at once (a lost message, or an agent that answers pings but not searches: better
   * known now than left in doubt until it turns up in a result). A check that fails, or (when no check may be made
   * within `checkCooldownMs`) `unresponsiveAfter` unanswered searches in a row, file an "unresponsive" report
   * (travelling `unresponsiveMaxHops`) — unless this agent already holds reports of `doubtStanding` about it: the
   * news travels already, and one more copy would only flood the network again.
   */
  #timeout(twin: number, query: NormalizedQuery, check: boolean): void {
    this.#reputation.record(twin, Outcome.Timeout);
    const n = (this.#timeouts.get(twin) ?? 0) + 1;
    this.#timeouts.set(twin, n);
    const what = check ? "a check" : "a search";
    this.#emit({
      type: "misbehaviour",
      twin,
      outcome: "timeout",
      reason: `${what}: ${n} unanswered in a row`,
    });
    // A check's own timeouts are judged when it is over (#checkAt).
    if (check || !this.#answersPings(twin) || !this.#running) return;
    if (this.#mayCheck(twin, this.#clock.now())) void this.#checkAt(twin, query);
    else if (n >= this.options.unresponsiveAfter) this.#unresponsive(twin);
  }

  /**
   * Checks `twin` at first hand (`SearchService.check`); when none of its `checkAttempts` requests was answered
   * while it still answers pings, reports it unresponsive.
   */
  async #checkAt(twin: number, query: NormalizedQuery): Promise<void> {
    const answered = await this.#search.check(twin, query);
    if (!answered && this.#running && this.#answersPings(twin)) this.#unresponsive(twin);
  }

  #unresponsive(twin: number): void {
    this.#timeouts.delete(twin);
    if (this.#reputation.reporterStanding(twin) >= this.options.doubtStanding) return;
    this.report(twin, "unresponsive");
  }

  #answersPings(twin: number): boolean {
    return this.#membership.member(twin)?.state === MemberState.Alive;
  }

  /** True (and noted) unless `twin` was checked within `checkCooldownMs`. */
  #mayCheck(twin: number, now: number): boolean {
    const at = this.#checkedAt.get(twin);
    if (at !== undefined && now - at < this.options.checkCooldownMs) return false;
    this.#checkedAt.delete(twin);
    this.#checkedAt.set(twin, now);
    if (this.#checkedAt.size > this.options.maxReputationEntries) {
      this.#checkedAt.delete(this.#checkedAt.keys().next().value!);
    }
    return true;
  }

  #invalid(twin: number, reason: string): void {
    if (twin === this.twin) return;
    this.#reputation.record(twin, Outcome.Invalid);
    this.#emit({ type: "misbehaviour", twin, outcome: "invalid", reason });
    if (this.#running) this.report(twin, "invalid");
  }

  #check(record: ServiceRecord): Promise<RecordProblem | undefined> {
    const o = this.options;
    return checkRecord(
      record,
      this.#clock.now(),
      { maxSkewMs: o.maxClockSkewMs, maxTtlMs: o.recordTtlMs },
      (t, m, s) => this.#verify(t, m, s),
    );
  }

  async #verify(twin: number, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const memo = `${twin}\u0000${bytesKey(signature)}\u0000${bytesKey(message)}`;
    if (this.#verified.get(memo) === true) return true;
    let key: Uint8Array | undefined;
    try {
      key = await this.#keys.publicKeyOf(twin);
    } catch {
      return false;
    }
    if (!(key instanceof Uint8Array) || key.length !== 32) return false;
    let ok = false;
    try {
      ok = this.#verifySig(key, message, signature);
    } catch {
      ok = false;
    }
    if (ok) this.#verified.set(memo, true);
    return ok;
  }

  #emit(event: P2pEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

function checkTags(tags: ServiceTags, maxLength: number): ServiceTags {
  try {
    return normalizeTags(tags, maxLength);
  } catch (err) {
    throw new InvalidArgumentError("tags", (err as Error).message);
  }
}
