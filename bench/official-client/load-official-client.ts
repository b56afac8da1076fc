/**
 * Loads `@threefold/rmb_direct_client` (the official TS client) in this ESM package, working around two packaging
 * faults of 2.9.2:
 * - its ESM build (`exports.import` → `dist/es6/index.js`) imports `./client` without an extension, which Node's
 *   ESM loader cannot resolve (ERR_MODULE_NOT_FOUND): we load its CommonJS build (`dist/node`) with `require`;
 * - `dist/node/sign.js` requires `@noble/hashes/sha2` without declaring `@noble/hashes` as a dependency, relying on
 *   a hoisted v1 copy; in this repository the hoisted copy is our own `@noble/hashes` v2, whose exports map has
 *   only `./sha2.js`, so the require fails (ERR_PACKAGE_PATH_NOT_EXPORTED). For that one request from the official
 *   client's files we answer with the v1 copy that its `@polkadot/util-crypto` uses, while the client loads.
 */
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import type { Client as OfficialClient } from "@threefold/rmb_direct_client";

type ResolveFilename = (
  request: string,
  parent: { filename?: string | null } | undefined,
  ...rest: unknown[]
) => string;

export interface OfficialClientModule {
  Client: typeof OfficialClient;
  /** The installed version (its package.json). */
  version: string;
}

export function loadOfficialClient(): OfficialClientModule {
  const require = createRequire(import.meta.url);
  // `dist/node/index.js`; the package's exports map does not expose its package.json.
  const main = require.resolve("@threefold/rmb_direct_client");
  const root = join(dirname(main), "..", "..", sep);
  const fromOfficial = createRequire(main);
  const sha2 = createRequire(fromOfficial.resolve("@polkadot/util-crypto")).resolve("@noble/hashes/sha2");
  const loader = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = loader._resolveFilename;
  loader._resolveFilename = function (this: unknown, request, parent, ...rest) {
    if (request === "@noble/hashes/sha2" && parent?.filename?.startsWith(root) === true) return sha2;
    return original.call(this, request, parent, ...rest);
  };
  try {
    const { Client } = require("@threefold/rmb_direct_client") as { Client: typeof OfficialClient };
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    return { Client, version };
  } finally {
    loader._resolveFilename = original;
  }
}
