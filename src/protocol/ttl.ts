/**
 * Timestamp and lifetime rules of rmb-rs (`src/types/mod.rs`). Times are unix seconds.
 */

/** Current unix time in whole seconds. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Remaining lifetime `timestamp + expiration - now` in seconds, or `undefined` when the envelope has expired
 * (a remaining lifetime of exactly 0 counts as expired).
 */
export function remainingTtl(now: number, timestamp: number, expiration: number): number | undefined {
  const left = timestamp + expiration - now;
  return left > 0 ? left : undefined;
}

/** True when an envelope with this timestamp and expiration is expired at `now`. */
export function isExpired(now: number, timestamp: number, expiration: number): boolean {
  return remainingTtl(now, timestamp, expiration) === undefined;
}

/**
 * Re-stamps a `(timestamp, expiration)` pair before signing: the timestamp becomes `now` and the expiration
 * shrinks so the absolute deadline stays the same (never below 0). A zero or future timestamp keeps the
 * expiration as given.
 */
export function stamp(
  now: number,
  timestamp: number,
  expiration: number,
): [timestamp: number, expiration: number] {
  if (timestamp === 0 || timestamp > now) return [now, expiration];
  return [now, Math.max(expiration - (now - timestamp), 0)];
}
