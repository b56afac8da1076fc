/**
 * `TfchainRegistry` — the twin registry on tfchain (ThreeFold's substrate chain), spoken to directly over
 * substrate JSON-RPC: reads `TfgridModule.Twins` / `TwinIdByAccountID`, follows twin changes (`TwinStored` /
 * `TwinUpdated` events decoded with the runtime metadata V14), and signs and submits `createTwin` / `updateTwin`.
 * Also exports the small SCALE, metadata, hashing and extrinsic pieces it is built on.
 *
 * @example
 * ```ts
 * import { TfchainRegistry } from "./registry/tfchain/index.js";
 * const registry = new TfchainRegistry({ urls: ["wss://tfchain.grid.tf:443"] });
 * await registry.start();
 * const twin = await registry.getTwin(55); // { id, accountId, relays?, pk? } or undefined
 * await registry.close();
 * ```
 *
 * @module
 */

export {
  type BlockHeader,
  type ExtrinsicStatus,
  parseExtrinsicStatus,
  parseHeader,
  parseStorageChangeSet,
  type RuntimeVersion,
  type StorageChangeSet,
} from "./chain-calls.js";
export { MetadataError, ScaleDecodeError, SubstrateRpcError, SubstrateRpcFailure } from "./errors.js";
export { type ChainEvent, EventsDecoder, SYSTEM_EVENTS_STORAGE_KEY } from "./events.js";
export {
  type ChainSigningContext,
  CREATE_TWIN_CALL_INDEX,
  decodeSignedExtrinsic,
  decodeTwinCall,
  type ExtrinsicExtra,
  encodeSignedExtrinsic,
  encodeTwinCall,
  IMMORTAL_ERA,
  MultiSignatureKind,
  SIGNED_EXTRINSIC_V4,
  type SignedExtrinsicParts,
  signExtrinsic,
  signingPayload,
  TFGRID_PALLET_INDEX,
  type TwinCall,
  type TwinCallArgs,
  UPDATE_TWIN_CALL_INDEX,
} from "./extrinsic.js";
export {
  decodeMetadata,
  MAX_VALUE_DEPTH,
  METADATA_MAGIC,
  METADATA_VERSION,
  type MetadataField,
  type MetadataVariant,
  type PalletMetadata,
  type PortableType,
  PRIMITIVES,
  type Primitive,
  type RuntimeMetadata,
  STORAGE_HASHERS,
  type StorageEntryMetadata,
  type StorageHasher,
  type TypeDef,
  TypeRegistry,
} from "./metadata.js";
export { ACCOUNT_ID32_LENGTH, decodeCompact, encodeCompact, ScaleReader, ScaleWriter } from "./scale.js";
export {
  blake2MapKey,
  blake2128Concat,
  storagePrefix,
  TFGRID_PALLET_NAME,
  termsAndConditionsStorageKey,
  twinIdByAccountStorageKey,
  twinStorageKey,
} from "./storage-key.js";
export {
  type JsonValue,
  type RpcRequestOptions,
  type RpcSubscribeSpec,
  type RpcSubscription,
  SUBSTRATE_RPC_DEFAULTS,
  SubstrateRpcClient,
  type SubstrateRpcOptions,
  type SubstrateRpcStatus,
} from "./substrate-rpc.js";
export {
  TFCHAIN_REGISTRY_DEFAULTS,
  type TfchainChangeSource,
  TfchainRegistry,
  type TfchainRegistryOptions,
  type TfchainWaitFor,
} from "./tfchain-registry.js";
export {
  type ChainEntityProof,
  type ChainTwin,
  chainTwinToTwin,
  decodeChainTwin,
  decodePkField,
  decodeTwin,
  E2E_PUBLIC_KEY_LENGTH,
  encodeChainTwin,
  encodeRelayField,
  MAX_PK_LENGTH,
  MAX_RELAY_LENGTH,
  relayFieldProblem,
  twinToChainTwin,
} from "./twin-codec.js";
export {
  CATCHUP_PARALLEL,
  TWIN_RECORD_EVENTS,
  TWIN_RESET_EVENTS,
  TwinEventFollower,
  type TwinEventFollowerOptions,
} from "./twin-events.js";
export { twox64, twox128, xxhash64 } from "./xxhash64.js";
