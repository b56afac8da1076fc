import { createECDH, ECDH } from "node:crypto";
import { assertBytes } from "../guards.js";
import { E2eError } from "./errors.js";

/** Length of a secp256k1 secret key. */
export const SECP256K1_SECRET_KEY_LENGTH = 32;
/** Length of a compressed SEC1 public key (`0x02`/`0x03` ‖ x), the form published as a twin's `pk` on tfchain. */
export const SECP256K1_COMPRESSED_PUBLIC_KEY_LENGTH = 33;
/** Length of an uncompressed SEC1 public key (`0x04` ‖ x ‖ y). */
export const SECP256K1_UNCOMPRESSED_PUBLIC_KEY_LENGTH = 65;

const CURVE = "secp256k1";
const MALFORMED_PUBLIC_KEY = "k256: malformed public key";
const MALFORMED_SECRET_KEY = "k256: malformed or out-of-range secret key";

/**
 * A secp256k1 key pair for end-to-end encryption (rmb-rs `e2e::Pair`), on `node:crypto` ECDH. The secret never
 * leaves the object. An ECDH costs about a millisecond, so callers that talk to the same peer repeatedly should
 * cache the shared key (see `E2eCipher`).
 */
export class Secp256k1KeyPair {
  /** The 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  readonly #ecdh: ECDH;

  /**
   * @param secretKey - 32 bytes, a valid scalar (not 0, below the group order); otherwise `E2eError`
   *   (`reason: "secret-key"`, `k256: malformed or out-of-range secret key`)
   */
  constructor(secretKey: Uint8Array) {
    assertBytes("secretKey", secretKey, SECP256K1_SECRET_KEY_LENGTH);
    this.#ecdh = createECDH(CURVE);
    try {
      this.#ecdh.setPrivateKey(secretKey);
    } catch (cause) {
      throw new E2eError("secret-key", MALFORMED_SECRET_KEY, { cause });
    }
    this.publicKey = toUint8Array(this.#ecdh.getPublicKey(null, "compressed"));
  }

  /**
   * The x coordinate (32 bytes) of `secret × peerPublicKey`. The peer key is a 33-byte compressed or 65-byte
   * uncompressed SEC1 point (`0x04`, or hybrid `0x06`/`0x07`, which libsecp256k1 also parses); anything else, or a
   * point not on the curve, throws `E2eError`
   * (`reason: "public-key"`, `k256: malformed public key`).
   */
  ecdhX(peerPublicKey: Uint8Array): Uint8Array {
    assertPeerPublicKey(peerPublicKey);
    try {
      return toUint8Array(this.#ecdh.computeSecret(peerPublicKey));
    } catch (cause) {
      throw new E2eError("public-key", MALFORMED_PUBLIC_KEY, { cause });
    }
  }
}

/** The 33-byte compressed public key of a 32-byte secp256k1 secret (`E2eError` if the secret is not a valid scalar). */
export function secp256k1PublicKey(secretKey: Uint8Array): Uint8Array {
  return new Secp256k1KeyPair(secretKey).publicKey;
}

/** The ECDH x coordinate of `secretKey × peerPublicKey` (see {@link Secp256k1KeyPair.ecdhX}). */
export function secp256k1Ecdh(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  return new Secp256k1KeyPair(secretKey).ecdhX(peerPublicKey);
}

/** `true` when `secretKey` is 32 bytes and a valid secp256k1 scalar (not 0, below the group order). */
export function isValidSecp256k1SecretKey(secretKey: Uint8Array): boolean {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECP256K1_SECRET_KEY_LENGTH) return false;
  try {
    createECDH(CURVE).setPrivateKey(secretKey);
    return true;
  } catch {
    return false;
  }
}

/** `true` when `publicKey` is a 33-byte compressed or 65-byte uncompressed SEC1 encoding of a curve point. */
export function isValidSecp256k1PublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !hasSec1Shape(publicKey)) return false;
  try {
    ECDH.convertKey(publicKey, CURVE, undefined, undefined, "compressed"); // decodes and checks the point
    return true;
  } catch {
    return false;
  }
}

/** The 33-byte compressed form of a valid 33- or 65-byte SEC1 public key (`E2eError` if it is not a curve point). */
export function compressSecp256k1PublicKey(publicKey: Uint8Array): Uint8Array {
  assertPeerPublicKey(publicKey);
  try {
    return toUint8Array(ECDH.convertKey(publicKey, CURVE, undefined, undefined, "compressed") as Buffer);
  } catch (cause) {
    throw new E2eError("public-key", MALFORMED_PUBLIC_KEY, { cause });
  }
}

function hasSec1Shape(publicKey: Uint8Array): boolean {
  const first = publicKey[0];
  if (publicKey.length === SECP256K1_COMPRESSED_PUBLIC_KEY_LENGTH) return first === 0x02 || first === 0x03;
  if (publicKey.length === SECP256K1_UNCOMPRESSED_PUBLIC_KEY_LENGTH) {
    return first === 0x04 || first === 0x06 || first === 0x07;
  }
  return false;
}

function assertPeerPublicKey(peerPublicKey: Uint8Array): void {
  assertBytes("peerPublicKey", peerPublicKey);
  if (!hasSec1Shape(peerPublicKey)) throw new E2eError("public-key", MALFORMED_PUBLIC_KEY);
}

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
