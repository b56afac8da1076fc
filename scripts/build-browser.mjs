#!/usr/bin/env node
/**
 * Builds the browser bundle: one ES module with the direct RMB client over the standard `WebSocket` API
 * (`src/browser/index.ts`), for `<script type="module">` or any bundler.
 *
 *   node scripts/build-browser.mjs [--outfile dist/browser/rmb-sdk.js] [--no-minify] [--analyze]
 *
 * The library's Node built-ins are replaced by the small shims in `src/browser/shims/` (node:crypto on @noble,
 * node:module handing out an ed25519 shim for sodium-native, `Buffer` from the `buffer` package); the Node-only
 * modules the SDK imports but never uses in a browser (`ws`, `ioredis`, `pg`, `node:http`, …) become stubs that
 * throw when called. Any other Node built-in reached from the entry fails the build, so a new import is noticed.
 *
 * Also usable as a module: `import { buildBrowserBundle } from "./scripts/build-browser.mjs"`.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeMetafile, build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const shims = join(root, "src", "browser", "shims");

/** Import specifier → shim file. */
const SHIMS = {
  "node:crypto": "crypto.ts",
  "node:module": "module.ts",
  "node:buffer": "buffer.ts",
  "node:http": "unavailable.ts",
  "node:net": "unavailable.ts",
  "node:fs": "unavailable.ts",
  "node:fs/promises": "unavailable.ts",
  "node:path": "unavailable.ts",
  "node:url": "unavailable.ts",
  "node:util": "unavailable.ts",
  "node:stream": "unavailable.ts",
  ws: "ws.ts",
  ioredis: "unavailable.ts",
  pg: "pg.ts",
};

const NODE_BUILTIN =
  /^node:|^(crypto|module|buffer|http|https|net|tls|fs|path|url|util|stream|os|events|zlib|child_process|worker_threads)(\/|$)/;

/** @type {import("esbuild").Plugin} */
const nodeShims = {
  name: "rmb-node-shims",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const shim = SHIMS[args.path];
      if (shim !== undefined) return { path: join(shims, shim) };
      // The `buffer` package itself is imported by the Buffer shim.
      if (args.path === "buffer" && args.importer === join(shims, "buffer.ts")) return undefined;
      if (NODE_BUILTIN.test(args.path)) {
        return {
          errors: [
            { text: `Node built-in '${args.path}' has no browser shim (imported by ${args.importer})` },
          ],
        };
      }
      return undefined;
    });
  },
};

/**
 * Builds the bundle and returns its path and size.
 * @param {{ outfile?: string, minify?: boolean, entry?: string }} [options] - `entry` replaces
 *   `src/browser/index.ts` (tests bundle the shims alone with it)
 * @returns {Promise<{ outfile: string, bytes: number, analysis: string, metafile: import("esbuild").Metafile }>}
 */
export async function buildBrowserBundle(options = {}) {
  const outfile = resolve(options.outfile ?? join(root, "dist", "browser", "rmb-sdk.js"));
  const result = await build({
    entryPoints: [options.entry ?? join(root, "src", "browser", "index.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    keepNames: true, // error classes set `name` from `new.target.name`: it is part of the API
    sourcemap: true,
    legalComments: "eof",
    inject: [join(shims, "buffer.ts")],
    // @scure/sr25519 and @noble/curves pin @noble/hashes ~2.3 while the library uses ^2.4: one copy (the top-level,
    // semver-compatible one) instead of three saves ~20 KiB.
    alias: { "@noble/hashes": join(root, "node_modules", "@noble", "hashes") },
    plugins: [nodeShims],
    logLevel: "warning",
    metafile: true,
  });
  const analysis = await analyzeMetafile(result.metafile);
  return { outfile, bytes: statSync(outfile).size, analysis, metafile: result.metafile };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--outfile");
  const { outfile, bytes, analysis } = await buildBrowserBundle({
    ...(at >= 0 ? { outfile: args[at + 1] } : {}),
    minify: !args.includes("--no-minify"),
  });
  console.log(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB`);
  if (args.includes("--analyze")) console.log(analysis);
}
