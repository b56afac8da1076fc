import type fc from "fast-check";

/**
 * How many cases the hostile-input suite runs. CI runs small samples (the whole suite adds a few seconds); a dedicated
 * run raises them:
 *
 * ```sh
 * RMB_FUZZ_RUNS=100000 node --test dist/test/hostile/            # ≥ 100k cases per in-process decoder property
 * RMB_FUZZ_LIVE_RUNS=5000 node --test dist/test/hostile/         # more frames/requests against the live processes
 * RMB_FUZZ_SEED=1234567 node --test dist/test/hostile/           # replay a run (fast-check prints seed and path)
 * ```
 *
 * `RMB_FUZZ_RUNS` sets the runs of every in-process property (decoders); `RMB_FUZZ_LIVE_RUNS` the number of hostile
 * inputs sent to each live process (relay websocket, federation endpoint, peer Redis API, registry service). Each
 * test passes its own CI default, chosen by its cost.
 */

/** A positive integer from the environment, or `undefined` when the variable is not set. */
function envCount(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}

/** Runs of one in-process property: `RMB_FUZZ_RUNS`, else `ciDefault`. */
export function fuzzRuns(ciDefault: number): number {
  return envCount("RMB_FUZZ_RUNS") ?? ciDefault;
}

/** Hostile inputs sent to one live process by one test: `RMB_FUZZ_LIVE_RUNS`, else `ciDefault`. */
export function liveRuns(ciDefault: number): number {
  return envCount("RMB_FUZZ_LIVE_RUNS") ?? ciDefault;
}

/** Seed for the random inputs (`RMB_FUZZ_SEED`), or `undefined` for a fresh one. */
export const FUZZ_SEED: number | undefined = (() => {
  const text = process.env.RMB_FUZZ_SEED;
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`RMB_FUZZ_SEED must be an integer, got ${text}`);
  return value;
})();

/** fast-check parameters of a property with `ciDefault` runs (overridden by `RMB_FUZZ_RUNS`). */
export function fuzzParams<T>(ciDefault: number): fc.Parameters<T> {
  const params: fc.Parameters<T> = { numRuns: fuzzRuns(ciDefault) };
  if (FUZZ_SEED !== undefined) params.seed = FUZZ_SEED;
  return params;
}

/**
 * A `node:test` timeout for a test doing `runs` cases of about `msPerRun` each: a hang fails the test instead of
 * blocking the run. Generous (×20 and a 60 s floor) so that a slow CI machine does not fail it.
 */
export function timeoutFor(runs: number, msPerRun: number): number {
  return 60_000 + Math.ceil(runs * msPerRun * 20);
}

/** No single decode of an input of at most a few KiB may take longer than this (ms): a sign of a hang or blow-up. */
export const SLOW_CASE_MS = 1000;
