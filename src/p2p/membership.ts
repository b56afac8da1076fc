import type { Clock, TimerHandle } from "./clock.js";
import { P2pInvalidDataError } from "./errors.js";
import type { P2pOptions } from "./options.js";
import { type MemberUpdate, PiggybackQueue } from "./piggyback.js";
import { mix32, type Random, sample, shuffle } from "./random.js";
import type { AgentTransport } from "./transport.js";
import { firstTrue, isCount, isObject, isTwinId } from "./wire.js";

/** What an agent believes about a member. */
export const MemberState = { Alive: "alive", Suspect: "suspect", Dead: "dead" } as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

const STATE_CODE = { alive: 0, suspect: 1, dead: 2 } as const;
const CODE_STATE = [MemberState.Alive, MemberState.Suspect, MemberState.Dead] as const;

export type { MemberUpdate };

/** A member as {@link Membership.members} reports it. */
export interface MemberInfo {
  twin: number;
  state: MemberState;
  /** The member's incarnation: it raises it to refute a suspicion or to come back after being declared dead. */
  incarnation: number;
  /** When (clock ms) it entered its current state. */
  since: number;
  /** When (clock ms) this agent first heard of it (the base of its tenure). */
  firstSeen: number;
}

/** Why a member changed state. */
export type MemberCause =
  /** this agent probed it (direct and indirect pings failed): suspicion at first hand */
  | "probe"
  /** it stayed suspect for `suspicionPeriods` periods: declared dead by this agent */
  | "suspicion-timeout"
  /**
   * another agent declared it dead at an older incarnation than this agent knew, and this agent's own probe (direct
   * and indirect) failed too: declared dead by this agent at once
   */
  | "confirmed"
  /** news from another agent (piggybacked on pings or pushed by gossip) */
  | "update"
  /** it talked to this agent (a ping, ack or join from it) */
  | "direct";

/** A member changed state (or appeared). */
export interface MemberEvent {
  type: "member";
  twin: number;
  state: MemberState;
  /** `undefined` when the member was unknown. */
  previous: MemberState | undefined;
  incarnation: number;
  cause: MemberCause;
}

/** Counters of one agent's failure detector. */
export interface MembershipStats {
  /** Probes started (round-robin and re-probes of suspects). */
  probes: number;
  /** Probes answered by the direct ping. */
  directAcks: number;
  /** Probes answered through another member (`ping-req`). */
  indirectAcks: number;
  /** Suspicions raised by this agent's own probes. */
  suspicions: number;
  /** Members this agent declared dead (suspicion timeout). */
  deathsDeclared: number;
  /** Times this agent raised its incarnation because it was suspected or declared dead. */
  refutations: number;
  /** Successful joins (start and re-joins). */
  joins: number;
  /** Syncs whose digests differed, so that member entries were swapped (a second exchange). */
  syncRepairs: number;
}

/** What {@link Membership} needs from the agent. */
export interface MembershipDeps {
  transport: AgentTransport;
  clock: Clock;
  random: Random;
  options: P2pOptions;
  /** Agents to join at start (and when every other member is gone). */
  bootstrap: readonly number[];
  /** Pushes an update to the whole network at once (gossip): deaths and comebacks. */
  broadcast(update: MemberUpdate): void;
  emit(event: MemberEvent): void;
}

interface Member {
  twin: number;
  state: MemberState;
  inc: number;
  since: number;
  firstSeen: number;
  /** Suspected by this agent's own probe (only those suspicions can end in a death declared here). */
  firsthand: boolean;
  timer: TimerHandle | undefined;
}

/** The sync digest: 16 buckets of 16 leaves. */
const SYNC_BUCKETS = 16;
const SYNC_LEAVES = SYNC_BUCKETS * SYNC_BUCKETS;

/** Per bucket, the XOR of its leaves. */
function bucketDigest(leaves: Uint32Array): number[] {
  const out: number[] = [];
  for (let b = 0; b < SYNC_BUCKETS; b++) {
    let x = 0;
    for (let j = 0; j < SYNC_BUCKETS; j++) x ^= leaves[b * SYNC_BUCKETS + j]!;
    out.push(x >>> 0);
  }
  return out;
}

