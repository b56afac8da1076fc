import { type SearchResponse, TAG_FIELDS } from "../../src/p2p/index.js";
import type { World } from "./world.js";

/** One search of the workload and its outcome. */
export interface SearchSample {
  at: number;
  asker: number;
  tag: string;
  /** Agents holding the tag when it was asked. */
  holders: number;
  response: SearchResponse | undefined;
  error?: string;
}

export interface SearchLoadOptions {
  /** Each agent searches about once per this many virtual ms. */
  everyMs: number;
  /** Twins that are asked about (targets) — e.g. the honest ones. @default all running */
  targets?: () => number[];
  /** Twins that search. @default all running */
  askers?: () => number[];
  minReputation?: number;
  /** Results asked for per search (`limit`). @default the agents' maxResults */
  limit?: number;
}

/**
 * Random tag searches: every agent, about once per `everyMs`, looks for one tag (a random field) of a random
 * running agent, so every tag asked for exists. Returns a function that stops the load.
 */
export function startSearchLoad(
  world: World,
  options: SearchLoadOptions,
  onSample: (s: SearchSample) => void,
): () => void {
  let stopped = false;
  const clock = world.net.clock;
  const holdersOf = new Map<string, number>();
  for (const tags of world.tags.values()) {
    for (const f of TAG_FIELDS) {
      const v = tags[f];
      if (v !== undefined) holdersOf.set(v, (holdersOf.get(v) ?? 0) + 1);
    }
  }
  const tick = (): void => {
    if (stopped) return;
    const askers = options.askers?.() ?? world.alive();
    const targets = options.targets?.() ?? world.alive();
    // One step of 100 ms: each asker searches with probability 100 / everyMs.
    const p = 100 / options.everyMs;
    for (const asker of askers) {
      if (world.random() >= p) continue;
      const agent = world.agents.get(asker);
      if (agent === undefined || !agent.running) continue;
      let target = targets[Math.floor(world.random() * targets.length)];
      if (target === asker) target = targets[(targets.indexOf(asker) + 1) % targets.length];
      const tags = target === undefined ? undefined : world.tags.get(target);
      if (tags === undefined) continue;
      const field = TAG_FIELDS[Math.floor(world.random() * TAG_FIELDS.length)]!;
      const tag = tags[field] ?? tags.category;
      const sample: SearchSample = {
        at: clock.now(),
        asker,
        tag,
        holders: holdersOf.get(tag) ?? 0,
        response: undefined,
      };
      agent
        .search(tag, {
          ...(options.minReputation === undefined ? {} : { minReputation: options.minReputation }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
        })
        .then(
          (response) => {
            sample.response = response;
          },
          (err: unknown) => {
            sample.error = (err as Error).message;
          },
        )
        .finally(() => onSample(sample));
    }
    clock.setTimeout(tick, 100);
  };
  tick();
  return () => {
    stopped = true;
  };
}
