import type { Signer } from "../identity/signer.js";
import { bytesKey } from "../lru-cache.js";
import { InvalidTwinError, TwinExistsError, TwinNotFoundError } from "./errors.js";
import { copyTwin, type Twin } from "./twin.js";
import type { TwinChange, TwinChangeListener, TwinFields, WritableTwinRegistry } from "./twin-registry.js";

/** Fields of a new twin; the registry assigns the id. */
export interface RegisterTwinOptions {
  accountId: Uint8Array;
  relays?: string[];
  pk?: Uint8Array;
}

/**
 * An in-memory twin registry, for tests and single-process setups. Ids are assigned from 1 upwards; one twin per
 * account id (like tfchain). Returned twins are copies, so callers cannot mutate the stored records.
 */
export class MemoryRegistry implements WritableTwinRegistry {
  readonly #twins = new Map<number, Twin>();
  readonly #byAccount = new Map<string, number>();
  readonly #listeners = new Set<TwinChangeListener>();
  #nextId = 1;

  /** Creates a twin with the next free id. Throws `InvalidTwinError` if the account already has a twin. */
  register(options: RegisterTwinOptions): Twin {
    while (this.#twins.has(this.#nextId)) this.#nextId += 1;
    const twin: Twin = { id: this.#nextId, accountId: options.accountId };
    if (options.relays !== undefined) twin.relays = options.relays;
    if (options.pk !== undefined) twin.pk = options.pk;
    this.set(twin);
    return copyTwin(twin);
  }

  /** Stores or replaces a twin under its id. Throws `InvalidTwinError` for a malformed record. */
  set(twin: Twin): void {
    validate(twin);
    const key = bytesKey(twin.accountId);
    const owner = this.#byAccount.get(key);
    if (owner !== undefined && owner !== twin.id) {
      throw new InvalidTwinError(`account id already belongs to twin ${owner}`);
    }
    const previous = this.#twins.get(twin.id);
    if (previous !== undefined) this.#byAccount.delete(bytesKey(previous.accountId));
    this.#twins.set(twin.id, copyTwin(twin));
    this.#byAccount.set(key, twin.id);
    this.#emit({ kind: "twin", twin: copyTwin(twin) });
  }

  /** Removes a twin. Throws `TwinNotFoundError` if there is none with this id. */
  delete(id: number): void {
    const twin = this.#twins.get(id);
    if (twin === undefined) throw new TwinNotFoundError(id);
    this.#twins.delete(id);
    this.#byAccount.delete(bytesKey(twin.accountId));
    this.#emit({ kind: "reset" });
  }

  /** How many twins are stored. */
  get size(): number {
    return this.#twins.size;
  }

  async getTwin(id: number): Promise<Twin | undefined> {
    const twin = this.#twins.get(id);
    return twin === undefined ? undefined : copyTwin(twin);
  }

  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    return this.#byAccount.get(bytesKey(accountId));
  }

  async createTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const existing = this.#byAccount.get(bytesKey(signer.publicKey));
    if (existing !== undefined) throw new TwinExistsError(existing);
    return this.register({ accountId: Uint8Array.from(signer.publicKey), ...twinFields(fields) });
  }

  async updateTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const id = this.#byAccount.get(bytesKey(signer.publicKey));
    if (id === undefined) throw new TwinNotFoundError(undefined, "the account has no twin");
    const twin: Twin = { id, accountId: Uint8Array.from(signer.publicKey), ...twinFields(fields) };
    this.set(twin);
    return copyTwin(twin);
  }

  watch(listener: TwinChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: TwinChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function twinFields(fields: TwinFields): { relays: string[]; pk?: Uint8Array } {
  const out: { relays: string[]; pk?: Uint8Array } = { relays: [...fields.relays] };
  if (fields.pk !== undefined) out.pk = Uint8Array.from(fields.pk);
  return out;
}

function validate(twin: Twin): void {
  if (!Number.isInteger(twin.id) || twin.id < 1 || twin.id > 0xffffffff) {
    throw new InvalidTwinError(`twin id must be an integer in [1, 4294967295], got ${twin.id}`);
  }
  if (!(twin.accountId instanceof Uint8Array) || twin.accountId.length !== 32) {
    throw new InvalidTwinError("accountId must be 32 bytes");
  }
  if (twin.pk !== undefined && (!(twin.pk instanceof Uint8Array) || twin.pk.length !== 33)) {
    throw new InvalidTwinError("pk must be 33 bytes (compressed secp256k1)");
  }
  if (twin.relays !== undefined) {
    for (const relay of twin.relays) {
      if (typeof relay !== "string" || relay.length === 0 || relay.includes("_")) {
        throw new InvalidTwinError(`invalid relay domain ${JSON.stringify(relay)}`);
      }
    }
  }
}
