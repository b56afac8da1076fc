import { InvalidArgumentError } from "../../errors.js";
import { assertBytes } from "../../guards.js";
import { parseRelayField, type Twin } from "../twin.js";
import { ScaleReader, ScaleWriter } from "./scale.js";

/**
 * The SCALE form of tfchain's `Twin` (tfchain:substrate-node/pallets/pallet-tfgrid/src/types.rs, HEAD 33046d68):
 *
 * ```text
 * Twin { id: u32, account_id: AccountId32, relay: Option<BoundedVec<u8, 1024>>,
 *        entities: Vec<EntityProof { entity_id: u32, signature: Vec<u8> }>, pk: Option<BoundedVec<u8, 128>> }
 * ```
 */

/** `MAX_RELAY_LENGTH` of pallet-tfgrid: the most bytes of a twin's `relay` field. */
export const MAX_RELAY_LENGTH = 1024;
/** `MAX_PK_LENGTH` of pallet-tfgrid: the most bytes of a twin's `pk` field. */
export const MAX_PK_LENGTH = 128;
/** Length of a compressed secp256k1 public key, the only `pk` RMB can use. */
export const E2E_PUBLIC_KEY_LENGTH = 33;

/** An entity's proof of ownership stored in a twin record (not used by RMB, kept for round trips). */
export interface ChainEntityProof {
  entityId: number;
  signature: Uint8Array;
}

/** A twin record exactly as tfchain stores it. */
export interface ChainTwin {
  id: number;
  accountId: Uint8Array;
  /** Raw `relay` bytes (UTF-8 domains joined by `_`), or `undefined` for `None`. */
  relay: Uint8Array | undefined;
  entities: ChainEntityProof[];
  /** Raw `pk` bytes, or `undefined` for `None`. */
  pk: Uint8Array | undefined;
}

/** Decodes a SCALE `Twin` record; the input must be exactly one record. Throws `ScaleDecodeError`. */
export function decodeChainTwin(bytes: Uint8Array): ChainTwin {
  const reader = new ScaleReader(bytes);
  const id = reader.u32("twin id");
  const accountId = reader.accountId32("twin account_id");
  const relay = reader.option((r) => r.bytes("twin relay", MAX_RELAY_LENGTH), "twin relay option");
  const entities = reader.vec(
    (r) => ({ entityId: r.u32("entity_id"), signature: r.bytes("entity signature") }),
    "twin entities",
  );
  const pk = reader.option((r) => r.bytes("twin pk", MAX_PK_LENGTH), "twin pk option");
  reader.end("twin record");
  return { id, accountId, relay, entities, pk };
}

/** Encodes a twin record as tfchain stores it (used by tests and the fake chain). */
export function encodeChainTwin(twin: ChainTwin): Uint8Array {
  if (twin.relay !== undefined && twin.relay.length > MAX_RELAY_LENGTH) {
    throw new InvalidArgumentError("twin.relay", `longer than ${MAX_RELAY_LENGTH} bytes`);
  }
  if (twin.pk !== undefined && twin.pk.length > MAX_PK_LENGTH) {
    throw new InvalidArgumentError("twin.pk", `longer than ${MAX_PK_LENGTH} bytes`);
  }
  return new ScaleWriter(128)
    .u32(twin.id)
    .accountId32(twin.accountId)
    .option(twin.relay, (w, relay) => w.bytes(relay))
    .vec(twin.entities, (w, entity) => w.u32(entity.entityId).bytes(entity.signature))
    .option(twin.pk, (w, pk) => w.bytes(pk))
    .finish();
}

/**
 * The RMB view of a chain record: `relay` split on `_` (lossy UTF-8, like rmb-rs), `pk` only when it is a usable
 * 33-byte key (see {@link decodePkField}).
 */
