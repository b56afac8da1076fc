import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { createRequire } from "node:module";
import { bytesKey, LruCache } from "../lru-cache.js";

/**
 * The ed25519 implementations: `sodium-native` (libsodium, ~30k signatures/s) and `node:crypto` (OpenSSL through
 * `KeyObject`s). Both are RFC 8032 and deterministic, so they produce identical signatures.
 */
export type Ed25519BackendName = "sodium-native" | "node:crypto";

/** A private key ready to sign. */
export interface Ed25519SigningKey {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Writes the 64-byte signature of `message` into `out` (a 64-byte view, e.g. `sig65.subarray(1)`). */
  signInto(message: Uint8Array, out: Uint8Array): void;
}

/** What the ed25519 module needs from an implementation. */
export interface Ed25519Backend {
  readonly name: Ed25519BackendName;
  /** The signing key of a 32-byte RFC 8032 seed. */
  signingKey(seed: Uint8Array): Ed25519SigningKey;
  /** `true` when the 64-byte `signature` verifies; `false` (never a throw) for malformed keys or signatures. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** How many public `KeyObject`s the `node:crypto` backend keeps (creating one costs ~0.2 ms). */
export const ED25519_KEY_OBJECT_CACHE_SIZE = 1024;

interface SodiumModule {
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The libsodium backend. Throws if sodium-native cannot be loaded. */
export function createSodiumEd25519Backend(): Ed25519Backend {
  const sodium = createRequire(import.meta.url)("sodium-native") as SodiumModule;
  if (typeof sodium.crypto_sign_detached !== "function")
    throw new Error("sodium-native: unexpected module shape");
  return {
    name: "sodium-native",
    signingKey(seed) {
      const publicKey = new Uint8Array(32);
      const secretKey = new Uint8Array(64);
      sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
      return {
        publicKey,
        signInto: (message, out) => sodium.crypto_sign_detached(out, message, secretKey),
      };
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    },
  };
}

// DER headers of an ed25519 PKCS#8 private key and SPKI public key (RFC 8410); the raw key follows.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The OpenSSL backend; public `KeyObject`s are cached ({@link ED25519_KEY_OBJECT_CACHE_SIZE}). */
export function createNodeEd25519Backend(): Ed25519Backend {
  const publicKeys = new LruCache<string, KeyObject>(ED25519_KEY_OBJECT_CACHE_SIZE);
  const publicKeyObject = (publicKey: Uint8Array): KeyObject => {
    const cacheKey = bytesKey(publicKey);
    let keyObject = publicKeys.get(cacheKey);
    if (keyObject === undefined) {
      keyObject = createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, publicKey]),
        format: "der",
        type: "spki",
      });
      publicKeys.set(cacheKey, keyObject);
    }
    return keyObject;
  };
  return {
    name: "node:crypto",
    signingKey(seed) {
      const privateKey = createPrivateKey({
        key: Buffer.concat([PKCS8_PREFIX, seed]),
        format: "der",
        type: "pkcs8",
      });
      const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
      return {
        publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
        signInto: (message, out) => out.set(sign(null, message, privateKey)),
      };
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        return verify(null, message, publicKeyObject(publicKey), signature);
      } catch {
        return false;
      }
    },
  };
}

/**
 * The backend this process uses: sodium-native, or `node:crypto` when the native addon cannot be loaded. This is
 * the only place the choice is made.
 */
export const ed25519Backend: Ed25519Backend = (() => {
  try {
    return createSodiumEd25519Backend();
  } catch {
    return createNodeEd25519Backend();
  }
})();
