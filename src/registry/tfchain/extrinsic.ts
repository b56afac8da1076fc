import { blake2b } from "@noble/hashes/blake2.js";
import { InvalidArgumentError } from "../../errors.js";
import { assertBytes, assertInteger } from "../../guards.js";
import { SIGNATURE_LENGTH, SignaturePrefix } from "../../identity/key-type.js";
import type { Signer } from "../../identity/signer.js";
import { ScaleDecodeError } from "./errors.js";
import { ScaleReader, ScaleWriter } from "./scale.js";
import { MAX_PK_LENGTH, MAX_RELAY_LENGTH } from "./twin-codec.js";

/**
 * Signed extrinsics (transaction format v4) for tfchain's twin calls.
 *
 * ```text
 * extrinsic      = compact(len) ‖ 0x84 ‖ MultiAddress::Id (0x00 ‖ account32) ‖ MultiSignature (0x00 ed25519 |
 *                  0x01 sr25519 ‖ sig64) ‖ extra ‖ call
 * extra          = era ‖ compact(nonce) ‖ compact(tip)
 * signed payload = call ‖ extra ‖ spec_version u32 ‖ transaction_version u32 ‖ genesis_hash ‖ era_block_hash
 *                  (blake2-256 of it when longer than 256 bytes)
 * ```
 *
 * `extra`/additional-signed follow tfchain's `SignedExtra` (tfchain:substrate-node/runtime/src/lib.rs, HEAD
 * 33046d68): `CheckNonZeroSender` (nothing), `CheckSpecVersion` (+spec_version), `CheckTxVersion` (+tx_version),
 * `CheckGenesis` (+genesis hash), `CheckEra` (era; +block hash of the era's birth, the genesis hash for an immortal
 * era), `CheckNonce` (compact nonce), `CheckWeight` (nothing), `ChargeTransactionPayment` (compact tip). Only
 * immortal transactions are built (era byte `0x00`), as tfchain's own Go client does.
 */

/** Version byte of a signed v4 extrinsic (`0b1000_0100`). */
export const SIGNED_EXTRINSIC_V4 = 0x84;
/** An immortal era: one zero byte. */
export const IMMORTAL_ERA: Uint8Array = Uint8Array.of(0);
/** Payloads longer than this are blake2-256 hashed before signing (sp-runtime `SignedPayload`). */
export const MAX_UNHASHED_PAYLOAD = 256;

/** Variant index of `sp_runtime::MultiSignature`. */
export const MultiSignatureKind = {
  Ed25519: 0,
  Sr25519: 1,
  Ecdsa: 2,
} as const;
export type MultiSignatureKind = (typeof MultiSignatureKind)[keyof typeof MultiSignatureKind];

/**
 * Index of pallet-tfgrid in tfchain's `construct_runtime!` (`TfgridModule: pallet_tfgrid = 25`,
 * tfchain:substrate-node/runtime/src/lib.rs, HEAD 33046d68).
 */
export const TFGRID_PALLET_INDEX = 25;
/** `#[pallet::call_index(17)] create_twin(relay, pk)` in pallet-tfgrid. */
export const CREATE_TWIN_CALL_INDEX = 17;
/** `#[pallet::call_index(18)] update_twin(relay, pk)` in pallet-tfgrid. */
export const UPDATE_TWIN_CALL_INDEX = 18;

/** The arguments of `createTwin`/`updateTwin`: `relay: Option<BoundedVec<u8,1024>>, pk: Option<BoundedVec<u8,128>>`. */
export interface TwinCallArgs {
  relay: Uint8Array | undefined;
  pk: Uint8Array | undefined;
}

/** A decoded pallet call with twin-call arguments. */
export interface TwinCall extends TwinCallArgs {
  palletIndex: number;
  callIndex: number;
}

