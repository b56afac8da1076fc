import pg from "pg";
import { TwinExistsError } from "../errors.js";
import type { Account } from "./account.js";
import type { AccountListener, AccountPatch, AccountStore, NewAccount } from "./account-store.js";
import { RegistryStoreError } from "./errors.js";

/** Options of {@link PostgresAccountStore}. */
export interface PostgresAccountStoreOptions {
  /** Most pooled connections. @default 10 */
  poolSize?: number;
  /** Every this many claims, expired `X-Auth` records are deleted. @default 1000 */
  claimSweepEvery?: number;
}

const CHANNEL = "rmb_accounts";

/**
 * Accounts in PostgreSQL, in the registrar's own table layout (`accounts`: `twin_id bigserial`, `relays text[]`,
 * `rmb_enc_key`, `created_at`, `updated_at`, `public_key text UNIQUE`), so it can also serve an existing registrar
 * database. Used `X-Auth` headers go to `rmb_auth_claims`, shared by every service process on the database; changes
 * are announced with `NOTIFY rmb_accounts` so that every process's change stream sees them.
 */
export class PostgresAccountStore implements AccountStore {
  readonly #pool: pg.Pool;
  readonly #listeners = new Set<AccountListener>();
  readonly #sweepEvery: number;
  #listener: pg.PoolClient | undefined;
  #claims = 0;

  private constructor(pool: pg.Pool, options: PostgresAccountStoreOptions) {
    this.#pool = pool;
    this.#sweepEvery = options.claimSweepEvery ?? 1000;
  }

  /**
   * Connects to `url` (`postgres://user@host:port/db`), creates the tables if needed and starts listening for
   * changes. Throws `RegistryStoreError` when the database cannot be reached.
   */
  static async open(url: string, options: PostgresAccountStoreOptions = {}): Promise<PostgresAccountStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    pool.on("error", () => {}); // an idle client's error; the next query reports it
    const store = new PostgresAccountStore(pool, options);
    try {
      await pool.query(`
        CREATE TABLE IF NOT EXISTS accounts (
          twin_id bigserial PRIMARY KEY,
          relays text[] DEFAULT '{}',
          rmb_enc_key text,
          created_at timestamptz,
          updated_at timestamptz,
          public_key text NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS rmb_auth_claims (
          token text PRIMARY KEY,
          expires_at bigint NOT NULL
        );`);
      const listener = await pool.connect();
      listener.on("notification", (message) => store.#notified(message.payload));
      listener.on("error", () => {});
      await listener.query(`LISTEN ${CHANNEL}`);
      store.#listener = listener;
    } catch (err) {
      await pool.end().catch(() => {});
      throw new RegistryStoreError(`cannot open the PostgreSQL account store: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return store;
  }

  async create(fields: NewAccount): Promise<Account> {
    try {
      const { rows } = await this.#pool.query(
        `WITH created AS (
           INSERT INTO accounts (relays, rmb_enc_key, created_at, updated_at, public_key)
           VALUES ($1, $2, now(), now(), $3) RETURNING *
         ), announced AS (SELECT pg_notify('${CHANNEL}', twin_id::text) FROM created)
         SELECT created.* FROM created, announced`,
        [fields.relays, fields.rmbEncKey, fields.publicKey],
      );
      return toAccount(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === "23505") {
        const owner = await this.getByPublicKey(fields.publicKey).catch(() => undefined);
        throw new TwinExistsError(owner?.twinId, "account with this public key already exists");
      }
      throw new RegistryStoreError(`cannot create an account: ${messageOf(err)}`, { cause: err });
    }
  }

  async getById(twinId: number): Promise<Account | undefined> {
    return this.#one("SELECT * FROM accounts WHERE twin_id = $1", [twinId]);
  }

  async getByPublicKey(publicKey: string): Promise<Account | undefined> {
    return this.#one("SELECT * FROM accounts WHERE public_key = $1", [publicKey]);
  }

  async update(twinId: number, patch: AccountPatch): Promise<Account | undefined> {
    return this.#one(
      `WITH updated AS (
         UPDATE accounts SET
           relays = CASE WHEN $2::boolean THEN $3::text[] ELSE relays END,
           rmb_enc_key = COALESCE($4, rmb_enc_key),
           updated_at = now()
         WHERE twin_id = $1 RETURNING *
       ), announced AS (SELECT pg_notify('${CHANNEL}', twin_id::text) FROM updated)
       SELECT updated.* FROM updated, announced`,
      [twinId, patch.relays !== undefined, patch.relays ?? null, patch.rmbEncKey ?? null],
    );
  }

  async claimAuth(token: string, expiresAt: number, now: number): Promise<"ok" | "replay" | "full"> {
    try {
      this.#claims += 1;
      if (this.#claims % this.#sweepEvery === 0)
        await this.#pool.query("DELETE FROM rmb_auth_claims WHERE expires_at <= $1", [now]);
      const { rowCount } = await this.#pool.query(
        `INSERT INTO rmb_auth_claims (token, expires_at) VALUES ($1, $2)
         ON CONFLICT (token) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE rmb_auth_claims.expires_at <= $3`,
        [token, expiresAt, now],
      );
      return rowCount === 1 ? "ok" : "replay";
    } catch (err) {
      throw new RegistryStoreError(`cannot record an authentication: ${messageOf(err)}`, { cause: err });
    }
  }

  watch(listener: AccountListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.release();
    await this.#pool.end();
  }

  #notified(payload: string | undefined): void {
    const id = Number(payload);
    if (!Number.isSafeInteger(id) || this.#listeners.size === 0) return;
    void this.getById(id).then(
      (account) => {
        if (account !== undefined) for (const listener of this.#listeners) listener(account);
      },
      () => {},
    );
  }

  async #one(sql: string, params: unknown[]): Promise<Account | undefined> {
    try {
      const { rows } = await this.#pool.query(sql, params);
      return rows.length === 0 ? undefined : toAccount(rows[0]);
    } catch (err) {
      throw new RegistryStoreError(`account store query failed: ${messageOf(err)}`, { cause: err });
    }
  }
}

interface AccountRow {
  twin_id: string | number;
  relays: string[] | null;
  rmb_enc_key: string | null;
  created_at: Date | null;
  updated_at: Date | null;
  public_key: string;
}

function toAccount(row: AccountRow): Account {
  return {
    twinId: Number(row.twin_id),
    publicKey: row.public_key,
    relays: row.relays,
    rmbEncKey: row.rmb_enc_key ?? "",
    createdAt: row.created_at ?? new Date(0),
    updatedAt: row.updated_at ?? new Date(0),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
