import {
  Ed25519KeyPair,
  isValidSignature,
  type Signer,
  signerFromKeyPair,
} from "../../src/identity/index.js";
import { bytesKey, LruCache } from "../../src/lru-cache.js";
import {
  type AgentTransport,
  P2pAgent,
  type P2pEvent,
  type P2pOptions,
  type Random,
  type ServiceTags,
  SimNetwork,
  seededRandom,
} from "../../src/p2p/index.js";

/** A simulated network of agents with real ed25519 keys, on one {@link SimNetwork}. */
export interface WorldConfig {
  n: number;
  seed: number;
  loss: number;
  /** Agent options (the same for all). */
  options?: Partial<P2pOptions>;
  /** Agents start at random times within this window (virtual ms). @default 10000 */
  joinSpreadMs?: number;
  /**
   * Size of the tag vocabulary relative to the base one (see {@link tagsFor}): with `n / 100`, every tag value is
   * held by as many agents on average at every N as in a world of 100 with the base vocabulary. @default 1
   */
  vocabularyScale?: number;
}

const CATEGORIES = ["compute", "storage", "gateway", "exchange", "barber", "translation", "hosting", "vpn"];
const SUBS = ["basic", "pro", "gpu", "archive", "edge"];
const ADJECTIVES = [
  "fast",
  "cheap",
  "trusted",
  "green",
  "secure",
  "local",
  "big",
  "small",
  "new",
  "certified",
  "quiet",
  "friendly",
  "premium",
  "open",
  "private",
  "redundant",
  "mobile",
  "solar",
  "verified",
  "budget",
];

/** Value `i` of a vocabulary made of `base` repeated with a suffix: `base[i]` first, then `base[j]-2`, … */
function word(base: readonly string[], i: number): string {
  const round = Math.floor(i / base.length);
  const w = base[i % base.length]!;
  return round === 0 ? w : `${w}-${round + 1}`;
}

/**
 * Tags of agent `twin`: 8 categories (5 subcategories each), 50 locations, 20 adjectives, a unique name; with
 * `scale` ≠ 1 there are `scale` times as many categories, locations and adjectives. The number of random draws does
 * not depend on `scale`, so worlds of the same seed differ only in the words.
 */
export function tagsFor(twin: number, random: Random, scale = 1): ServiceTags {
  const size = (base: number): number => Math.max(1, Math.round(base * scale));
  const category = word(CATEGORIES, Math.floor(random() * size(CATEGORIES.length)));
  return {
    category,
    subcategory: `${category}-${SUBS[Math.floor(random() * SUBS.length)]!}`,
    name: `svc-${twin}`,
    location: `city-${Math.floor(random() * size(50))}`,
    adjective: word(ADJECTIVES, Math.floor(random() * size(ADJECTIVES.length))),
  };
}

/**
 * `isValidSignature` with one cache shared by all agents of the process: verification is a pure function, so
 * sharing changes no outcome, it only saves the simulation from verifying the same record a thousand times.
 */
export function sharedVerifier(size = 200_000): typeof isValidSignature {
  const valid = new LruCache<string, boolean>(size);
  return (publicKey, message, signature) => {
    const key = bytesKey(publicKey) + bytesKey(signature) + bytesKey(message);
    let ok = valid.get(key);
    if (ok === undefined) {
      ok = isValidSignature(publicKey, message, signature);
      valid.set(key, ok);
    }
    return ok;
  };
}

export type WorldListener = (observer: number, event: P2pEvent) => void;

export class World {
  readonly net: SimNetwork;
  readonly config: WorldConfig;
  readonly agents = new Map<number, P2pAgent>();
  readonly signers = new Map<number, Signer>();
  readonly publicKeys = new Map<number, Uint8Array>();
  readonly tags = new Map<number, ServiceTags>();
  readonly listeners = new Set<WorldListener>();
  readonly random: Random;
  /** Twins whose transport is wrapped (misbehaving agents). */
  readonly wrap = new Map<number, (t: AgentTransport) => AgentTransport>();
  readonly verify = sharedVerifier();

