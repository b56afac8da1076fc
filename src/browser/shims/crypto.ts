/**
 * `node:crypto` for the browser bundle: exactly the functions the library calls, on audited pure-JS primitives
 * (`@noble/hashes`, `@noble/ciphers`, `@noble/curves`) and the Web Crypto random source. They return `Buffer`s as
 * Node does. Anything else (KeyObjects) throws: only the Node ed25519 backend uses them, and the browser build
 * signs through the `sodium-native` shim instead.
 *
 * @module
 */
import { gcm } from "@noble/ciphers/aes.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { md5 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { Buffer } from "./buffer.js";

type Input = Uint8Array | string;

const encoder = new TextEncoder();

function toBytes(data: Input, encoding?: string): Uint8Array {
  if (typeof data !== "string") return data;
  return encoding === undefined || encoding === "utf8" || encoding === "utf-8"
    ? encoder.encode(data)
    : Buffer.from(data, encoding as BufferEncoding);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Digest {
  update(data: Uint8Array): Digest;
  digest(): Uint8Array;
}

const HASHES: Record<string, () => Digest> = {
  md5: () => md5.create(),
  sha256: () => sha256.create(),
  sha512: () => sha512.create(),
  blake2b512: () => blake2b.create({ dkLen: 64 }),
};

/** A hash as `node:crypto`'s `Hash`: `update` (bytes, or a string in `encoding`, UTF-8 by default) and `digest`. */
export class Hash {
  readonly #digest: Digest;

  constructor(algorithm: string) {
    const make = HASHES[algorithm.toLowerCase()];
    if (make === undefined) throw new Error(`Digest method not supported in the browser build: ${algorithm}`);
    this.#digest = make();
  }

  update(data: Input, encoding?: string): this {
    this.#digest.update(toBytes(data, encoding));
    return this;
  }

  digest(): Buffer;
  digest(encoding: string): string;
  digest(encoding?: string): Buffer | string {
    const out = asBuffer(this.#digest.digest());
    return encoding === undefined ? out : out.toString(encoding as BufferEncoding);
  }
}

export function createHash(algorithm: string): Hash {
  return new Hash(algorithm);
}

const MAX_RANDOM_CHUNK = 65_536; // getRandomValues' per-call limit

/** Fills `buffer[offset, offset + size)` from the Web Crypto CSPRNG. */
export function randomFillSync<T extends Uint8Array>(
  buffer: T,
  offset = 0,
  size = buffer.length - offset,
): T {
  for (let at = offset; at < offset + size; at += MAX_RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(buffer.subarray(at, Math.min(at + MAX_RANDOM_CHUNK, offset + size)));
  }
  return buffer;
}

export function randomBytes(size: number): Buffer {
  return randomFillSync(Buffer.alloc(size));
}

/** An RFC 4122 v4 UUID; also outside secure contexts, where `crypto.randomUUID` is missing. */
export function randomUUID(): string {
  const b = randomBytes(16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** PBKDF2-HMAC-SHA512 (the only digest the library uses: BIP-39 seeds). */
export function pbkdf2Sync(
  password: Input,
  salt: Input,
  iterations: number,
  keylen: number,
  digest: string,
): Buffer {
  if (digest !== "sha512") throw new Error(`pbkdf2 digest not supported in the browser build: ${digest}`);
  return asBuffer(pbkdf2(sha512, toBytes(password), toBytes(salt), { c: iterations, dkLen: keylen }));
}

const GCM_TAG_LENGTH = 16;

function checkGcm(algorithm: string, key: Uint8Array): void {
  if (algorithm !== "aes-256-gcm") throw new Error(`Cipher not supported in the browser build: ${algorithm}`);
  if (key.length !== 32) throw new RangeError("Invalid key length");
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
}

/** AES-256-GCM encryption as `node:crypto`'s `Cipher`: the input is collected and sealed by `final()`. */
export class Cipheriv {
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  readonly #chunks: Uint8Array[] = [];
  #tag: Uint8Array | undefined;

  constructor(algorithm: string, key: Uint8Array, iv: Uint8Array) {
    checkGcm(algorithm, key);
    this.#key = key.slice();
    this.#iv = iv.slice();
  }

  update(data: Uint8Array): Buffer {
    this.#chunks.push(data.slice());
    return Buffer.alloc(0);
  }

  final(): Buffer {
    const sealed = gcm(this.#key, this.#iv).encrypt(concat(this.#chunks));
    const bodyLength = sealed.length - GCM_TAG_LENGTH;
    this.#tag = sealed.slice(bodyLength);
    return asBuffer(sealed.subarray(0, bodyLength));
  }

  getAuthTag(): Buffer {
    if (this.#tag === undefined) throw new Error("Invalid state for operation getAuthTag");
    return asBuffer(this.#tag);
  }
}

/** AES-256-GCM decryption as `node:crypto`'s `Decipher`: `final()` authenticates and throws on a bad tag. */
export class Decipheriv {
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  readonly #chunks: Uint8Array[] = [];
  #tag: Uint8Array | undefined;

  constructor(algorithm: string, key: Uint8Array, iv: Uint8Array) {
    checkGcm(algorithm, key);
    this.#key = key.slice();
    this.#iv = iv.slice();
  }

  setAuthTag(tag: Uint8Array): this {
    if (tag.length !== GCM_TAG_LENGTH) throw new Error("Invalid authentication tag length");
    this.#tag = tag.slice();
    return this;
  }

  update(data: Uint8Array): Buffer {
    this.#chunks.push(data.slice());
    return Buffer.alloc(0);
  }

  final(): Buffer {
    if (this.#tag === undefined) throw new Error("Unsupported state or unable to authenticate data");
    const body = concat(this.#chunks);
    const sealed = new Uint8Array(body.length + GCM_TAG_LENGTH);
    sealed.set(body);
    sealed.set(this.#tag, body.length);
    try {
      return asBuffer(gcm(this.#key, this.#iv).decrypt(sealed));
    } catch (cause) {
      throw new Error("Unsupported state or unable to authenticate data", { cause });
    }
  }
}

export function createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): Cipheriv {
  return new Cipheriv(algorithm, key, iv);
}

export function createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): Decipheriv {
  return new Decipheriv(algorithm, key, iv);
}

function checkCurve(curve: string): void {
  if (curve !== "secp256k1") throw new Error(`Curve not supported in the browser build: ${curve}`);
}

/** A SEC1 point as @noble/curves parses it: hybrid encodings (`0x06`/`0x07`, which OpenSSL accepts) become `0x04`
 * once their parity byte is checked against y. */
function sec1Point(key: Uint8Array): Uint8Array {
  const first = key[0];
  if (key.length !== 65 || (first !== 0x06 && first !== 0x07)) return key;
  if (((key[64] ?? 0) & 1) !== (first & 1)) throw new Error("Public key is not valid for specified curve");
  const out = key.slice();
  out[0] = 0x04;
  return out;
}

/** secp256k1 ECDH as `node:crypto`'s `ECDH` (private key set, public key, shared x coordinate, key conversion). */
export class ECDH {
  #secret: Uint8Array | undefined;

  constructor(curve: string) {
    checkCurve(curve);
  }

  /** A SEC1 public key in the other form (`format` `"compressed"` or `"uncompressed"`). */
  static convertKey(
    key: Uint8Array,
    curve: string,
    _inputEncoding?: string,
    _outputEncoding?: string,
    format: "compressed" | "uncompressed" = "uncompressed",
  ): Buffer {
    checkCurve(curve);
    return asBuffer(secp256k1.Point.fromBytes(sec1Point(key)).toBytes(format === "compressed"));
  }

  setPrivateKey(key: Uint8Array): void {
    if (!secp256k1.utils.isValidSecretKey(key))
      throw new Error("Private key is not valid for specified curve.");
    this.#secret = key.slice();
  }

  getPublicKey(_encoding?: null, format: "compressed" | "uncompressed" = "uncompressed"): Buffer {
    return asBuffer(secp256k1.getPublicKey(this.#key(), format === "compressed"));
  }

  /** The x coordinate of `secret × publicKey` (what OpenSSL's ECDH derives). */
  computeSecret(publicKey: Uint8Array): Buffer {
    return asBuffer(secp256k1.getSharedSecret(this.#key(), sec1Point(publicKey), true).subarray(1));
  }

  #key(): Uint8Array {
    if (this.#secret === undefined) throw new Error("Failed to get the public key: no private key set");
    return this.#secret;
  }
}

export function createECDH(curve: string): ECDH {
  return new ECDH(curve);
}

function keyObjectsUnavailable(): never {
  throw new Error("node:crypto KeyObjects are not available in the browser build");
}

export const createPrivateKey = keyObjectsUnavailable;
export const createPublicKey = keyObjectsUnavailable;
export const sign = keyObjectsUnavailable;
export const verify = keyObjectsUnavailable;