export const MEMBERSHIP_COMMANDS = {
  ping: "p2p.ping",
  pingReq: "p2p.ping-req",
  join: "p2p.join",
  sync: "p2p.sync",
} as const;

/**
 * SWIM membership with imAlive heartbeats: every protocol period the agent pings one member (a round robin that
 * the agents share: a rotation of a ring ordered by a hash of the twin ids, so that each member is probed by some
 * agent every period), asks `indirectProbes` others to ping it when it does not answer, and suspects it when nobody got an ack.
 * A suspect is re-probed every period (the ping tells it that it is suspected, so a live one refutes by raising its
 * incarnation); after `suspicionPeriods` periods it is declared dead, and the death is pushed to everybody by
 * gossip. Updates also ride on pings and acks (infection-style dissemination, `retransmitMult × log10(n)` times
 * each). Dead members leave the member list; a member that comes back with a higher incarnation (or re-joins) is
 * alive again.
 *
 * Suspicions are only *acted on* at first hand: an agent that hears of a suspicion marks the member suspect but
 * declares it dead only after its own probes fail. A false suspicion therefore needs several independent failed
 * probes of the same agent before it becomes a false death.
 */
export class Membership {
  readonly stats: MembershipStats = {
    probes: 0,
    directAcks: 0,
    indirectAcks: 0,
    suspicions: 0,
    deathsDeclared: 0,
    refutations: 0,
    joins: 0,
    syncRepairs: 0,
  };
  readonly #d: MembershipDeps;
  readonly #o: P2pOptions;
  readonly #members = new Map<number, Member>();
  readonly #suspects = new Set<number>();
  /** Members to probe at the next period (conflicting news about them). */
  readonly #recheck = new Set<number>();
  /** Members declared dead elsewhere at an incarnation older than the one known here: a failed probe confirms. */
  readonly #staleDeaths = new Set<number>();
  readonly #dead = new Set<number>();
  readonly #queue: PiggybackQueue;
  #version = 0;
  #inc = 0;
  #running = false;
  #timer: TimerHandle | undefined;
  #unserve: (() => void)[] = [];
  /**
   * The live members, ordered by {@link ringKey}: with this agent in its place, the probe ring. At protocol period
   * k (of the clock: `⌊now / periodMs⌋`) the agent at position i of the ring probes the member at position
   * `i + 1 + k mod (n − 1)`: a rotation, so when the agents' lists agree every member is probed by exactly one
   * agent each period, and over n − 1 periods each agent probes every other member once (SWIM's round robin).
   */
  readonly #live: number[] = [];
  #period = 0;

  constructor(deps: MembershipDeps) {
    this.#d = deps;
    this.#o = deps.options;
    this.#queue = new PiggybackQueue(this.#o.maxUpdateBuffer, this.#o.maxUpdateAgePeriods * this.#o.periodMs);
  }

  get self(): number {
    return this.#d.transport.self;
  }

  /** This agent's own incarnation. */
  get incarnation(): number {
    return this.#inc;
  }

