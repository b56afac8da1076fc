/**
 * The registrar accounts API (TFGrid v4 node-registrar): our service (`RegistrarService` over a
 * `FileAccountStore` or `PostgresAccountStore`) and a client that is also a twin registry (`RegistrarClient`).
 *
 * @example
 * ```ts
 * const store = await FileAccountStore.open("./registry-data");
 * const service = new RegistrarService({ store, port: 8090 });
 * await service.start();
 * const registry = new RegistrarClient({ url: service.url });
 * const twin = await registry.createTwin(signer, { relays: ["relay.example"] });
 * ```
 */
export {
  type Account,
  type AccountJson,
  accountFromJson,
  accountToJson,
  accountToTwin,
  relayDomains,
  relayHost,
  relaysProblem,
  rmbEncKeyBytes,
  rmbEncKeyProblem,
  rmbEncKeyText,
} from "./account.js";
export type { AccountListener, AccountPatch, AccountStore, NewAccount } from "./account-store.js";
export { decodeStdBase64, encodeStdBase64 } from "./base64.js";
export { RegistrarOptionsError, RegistryStoreError } from "./errors.js";
export { FileAccountStore, type FileAccountStoreOptions } from "./file-account-store.js";
export { PostgresAccountStore, type PostgresAccountStoreOptions } from "./postgres-account-store.js";
export {
  AUTH_VALIDITY_SECONDS,
  authChallenge,
  buildAuthHeader,
  CREATION_WINDOW_SECONDS,
  creationChallenge,
  signRaw,
  verifyRawSignature,
} from "./proofs.js";
export {
  type AccountFields,
  RegistrarClient,
  type RegistrarClientOptions,
  registrarBaseUrl,
} from "./registrar-client.js";
export { REGISTRAR_DEFAULTS, type RegistrarOptions } from "./registrar-options.js";
export { RegistrarService } from "./registrar-service.js";
export { AccountStoreRegistry } from "./store-registry.js";
