/**
 * `rmb-ts/registry` — where relays and peers look twins up (account id, relay domains, e2e key).
 *
 * @example
 * ```ts
 * import { MemoryRegistry } from "rmb-ts/registry";
 * const registry = new MemoryRegistry();
 * const alice = registry.register({ accountId: signer.publicKey, relays: ["relay.example"] });
 * await registry.getTwin(alice.id);
 * ```
 */
export {
  type AccountCacheStats,
  CachedRegistry,
  type TwinCacheOptions,
  type TwinCacheStats,
} from "./cached-registry.js";
export {
  InvalidTwinError,
  RegistryRejectedError,
  RegistryUnavailableError,
  TwinExistsError,
  TwinNotFoundError,
} from "./errors.js";
export { MemoryRegistry, type RegisterTwinOptions } from "./memory-registry.js";
export * from "./registrar/index.js";
export {
  MetadataError,
  ScaleDecodeError,
  SubstrateRpcError,
  type TfchainChangeSource,
  TfchainRegistry,
  type TfchainRegistryOptions,
} from "./tfchain/index.js";
export { parseRelayField, type Twin } from "./twin.js";
export type {
  TwinChange,
  TwinChangeListener,
  TwinFields,
  TwinRegistry,
  WritableTwinRegistry,
} from "./twin-registry.js";
export { loadTwinsFile, parseAccountId, parseTwinsFile, type TwinsFileEntry } from "./twins-file.js";
