import type { Account } from "./account.js";

/** Fields of a new account; the store assigns `twinId` and the timestamps. */
export interface NewAccount {
  /** Canonical standard base64 of the 32-byte public key. */
  publicKey: string;
  relays: string[];
  rmbEncKey: string;
}

/** A partial update: fields left `undefined` keep their value. */
export interface AccountPatch {
  relays?: string[] | undefined;
  rmbEncKey?: string | undefined;
}

/** Called after an account was created or changed (and is durable). */
export type AccountListener = (account: Account) => void;

/**
 * Where the registry service keeps accounts: embedded ({@link FileAccountStore}) or PostgreSQL
 * ({@link PostgresAccountStore}). Implementations are safe under concurrent calls.
 */
export interface AccountStore {
  /** Stores a new account with the next twin id. Throws `TwinExistsError` when the public key is taken. */
  create(account: NewAccount): Promise<Account>;
  getById(twinId: number): Promise<Account | undefined>;
  /** By canonical base64 public key. */
  getByPublicKey(publicKey: string): Promise<Account | undefined>;
  /** Applies `patch`; `undefined` when there is no such account. */
  update(twinId: number, patch: AccountPatch): Promise<Account | undefined>;
  /**
   * Records a used `X-Auth` header until `expiresAt` (ms since the epoch; `now` is the caller's clock): `"replay"`
   * when it was recorded before and has not expired, `"full"` when the store holds its most unexpired entries.
   */
  claimAuth(token: string, expiresAt: number, now: number): Promise<"ok" | "replay" | "full">;
  /** Calls `listener` for every account created or changed through this store; returns the unsubscribe. */
  watch(listener: AccountListener): () => void;
  close(): Promise<void>;
}
