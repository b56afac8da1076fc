import { Ed25519KeyPair, type Signer, signerFromKeyPair } from "../../src/identity/index.js";
import {
  type AgentTransport,
  type BootstrapSource,
  P2pAgent,
  type P2pEvent,
  type P2pOptions,
  resolveOptions,
  type ServiceTags,
  SimNetwork,
  type SimNetworkOptions,
  seededRandom,
} from "../../src/p2p/index.js";
import { Membership, type MembershipDeps } from "../../src/p2p/membership.js";

/** Fast timers for tests: 200 ms periods. */
export const FAST: Partial<P2pOptions> = {
  periodMs: 200,
  pingTimeoutMs: 60,
  suspicionPeriods: 3,
  syncPeriods: 10,
  announcePeriods: 2,
  searchHopTimeoutMs: 300,
  gossipTimeoutMs: 400,
};

/** One-way latency scaled to the 200 ms periods of {@link FAST}: 2 ms + exp(mean 4 ms), as 10 + exp(20) is to 1 s. */
export const FAST_LATENCY = (r: () => number): number => Math.min(200, 2 - 4 * Math.log(1 - r()));

/** A bare membership (no agent around it) of `twin` on `net`, with the {@link FAST} timers. */
export function fastMembership(
  net: SimNetwork,
  twin: number,
  parts: Partial<Pick<MembershipDeps, "bootstrap" | "broadcast" | "emit">> = {},
): Membership {
  return new Membership({
    transport: net.transport(twin),
    clock: net.clock,
    random: net.random,
    options: resolveOptions(FAST),
    bootstrap: parts.bootstrap ?? [],
    broadcast: parts.broadcast ?? (() => {}),
    emit: parts.emit ?? (() => {}),
  });
}

/** A deterministic ed25519 signer for twin `twin` (seed = twin repeated). */
export function signerFor(twin: number): Signer {
  return signerFromKeyPair(Ed25519KeyPair.fromSeed(new Uint8Array(32).fill(twin & 0xff)));
}

export interface SimAgents {
  net: SimNetwork;
  agents: Map<number, P2pAgent>;
  events: { observer: number; event: P2pEvent }[];
  keys: Map<number, Uint8Array>;
  /** Makes (does not start) the agent of `twin`. */
  make(
    twin: number,
    config?: {
      bootstrap?: number[];
      tags?: ServiceTags;
      options?: Partial<P2pOptions>;
      wrap?: (t: AgentTransport) => AgentTransport;
      discover?: BootstrapSource;
    },
  ): P2pAgent;
  stopAll(): void;
}

/** A SimNetwork and a factory of agents on it (twins 1…, ed25519 keys, all keys known to all). */
export function simAgents(
  netOptions: SimNetworkOptions = {},
  options: Partial<P2pOptions> = FAST,
): SimAgents {
  const net = new SimNetwork({
    seed: 7,
    latency: FAST_LATENCY,
    ...netOptions,
  });
  const agents = new Map<number, P2pAgent>();
  const keys = new Map<number, Uint8Array>();
  const events: { observer: number; event: P2pEvent }[] = [];
  for (let t = 1; t <= 64; t++) keys.set(t, signerFor(t).publicKey);
  return {
    net,
    agents,
    events,
    keys,
    make(twin, config = {}) {
      let transport = net.transport(twin);
      if (config.wrap !== undefined) transport = config.wrap(transport);
      const agent = new P2pAgent({
        transport,
        signer: signerFor(twin),
        keys: { publicKeyOf: (t) => keys.get(t) },
        ...(config.tags === undefined ? {} : { tags: config.tags }),
        bootstrap: config.bootstrap ?? [1],
        ...(config.discover === undefined ? {} : { discover: config.discover }),
        clock: net.clock,
        random: seededRandom(1000 + twin),
        options: { ...options, ...config.options },
      });
      agent.on((event) => events.push({ observer: twin, event }));
      agents.set(twin, agent);
      return agent;
    },
    stopAll() {
      for (const a of agents.values()) a.stop();
    },
  };
}

/** Starts twins 1…n (each joining twin 1) and runs until every one knows every other; returns the agents. */
export async function startMesh(
  sim: SimAgents,
  n: number,
  tags?: (twin: number) => ServiceTags | undefined,
  maxMs = 60_000,
): Promise<P2pAgent[]> {
  const list: P2pAgent[] = [];
  for (let t = 1; t <= n; t++) {
    const tg = tags?.(t);
    const agent = sim.make(t, { bootstrap: t === 1 ? [] : [1], ...(tg === undefined ? {} : { tags: tg }) });
    void agent.start();
    list.push(agent);
  }
  const ok = await sim.net.runUntil(() => list.every((a) => a.members().length === n - 1), maxMs);
  if (!ok) throw new Error("the mesh did not converge");
  return list;
}