/** `pallet_index ‖ call_index ‖ Option<Bytes> relay ‖ Option<Bytes> pk`. */
export function encodeTwinCall(palletIndex: number, callIndex: number, args: TwinCallArgs): Uint8Array {
  assertInteger("palletIndex", palletIndex, 0, 0xff);
  assertInteger("callIndex", callIndex, 0, 0xff);
  if (args.relay !== undefined && args.relay.length > MAX_RELAY_LENGTH) {
    throw new InvalidArgumentError("relay", `longer than ${MAX_RELAY_LENGTH} bytes`);
  }
  if (args.pk !== undefined && args.pk.length > MAX_PK_LENGTH) {
    throw new InvalidArgumentError("pk", `longer than ${MAX_PK_LENGTH} bytes`);
  }
  return new ScaleWriter(16 + (args.relay?.length ?? 0) + (args.pk?.length ?? 0))
    .u8(palletIndex)
    .u8(callIndex)
    .option(args.relay, (w, relay) => w.bytes(relay))
    .option(args.pk, (w, pk) => w.bytes(pk))
    .finish();
}

/** Decodes a call encoded by {@link encodeTwinCall}. Throws `ScaleDecodeError`. */
export function decodeTwinCall(call: Uint8Array): TwinCall {
  const reader = new ScaleReader(call);
  const palletIndex = reader.u8("pallet index");
  const callIndex = reader.u8("call index");
  const relay = reader.option((r) => r.bytes("relay", MAX_RELAY_LENGTH), "relay option");
  const pk = reader.option((r) => r.bytes("pk", MAX_PK_LENGTH), "pk option");
  reader.end("twin call");
  return { palletIndex, callIndex, relay, pk };
}

/** What the runtime makes every transaction sign besides the call (the "additional signed" data). */
export interface ChainSigningContext {
  /** `state_getRuntimeVersion().specVersion`. */
  specVersion: number;
  /** `state_getRuntimeVersion().transactionVersion`. */
  transactionVersion: number;
  /** 32-byte hash of block 0 (`chain_getBlockHash(0)`). */
  genesisHash: Uint8Array;
}

/** The per-transaction signed-extension values. */
export interface ExtrinsicExtra {
  /** The account's next nonce (`system_accountNextIndex`). */
  nonce: number;
  /** Tip for the block author. @default 0n */
  tip?: bigint;
}

function encodeExtra(extra: ExtrinsicExtra): Uint8Array {
  assertInteger("nonce", extra.nonce, 0, 0xffff_ffff);
  return new ScaleWriter(16)
    .raw(IMMORTAL_ERA)
    .compact(extra.nonce)
    .compact(extra.tip ?? 0n)
    .finish();
}

/**
 * The bytes a signer signs for an immortal transaction: `call ‖ extra ‖ spec ‖ tx_version ‖ genesis ‖ genesis`,
 * blake2-256 hashed when longer than 256 bytes.
 */
export function signingPayload(
  call: Uint8Array,
  extra: ExtrinsicExtra,
  context: ChainSigningContext,
): Uint8Array {
  assertBytes("call", call);
  assertBytes("genesisHash", context.genesisHash, 32);
  const payload = new ScaleWriter(call.length + 96)
    .raw(call)
    .raw(encodeExtra(extra))
    .u32(context.specVersion)
    .u32(context.transactionVersion)
    .raw(context.genesisHash)
    .raw(context.genesisHash)
    .finish();
  return payload.length > MAX_UNHASHED_PAYLOAD ? blake2b(payload, { dkLen: 32 }) : payload;
}

/** The parts of a signed extrinsic. */
export interface SignedExtrinsicParts {
  /** 32-byte sender account id (`MultiAddress::Id`). */
  accountId: Uint8Array;
  signatureKind: MultiSignatureKind;
  /** The raw signature (64 bytes for ed25519/sr25519, 65 for ecdsa). */
  signature: Uint8Array;
  /** Encoded era (`0x00` immortal, or the two bytes of a mortal era). */
  era: Uint8Array;
  nonce: number;
  tip: bigint;
  call: Uint8Array;
}

