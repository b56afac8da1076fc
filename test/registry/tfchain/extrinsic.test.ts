import assert from "node:assert/strict";
import { test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { createSigner, isValidSignature, KeyType, type Signer } from "../../../src/identity/index.js";
import {
  decodeSignedExtrinsic,
  decodeTwinCall,
  encodeTwinCall,
  MultiSignatureKind,
  ScaleDecodeError,
  signExtrinsic,
  signingPayload,
} from "../../../src/registry/tfchain/index.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const GENESIS = "aa".repeat(32);
const CONTEXT = { specVersion: 149, transactionVersion: 2, genesisHash: bytes(GENESIS) };
const PK = `03${"cd".repeat(32)}`;

test("extrinsic — createTwin call bytes: pallet 25, call 17, Option<Bytes> relay, Option<Bytes> pk", () => {
  const call = encodeTwinCall(25, 17, { relay: utf8("relay.tf"), pk: bytes(PK) });
  // pallet 25, call 17, Some(relay: compact 8 = 0x20, bytes), Some(pk: compact 33 = 0x84, bytes)
  assert.equal(hex(call), ["19", "11", "01", "20", hex(utf8("relay.tf")), "01", "84", PK].join(""));
  assert.equal(hex(encodeTwinCall(25, 18, { relay: undefined, pk: undefined })), "19120000");
  assert.deepEqual(decodeTwinCall(call), {
    palletIndex: 25,
    callIndex: 17,
    relay: utf8("relay.tf"),
    pk: bytes(PK),
  });
  assert.throws(() => decodeTwinCall(bytes("191200")), ScaleDecodeError);
  assert.throws(
    () => encodeTwinCall(25, 17, { relay: new Uint8Array(1025), pk: undefined }),
    InvalidArgumentError,
  );
  assert.throws(() => encodeTwinCall(256, 17, { relay: undefined, pk: undefined }), InvalidArgumentError);
});

test("extrinsic — the signed payload is call ‖ era ‖ nonce ‖ tip ‖ spec ‖ tx version ‖ genesis ‖ genesis", () => {
  const call = encodeTwinCall(25, 18, { relay: utf8("r.tf"), pk: undefined });
  const payload = signingPayload(call, { nonce: 3 }, CONTEXT);
  // call, immortal era, compact nonce 3, compact tip 0, spec 149, tx version 2, genesis, era block (= genesis)
  assert.equal(
    hex(payload),
    [hex(call), "00", "0c", "00", "95000000", "02000000", GENESIS, GENESIS].join(""),
  );
  const withTip = signingPayload(call, { nonce: 70, tip: 1n }, CONTEXT);
  assert.equal(hex(withTip).slice(hex(call).length, hex(call).length + 8), ["00", "1901", "04"].join(""));
});

test("extrinsic — a payload longer than 256 bytes is signed as its blake2-256 hash", () => {
  const relay = utf8(`${"r".repeat(300)}.tf`);
  const call = encodeTwinCall(25, 17, { relay, pk: undefined });
  const full = Uint8Array.from([
    ...call,
    0x00,
    0x00,
    0x00,
    ...bytes("95000000"),
    ...bytes("02000000"),
    ...bytes(GENESIS),
    ...bytes(GENESIS),
  ]);
  assert.ok(full.length > 256);
  assert.equal(hex(signingPayload(call, { nonce: 0 }, CONTEXT)), hex(blake2b(full, { dkLen: 32 })));
  // payload = call ‖ 3 bytes of extra ‖ 72 bytes of additional data; call = 2 + 1 + 2 (compact) + relay + 1.
  const at256 = encodeTwinCall(25, 17, { relay: new Uint8Array(175).fill(0x61), pk: undefined });
  assert.equal(signingPayload(at256, { nonce: 0 }, CONTEXT).length, 256);
  const at257 = encodeTwinCall(25, 17, { relay: new Uint8Array(176).fill(0x61), pk: undefined });
  assert.equal(signingPayload(at257, { nonce: 0 }, CONTEXT).length, 32);
});

test("extrinsic — an ed25519-signed createTwin, byte for byte", () => {
  const signer = createSigner("//Alice", KeyType.Ed25519);
  const call = encodeTwinCall(25, 17, { relay: utf8("relay.tf"), pk: bytes(PK) });
  const payload = signingPayload(call, { nonce: 5 }, CONTEXT);
  const signature = signer.sign(payload); // ed25519 is deterministic
  const body =
    "84" + // signed, version 4
    "00" + // MultiAddress::Id
    hex(signer.publicKey) +
    "00" + // MultiSignature::Ed25519
    hex(signature.subarray(1)) +
    "00" + // immortal era
    "14" + // compact nonce 5
    "00" + // compact tip 0
    hex(call);
  assert.equal(body.length / 2, 149); // 102 + a 47-byte call
  const prefix = "5502"; // compact(149) = (149 << 2 | 0b01) little-endian
  const extrinsic = signExtrinsic(signer, call, { nonce: 5 }, CONTEXT);
  assert.equal(hex(extrinsic), prefix + body);
  const parts = decodeSignedExtrinsic(extrinsic);
  assert.equal(parts.signatureKind, MultiSignatureKind.Ed25519);
  assert.equal(parts.nonce, 5);
  assert.equal(parts.tip, 0n);
  assert.deepEqual(parts.era, Uint8Array.of(0));
  assert.deepEqual(parts.call, call);
  assert.deepEqual(parts.accountId, signer.publicKey);
});

test("extrinsic — an sr25519 signature is MultiSignature::Sr25519 and verifies over the payload", () => {
  const signer = createSigner("//Bob", KeyType.Sr25519);
  const call = encodeTwinCall(25, 18, { relay: undefined, pk: bytes(PK) });
  const extrinsic = signExtrinsic(signer, call, { nonce: 1_000 }, CONTEXT);
  const parts = decodeSignedExtrinsic(extrinsic);
  assert.equal(parts.signatureKind, MultiSignatureKind.Sr25519);
  assert.equal(parts.nonce, 1_000);
  const payload = signingPayload(call, { nonce: 1_000 }, CONTEXT);
  assert.ok(isValidSignature(signer.publicKey, payload, Uint8Array.of(0x73, ...parts.signature)));
  const other = signingPayload(call, { nonce: 1_001 }, CONTEXT);
  assert.equal(isValidSignature(signer.publicKey, other, Uint8Array.of(0x73, ...parts.signature)), false);
});

test("extrinsic — a signer that does not return a 65-byte RMB signature is refused", () => {
  const base = createSigner("//Alice", KeyType.Ed25519);
  const call = encodeTwinCall(25, 17, { relay: undefined, pk: undefined });
  const short: Signer = {
    keyType: base.keyType,
    publicKey: base.publicKey,
    sign: (m) => base.sign(m).subarray(1),
  };
  const badType: Signer = {
    keyType: base.keyType,
    publicKey: base.publicKey,
    sign: (m) => Uint8Array.of(0x78, ...base.sign(m).subarray(1)),
  };
  assert.throws(() => signExtrinsic(short, call, { nonce: 0 }, CONTEXT), InvalidArgumentError);
  assert.throws(() => signExtrinsic(badType, call, { nonce: 0 }, CONTEXT), /neither 'e'/);
});

test("extrinsic — decoding refuses what is not a signed v4 extrinsic", () => {
  assert.throws(() => decodeSignedExtrinsic(bytes("0c041911")), /not a signed v4 extrinsic/); // unsigned
  assert.throws(() => decodeSignedExtrinsic(bytes("0c840100")), /unsupported MultiAddress variant 1/);
  assert.throws(() => decodeSignedExtrinsic(bytes("088400")), ScaleDecodeError);
  assert.throws(() => decodeSignedExtrinsic(bytes("0484")), ScaleDecodeError);
});
