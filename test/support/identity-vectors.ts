import { vectors } from "./vectors.js";

/** One entry of `identities` in rmb-test-vectors.json (fields present depend on the entry). */
export interface IdentityVector {
  readonly mnemonic?: string;
  readonly hex_seed?: string;
  readonly uri?: string;
  readonly mini_secret_hex?: string;
  readonly sr25519_public_hex: string;
  readonly sr25519_ss58_42?: string;
  readonly ed25519_public_hex: string;
  readonly ed25519_ss58_42?: string;
  readonly secp256k1_secret_hex?: string;
  readonly secp256k1_compressed_pub_hex?: string;
}

/** The vector identities that can be loaded from a secret (mnemonic, hex seed or URI), with that secret. */
export const identityVectors: readonly {
  name: string;
  secret: string;
  seedHex: string | undefined;
  v: IdentityVector;
}[] = Object.entries(vectors.identities as Record<string, IdentityVector>).flatMap(([name, v]) => {
  const secret = v.mnemonic ?? v.hex_seed ?? v.uri;
  if (secret === undefined || v.sr25519_public_hex === undefined) return [];
  const seedHex = v.mini_secret_hex ?? v.hex_seed?.slice(2);
  return [{ name, secret, seedHex, v }];
});
