import { InvalidArgumentError } from "../errors.js";
import type { TwinRegistry } from "../registry/twin-registry.js";
import { type Random, shuffle } from "./random.js";

/**
 * Where an agent that has no contact (no bootstrap agents given, or none answered) looks for some: twins that may
 * run agents. The agent asks them to let it join (`p2p.join`), a few at a time, and stops at the first that
 * answers (its answer is the whole member list).
 */
export interface BootstrapSource {
  /** Twin ids that may run agents, the most promising first; never `self`. */
  candidates(self: number): Promise<number[]>;
}

/** Options of {@link registryBootstrap}. */
export interface RegistryBootstrapOptions {
  /** The newest twins (highest ids) tried first. @default 32 */
  newest?: number;
  /** Then this many older twins, drawn at random. @default 32 */
  older?: number;
  /** Missing ids in a row skipped over while looking for the highest twin id (twins deleted or never made). @default 16 */
  maxGap?: number;
  /** @default Math.random */
  random?: Random;
}

/** The defaults of {@link RegistryBootstrapOptions}. */
export const REGISTRY_BOOTSTRAP_DEFAULTS = Object.freeze({ newest: 32, older: 32, maxGap: 16 });

/**
 * Contacts from the twin registry itself: registries hand out twin ids in sequence (tfchain, the TFGrid v4
 * registrar and `rmb registry` alike) and answer `getTwin(id)`, but keep no list of agents nor any field an agent
 * could mark itself with (a twin record holds its account key, its relay domains and its encryption key, all used
 * for routing). So the registry is read as a phone book: find the highest twin id (searching up from the agent's
 * own), then offer the `newest` twins below it — agents are usually recent twins of a network, as on a devnet —
 * and `older` ones at random. Only twins that exist are offered; whether one runs an agent is for `p2p.join` to
 * tell. Good for a registry of one project or network (`rmb devnet`, a relay-hosted registry); in a large shared
 * registry (tfchain mainnet: many thousands of twins, most of them nodes and users) agents are a needle in a
 * haystack, and agents should be given bootstrap agents.
 */
export function registryBootstrap(
  registry: TwinRegistry,
  options: RegistryBootstrapOptions = {},
): BootstrapSource {
  const newest = options.newest ?? REGISTRY_BOOTSTRAP_DEFAULTS.newest;
  const older = options.older ?? REGISTRY_BOOTSTRAP_DEFAULTS.older;
  const maxGap = options.maxGap ?? REGISTRY_BOOTSTRAP_DEFAULTS.maxGap;
  for (const [name, value] of [
    ["newest", newest],
    ["older", older],
    ["maxGap", maxGap],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`options.${name}`, `expected an integer ≥ 0, got ${String(value)}`);
    }
  }
  const random = options.random ?? Math.random;
  const exists = async (id: number): Promise<boolean> => {
    try {
      return (await registry.getTwin(id)) !== undefined;
    } catch {
      return false;
    }
  };
  return {
    async candidates(self: number): Promise<number[]> {
      const top = await highestTwinId(exists, (await exists(self)) ? self : 0, maxGap);
      const out: number[] = [];
      let id = top;
      for (; id >= 1 && out.length < newest; id--) if (id !== self) out.push(id);
      // `id` is now the highest id not taken among the newest: draw older ones from [1, id].
      const pool = id;
      const picked = new Set<number>();
      if (pool <= 2 * older) {
        for (let x = pool; x >= 1; x--) if (x !== self) picked.add(x);
      } else {
        for (let tries = 0; picked.size < older && tries < 8 * older; tries++) {
          const x = 1 + Math.floor(random() * pool);
          if (x !== self) picked.add(x);
        }
      }
      out.push(...shuffle([...picked], random).slice(0, older));
      const found = await Promise.all(out.map(exists));
      return out.filter((_, i) => found[i]);
    },
  };
}

/**
 * The highest twin id, searching up from `known` (an id that exists, or 0): doubling steps while ids exist, a
 * binary search for the last one, then a look `maxGap` ids further in case of a gap. Costs O(log n) lookups.
 */
export async function highestTwinId(
  exists: (id: number) => Promise<boolean>,
  known: number,
  maxGap: number,
): Promise<number> {
  let lo = known;
  for (;;) {
    let step = 1;
    while (await exists(lo + step)) {
      lo += step;
      step *= 2;
    }
    let hi = lo + step;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await exists(mid)) lo = mid;
      else hi = mid;
    }
    const ahead = Array.from({ length: maxGap }, (_, i) => lo + 2 + i);
    const there = await Promise.all(ahead.map(exists));
    let next = -1;
    for (let i = ahead.length - 1; i >= 0 && next < 0; i--) if (there[i] === true) next = ahead[i]!;
    if (next < 0) return lo;
    lo = next;
  }
}
