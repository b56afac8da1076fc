/**
 * `node:module` for the browser bundle. The identity code loads its fast native backends with
 * `createRequire(import.meta.url)(name)` and falls back to pure JS when that throws. Here `sodium-native` is
 * answered by a shim on `@noble/curves` (ed25519), and every other name throws, so sr25519 uses `@scure/sr25519`.
 *
 * @module
 */
import * as sodium from "./sodium-native.js";

export function createRequire(_from: string | URL): (id: string) => unknown {
  return (id: string): unknown => {
    if (id === "sodium-native") return sodium;
    throw new Error(`Cannot load '${id}' in the browser build`);
  };
}