export function chainTwinToTwin(chain: ChainTwin): Twin {
  const twin: Twin = { id: chain.id, accountId: Uint8Array.from(chain.accountId) };
  if (chain.relay !== undefined) twin.relays = parseRelayField(new TextDecoder().decode(chain.relay));
  const pk = chain.pk === undefined ? undefined : decodePkField(chain.pk);
  if (pk !== undefined) twin.pk = pk;
  return twin;
}

/** Decodes a SCALE `Twin` record into a {@link Twin}. Throws `ScaleDecodeError`. */
export function decodeTwin(bytes: Uint8Array): Twin {
  return chainTwinToTwin(decodeChainTwin(bytes));
}

/** The chain record of a {@link Twin} (no entities; relays joined by `_`; `pk` stored raw). */
export function twinToChainTwin(twin: Twin): ChainTwin {
  return {
    id: twin.id,
    accountId: Uint8Array.from(twin.accountId),
    relay: twin.relays === undefined ? undefined : encodeRelayField(twin.relays),
    entities: [],
    pk: twin.pk === undefined ? undefined : Uint8Array.from(twin.pk),
  };
}

const HEX_PK = /^(?:0x)?([0-9a-fA-F]{66})$/;

/**
 * The 33-byte e2e key in a chain `pk` field, or `undefined` when there is none usable:
 * - 33 bytes: the key itself (what rmb-rs and the Go SDK store);
 * - the UTF-8 text of the key in hex (`0x` + 66 hex digits, or the 66 digits alone): decoded — some polkadot.js
 *   clients pass the hex string as text, which the chain stores byte for byte;
 * - anything else (empty, other lengths, not hex): treated as absent.
 */
export function decodePkField(pk: Uint8Array): Uint8Array | undefined {
  assertBytes("pk", pk);
  if (pk.length === E2E_PUBLIC_KEY_LENGTH) return Uint8Array.from(pk);
  if (pk.length !== 66 && pk.length !== 68) return undefined;
  const match = HEX_PK.exec(new TextDecoder().decode(pk));
  if (match === null) return undefined;
  return new Uint8Array(Buffer.from(match[1] as string, "hex"));
}

/**
 * The chain `relay` field for a list of domains: the domains joined by `_` as UTF-8, or `undefined` (`None`) for an
 * empty list. Throws `InvalidArgumentError` for an empty domain or one containing `_`.
 */
export function encodeRelayField(relays: readonly string[]): Uint8Array | undefined {
  if (relays.length === 0) return undefined;
  for (const relay of relays) {
    if (typeof relay !== "string" || relay.length === 0 || relay.includes("_")) {
      throw new InvalidArgumentError("relays", `invalid relay domain ${JSON.stringify(relay)}`);
    }
  }
  return new TextEncoder().encode(relays.join("_"));
}

/**
 * Why tfchain would refuse this `relay` field (`InvalidRelayAddress`), or `undefined` if it accepts it. Mirrors
 * pallet-tfgrid `validate_relay_address` (tfchain:substrate-node/pallets/pallet-tfgrid/src/twin.rs): not empty, at
 * most 1024 bytes, only `[A-Za-z0-9_-]` and `.`, no `.` first or last, no `.` right after another `.` — and, a quirk
 * of the chain's check, no `.` at index 1 either.
 */
export function relayFieldProblem(relay: Uint8Array): string | undefined {
  if (relay.length === 0) return "the relay field is empty";
  if (relay.length > MAX_RELAY_LENGTH) return `the relay field is longer than ${MAX_RELAY_LENGTH} bytes`;
  if (relay[relay.length - 1] === 0x2e) return "the relay field ends with '.'";
  let previousDot = 0;
  for (let i = 0; i < relay.length; i++) {
    const c = relay[i] as number;
    if (c === 0x2e) {
      if (i === 0 || i - previousDot === 1) return `misplaced '.' at byte ${i} of the relay field`;
      previousDot = i;
    } else if (!isRelayChar(c)) {
      return `byte ${i} of the relay field (0x${c.toString(16).padStart(2, "0")}) is not allowed`;
    }
  }
  return undefined;
}

function isRelayChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x5f // _
  );
}
