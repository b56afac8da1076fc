import type { Twin } from "./twin.js";

/**
 * Where the relay looks twins up. Implementations may throw (e.g. chain unreachable); the relay maps a throw to
 * `500 failed to get twin: <err>` on login and to the error text on routing.
 */
export interface TwinRegistry {
  /** The twin with this id, or `undefined` if there is none. */
  getTwin(id: number): Promise<Twin | undefined>;
  /** The id of the twin owning this 32-byte account id, or `undefined`. */
  getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined>;
}
