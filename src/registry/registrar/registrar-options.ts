import type { AccountStore } from "./account-store.js";
import { RegistrarOptionsError } from "./errors.js";
import { AUTH_VALIDITY_SECONDS, CREATION_WINDOW_SECONDS } from "./proofs.js";

/** Options of {@link RegistrarService}. Only `store` is required. */
export interface RegistrarOptions {
  /** Where accounts live ({@link FileAccountStore} or {@link PostgresAccountStore}). */
  store: AccountStore;
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /** TCP port; `0` picks a free one (read `url` after `start()`). @default 0 */
  port?: number;
  /** Seconds a creation `timestamp` may differ from the server clock, either way (upstream: 2). @default 2 */
  creationWindow?: number;
  /** Seconds an `X-Auth` challenge is valid after its timestamp (upstream: 60). @default 60 */
  authValidity?: number;
  /**
   * Seconds an `X-Auth` timestamp may lie in the future (upstream accepts any future timestamp, which makes a
   * captured header valid for as long as the attacker likes). @default 30
   */
  authFutureSkew?: number;
  /** Most relay entries per account (upstream: unlimited). @default 8 */
  maxRelays?: number;
  /** Largest request body in bytes; larger gets 413. @default 65536 */
  maxBodySize?: number;
  /** Most open change streams (`GET /v1/accounts/events`); more get 503. @default 1000 */
  maxWatchers?: number;
  /** Seconds between keep-alive comments on change streams. @default 15 */
  watchKeepAlive?: number;
  /** Milliseconds clock, for tests. @default Date.now */
  now?: () => number;
}

export interface ResolvedRegistrarOptions {
  store: AccountStore;
  host: string;
  port: number;
  creationWindow: number;
  authValidity: number;
  authFutureSkew: number;
  maxRelays: number;
  maxBodySize: number;
  maxWatchers: number;
  watchKeepAlive: number;
  now: () => number;
}

export const REGISTRAR_DEFAULTS = {
  host: "127.0.0.1",
  port: 0,
  creationWindow: CREATION_WINDOW_SECONDS,
  authValidity: AUTH_VALIDITY_SECONDS,
  authFutureSkew: 30,
  maxRelays: 8,
  maxBodySize: 65536,
  maxWatchers: 1000,
  watchKeepAlive: 15,
} as const;

type IntOption = keyof Omit<typeof REGISTRAR_DEFAULTS, "host">;
const RANGES: Record<IntOption, [number, number]> = {
  port: [0, 65535],
  creationWindow: [0, 86400],
  authValidity: [1, 86400],
  authFutureSkew: [0, 86400],
  maxRelays: [1, 1000],
  maxBodySize: [64, 64 * 1024 * 1024],
  maxWatchers: [0, 1_000_000],
  watchKeepAlive: [1, 3600],
};

export function resolveRegistrarOptions(options: RegistrarOptions): ResolvedRegistrarOptions {
  if (options === null || typeof options !== "object")
    throw new RegistrarOptionsError("options", "expected an object");
  const store = options.store as Partial<AccountStore> | undefined;
  if (store === undefined || typeof store.create !== "function" || typeof store.getById !== "function") {
    throw new RegistrarOptionsError("store", "expected an AccountStore");
  }
  const host = options.host ?? REGISTRAR_DEFAULTS.host;
  if (typeof host !== "string" || host.length === 0)
    throw new RegistrarOptionsError("host", "expected a non-empty string");
  const ints = {} as Record<IntOption, number>;
  for (const name of Object.keys(RANGES) as IntOption[]) {
    const value = options[name] ?? REGISTRAR_DEFAULTS[name];
    const [min, max] = RANGES[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RegistrarOptionsError(name, `expected an integer in [${min}, ${max}], got ${String(value)}`);
    }
    ints[name] = value;
  }
  const now = options.now ?? Date.now;
  if (typeof now !== "function") throw new RegistrarOptionsError("now", "expected a function");
  return { store: options.store, host, ...ints, now };
}