/** Encodes a signed v4 extrinsic with its compact length prefix (what `author_submitExtrinsic` takes). */
export function encodeSignedExtrinsic(parts: SignedExtrinsicParts): Uint8Array {
  assertBytes("accountId", parts.accountId, 32);
  assertBytes("signature", parts.signature, parts.signatureKind === MultiSignatureKind.Ecdsa ? 65 : 64);
  const body = new ScaleWriter(parts.call.length + 128)
    .u8(SIGNED_EXTRINSIC_V4)
    .u8(0) // MultiAddress::Id
    .accountId32(parts.accountId)
    .u8(parts.signatureKind)
    .raw(parts.signature)
    .raw(parts.era)
    .compact(parts.nonce)
    .compact(parts.tip)
    .raw(parts.call)
    .finish();
  return new ScaleWriter(body.length + 4).bytes(body).finish();
}

/**
 * Decodes a signed v4 extrinsic (with its length prefix). Only `MultiAddress::Id` senders are understood.
 * Throws `ScaleDecodeError`.
 */
export function decodeSignedExtrinsic(bytes: Uint8Array): SignedExtrinsicParts {
  const outer = new ScaleReader(bytes);
  const body = outer.bytes("extrinsic");
  outer.end("extrinsic");
  const reader = new ScaleReader(body);
  const version = reader.u8("extrinsic version");
  if (version !== SIGNED_EXTRINSIC_V4) {
    throw new ScaleDecodeError(`not a signed v4 extrinsic (version byte 0x${version.toString(16)})`);
  }
  const address = reader.u8("MultiAddress variant");
  if (address !== 0) throw new ScaleDecodeError(`unsupported MultiAddress variant ${address}`);
  const accountId = reader.accountId32("sender");
  const kind = reader.u8("MultiSignature variant");
  if (kind > MultiSignatureKind.Ecdsa) throw new ScaleDecodeError(`invalid MultiSignature variant ${kind}`);
  const signatureKind = kind as MultiSignatureKind;
  const signature = reader.fixed(signatureKind === MultiSignatureKind.Ecdsa ? 65 : 64, "signature");
  const eraFirst = reader.u8("era");
  const era = eraFirst === 0 ? Uint8Array.of(0) : Uint8Array.of(eraFirst, reader.u8("era"));
  const nonce = reader.compactNumber("nonce", 0xffff_ffff);
  const tip = reader.compact("tip");
  const call = reader.fixed(reader.remaining, "call");
  return { accountId, signatureKind, signature, era, nonce, tip, call };
}

/**
 * Signs `call` as `signer` and returns the encoded extrinsic. The signer's 65-byte RMB signature is split into its
 * type byte (`e` → `MultiSignature::Ed25519`, `s` → `MultiSignature::Sr25519`) and the 64-byte signature.
 */
export function signExtrinsic(
  signer: Signer,
  call: Uint8Array,
  extra: ExtrinsicExtra,
  context: ChainSigningContext,
): Uint8Array {
  assertBytes("signer.publicKey", signer.publicKey, 32);
  const signature = signer.sign(signingPayload(call, extra, context));
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
    throw new InvalidArgumentError("signer", `sign() must return ${SIGNATURE_LENGTH} bytes`);
  }
  let signatureKind: MultiSignatureKind;
  if (signature[0] === SignaturePrefix.ed25519) signatureKind = MultiSignatureKind.Ed25519;
  else if (signature[0] === SignaturePrefix.sr25519) signatureKind = MultiSignatureKind.Sr25519;
  else
    throw new InvalidArgumentError(
      "signer",
      "signature type byte is neither 'e' (ed25519) nor 's' (sr25519)",
    );
  return encodeSignedExtrinsic({
    accountId: signer.publicKey,
    signatureKind,
    signature: signature.subarray(1),
    era: IMMORTAL_ERA,
    nonce: extra.nonce,
    tip: extra.tip ?? 0n,
    call,
  });
}
