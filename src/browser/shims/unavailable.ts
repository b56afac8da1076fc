/**
 * Stubs for the Node-only modules (`node:fs/promises`, `node:path`, `node:http`, `ioredis`, …) that the SDK's
 * modules import for their server-side parts (registry stores and services, relay, peer) and that the browser
 * client never calls. Each export throws, naming itself, if it ever is called. Only the names the library imports
 * exist: the bundler fails on a new one, so it is noticed.
 *
 * @module
 */

/** A function (also usable with `new`) that throws: `name` is not available in a browser. */
export function unavailable(name: string): (...args: unknown[]) => never {
  // A function declaration, not an arrow: `new WebSocket(url)` must reach the throw, not fail as "not a constructor".
  function fail(): never {
    throw new Error(`${name} is not available in the browser build of rmb-ts`);
  }
  Object.defineProperty(fail, "name", { value: name });
  return fail;
}

// node:fs/promises
export const chmod = unavailable("fs.chmod");
export const mkdir = unavailable("fs.mkdir");
export const open = unavailable("fs.open");
export const readFile = unavailable("fs.readFile");
export const rename = unavailable("fs.rename");
export const unlink = unavailable("fs.unlink");
export const writeFile = unavailable("fs.writeFile");
// node:fs
export const readFileSync = unavailable("fs.readFileSync");
// node:path
export const join = unavailable("path.join");
// node:http
export const createServer = unavailable("http.createServer");
// node:net
export const isIP = unavailable("net.isIP");
// ioredis
export const Redis = unavailable("ioredis");
export const Cluster = unavailable("ioredis Cluster");
