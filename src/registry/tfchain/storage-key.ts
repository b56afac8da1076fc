import { blake2b } from "@noble/hashes/blake2.js";
import { assertBytes, assertInteger, assertString } from "../../guards.js";
import { ACCOUNT_ID32_LENGTH } from "./scale.js";
import { twox128 } from "./xxhash64.js";

/**
 * Storage keys of FRAME storage items, as a node's `state_getStorage` expects them:
 * `twox128(pallet) ‖ twox128(item)` for a value, followed by the hashed key for a map.
 *
 * The tfchain items used here (tfchain:substrate-node/pallets/pallet-tfgrid/src/lib.rs, HEAD 33046d68):
 * `Twins: StorageMap<Blake2_128Concat, u32, Twin>`, `TwinIdByAccountID: StorageMap<Blake2_128Concat, AccountId, u32>`
 * and `UsersTermsAndConditions: StorageMap<Blake2_128Concat, AccountId, Vec<…>>`; the pallet is registered as
 * `TfgridModule` in `construct_runtime!` (substrate-node/runtime/src/lib.rs).
 */

/** The name tfchain's runtime gives pallet-tfgrid, the storage prefix of its items. */
export const TFGRID_PALLET_NAME = "TfgridModule";

const prefixes = new Map<string, Uint8Array>();
const encoder = new TextEncoder();

/** `twox128(pallet) ‖ twox128(item)`: the 32-byte key of a storage value, the prefix of a map's keys (cached). */
export function storagePrefix(pallet: string, item: string): Uint8Array {
  assertString("pallet", pallet);
  assertString("item", item);
  const cacheKey = `${pallet}\u0000${item}`;
  let prefix = prefixes.get(cacheKey);
  if (prefix === undefined) {
    prefix = new Uint8Array(32);
    prefix.set(twox128(encoder.encode(pallet)), 0);
    prefix.set(twox128(encoder.encode(item)), 16);
    prefixes.set(cacheKey, prefix);
  }
  return prefix.slice();
}

/** Substrate's `Blake2_128Concat` map hasher: `blake2b-128(key) ‖ key`. */
export function blake2128Concat(key: Uint8Array): Uint8Array {
  assertBytes("key", key);
  const out = new Uint8Array(16 + key.length);
  out.set(blake2b(key, { dkLen: 16 }), 0);
  out.set(key, 16);
  return out;
}

/** The key of one entry of a `Blake2_128Concat` map: `storagePrefix(pallet, item) ‖ blake2128Concat(encodedKey)`. */
export function blake2MapKey(pallet: string, item: string, encodedKey: Uint8Array): Uint8Array {
  const prefix = storagePrefix(pallet, item);
  const hashed = blake2128Concat(encodedKey);
  const out = new Uint8Array(prefix.length + hashed.length);
  out.set(prefix, 0);
  out.set(hashed, prefix.length);
  return out;
}

/** `TfgridModule.Twins(id)`: the key of twin `id`'s record (the id is SCALE `u32`, little-endian). */
export function twinStorageKey(id: number, pallet = TFGRID_PALLET_NAME): Uint8Array {
  assertInteger("id", id, 0, 0xffff_ffff);
  const encoded = new Uint8Array(4);
  new DataView(encoded.buffer).setUint32(0, id, true);
  return blake2MapKey(pallet, "Twins", encoded);
}

/** `TfgridModule.TwinIdByAccountID(account)`: the key of the twin id owned by a 32-byte account id. */
export function twinIdByAccountStorageKey(accountId: Uint8Array, pallet = TFGRID_PALLET_NAME): Uint8Array {
  assertBytes("accountId", accountId, ACCOUNT_ID32_LENGTH);
  return blake2MapKey(pallet, "TwinIdByAccountID", accountId);
}

/**
 * `TfgridModule.UsersTermsAndConditions(account)`: present once the account called `userAcceptTc`, which
 * `createTwin` requires (`UserDidNotSignTermsAndConditions` otherwise).
 */
export function termsAndConditionsStorageKey(accountId: Uint8Array, pallet = TFGRID_PALLET_NAME): Uint8Array {
  assertBytes("accountId", accountId, ACCOUNT_ID32_LENGTH);
  return blake2MapKey(pallet, "UsersTermsAndConditions", accountId);
}
