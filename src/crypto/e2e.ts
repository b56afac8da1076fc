import { createCipheriv, createDecipheriv, createHash, randomFillSync } from "node:crypto";
import { assertBytes, assertInteger } from "../guards.js";
import { bytesKey, LruCache } from "../lru-cache.js";
import { E2eError } from "./errors.js";
import { Secp256k1KeyPair } from "./secp256k1.js";

/** Length of the AES-256-GCM key shared by two twins. */
export const E2E_KEY_LENGTH = 32;
/** Length of the random nonce that starts the `cipher` field. */
export const E2E_NONCE_LENGTH = 12;
/** Length of the GCM authentication tag that ends the `cipher` field. */
export const E2E_TAG_LENGTH = 16;
/** Shortest valid `cipher` field: nonce and tag around an empty ciphertext. */
export const E2E_MIN_CIPHER_LENGTH = E2E_NONCE_LENGTH + E2E_TAG_LENGTH;

const ALGORITHM = "aes-256-gcm";
const INVALID_CIPHER = "invalid cipher data";

/** The shared key of an ECDH x coordinate: SHA-256(x) (rmb-rs hashes the bare x, no prefix byte). */
export function sharedKeyFromEcdhX(x: Uint8Array): Uint8Array {
  assertBytes("x", x, 32);
  return toUint8Array(createHash("sha256").update(x).digest());
}

/**
 * The AES key two twins share: SHA-256 of the x coordinate of `secretKey × peerPublicKey` (secp256k1). Symmetric:
 * A's secret with B's public key gives the same key as B's secret with A's public key. Costs an ECDH (~1.5 ms);
 * use {@link E2eCipher} to compute it once per peer.
 */
export function deriveSharedKey(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  return sharedKeyFromEcdhX(new Secp256k1KeyPair(secretKey).ecdhX(peerPublicKey));
}

/**
 * Encrypts for the `cipher` envelope field: `nonce(12, CSPRNG) ‖ AES-256-GCM ciphertext ‖ tag(16)`, no AAD.
 *
 * @param key - the 32-byte shared key
 */
export function encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  assertBytes("key", key, E2E_KEY_LENGTH);
  assertBytes("plaintext", plaintext);
  return seal(key, undefined, plaintext);
}

/**
 * Encrypts with a caller-chosen nonce. **For known-answer tests only**: reusing a nonce with the same key breaks
 * AES-GCM. Not exported from `rmb-ts/crypto`.
 *
 * @internal
 */
export function encryptWithNonce(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  assertBytes("key", key, E2E_KEY_LENGTH);
  assertBytes("nonce", nonce, E2E_NONCE_LENGTH);
  assertBytes("plaintext", plaintext);
  return seal(key, nonce, plaintext);
}

/**
 * Decrypts a `cipher` field made by {@link encrypt}. Data shorter than nonce + tag, or that does not authenticate
 * (wrong key, any byte changed), throws `E2eError` (`reason: "cipher"`, `invalid cipher data`); no unauthenticated
 * plaintext is ever returned.
 *
 * @param key - the 32-byte shared key
 */
export function decrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertBytes("key", key, E2E_KEY_LENGTH);
  assertBytes("data", data);
  return open(key, data);
}

/**
 * CSPRNG bytes drawn 4 KiB at a time: one `randomFillSync` call costs several microseconds whatever its size, more
 * than the AES-GCM of a small message. Each nonce still comes from the CSPRNG and is used once (like Node's
 * `randomUUID`, which pools the same way).
 */
const NONCE_POOL = new Uint8Array(4096);
let noncePoolAt = NONCE_POOL.length;

function randomNonce(out: Uint8Array): void {
  if (noncePoolAt + E2E_NONCE_LENGTH > NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    noncePoolAt = 0;
  }
  out.set(NONCE_POOL.subarray(noncePoolAt, noncePoolAt + E2E_NONCE_LENGTH), 0);
  // Never hand the same bytes out twice.
  NONCE_POOL.fill(0, noncePoolAt, noncePoolAt + E2E_NONCE_LENGTH);
  noncePoolAt += E2E_NONCE_LENGTH;
}

function seal(key: Uint8Array, nonce: Uint8Array | undefined, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(E2E_NONCE_LENGTH + plaintext.length + E2E_TAG_LENGTH);
  if (nonce === undefined) randomNonce(out);
  else out.set(nonce, 0);
  const cipher = createCipheriv(ALGORITHM, key, out.subarray(0, E2E_NONCE_LENGTH));
  const body = cipher.update(plaintext);
  const rest = cipher.final(); // empty for GCM
  out.set(body, E2E_NONCE_LENGTH);
  out.set(rest, E2E_NONCE_LENGTH + body.length);
  out.set(cipher.getAuthTag(), E2E_NONCE_LENGTH + plaintext.length);
  return out;
}