  /** Changes whenever the set of live members changes (for caches built on it). */
  get version(): number {
    return this.#version;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Serves the membership commands, starts probing and joins the bootstrap agents. */
  start(): Promise<boolean> {
    if (this.#running) return Promise.resolve(true);
    this.#running = true;
    const t = this.#d.transport;
    this.#unserve = [
      t.serve(MEMBERSHIP_COMMANDS.ping, (from, body) => this.#onPing(from, body)),
      t.serve(MEMBERSHIP_COMMANDS.pingReq, (from, body) => this.#onPingReq(from, body)),
      t.serve(MEMBERSHIP_COMMANDS.join, (from, body) => this.#onJoin(from, body)),
      t.serve(MEMBERSHIP_COMMANDS.sync, (from, body) => this.#onSync(from, body)),
    ];
    this.#timer = this.#d.clock.setTimeout(() => this.#tick(), this.#d.random() * this.#o.periodMs);
    return this.join(this.#d.bootstrap);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#d.clock.clearTimeout(this.#timer);
    for (const m of this.#members.values()) this.#clearTimer(m);
    for (const off of this.#unserve) off();
    this.#unserve = [];
  }

  /** Live members (alive or suspect), not this agent. The array is shared: do not change it. */
  live(): readonly number[] {
    return this.#live;
  }

  isLive(twin: number): boolean {
    const m = this.#members.get(twin);
    return m !== undefined && m.state !== MemberState.Dead;
  }

  member(twin: number): MemberInfo | undefined {
    const m = this.#members.get(twin);
    return m === undefined ? undefined : info(m);
  }

  /** The contact list: live members (alive and suspect). */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const m of this.#members.values()) if (m.state !== MemberState.Dead) out.push(info(m));
    return out;
  }

  /** How long (ms) this agent has known `twin`, 0 if it does not. */
  tenureOf(twin: number): number {
    const m = this.#members.get(twin);
    return m === undefined || m.state === MemberState.Dead ? 0 : this.#d.clock.now() - m.firstSeen;
  }

  /**
   * Asks `targets` for the member list (`p2p.join`) and adds what they know. This agent's `alive` then spreads on
   * pings; when somebody still held it suspect or dead (a comeback), it is also pushed to the whole network at once.
   * Resolves true if at least one answered.
   */
  async join(targets: readonly number[]): Promise<boolean> {
    return (await this.joinAll(targets)).length > 0;
  }

  /** {@link join}, resolving with the twins that answered. */
  async joinAll(targets: readonly number[]): Promise<number[]> {
    const t = this.#d.transport;
    const asked = [...new Set(targets)].filter((x) => x !== t.self);
    if (asked.length === 0) return [];
    const replies = await Promise.allSettled(
      asked.map((x) => t.request(x, MEMBERSHIP_COMMANDS.join, { i: this.#inc }, 2 * this.#o.periodMs)),
    );
    if (!this.#running) return [];
    const answered: number[] = [];
    let comeback = false;
    for (const [index, r] of replies.entries()) {
      if (r.status !== "fulfilled" || !isObject(r.value)) continue;
      const { i, m, y } = r.value;
      if (!isCount(i) || !Array.isArray(m)) continue;
      answered.push(asked[index]!);
      if (isCount(y)) comeback = true;
      if (isCount(y) && y >= this.#inc) this.#inc = y + 1;
      this.#heard(asked[index]!, i);
      for (const entry of m.slice(0, this.#o.maxJoinMembers)) {
        if (Array.isArray(entry) && isTwinId(entry[0]) && isCount(entry[1])) {
          this.applyUpdate([entry[0], 0, entry[1]], false);
        }
      }
    }
    if (answered.length > 0) {
      this.stats.joins++;
      if (comeback) this.#announceSelf();
      else this.#enqueue([this.self, STATE_CODE.alive, this.#inc]);
    }
    return answered;
  }

  /**
   * Push-pull anti-entropy with one random live member, by digest: the request carries a digest of the set of live
   * members (16 numbers); the member answers with finer digests (16 per bucket) of the buckets that differ; when
   * some leaves differ, a second exchange swaps the entries of those leaves (at most `maxSyncMembers` each way,
   * dead members included so that missed deaths spread too). When both lists agree — the steady state — a sync
   * costs two small messages whatever the size of the network. Resolves true if the member answered.
   */
  async sync(): Promise<boolean> {
    const [peer] = sample(this.live(), 1, this.#d.random);
    if (peer === undefined) return false;
    const t = this.#d.transport;
    const timeout = 2 * this.#o.periodMs;
    let reply: unknown;
    try {
      const digest = bucketDigest(this.#leafDigest());
      reply = await t.request(peer, MEMBERSHIP_COMMANDS.sync, { i: this.#inc, d: digest }, timeout);
    } catch {
      return false;
    }
    if (!this.#running || !isObject(reply) || !isCount(reply.i)) return false;
    this.#heard(peer, reply.i);
    if (reply.d === 1) this.#aboutSelf(STATE_CODE.dead, this.#inc);
    if (!Array.isArray(reply.x)) return true;
    const leaves = this.#leafDigest();
    const differ: number[] = [];
    for (const entry of reply.x.slice(0, SYNC_BUCKETS)) {
      if (!Array.isArray(entry) || !isCount(entry[0]) || entry[0] >= SYNC_BUCKETS) continue;
      const theirs = entry[1];
      if (!Array.isArray(theirs) || theirs.length !== SYNC_BUCKETS) continue;
      for (let j = 0; j < SYNC_BUCKETS; j++) {
        const leaf = entry[0] * SYNC_BUCKETS + j;
        if (theirs[j] !== leaves[leaf]) differ.push(leaf);
      }
    }
    if (differ.length === 0) return true;
    this.stats.syncRepairs++;
    let entries: unknown;
    try {
      entries = await t.request(
        peer,
        MEMBERSHIP_COMMANDS.sync,
        { i: this.#inc, l: differ, m: this.#entriesIn(new Set(differ)) },
        timeout,
      );
    } catch {
      return true;
    }
    if (this.#running && isObject(entries)) this.#applyAll(entries.m, this.#o.maxJoinMembers, false);
    return true;
  }

  /**
   * Applies news about a member (from a piggyback or from gossip); true if it changed what this agent knows. What
   * changed is piggybacked on in turn unless `spread` is false (bulk lists from joins and syncs are not news).
   */
  applyUpdate(update: MemberUpdate, spread = true): boolean {
    const [twin, code, inc] = update;
    if (twin === this.self) {
      this.#aboutSelf(code, inc);
      return false;
    }
    const m = this.#members.get(twin);
    if (m !== undefined && inc > m.inc + this.#o.maxIncarnationStep) return false;
    const state = CODE_STATE[code];
    // A death from a bulk list (join, sync) of a member never known here is nothing to remember.
    if (m === undefined && state === MemberState.Dead && !spread) return false;
    if (m === undefined) {
      return this.#add(twin, state, inc, "update", spread && state !== MemberState.Suspect) !== undefined;
    }
    switch (state) {
      case MemberState.Alive:
        if (inc <= m.inc) {
          // Alive news about a member we hold dead at a later incarnation than the news has (a comeback whose
          // incarnation was set by an agent that had not heard of the one it died with): check it ourselves; if
          // it answers, our ping tells it to come back above the incarnation we hold it dead at.
          if (m.state === MemberState.Dead && spread) this.#recheck.add(twin);
          return false;
        }
        this.#set(m, MemberState.Alive, inc, "update", spread);
        return true;
      case MemberState.Suspect:
        if (m.state === MemberState.Dead) return false;
        if (inc < m.inc || (inc === m.inc && m.state === MemberState.Suspect)) return false;
        // Second-hand suspicions are noted, not passed on: the agents that suspect at first hand spread them.
        this.#set(m, MemberState.Suspect, inc, "update", false);
        return true;
      case MemberState.Dead:
        if (inc < m.inc && m.state !== MemberState.Dead) {
          // Declared dead at an incarnation it has since left (this agent heard of a later one, which need not
          // have reached the agent that declared it): somebody saw it fail, so check it ourselves now, and if our
          // probe fails too, take the death at the incarnation we know.
          this.#recheck.add(twin);
          this.#staleDeaths.add(twin);
          return false;
        }
        if (inc < m.inc || (inc === m.inc && m.state === MemberState.Dead)) return false;
        this.#set(m, MemberState.Dead, inc, "update", spread);
        return true;
    }
  }

  // ── probing ──

  #tick(): void {
    if (!this.#running) return;
    this.#timer = this.#d.clock.setTimeout(() => this.#tick(), this.#o.periodMs);
    this.#period++;
    const target = this.#nextTarget();
    if (target !== undefined) void this.#probe(target);
    const now = this.#d.clock.now();
    const suspicionMs = this.#o.suspicionPeriods * this.#o.periodMs;
    let reprobes = 0;
    for (const twin of this.#recheck) {
      if (reprobes >= this.#o.maxSuspectProbes) break;
      this.#recheck.delete(twin);
      const m = this.#members.get(twin);
      if (twin === target || m === undefined) continue;
      reprobes++;
      if (m.state === MemberState.Dead) void this.#ping(twin, undefined, this.#o.pingTimeoutMs, m.inc);
      else void this.#probe(twin);
    }
    for (const twin of this.#suspects) {
      if (reprobes >= this.#o.maxSuspectProbes) break;
      const m = this.#members.get(twin);
      if (m === undefined || twin === target) continue;
      // Our own suspects every period; news of others' suspicions once it is old enough to matter.
      if (m.firsthand || now - m.since >= suspicionMs) {
        reprobes++;
        void this.#probe(twin);
      }
    }
    if (this.#period % this.#o.syncPeriods === 0) void this.sync();
    if (this.live().length === 0 && this.#period % this.#o.rejoinPeriods === 0) {
      void this.join([...this.#d.bootstrap, ...sample([...this.#dead], 3, this.#d.random)]);
    }
    if (this.#period % 10 === 0) this.#purge(now);
  }

  #nextTarget(): number | undefined {
    const others = this.#live;
    if (others.length === 0) return undefined;
    // The ring is `others` with this agent inserted at `i`: n positions, ours is i.
    const n = others.length + 1;
    const i = ringLowerBound(others, this.self);
    const period = Math.floor(this.#d.clock.now() / this.#o.periodMs);
    const t = (i + 1 + (period % (n - 1))) % n;
    return others[t < i ? t : t - 1];
  }

  async #probe(target: number): Promise<void> {
    const m = this.#members.get(target);
    if (m === undefined || m.state === MemberState.Dead) return;
    this.stats.probes++;
    const suspectedAt = m.state === MemberState.Suspect ? m.inc : undefined;
    if (await this.#ping(target, suspectedAt, this.#o.pingTimeoutMs)) {
      this.stats.directAcks++;
      this.#staleDeaths.delete(target);
      return;
    }
    if (!this.#running) return;
    const helpers = sample(this.live(), this.#o.indirectProbes, this.#d.random, (x) => x === target);
    const wait = this.#o.periodMs - this.#o.pingTimeoutMs;
    const body = { t: target, i: this.#inc, ...(suspectedAt === undefined ? {} : { s: suspectedAt }) };
    const ok = await firstTrue(
      helpers.map((h) =>
        this.#d.transport.request(h, MEMBERSHIP_COMMANDS.pingReq, body, wait).then((r) => {
          if (!isObject(r) || r.a !== 1) return false;
          if (isCount(r.i)) this.#heard(target, r.i);
          return true;
        }),
      ),
    );
    if (ok) {
      this.stats.indirectAcks++;
      this.#staleDeaths.delete(target);
      return;
    }
    if (!this.#running) return;
    if (this.#staleDeaths.delete(target)) this.#confirmDeath(target);
    else this.#suspect(target);
  }

  /**
   * One direct ping; true if acked. Applies what the ack carries. `deadAt`: we hold the target dead at this
   * incarnation (it must come back above it).
   */
  async #ping(
    target: number,
    suspectedAt: number | undefined,
    timeoutMs: number,
    deadAt?: number,
  ): Promise<boolean> {
    const body = {
      i: this.#inc,
      u: this.#take(),
      ...(suspectedAt === undefined ? {} : { s: suspectedAt }),
      ...(deadAt === undefined ? {} : { x: deadAt }),
    };
    let reply: unknown;
    try {
      reply = await this.#d.transport.request(target, MEMBERSHIP_COMMANDS.ping, body, timeoutMs);
    } catch {
      return false;
    }
    if (!this.#running || !isObject(reply) || !isCount(reply.i)) return false;
    this.#heard(target, reply.i);
    this.#applyAll(reply.u);
    if (reply.d === 1) this.#aboutSelf(STATE_CODE.dead, this.#inc);
    return true;
  }

  #suspect(twin: number): void {
    const m = this.#members.get(twin);
    if (m === undefined || m.state === MemberState.Dead) return;
    if (m.state === MemberState.Suspect && m.firsthand) return;
    if (m.state === MemberState.Alive) this.#set(m, MemberState.Suspect, m.inc, "probe");
    else m.since = this.#d.clock.now();
    m.firsthand = true;
    this.stats.suspicions++;
    const timer = this.#d.clock.setTimeout(() => {
      // Still our suspicion (no ack from it since, so no refutation reached us): declare it.
      if (this.#members.get(twin) === m && m.timer === timer) this.#suspicionTimeout(m);
    }, this.#o.suspicionPeriods * this.#o.periodMs);
    m.timer = timer;
  }

  #suspicionTimeout(m: Member): void {
    m.timer = undefined;
    if (!this.#running || m.state !== MemberState.Suspect) return;
    this.#declareDead(m, "suspicion-timeout");
  }

  /** Our probe of a member declared dead elsewhere (at an older incarnation) failed too. */
  #confirmDeath(twin: number): void {
    const m = this.#members.get(twin);
    if (m === undefined || m.state === MemberState.Dead) return;
    this.#declareDead(m, "confirmed");
  }

  #declareDead(m: Member, cause: MemberCause): void {
    const inc = m.inc;
    this.#set(m, MemberState.Dead, inc, cause);
    this.stats.deathsDeclared++;
    this.#d.broadcast([m.twin, STATE_CODE.dead, inc]);
  }

  // ── handlers ──

  #onPing(from: number, body: unknown): unknown {
    if (!isObject(body) || !isCount(body.i)) throw new P2pInvalidDataError("malformed ping");
    const verdict = this.#heard(from, body.i);
    this.#applyAll(body.u);
    if (isCount(body.s) && body.s >= this.#inc) this.#aboutSelf(STATE_CODE.suspect, body.s);
    if (isCount(body.x) && body.x >= this.#inc) this.#aboutSelf(STATE_CODE.dead, body.x);
    return { i: this.#inc, u: this.#take(), ...(verdict === "dead" ? { d: 1 } : {}) };
  }

  async #onPingReq(from: number, body: unknown): Promise<unknown> {
    if (!isObject(body) || !isTwinId(body.t) || !isCount(body.i)) {
      throw new P2pInvalidDataError("malformed ping-req");
    }
    this.#heard(from, body.i);
    const target = body.t;
    if (target === this.self) return { a: 1, i: this.#inc };
    const ok = await this.#ping(target, isCount(body.s) ? body.s : undefined, this.#o.pingTimeoutMs);
    return ok ? { a: 1, i: this.#members.get(target)?.inc ?? 0 } : { a: 0 };
  }

  #onSync(from: number, body: unknown): unknown {
    if (!isObject(body) || !isCount(body.i)) throw new P2pInvalidDataError("malformed sync");
    const verdict = this.#heard(from, body.i);
    const dead = verdict === "dead" ? { d: 1 } : {};
    if (Array.isArray(body.l)) {
      // Second exchange: the leaves that differ; swap their entries.
      const leaves = new Set(body.l.slice(0, SYNC_LEAVES).filter((x) => isCount(x) && x < SYNC_LEAVES));
      const mine = this.#entriesIn(leaves);
      this.#applyAll(body.m, this.#o.maxJoinMembers, false);
      return { i: this.#inc, m: mine, ...dead };
    }
    const theirs = body.d;
    if (!Array.isArray(theirs) || theirs.length !== SYNC_BUCKETS)
      throw new P2pInvalidDataError("malformed sync");
    const leaves = this.#leafDigest();
    const buckets = bucketDigest(leaves);
    const x: [number, number[]][] = [];
    for (let b = 0; b < SYNC_BUCKETS; b++) {
      if (theirs[b] !== buckets[b]) {
        x.push([b, Array.from(leaves.subarray(b * SYNC_BUCKETS, (b + 1) * SYNC_BUCKETS))]);
      }
    }
    return { i: this.#inc, ...(x.length > 0 ? { x } : {}), ...dead };
  }

  /**
   * The digest of the live member set (this agent included; suspects count as live, incarnations do not count, so
   * that a refutation not yet heard everywhere is no difference): per leaf, the XOR of a hash of its members' ids.
   */
  #leafDigest(): Uint32Array {
    const leaves = new Uint32Array(SYNC_LEAVES);
    const add = (twin: number): void => {
      const h = mix32(twin);
      leaves[h & (SYNC_LEAVES - 1)]! ^= mix32(h ^ 0x9e3779b9);
    };
    add(this.self);
    for (const twin of this.#live) add(twin);
    return leaves;
  }

  /** The members (dead ones included, and this agent) whose leaf is in `leaves`, at most `maxSyncMembers`. */
  #entriesIn(leaves: ReadonlySet<number>): MemberUpdate[] {
    const out: MemberUpdate[] = [];
    const inLeaf = (twin: number): boolean => leaves.has(mix32(twin) & (SYNC_LEAVES - 1));
    if (inLeaf(this.self)) out.push([this.self, STATE_CODE.alive, this.#inc]);
    for (const m of this.#members.values()) {
      if (inLeaf(m.twin)) out.push([m.twin, STATE_CODE[m.state], m.inc]);
    }
    return out.length <= this.#o.maxSyncMembers
      ? out
      : shuffle(out, this.#d.random).slice(0, this.#o.maxSyncMembers);
  }

  #onJoin(from: number, body: unknown): unknown {
    if (!isObject(body) || !isCount(body.i)) throw new P2pInvalidDataError("malformed join");
    const known = this.#members.get(from);
    const knownInc = known?.inc;
    const knownState = known?.state;
    this.#heard(from, body.i);
    const list = sample(this.live(), this.#o.maxJoinMembers, this.#d.random, (x) => x === from).map((x) => [
      x,
      this.#members.get(x)!.inc,
    ]);
    // It must come back above what we know of it when we hold it suspect or dead, or know a later incarnation.
    const stale =
      knownInc !== undefined &&
      (knownInc > body.i || (knownInc === body.i && knownState !== MemberState.Alive));
    return { i: this.#inc, m: list, ...(stale ? { y: knownInc } : {}) };
  }

  /**
   * Direct evidence that `twin` runs with incarnation `inc` (it sent us something). Returns "dead" when we hold it
   * dead at that incarnation or later: it must come back with a higher one (the caller tells it so).
   */
  #heard(twin: number, inc: number): "ok" | "dead" {
    if (twin === this.self) return "ok";
    const m = this.#members.get(twin);
    if (m === undefined) {
      this.#add(twin, MemberState.Alive, inc, "direct");
      return "ok";
    }
    if (m.state === MemberState.Dead) {
      if (inc <= m.inc) return "dead";
      this.#set(m, MemberState.Alive, inc, "direct");
    } else if (inc > m.inc || m.state === MemberState.Suspect) {
      this.#set(m, MemberState.Alive, Math.max(inc, m.inc), "direct");
    }
    return "ok";
  }

  /** News about this agent itself: refute a suspicion or a death by raising the incarnation. */
  #aboutSelf(code: 0 | 1 | 2, inc: number): void {
    if (inc < this.#inc || (code === STATE_CODE.alive && inc === this.#inc)) return;
    this.#inc = inc + 1;
    if (code === STATE_CODE.alive) {
      this.#enqueue([this.self, STATE_CODE.alive, this.#inc]);
      return;
    }
    this.stats.refutations++;
    if (code === STATE_CODE.dead) this.#announceSelf();
    else this.#enqueue([this.self, STATE_CODE.alive, this.#inc]);
  }

  #announceSelf(): void {
    const update: MemberUpdate = [this.self, STATE_CODE.alive, this.#inc];
    this.#enqueue(update, true);
    this.#d.broadcast(update);
  }

  #applyAll(updates: unknown, max = 4 * this.#o.maxPiggyback + 4, spread = true): void {
    if (!Array.isArray(updates)) return;
    for (const u of updates.slice(0, max)) {
      if (Array.isArray(u) && isTwinId(u[0]) && (u[1] === 0 || u[1] === 1 || u[1] === 2) && isCount(u[2])) {
        this.applyUpdate([u[0], u[1], u[2]], spread);
      }
    }
  }

  // ── state ──

  #add(twin: number, state: MemberState, inc: number, cause: MemberCause, spread = true): Member | undefined {
    if (this.#members.size >= this.#o.maxMembers) return undefined;
    const now = this.#d.clock.now();
    const m: Member = { twin, state, inc, since: now, firstSeen: now, firsthand: false, timer: undefined };
    this.#members.set(twin, m);
    if (state === MemberState.Suspect) this.#suspects.add(twin);
    if (state === MemberState.Dead) this.#dead.add(twin);
    else this.#liveAdd(twin);
    if (spread) this.#enqueue([twin, STATE_CODE[state], inc]);
    if (state !== MemberState.Dead) {
      this.#d.emit({ type: "member", twin, state, previous: undefined, incarnation: inc, cause });
    }
    return m;
  }

  #set(m: Member, state: MemberState, inc: number, cause: MemberCause, spread = true): void {
    const previous = m.state;
    if (previous === state) {
      if (inc === m.inc) return;
      m.inc = inc;
      // A newer suspicion from elsewhere: noted. Ours, if we suspect it at first hand, goes on (its timer fires
      // only while our re-probes keep failing): resetting it made a dead member's probers, who had heard of
      // different incarnations, reset each other's suspicions and declare the death periods later.
      if (state === MemberState.Suspect && !m.firsthand) m.since = this.#d.clock.now();
      // A live member's new incarnation is no news to pass on: it matters to the agents that suspected it, and
      // those get it from the member itself (the ack to their probe) or from an agent that held it suspect (a
      // state change, below). Passing every refutation on to everybody made each agent's piggyback traffic grow
      // with the size of the network.
      if (spread && state !== MemberState.Alive) this.#enqueue([m.twin, STATE_CODE[state], inc]);
      return;
    }
    m.inc = inc;
    m.state = state;
    m.since = this.#d.clock.now();
    if (state !== MemberState.Suspect) {
      this.#staleDeaths.delete(m.twin);
      this.#clearTimer(m);
      m.firsthand = false;
      this.#suspects.delete(m.twin);
    } else {
      this.#suspects.add(m.twin);
    }
    if (state === MemberState.Dead) {
      this.#dead.add(m.twin);
      this.#liveRemove(m.twin);
    } else {
      this.#dead.delete(m.twin);
      if (previous === MemberState.Dead) this.#liveAdd(m.twin);
    }
    if (spread)
      this.#enqueue(
        [m.twin, STATE_CODE[state], inc],
        state === MemberState.Dead || previous === MemberState.Dead,
      );
    this.#d.emit({ type: "member", twin: m.twin, state, previous, incarnation: inc, cause });
  }

  #clearTimer(m: Member): void {
    if (m.timer !== undefined) {
      this.#d.clock.clearTimeout(m.timer);
      m.timer = undefined;
    }
  }

  #liveAdd(twin: number): void {
    const i = ringLowerBound(this.#live, twin);
    if (this.#live[i] === twin) return;
    this.#live.splice(i, 0, twin);
    this.#version++;
  }

  #liveRemove(twin: number): void {
    const i = ringLowerBound(this.#live, twin);
    if (this.#live[i] !== twin) return;
    this.#live.splice(i, 1);
    this.#version++;
  }

  /** Forgets members dead for longer than `deadRetentionMs`. */
  #purge(now: number): void {
    for (const twin of this.#dead) {
      const m = this.#members.get(twin);
      if (m === undefined || now - m.since >= this.#o.deadRetentionMs) {
        this.#dead.delete(twin);
        this.#members.delete(twin);
      }
    }
  }

  // ── piggyback buffer ──

  #enqueue(u: MemberUpdate, urgent = u[1] === STATE_CODE.dead): void {
    this.#queue.enqueue(u, urgent, this.#d.clock.now());
  }

  /** The updates to piggyback on one message (each goes `retransmitMult·⌈log10(n+2)⌉` times). */
  #take(): MemberUpdate[] {
    if (this.#queue.size === 0 || this.#o.maxPiggyback === 0) return [];
    const limit = this.#o.retransmitMult * Math.ceil(Math.log10(this.#live.length + 2));
    return this.#queue.take(this.#o.maxPiggyback, limit, this.#d.clock.now());
  }
}

function info(m: Member): MemberInfo {
  return { twin: m.twin, state: m.state, incarnation: m.inc, since: m.since, firstSeen: m.firstSeen };
}

/** Position of `twin` on the probe ring: a hash, so that neighbours on the ring are unrelated twins. */
function ringKey(twin: number): number {
  return mix32(twin);
}

/** First index whose element does not come before `twin`. */
function ringLowerBound(ring: readonly number[], twin: number): number {
  const key = ringKey(twin);
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = ring[mid]!;
    const k = ringKey(t);
    if (k < key || (k === key && t < twin)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
