import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Identity, KeyType, loadIdentity } from "../../src/identity/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { randomSeed } from "./peer-net.js";

/** A twin of a {@link TwinSet}: its id, secret (a `0x` seed, so it has an end-to-end key) and keys. */
export interface SetTwin {
  id: number;
  secret: string;
  identity: Identity;
  relays: string[];
}

/**
 * Twins shared by processes of one test: the same records as a twins file (for `rmb relay --twins` and
 * `rmb peer --twins`) and as a `MemoryRegistry` (for in-process clients and peers). Each twin publishes its
 * encryption key, so traffic between them is end-to-end encrypted and signed as in production.
 */
export class TwinSet {
  readonly registry = new MemoryRegistry();
  readonly dir = mkdtempSync(join(tmpdir(), "rmb-twins-"));
  readonly file = join(this.dir, "twins.json");
  readonly #twins: SetTwin[] = [];

  /** Adds a twin (ids 1, 2, … in order) on the given relay domains and rewrites the file. */
  add(relays: string[], keyType: KeyType = KeyType.Ed25519): SetTwin {
    const secret = randomSeed();
    const identity = loadIdentity(secret, keyType);
    const id = this.#twins.length + 1;
    const pk = identity.e2e?.publicKey;
    this.registry.set({ id, accountId: identity.publicKey, relays, ...(pk === undefined ? {} : { pk }) });
    const twin = { id, secret, identity, relays };
    this.#twins.push(twin);
    this.#write();
    return twin;
  }

  #write(): void {
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    writeFileSync(
      this.file,
      JSON.stringify(
        this.#twins.map((t) => ({
          id: t.id,
          account: hex(t.identity.publicKey),
          relays: t.relays,
          pk: t.identity.e2e === undefined ? null : hex(t.identity.e2e.publicKey),
        })),
      ),
    );
  }

  /** Removes the directory of the twins file. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
