import type { Signer } from "../identity/signer.js";
import type { Twin } from "./twin.js";

/** What changed in a registry, as reported to {@link TwinRegistry.watch} listeners. */
export type TwinChange =
  /** A twin was created or its record changed; `twin` is the new record. */
  | { kind: "twin"; twin: Twin }
  /** The backend may have missed changes (e.g. a long disconnect): drop everything cached. */
  | { kind: "reset" };

/** Receives {@link TwinChange}s. Must not throw; it is called synchronously by the backend. */
export type TwinChangeListener = (change: TwinChange) => void;

/**
 * Where relays, peers and clients look twins up. Implementations may throw (e.g. chain unreachable); the relay maps
 * a throw to `500 failed to get twin: <err>` on login and to the error text on routing.
 */
export interface TwinRegistry {
  /** The twin with this id, or `undefined` if there is none. */
  getTwin(id: number): Promise<Twin | undefined>;
  /** The id of the twin owning this 32-byte account id, or `undefined`. */
  getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined>;
  /**
   * Optional: calls `listener` for every twin created or changed from now on (and with `reset` when changes may have
   * been missed). Returns a function that stops the listening. A {@link CachedRegistry} uses it to stay fresh.
   */
  watch?(listener: TwinChangeListener): () => void;
}

/** The two fields a twin owner sets on its own record. */
export interface TwinFields {
  /** Relay domains the twin is reached through (host names, no scheme or port). */
  relays: string[];
  /** 33-byte compressed secp256k1 key for end-to-end encryption; `undefined` = none. */
  pk?: Uint8Array | undefined;
}

/** A registry in which a key owner can create and update its own twin. */
export interface WritableTwinRegistry extends TwinRegistry {
  /**
   * Registers a new twin for `signer`'s account with these fields and returns it (with the id the registry chose).
   * Throws `TwinExistsError` when the account already has a twin.
   */
  createTwin(signer: Signer, fields: TwinFields): Promise<Twin>;
  /**
   * Replaces the relays and the e2e key of `signer`'s own twin (both fields, as tfchain's `updateTwin` does) and
   * returns the new record. Throws `TwinNotFoundError` when the account has no twin.
   */
  updateTwin(signer: Signer, fields: TwinFields): Promise<Twin>;
}
