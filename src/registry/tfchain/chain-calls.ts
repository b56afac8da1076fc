import { SubstrateRpcError } from "./errors.js";
import { fromHex, isHex, toHex } from "./hex.js";
import type { JsonValue, SubstrateRpcClient } from "./substrate-rpc.js";

/**
 * Typed wrappers of the substrate JSON-RPC calls the twin registry uses, and parsers of their answers and
 * notifications. A result of the wrong shape throws `SubstrateRpcError` with reason `protocol`.
 */

/** The fields of `state_getRuntimeVersion` that signing needs. */
export interface RuntimeVersion {
  specName: string;
  specVersion: number;
  transactionVersion: number;
}

/** A block header (`chain_getHeader`, `chain_newHead` notifications), as far as the registry needs it. */
export interface BlockHeader {
  number: number;
  parentHash: Uint8Array;
}

/** One `state_storage` notification: the block and the changed keys (`null` = the key was removed). */
export interface StorageChangeSet {
  block: string;
  changes: Array<{ key: string; value: string | null }>;
}

/** The status updates of `author_submitAndWatchExtrinsic` (`TransactionStatus`, camelCase as serde writes it). */
export type ExtrinsicStatus =
  | { kind: "future" }
  | { kind: "ready" }
  | { kind: "broadcast" }
  | { kind: "inBlock"; block: string }
  | { kind: "retracted"; block: string }
  | { kind: "finalityTimeout"; block: string }
  | { kind: "finalized"; block: string }
  | { kind: "usurped"; by: string }
  | { kind: "dropped" }
  | { kind: "invalid" };

/** `state_getStorage(key[, at])`: the stored bytes, or `undefined` when the key holds nothing. */
export async function getStorage(
  rpc: SubstrateRpcClient,
  key: Uint8Array,
  at?: Uint8Array,
): Promise<Uint8Array | undefined> {
  const params: JsonValue[] = [toHex(key)];
  if (at !== undefined) params.push(toHex(at));
  const result = await rpc.request("state_getStorage", params);
  if (result === null) return undefined;
  if (typeof result !== "string") throw protocol("state_getStorage", "a hex string or null");
  return fromHex(result, "state_getStorage result");
}

/** `state_getMetadata([at])`: the runtime metadata bytes (`RuntimeMetadataPrefixed`) of a block or the best one. */
export async function getMetadataBytes(rpc: SubstrateRpcClient, at?: Uint8Array): Promise<Uint8Array> {
  const result = await rpc.request("state_getMetadata", at === undefined ? [] : [toHex(at)]);
  if (typeof result !== "string") throw protocol("state_getMetadata", "a hex string");
  return fromHex(result, "state_getMetadata result");
}

/** `chain_getBlockHash(number)`; `number` omitted = the best block. */
export async function getBlockHash(rpc: SubstrateRpcClient, number?: number): Promise<Uint8Array> {
  const result = await rpc.request("chain_getBlockHash", number === undefined ? [] : [number]);
  if (!isHex(result) || result.length !== 66) throw protocol("chain_getBlockHash", "a 32-byte hash");
  return fromHex(result, "block hash");
}

/** `chain_getHeader([hash])`; `hash` omitted = the best block. */
export async function getHeader(rpc: SubstrateRpcClient, hash?: Uint8Array): Promise<BlockHeader> {
  const result = await rpc.request("chain_getHeader", hash === undefined ? [] : [toHex(hash)]);
  return parseHeader(result, "chain_getHeader");
}

/** `state_getRuntimeVersion()` of the best block. */
export async function getRuntimeVersion(rpc: SubstrateRpcClient): Promise<RuntimeVersion> {
  const result = await rpc.request("state_getRuntimeVersion", []);
  if (typeof result !== "object" || result === null || Array.isArray(result)) {
    throw protocol("state_getRuntimeVersion", "an object");
  }
  const { specName, specVersion, transactionVersion } = result;
  if (!isU32(specVersion) || !isU32(transactionVersion)) {
    throw protocol("state_getRuntimeVersion", "specVersion and transactionVersion as u32 numbers");
  }
  return { specName: typeof specName === "string" ? specName : "", specVersion, transactionVersion };
}

/** `system_accountNextIndex(address)`: the nonce the account's next transaction must use (counts the pool). */
export async function accountNextIndex(rpc: SubstrateRpcClient, ss58Address: string): Promise<number> {
  const result = await rpc.request("system_accountNextIndex", [ss58Address]);
  if (!isU32(result)) throw protocol("system_accountNextIndex", "a u32 number");
  return result;
}

/** Parses a header object (`number` is hex). */
export function parseHeader(value: JsonValue, what: string): BlockHeader {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw protocol(what, "a header object");
  const { number, parentHash } = value;
  // Block numbers are written as minimal hex (`0x1`, `0x1f`), not as even-length byte strings.
  let parsed: number;
  if (typeof number === "number") parsed = number;
  else if (typeof number === "string" && /^0x[0-9a-fA-F]{1,13}$/.test(number))
    parsed = Number.parseInt(number, 16);
  else throw protocol(what, "a header with a hex block number");
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw protocol(what, "a header with a valid block number");
  if (!isHex(parentHash) || parentHash.length !== 66) throw protocol(what, "a header with a parentHash");
  return { number: parsed, parentHash: fromHex(parentHash, "parentHash") };
}

/** Parses a `state_storage` notification (`{ block, changes: [[key, value | null], …] }`); keys are lowercased. */
export function parseStorageChangeSet(value: JsonValue): StorageChangeSet {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw protocol("state_storage", "a change set object");
  }
  const { block, changes } = value;
  if (!Array.isArray(changes)) throw protocol("state_storage", "a change set with changes");
  const out: StorageChangeSet = { block: typeof block === "string" ? block : "", changes: [] };
  for (const change of changes) {
    if (!Array.isArray(change) || change.length < 1) throw protocol("state_storage", "[key, value] pairs");
    const [key, data] = change;
    if (!isHex(key)) throw protocol("state_storage", "hex keys");
    if (data !== null && data !== undefined && !isHex(data))
      throw protocol("state_storage", "hex values or null");
    out.changes.push({
      key: key.toLowerCase(),
      value: data === null || data === undefined ? null : data.toLowerCase(),
    });
  }
  return out;
}

/** Parses one `author_extrinsicUpdate` notification. */
export function parseExtrinsicStatus(value: JsonValue): ExtrinsicStatus {
  if (typeof value === "string") {
    switch (value) {
      case "future":
      case "ready":
      case "dropped":
      case "invalid":
        return { kind: value };
      default:
        throw protocol("author_extrinsicUpdate", `a known status, not ${JSON.stringify(value)}`);
    }
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const [kind] = Object.keys(value);
    const data = kind === undefined ? undefined : value[kind];
    switch (kind) {
      case "broadcast":
        return { kind: "broadcast" };
      case "inBlock":
      case "retracted":
      case "finalityTimeout":
      case "finalized":
        if (typeof data === "string") return { kind, block: data };
        break;
      case "usurped":
        if (typeof data === "string") return { kind, by: data };
        break;
    }
  }
  throw protocol("author_extrinsicUpdate", `a known status, not ${JSON.stringify(value).slice(0, 120)}`);
}

function isU32(value: JsonValue | undefined): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

function protocol(method: string, expected: string): SubstrateRpcError {
  return new SubstrateRpcError("protocol", `unexpected answer to ${method}: expected ${expected}`, {
    method,
  });
}