  constructor(config: WorldConfig) {
    this.config = config;
    this.net = new SimNetwork({ seed: config.seed, loss: config.loss });
    this.random = seededRandom(config.seed ^ 0x5eed);
  }

  /** Makes keys and tags for twins 1…n. */
  populate(n: number, from = 1): void {
    for (let twin = from; twin < from + n; twin++) this.identity(twin);
  }

  identity(twin: number): Signer {
    let signer = this.signers.get(twin);
    if (signer === undefined) {
      const seed = new Uint8Array(32);
      for (let i = 0; i < 32; i++) seed[i] = Math.floor(this.random() * 256);
      signer = signerFromKeyPair(Ed25519KeyPair.fromSeed(seed));
      this.signers.set(twin, signer);
      this.publicKeys.set(twin, signer.publicKey);
      this.tags.set(twin, tagsFor(twin, this.random, this.config.vocabularyScale));
    }
    return signer;
  }

  /** A new (not started) agent for `twin`. */
  agent(twin: number, bootstrap: number[], options: Partial<P2pOptions> = {}): P2pAgent {
    const signer = this.identity(twin);
    let transport = this.net.transport(twin);
    const w = this.wrap.get(twin);
    if (w !== undefined) transport = w(transport);
    const tags = this.tags.get(twin);
    const agent = new P2pAgent({
      transport,
      signer,
      keys: { publicKeyOf: (t) => this.publicKeys.get(t) },
      ...(tags === undefined ? {} : { tags }),
      bootstrap,
      clock: this.net.clock,
      verify: this.verify,
      random: seededRandom(this.config.seed * 7919 + twin * 104729),
      options: { ...this.config.options, ...options },
    });
    agent.on((e) => {
      for (const l of this.listeners) l(twin, e);
    });
    this.agents.set(twin, agent);
    return agent;
  }

  /** Starts twins 1…n: five seeds at once, the others at random times within `joinSpreadMs`, joining 2 seeds and
   * one agent started before them. Runs the network until the last one started. */
  async startAll(): Promise<void> {
    const n = this.config.n;
    const spread = this.config.joinSpreadMs ?? 10_000;
    this.populate(n);
    const seeds = [1, 2, 3, 4, 5].filter((s) => s <= n);
    const started: number[] = [];
    for (const s of seeds) {
      void this.agent(
        s,
        seeds.filter((x) => x !== s),
      ).start();
      started.push(s);
    }
    const order = Array.from({ length: n - seeds.length }, (_, i) => i + seeds.length + 1)
      .map((twin) => ({ twin, at: this.random() * spread }))
      .sort((a, b) => a.at - b.at);
    for (const { twin, at } of order) {
      this.net.clock.setTimeout(() => {
        const pick = (list: number[]): number => list[Math.floor(this.random() * list.length)]!;
        const bootstrap = [...new Set([pick(seeds), pick(seeds), pick(started)])];
        started.push(twin);
        void this.agent(twin, bootstrap).start();
      }, at);
    }
    await this.net.run(spread + 100);
  }

  /** Crashes `twin`: its agent stops and the network drops everything to and from it. */
  kill(twin: number): void {
    this.agents.get(twin)?.stop();
    this.net.kill(twin);
  }

  /** Restarts a killed twin as a fresh agent (same key, no memory), joining `bootstrap`. */
  restart(twin: number, bootstrap: number[]): P2pAgent {
    this.net.revive(twin);
    const agent = this.agent(twin, bootstrap);
    void agent.start();
    return agent;
  }

  /** Twins whose agent runs and is reachable. */
  alive(): number[] {
    return [...this.agents.entries()].filter(([t, a]) => a.running && !this.net.isKilled(t)).map(([t]) => t);
  }
}
