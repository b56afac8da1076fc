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
 * Default of the receivers' `maxClockSkew`: how many seconds an envelope's timestamp may lie ahead of the receiver's
 * clock. 300 s is the default envelope lifetime (rmb-rs `exp` 300): a sender whose clock is that far behind already
 * sees its envelopes expire on arrival, so the same tolerance the other way keeps both directions alike, and it is far
 * above the drift of any clock kept by NTP.
 */
export const DEFAULT_MAX_CLOCK_SKEW = 300;

/**
 * True when `timestamp` lies more than `maxClockSkew` seconds after `now`. rmb-rs does not check this; a receiver
 * that does refuses envelopes whose lifetime (`timestamp + expiration`) a sender stretched by dating them ahead.
 */
export function isFarFuture(now: number, timestamp: number, maxClockSkew: number): boolean {
  return timestamp - now > maxClockSkew;
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
