import type { Twin } from "../twin.js";
import type { TwinChangeListener, TwinRegistry } from "../twin-registry.js";
import { accountToTwin } from "./account.js";
import type { AccountStore } from "./account-store.js";
import { encodeStdBase64 } from "./base64.js";

/**
 * The twins of an {@link AccountStore} read in-process (no HTTP): what a relay uses when it hosts the registry
 * service itself (`rmb relay --registry-data`). Changes made through the service reach `watch` listeners at once.
 */
export class AccountStoreRegistry implements TwinRegistry {
  readonly #store: AccountStore;

  constructor(store: AccountStore) {
    this.#store = store;
  }

  async getTwin(id: number): Promise<Twin | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const account = await this.#store.getById(id);
    return account === undefined ? undefined : accountToTwin(account);
  }

  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    return (await this.#store.getByPublicKey(encodeStdBase64(accountId)))?.twinId;
  }

  watch(listener: TwinChangeListener): () => void {
    return this.#store.watch((account) => {
      const twin = accountToTwin(account);
      if (twin !== undefined) listener({ kind: "twin", twin });
    });
  }
}