function open(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length < E2E_MIN_CIPHER_LENGTH) throw new E2eError("cipher", INVALID_CIPHER);
  const tagStart = data.length - E2E_TAG_LENGTH;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, E2E_NONCE_LENGTH));
    decipher.setAuthTag(data.subarray(tagStart));
    const body = decipher.update(data.subarray(E2E_NONCE_LENGTH, tagStart));
    const rest = decipher.final(); // throws when the tag does not match
    return rest.length === 0 ? toUint8Array(body) : concat(body, rest);
  } catch (cause) {
    throw new E2eError("cipher", INVALID_CIPHER, { cause });
  }
}

/** Options of {@link E2eCipher}. */
export interface E2eCipherOptions {
  /**
   * How many peers' shared keys are kept (least recently used are dropped). Each miss costs an ECDH (~1.5 ms).
   * @default 1024
   */
  readonly maxCachedKeys?: number;
}

/** The defaults of {@link E2eCipherOptions}. */
export const E2E_CIPHER_DEFAULTS: Required<E2eCipherOptions> = { maxCachedKeys: 1024 };

/** Counters of an {@link E2eCipher}'s shared-key cache. */
export interface E2eCipherStats {
  /** Shared keys served from the cache. */
  readonly hits: number;
  /** Shared keys computed (one ECDH each). */
  readonly misses: number;
  /** Shared keys held now. */
  readonly size: number;
}

/**
 * End-to-end encryption for one identity (its secp256k1 secret) towards many peers. The shared key of each peer
 * public key is computed once and kept in a bounded LRU cache, so a cache hit costs only AES-GCM.
 *
 * @example
 * const e2e = new E2eCipher(identity.e2eSecretKey);
 * const cipher = e2e.encryptFor(destinationTwin.pk, payload);
 * const plain = e2e.decryptFrom(sourceTwin.pk, cipher);
 */
export class E2eCipher {
  /** This identity's 33-byte compressed secp256k1 public key (the twin's `pk` on tfchain). */
  readonly publicKey: Uint8Array;
  readonly #pair: Secp256k1KeyPair;
  readonly #keys: LruCache<string, Uint8Array>;
  #hits = 0;
  #misses = 0;

  /**
   * @param secretKey - the 32-byte secp256k1 secret (`E2eError` `reason: "secret-key"` if not a valid scalar)
   */
  constructor(secretKey: Uint8Array, options: E2eCipherOptions = {}) {
    const maxCachedKeys = options.maxCachedKeys ?? E2E_CIPHER_DEFAULTS.maxCachedKeys;
    assertInteger("options.maxCachedKeys", maxCachedKeys, 1, Number.MAX_SAFE_INTEGER);
    this.#pair = new Secp256k1KeyPair(secretKey);
    this.publicKey = this.#pair.publicKey;
    this.#keys = new LruCache(maxCachedKeys);
  }

  /**
   * The 32-byte key shared with the owner of `peerPublicKey` (33-byte compressed or 65-byte uncompressed).
   * Throws `E2eError` (`reason: "public-key"`) for a key that is not a curve point; failures are not cached.
   * Returns a copy of the cached key.
   */
  sharedKey(peerPublicKey: Uint8Array): Uint8Array {
    return this.#sharedKey(peerPublicKey).slice();
  }

  #sharedKey(peerPublicKey: Uint8Array): Uint8Array {
    assertBytes("peerPublicKey", peerPublicKey);
    const cacheKey = bytesKey(peerPublicKey);
    const cached = this.#keys.get(cacheKey);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    const key = sharedKeyFromEcdhX(this.#pair.ecdhX(peerPublicKey));
    this.#misses++;
    this.#keys.set(cacheKey, key);
    return key;
  }

  /** Encrypts `plaintext` for the owner of `peerPublicKey`: `nonce ‖ ciphertext ‖ tag`. */
  encryptFor(peerPublicKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
    assertBytes("plaintext", plaintext);
    return seal(this.#sharedKey(peerPublicKey), undefined, plaintext);
  }

  /** Decrypts `data` sent by the owner of `peerPublicKey` (`E2eError` `invalid cipher data` if it does not open). */
  decryptFrom(peerPublicKey: Uint8Array, data: Uint8Array): Uint8Array {
    assertBytes("data", data);
    return open(this.#sharedKey(peerPublicKey), data);
  }

  /** Cache counters (a miss is one ECDH). */
  get stats(): E2eCipherStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#keys.size };
  }

  /** Forgets every cached shared key (counters are kept). */
  clearCache(): void {
    this.#keys.clear();
  }
}

function toUint8Array(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
