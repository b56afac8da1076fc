import type { TestContext } from "node:test";

/**
 * Registers one `t.after` hook that undoes what a test started, last started first, even when some of it fails
 * (the first failure is rethrown once everything ran). Returns the function that adds an undo step.
 *
 * @example
 * const undo = teardown(t);
 * const redis = await startRedisServer();
 * undo(() => redis.stop());
 */
export function teardown(t: TestContext): (step: () => unknown) => void {
  const steps: (() => unknown)[] = [];
  t.after(async () => {
    let first: unknown;
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  });
  return (step) => {
    steps.push(step);
  };
}
