import type { Clock, TimerHandle } from "./clock.js";
import { isTimeout, P2pInvalidDataError } from "./errors.js";
import { ExpiringSet } from "./expiring-set.js";
import type { P2pOptions } from "./options.js";
import { hash32, mix32, type Random, randomId, shuffle } from "./random.js";
import type { RecordCache } from "./record-cache.js";
import {
  matchesQuery,
  type NormalizedQuery,
  normalizeQuery,
  parseRecord,
  queryKey,
  type RecordProblem,
  type ServiceRecord,
} from "./records.js";
import type { AgentTransport } from "./transport.js";
import { isCount, isObject, isShortString, isTwinId } from "./wire.js";

export const SEARCH_COMMANDS = { search: "p2p.search", announce: "p2p.announce" } as const;

/** A record found by a search, with the reputation of its twin. */
export interface Found {
  record: ServiceRecord;
  /** The reputation of `record.twin` as the agent that returned it sees it. */
  reputation: number;
}

/** The outcome of resolving a query at one agent. */
export interface Resolved {
  results: Found[];
  /** Hops from this agent to the agent that answered (0 = answered here); `undefined` = nothing found. */
  distance: number | undefined;
  /** Answered from a cache (not by the records' owner). */
  fromCache: boolean;
}

/** Counters of one agent's search service. */
export interface SearchStats {
  /** Searches started here. */
  searches: number;
  /** Searches started here and answered from this agent's own cache or record. */
  localHits: number;
  /** Queries from other agents handled (not duplicates). */
  handled: number;
  /** Queries from other agents answered from this agent's cache or record without forwarding. */
  answeredHere: number;
  /** Query copies that were duplicates. */
  duplicates: number;
  /** Queries sent (forwarded or started). */
  sent: number;
  /** Records announced to this agent and cached. */
  announcedIn: number;
  /** Announcements sent. */
  announcedOut: number;
  /** First-hand checks of doubted agents (requests, retries included). */
  checks: number;
}

/** What {@link SearchService} needs from the agent. */
export interface SearchDeps {
  transport: AgentTransport;
  clock: Clock;
  random: Random;
  options: P2pOptions;
  cache: RecordCache;
  /** This agent's own (valid) record, if it offers a service. */
  ownRecord(): ServiceRecord | undefined;
  /** Live members (candidates for tag homes). */
  live(): readonly number[];
  /** Changes when the live set changes. */
  membershipVersion(): number;
  /** True when `twin` is known to be dead (its records are not returned). */
  isDead(twin: number): boolean;
  /** This agent's overlay neighbours. */
  neighbours(): readonly number[];
  /** This agent's reputation score of `twin`. */
  score(twin: number): number;
  /** Checks a parsed record (expiry, signature). */
  check(record: ServiceRecord): Promise<RecordProblem | undefined>;
  good(twin: number): void;
  /** `twin` did not answer `query` in time (`check`: a first-hand check, see {@link SearchService.check}). */
  timeout(twin: number, query: NormalizedQuery, check: boolean): void;
  invalid(twin: number, reason: string): void;
}

const EMPTY: Resolved = { results: [], distance: undefined, fromCache: false };
const TIMED_OUT: Resolved & { timedOut: true } = { ...EMPTY, timedOut: true };

/**
 * Tag search with caches on the way. An agent answers a query from its own record and its cache; otherwise, while
 * hops remain, it forwards the query to up to `searchFanout` agents — first the tag's *home agents*, the
 * `homeReplicas` live members that rendezvous hashing maps the tag to (owners announce their records there), then
 * random overlay neighbours — one at a time (the next when the previous answered nothing, or after
 * `searchHedgeMs` without an answer), and passes back the first non-empty answer. An answer carries at most
 * `maxResults` records (or fewer, as the asker asked): an agent answering from its cache picks the best by its
 * reputation table, then the freshest. Each agent on the way verifies the
 * records it gets (a forged, expired or unasked-for record is invalid data: a reputation penalty for the agent that
 * sent it) and caches them, so the next search for the tag is answered sooner. Query ids are remembered, so each
 * agent handles a query once; the query carries its path, so it never goes back.
 */
export class SearchService {
  readonly stats: SearchStats = {
    searches: 0,
    localHits: 0,
    handled: 0,
    answeredHere: 0,
    duplicates: 0,
    sent: 0,
    announcedIn: 0,
    announcedOut: 0,
    checks: 0,
  };
  readonly #d: SearchDeps;
  readonly #o: P2pOptions;
  readonly #seen: ExpiringSet;
  readonly #homes = new Map<string, { version: number; homes: number[] }>();
  /** Who has our current record (target → issuedAt of the record it got). */
  readonly #announced = new Map<number, number>();
  #unserve: (() => void)[] = [];

