import { createRequire } from "node:module";
import * as scure from "@scure/sr25519";
import { bytesKey, LruCache } from "../lru-cache.js";
import { isValidRistrettoEncoding, isWellFormedSr25519Signature } from "./ristretto.js";

/**
 * The sr25519 implementations: `schnorrkel-wasm` (the schnorrkel Rust crate compiled to WebAssembly,
 * ~7k signatures/s) and `scure-sr25519` (audited pure JS, several times slower). Both sign with the signing
 * context `"substrate"` and use the schnorrkel secret layout, so keys and signatures are interchangeable.
 */
export type Sr25519BackendName = "schnorrkel-wasm" | "scure-sr25519";

/** An sr25519 key pair in schnorrkel's "half ed25519" layout. */
export interface Sr25519RawKeyPair {
  /** 64 bytes: the secret scalar multiplied by the cofactor (little-endian) ‖ the 32-byte nonce. */
  readonly secretKey: Uint8Array;
  /** The 32-byte ristretto255 public key. */
  readonly publicKey: Uint8Array;
}

/** What the sr25519 module needs from an implementation. */
export interface Sr25519Backend {
  readonly name: Sr25519BackendName;
  /** schnorrkel `MiniSecretKey::expand_to_keypair(ExpansionMode::Ed25519)`. */
  keyPairFromSeed(seed: Uint8Array): Sr25519RawKeyPair;
  /** sp-core hard junction: `hard_derive_mini_secret_key(chainCode, "")`, expanded as above. */
  deriveHard(pair: Sr25519RawKeyPair, chainCode: Uint8Array): Sr25519RawKeyPair;
  /** sp-core soft junction: `derived_key_simple(chainCode, [])` (the new nonce is random; the public key is not). */
  deriveSoft(pair: Sr25519RawKeyPair, chainCode: Uint8Array): Sr25519RawKeyPair;
  /** A 64-byte schnorrkel signature (context `"substrate"`, randomised nonce). */
  sign(pair: Sr25519RawKeyPair, message: Uint8Array): Uint8Array;
  /** `verify_simple` with context `"substrate"`; `false` (never a throw) for malformed keys or signatures. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** How many public keys' "is a valid ristretto255 point" answers the wasm backend remembers. */
export const SR25519_PUBLIC_KEY_CACHE_SIZE = 4096;

/** The pure-JS backend (@scure/sr25519). */
export function createScureSr25519Backend(): Sr25519Backend {
  const pairOf = (secretKey: Uint8Array): Sr25519RawKeyPair => ({
    secretKey,
    publicKey: scure.getPublicKey(secretKey),
  });
  return {
    name: "scure-sr25519",
    keyPairFromSeed: (seed) => pairOf(scure.secretFromSeed(seed)),
    deriveHard: (pair, chainCode) => pairOf(scure.HDKD.secretHard(pair.secretKey, chainCode)),
    deriveSoft: (pair, chainCode) => pairOf(scure.HDKD.secretSoft(pair.secretKey, chainCode)),
    sign: (pair, message) => scure.sign(pair.secretKey, message),
    verify(publicKey, message, signature) {
      try {
        return scure.verify(message, signature, publicKey);
      } catch {
        return false; // missing marker, undecodable R or public key, s out of range
      }
    },
  };
}

interface SchnorrkelWasmModule {
  sr25519_keypair_from_seed(seed: Uint8Array): Uint8Array;
  sr25519_derive_keypair_hard(keypair: Uint8Array, cc: Uint8Array): Uint8Array;
  sr25519_derive_keypair_soft(keypair: Uint8Array, cc: Uint8Array): Uint8Array;
  sr25519_sign(pubkey: Uint8Array, secret: Uint8Array, msg: Uint8Array): Uint8Array;
  sr25519_verify(pubkey: Uint8Array, msg: Uint8Array, signature: Uint8Array): boolean;
  __wasm: { __wbindgen_add_to_stack_pointer(delta: number): number };
}

/**
 * The WebAssembly backend (@polkadot-labs/schnorrkel-wasm). Throws if the module cannot be loaded.
 *
 * The module panics (a wasm trap, printed with `console.error`) on an undecodable public key or signature and a
 * trap leaves its shadow stack pointer moved, so `verify` screens inputs in JS first (public-key validity is cached,
 * {@link SR25519_PUBLIC_KEY_CACHE_SIZE}); should a trap still happen, the stack pointer is put back and the call is
 * answered by the JS backend.
 */
export function createWasmSr25519Backend(): Sr25519Backend {
  const wasm = createRequire(import.meta.url)("@polkadot-labs/schnorrkel-wasm") as SchnorrkelWasmModule;
  const stack = wasm.__wasm;
  if (
    typeof wasm.sr25519_sign !== "function" ||
    typeof stack?.__wbindgen_add_to_stack_pointer !== "function"
  ) {
    throw new Error("@polkadot-labs/schnorrkel-wasm: unexpected module shape");
  }
  const idleStackPointer = stack.__wbindgen_add_to_stack_pointer(0);
  const restoreStack = (): void => {
    stack.__wbindgen_add_to_stack_pointer(idleStackPointer - stack.__wbindgen_add_to_stack_pointer(0));
  };
  const trapSafe = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      restoreStack();
      throw err;
    }
  };
  const split = (kp: Uint8Array): Sr25519RawKeyPair => ({
    secretKey: kp.slice(0, 64),
    publicKey: kp.slice(64, 96),
  });
  const join = (pair: Sr25519RawKeyPair): Uint8Array => {
    const kp = new Uint8Array(96);
    kp.set(pair.secretKey, 0);
    kp.set(pair.publicKey, 64);
    return kp;
  };
  const validKeys = new LruCache<string, boolean>(SR25519_PUBLIC_KEY_CACHE_SIZE);
  const isValidPublicKey = (publicKey: Uint8Array): boolean => {
    const key = bytesKey(publicKey);
    let valid = validKeys.get(key);
    if (valid === undefined) {
      // the identity point decodes, but no one holds its secret: reject it as @scure/sr25519 does
      valid = isValidRistrettoEncoding(publicKey) && publicKey.some((b) => b !== 0);
      validKeys.set(key, valid);
    }
    return valid;
  };
  const fallback = createScureSr25519Backend();

  return {
    name: "schnorrkel-wasm",
    keyPairFromSeed: (seed) => trapSafe(() => split(wasm.sr25519_keypair_from_seed(seed))),
    deriveHard: (pair, chainCode) =>
      trapSafe(() => split(wasm.sr25519_derive_keypair_hard(join(pair), chainCode))),
    deriveSoft: (pair, chainCode) =>
      trapSafe(() => split(wasm.sr25519_derive_keypair_soft(join(pair), chainCode))),
    sign: (pair, message) => trapSafe(() => wasm.sr25519_sign(pair.publicKey, pair.secretKey, message)),
    verify(publicKey, message, signature) {
      if (
        publicKey.length !== 32 ||
        !isWellFormedSr25519Signature(signature) ||
        !isValidPublicKey(publicKey)
      ) {
        return false;
      }
      try {
        return wasm.sr25519_verify(publicKey, message, signature);
      } catch {
        restoreStack();
        return fallback.verify(publicKey, message, signature);
      }
    },
  };
}

/**
 * The backend this process uses: schnorrkel-wasm, or @scure/sr25519 when the WebAssembly module cannot be loaded.
 * This is the only place the choice is made.
 */
export const sr25519Backend: Sr25519Backend = (() => {
  try {
    return createWasmSr25519Backend();
  } catch {
    return createScureSr25519Backend();
  }
})();
