import { type FileHandle, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { TwinExistsError } from "../errors.js";
import { type Account, accountFromJson, accountToJson } from "./account.js";
import type { AccountListener, AccountPatch, AccountStore, NewAccount } from "./account-store.js";
import { AuthClaims } from "./auth-claims.js";
import { RegistryStoreError } from "./errors.js";

/** Options of {@link FileAccountStore}. */
export interface FileAccountStoreOptions {
  /** Flush every write to disk (`fdatasync`) before answering. @default true */
  fsync?: boolean;
  /** Most remembered `X-Auth` headers (replay protection). @default 1000000 */
  maxAuthClaims?: number;
}

const LOG = "accounts.jsonl";
const LOCK = "LOCK";

interface PendingWrite {
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The embedded account store: an append-only JSON-lines log in a directory (one line per account version, the
 * last one wins), replayed into memory at open and compacted when it holds more than twice the live records.
 * Concurrent writes are batched into one append and one `fdatasync`; an answer is given only once its line is on
 * disk. A crash can at worst leave a torn last line, which the next open drops. A `LOCK` file keeps a second process
 * away from the same directory. Lookups are served from memory.
 */
export class FileAccountStore implements AccountStore {
  readonly dir: string;
  readonly #byId = new Map<number, Account>();
  readonly #byKey = new Map<string, number>();
  readonly #listeners = new Set<AccountListener>();
  readonly #claims: AuthClaims;
  readonly #fsync: boolean;
  #file: FileHandle | undefined;
  #nextId = 1;
  #pending: PendingWrite[] = [];
  #flushing: Promise<void> | undefined;
  #failure: unknown;

  private constructor(dir: string, options: FileAccountStoreOptions) {
    this.dir = dir;
    this.#fsync = options.fsync ?? true;
    this.#claims = new AuthClaims(options.maxAuthClaims ?? 1_000_000);
  }

  /** Opens (creating if needed) the store in `dir`. Throws `RegistryStoreError` if it is locked or corrupt. */
  static async open(dir: string, options: FileAccountStoreOptions = {}): Promise<FileAccountStore> {
    const store = new FileAccountStore(dir, options);
    await mkdir(dir, { recursive: true });
    await takeLock(dir);
    try {
      const lines = await store.#replay();
      if (lines > 1000 && lines > 2 * store.#byId.size) await store.#compact();
      store.#file = await open(join(dir, LOG), "a");
    } catch (err) {
      await unlink(join(dir, LOCK)).catch(() => {});
      throw err;
    }
    return store;
  }

  /** How many accounts are stored. */
  get size(): number {
    return this.#byId.size;
  }

  async create(fields: NewAccount): Promise<Account> {
    this.#assertUsable();
    const owner = this.#byKey.get(fields.publicKey);
    if (owner !== undefined) throw new TwinExistsError(owner, "account with this public key already exists");
    if (this.#nextId > 0xffffffff) throw new RegistryStoreError("no twin ids left (RMB twin ids are 32-bit)");
    const now = new Date();
    const account: Account = {
      twinId: this.#nextId,
      publicKey: fields.publicKey,
      relays: [...fields.relays],
      rmbEncKey: fields.rmbEncKey,
      createdAt: now,
      updatedAt: now,
    };
    this.#apply(account);
    await this.#append(account);
    return copy(account);
  }

  async getById(twinId: number): Promise<Account | undefined> {
    const account = this.#byId.get(twinId);
    return account === undefined ? undefined : copy(account);
  }

  async getByPublicKey(publicKey: string): Promise<Account | undefined> {
    const id = this.#byKey.get(publicKey);
    return id === undefined ? undefined : this.getById(id);
  }

  async update(twinId: number, patch: AccountPatch): Promise<Account | undefined> {
    this.#assertUsable();
    const current = this.#byId.get(twinId);
    if (current === undefined) return undefined;
    const account: Account = { ...current, updatedAt: new Date() };
    if (patch.relays !== undefined) account.relays = [...patch.relays];
    if (patch.rmbEncKey !== undefined) account.rmbEncKey = patch.rmbEncKey;
    this.#apply(account);
    await this.#append(account);
    return copy(account);
  }

  async claimAuth(token: string, expiresAt: number, now: number): Promise<"ok" | "replay" | "full"> {
    return this.#claims.claim(token, expiresAt, now);
  }

  watch(listener: AccountListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for pending writes, closes the log and releases the lock. */
  async close(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    await this.#flushing;
    this.#file = undefined;
    this.#failure ??= new RegistryStoreError("the account store is closed");
    await file.close();
    await unlink(join(this.dir, LOCK)).catch(() => {});
  }

  #assertUsable(): void {
    if (this.#failure !== undefined)
      throw this.#failure instanceof RegistryStoreError
        ? this.#failure
        : new RegistryStoreError("the account store failed to write", { cause: this.#failure });
  }

  #apply(account: Account): void {
    this.#byId.set(account.twinId, account);
    this.#byKey.set(account.publicKey, account.twinId);
    if (account.twinId >= this.#nextId) this.#nextId = account.twinId + 1;
  }

  #append(account: Account): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ line: `${JSON.stringify(accountToJson(account))}\n`, resolve, reject });
      this.#flushing ??= this.#flush();
    }).then(() => {
      for (const listener of this.#listeners) listener(copy(account));
    });
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const file = this.#file;
        if (file === undefined) throw new RegistryStoreError("the account store is closed");
        await file.write(batch.map((w) => w.line).join(""));
        if (this.#fsync) await file.datasync();
        for (const w of batch) w.resolve();
      } catch (err) {
        this.#failure ??= err;
        for (const w of batch) w.reject(err);
      }
    }
    this.#flushing = undefined;
  }

  /** Loads the log; returns how many lines it held. A torn last line is cut off. */
  async #replay(): Promise<number> {
    let text: string;
    try {
      text = await readFile(join(this.dir, LOG), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw new RegistryStoreError(`cannot read ${join(this.dir, LOG)}`, { cause: err });
    }
    const lines = text.split("\n");
    const parse = (line: string): Account | undefined => {
      try {
        return accountFromJson(JSON.parse(line));
      } catch {
        return undefined;
      }
    };
    let good = 0;
    let count = 0;
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i] as string;
      if (i === lines.length - 1) break; // text after the last newline: an unfinished write (or nothing)
      const account = line === "" ? undefined : parse(line);
      if (account === undefined) {
        // A crash can leave a torn or zero-filled tail; anything bad before a good line is corruption.
        if (lines.slice(i + 1).every((rest) => rest === "" || parse(rest) === undefined)) break;
        throw new RegistryStoreError(`${join(this.dir, LOG)} is corrupt at line ${i + 1}`);
      }
      this.#apply(account);
      good += Buffer.byteLength(line) + 1;
      count += 1;
    }
    if (good < Buffer.byteLength(text)) {
      const file = await open(join(this.dir, LOG), "r+");
      await file.truncate(good);
      await file.close();
    }
    return count;
  }

  async #compact(): Promise<void> {
    const tmp = join(this.dir, `${LOG}.tmp`);
    const file = await open(tmp, "w");
    const lines = [...this.#byId.values()].map((a) => `${JSON.stringify(accountToJson(a))}\n`);
    await file.write(lines.join(""));
    await file.sync();
    await file.close();
    await rename(tmp, join(this.dir, LOG));
  }
}

function copy(account: Account): Account {
  return { ...account, relays: account.relays === null ? null : [...account.relays] };
}

async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const file = await open(path, "wx");
      await file.write(String(process.pid));
      await file.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new RegistryStoreError(`${dir} is in use by process ${pid}`);
      }
      if (pid === process.pid) throw new RegistryStoreError(`${dir} is already open in this process`);
      await unlink(path).catch(() => {}); // stale lock of a dead process
    }
  }
  throw new RegistryStoreError(`cannot lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