  constructor(deps: SearchDeps) {
    this.#d = deps;
    this.#o = deps.options;
    this.#seen = new ExpiringSet(
      this.#o.searchSeenSize,
      this.#o.searchMaxHops * this.#o.searchHopTimeoutMs * 4,
    );
  }

  start(): void {
    if (this.#unserve.length > 0) return;
    const t = this.#d.transport;
    this.#unserve = [
      t.serve(SEARCH_COMMANDS.search, (from, body) => this.#onSearch(from, body)),
      t.serve(SEARCH_COMMANDS.announce, (from, body) => this.#onAnnounce(from, body)),
    ];
  }

  stop(): void {
    for (const off of this.#unserve) off();
    this.#unserve = [];
  }

  /** Searches from this agent: own cache first, then up to `maxHops` hops away. */
  async search(
    query: NormalizedQuery,
    maxHops: number,
    limit: number,
    accept?: (twin: number) => boolean,
  ): Promise<Resolved> {
    this.stats.searches++;
    const id = randomId(this.#d.random);
    this.#seen.add(id, this.#d.clock.now());
    const res = await this.#resolve(query, id, maxHops, [], limit, accept);
    if (res.distance === 0) this.stats.localHits++;
    return res;
  }

  /**
   * The home agents of a tag: the `homeReplicas` members (this agent included) with the highest rendezvous score
   * `mix32(hash32(tag) ^ mix32(twin))`. Every agent computes the same homes from the same member list.
   */
  homes(tag: string): number[] {
    const k = this.#o.homeReplicas;
    if (k === 0) return [];
    const version = this.#d.membershipVersion();
    const cached = this.#homes.get(tag);
    if (cached !== undefined && cached.version === version) return cached.homes;
    const h = hash32(tag);
    const best: { twin: number; score: number }[] = [];
    const consider = (twin: number): void => {
      const score = mix32(h ^ mix32(twin));
      if (best.length === k) {
        if (score <= best[k - 1]!.score) return;
        best.pop();
      }
      let i = best.length;
      best.push({ twin, score });
      while (i > 0 && best[i - 1]!.score < score) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = { twin, score };
    };
    consider(this.#d.transport.self);
    for (const twin of this.#d.live()) consider(twin);
    const homes = best.map((b) => b.twin);
    this.#homes.delete(tag);
    this.#homes.set(tag, { version, homes });
    if (this.#homes.size > 1024) this.#homes.delete(this.#homes.keys().next().value!);
    return homes;
  }

  /**
   * Sends this agent's record to the homes of each of its tags and to its neighbours, unless they already have it.
   */
  announce(): void {
    const record = this.#d.ownRecord();
    if (record === undefined) return;
    const self = this.#d.transport.self;
    const targets = new Set<number>();
    for (const field of ["category", "subcategory", "name", "location", "adjective"] as const) {
      const v = record.tags[field];
      if (v !== undefined) for (const h of this.homes(v)) targets.add(h);
    }
    for (const n of this.#d.neighbours()) targets.add(n);
    targets.delete(self);
    for (const t of targets) {
      if (this.#announced.get(t) === record.issuedAt) continue;
      this.#announced.set(t, record.issuedAt);
      this.stats.announcedOut++;
      this.#d.transport
        .request(t, SEARCH_COMMANDS.announce, { r: record }, this.#o.gossipTimeoutMs)
        .catch(() => this.#announced.delete(t));
    }
    if (this.#announced.size > 4 * (targets.size + 16)) {
      for (const t of this.#announced.keys()) if (!targets.has(t)) this.#announced.delete(t);
    }
  }

  /**
   * Checks `twin` at first hand: asks it `query` with no hops left (answered by it alone — an honest agent answers,
   * with its own record if it matches, or with nothing), again while that times out, `checkAttempts` requests at
   * most. Its answer is scored as any other (good, timeout or invalid data). Resolves to false when no request got
   * an answer in time (every one timed out), true otherwise; never rejects.
   */
  async check(twin: number, query: NormalizedQuery): Promise<boolean> {
    const q = "fields" in query ? query.fields : query.any;
    for (let attempt = 0; attempt < this.#o.checkAttempts; attempt++) {
      const body = { id: randomId(this.#d.random), q, h: 0, p: [], l: 1 };
      this.stats.checks++;
      const r = await this.#ask(twin, query, body, this.#o.searchHopTimeoutMs, 1, true);
      if (r.timedOut !== true) return true;
    }
    return false;
  }

  /** Forgets who got our record (after it changed, everybody gets the new one). */
  resetAnnounced(): void {
    this.#announced.clear();
  }

  async #onAnnounce(from: number, body: unknown): Promise<unknown> {
    let record: ServiceRecord;
    try {
      if (!isObject(body)) throw new P2pInvalidDataError("malformed announcement");
      record = parseRecord(body.r, this.#o.maxTagLength);
      if (record.twin !== from) throw new P2pInvalidDataError("an agent may only announce its own record");
    } catch (err) {
      this.#d.invalid(from, (err as Error).message);
      throw err;
    }
    const problem = await this.#d.check(record);
    if (problem !== undefined) {
      if (problem !== "expired") this.#d.invalid(from, `announced record refused: ${problem}`);
      throw new P2pInvalidDataError(`record refused: ${problem}`);
    }
    // Cached, but not scored: an unsolicited announcement is no evidence of answering well.
    this.#d.cache.put(record, this.#d.clock.now());
    this.stats.announcedIn++;
    return { ok: 1 };
  }

  async #onSearch(from: number, body: unknown): Promise<unknown> {
    if (!isObject(body) || !isShortString(body.id, 64) || !isCount(body.h) || !Array.isArray(body.p)) {
      this.#d.invalid(from, "malformed search");
      throw new P2pInvalidDataError("malformed search");
    }
    let query: NormalizedQuery;
    try {
      query = normalizeQuery(body.q, this.#o.maxTagLength);
    } catch (err) {
      this.#d.invalid(from, "malformed search query");
      throw err;
    }
    const path = body.p.filter(isTwinId).slice(0, this.#o.searchMaxHops + 1);
    if (!path.includes(from)) path.push(from);
    const hops = Math.min(body.h, this.#o.searchMaxHops - 1);
    const limit = isCount(body.l) ? Math.min(Math.max(1, body.l), this.#o.maxResults) : this.#o.maxResults;
    if (!this.#seen.add(body.id, this.#d.clock.now())) {
      this.stats.duplicates++;
      return { r: [], dup: 1 };
    }
    this.stats.handled++;
    const res = await this.#resolve(query, body.id, hops, path, limit);
    if (res.distance === 0) this.stats.answeredHere++;
    return {
      r: res.results.map((f) => ({ rec: f.record, rep: round(this.#d.score(f.record.twin)) })),
      ...(res.distance === undefined ? {} : { d: res.distance }),
      ...(res.fromCache ? { c: 1 } : {}),
    };
  }

  /**
   * Answers here if possible, else forwards (while `hops` > 0). `accept` (the asker's reputation filter) drops
   * results before they count as an answer; what it drops is still cached.
   */
  async #resolve(
    query: NormalizedQuery,
    id: string,
    hops: number,
    path: readonly number[],
    limit: number,
    accept?: (twin: number) => boolean,
  ): Promise<Resolved> {
    const local = this.#local(query, limit, accept);
    if (local.results.length > 0) return local;
    if (hops <= 0) return EMPTY;
    const next = this.#nextHops(query, path);
    if (next.length === 0) return EMPTY;
    const body = { id, q: "any" in query ? query.any : query.fields, h: hops - 1, p: [...path], l: limit };
    const timeout = this.#o.searchHopTimeoutMs * hops;
    // Hedged: one agent at a time, the next when the previous answered nothing or after `searchHedgeMs`.
    const clock = this.#d.clock;
    return new Promise<Resolved>((resolve) => {
      let sent = 0;
      let outstanding = 0;
      let settled = false;
      let timer: TimerHandle | undefined;
      const finish = (res: Resolved): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve(res);
      };
      const sendNext = (): void => {
        if (settled) return;
        if (timer !== undefined) {
          clock.clearTimeout(timer);
          timer = undefined;
        }
        const to = next[sent];
        if (to === undefined) {
          if (outstanding === 0) finish(EMPTY);
          return;
        }
        sent++;
        outstanding++;
        this.stats.sent++;
        if (sent < next.length) timer = clock.setTimeout(sendNext, this.#o.searchHedgeMs);
        this.#ask(to, query, body, timeout, limit)
          .then((r) => {
            const results = accept === undefined ? r.results : r.results.filter((f) => accept(f.record.twin));
            if (results.length > 0) {
              finish({ results, distance: (r.distance ?? 0) + 1, fromCache: r.fromCache });
            }
          })
          .finally(() => {
            outstanding--;
            if (!settled) sendNext();
          });
      };
      sendNext();
    });
  }

  /**
   * Own record and cached records matching the query: at most `limit`, the best by this agent's reputation table,
   * then the freshest (own record first).
   */
  #local(query: NormalizedQuery, limit: number, accept?: (twin: number) => boolean): Resolved {
    const now = this.#d.clock.now();
    const results: Found[] = [];
    const own = this.#d.ownRecord();
    if (
      own !== undefined &&
      own.expiresAt > now &&
      matchesQuery(own.tags, query) &&
      accept?.(own.twin) !== false
    ) {
      results.push({ record: own, reputation: 1 });
    }
    const scores = new Map<number, number>();
    const scoreOf = (twin: number): number => {
      let x = scores.get(twin);
      if (x === undefined) {
        x = this.#d.score(twin);
        scores.set(twin, x);
      }
      return x;
    };
    const cached = this.#d.cache.find(
      query,
      now,
      limit - results.length,
      (r) => r.twin !== own?.twin && !this.#d.isDead(r.twin) && accept?.(r.twin) !== false,
      (a, b) => scoreOf(b.twin) - scoreOf(a.twin) || b.issuedAt - a.issuedAt || a.twin - b.twin,
    );
    for (const record of cached) results.push({ record, reputation: scoreOf(record.twin) });
    if (results.length === 0) return EMPTY;
    return { results, distance: 0, fromCache: cached.length > 0 };
  }

  /** The tag's homes first (unless this agent is one), then random neighbours; never the path. */
  #nextHops(query: NormalizedQuery, path: readonly number[]): number[] {
    const self = this.#d.transport.self;
    const out: number[] = [];
    const skip = (x: number): boolean => x === self || path.includes(x) || out.includes(x);
    const homes = this.homes(queryKey(query));
    if (!homes.includes(self)) {
      for (const h of homes) if (out.length < this.#o.searchFanout && !skip(h)) out.push(h);
    }
    if (out.length < this.#o.searchFanout) {
      for (const n of shuffle([...this.#d.neighbours()], this.#d.random)) {
        if (out.length >= this.#o.searchFanout) break;
        if (!skip(n) && !this.#d.isDead(n)) out.push(n);
      }
    }
    return out;
  }

  /** Asks one agent; verifies and caches what it returns; scores it. */
  async #ask(
    to: number,
    query: NormalizedQuery,
    body: unknown,
    timeout: number,
    limit: number,
    check = false,
  ): Promise<Resolved & { timedOut?: true }> {
    let reply: unknown;
    try {
      reply = await this.#d.transport.request(to, SEARCH_COMMANDS.search, body, timeout);
    } catch (err) {
      if (isTimeout(err)) {
        this.#d.timeout(to, query, check);
        return TIMED_OUT;
      }
      return EMPTY;
    }
    if (!isObject(reply) || !Array.isArray(reply.r)) {
      this.#d.invalid(to, "malformed search answer");
      return EMPTY;
    }
    if (reply.dup === 1) return EMPTY;
    const now = this.#d.clock.now();
    const results: Found[] = [];
    let problem: string | undefined;
    for (const item of reply.r.slice(0, limit)) {
      let record: ServiceRecord;
      try {
        if (!isObject(item)) throw new P2pInvalidDataError("malformed search result");
        record = parseRecord(item.rec, this.#o.maxTagLength);
      } catch (err) {
        problem = (err as Error).message;
        continue;
      }
      if (!matchesQuery(record.tags, query)) {
        problem = "a record that does not match the query";
        continue;
      }
      const p = await this.#d.check(record);
      if (p === "expired") continue;
      if (p !== undefined) {
        problem = `record of twin ${record.twin}: ${p}`;
        continue;
      }
      if (this.#d.isDead(record.twin)) continue;
      this.#d.cache.put(record, now);
      const rep = typeof item.rep === "number" && item.rep >= 0 && item.rep <= 1 ? item.rep : 0.5;
      results.push({ record, reputation: rep });
    }
    if (problem !== undefined) this.#d.invalid(to, `search answer: ${problem}`);
    else this.#d.good(to);
    const distance = isCount(reply.d) ? reply.d : results.length > 0 ? 0 : undefined;
    return { results, distance, fromCache: reply.c === 1 };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
