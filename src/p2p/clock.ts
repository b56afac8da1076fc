/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Time as the agents see it: milliseconds and one-shot timers. The real clock uses `Date.now` and unref'd timers;
 * the simulation passes a virtual clock so that a thousand agents run in one process deterministically.
 */
export interface Clock {
  /** Milliseconds (Unix epoch for the system clock; virtual time in a simulation). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The wall clock. Timers are unref'd: a running agent alone does not keep Node alive (its transport does). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
