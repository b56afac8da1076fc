/** The tag that asks relays to fail at once instead of queueing for an offline destination. */
export const FAIL_FAST_TAG = "fail-fast";

const SEPARATORS = /[\s,]+/;

/** True when the comma/whitespace separated `tags` contain exactly `fail-fast` (case-sensitive). */
export function hasFailFast(tags: string | undefined): boolean {
  if (tags === undefined || !tags.includes(FAIL_FAST_TAG)) return false;
  return tags.split(SEPARATORS).includes(FAIL_FAST_TAG);
}
