/**
 * `rmb-ts` in a browser: the direct client (`RmbClient`) over the standard `WebSocket` API, the registrar client
 * (over `fetch`) for twin lookups, identities and payload helpers. Built into one ES module,
 * `dist/browser/rmb-sdk.js`, by `scripts/build-browser.mjs` (Node built-ins replaced by `src/browser/shims/`).
 * See docs/browser.md.
 *
 * @example
 * ```ts
 * import { connectBrowserClient, KeyType, loadIdentity } from "./rmb-sdk.js";
 * const client = await connectBrowserClient({
 *   identity: loadIdentity(mnemonic, KeyType.Sr25519),
 *   registry: "https://registrar.dev4.grid.tf",
 *   relays: ["wss://relay.dev4.grid.tf"],
 * });
 * const sum = (await client.call(42, "calc.add", { a: 1, b: 2 }, { timeout: 5000 })).json<number>();
 * ```
 *
 * @module
 */

import { RegistrarClient } from "../registry/registrar/registrar-client.js";
import type { TwinRegistry } from "../registry/twin-registry.js";
import { RmbClient, type RmbClientOptions } from "../sdk/rmb-client.js";
import {
  createWebSocketTransport,
  type WebSocketTransport,
  type WebSocketTransportExtras,
} from "./websocket-transport.js";

export { E2eCipher } from "../crypto/e2e.js";
export { InvalidArgumentError, RmbError } from "../errors.js";
export {
  createSigner,
  ed25519BackendName,
  generateMnemonic,
  type Identity,
  isValidMnemonic,
  KeyType,
  loadIdentity,
  type Signer,
  sr25519BackendName,
  verifySignature,
} from "../identity/index.js";
export { RelayUnavailableError } from "../peer/relay-link.js";
export {
  createEnvelope,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  signEnvelope,
  verifyEnvelope,
} from "../protocol/index.js";
export { MemoryRegistry } from "../registry/memory-registry.js";
export { RegistrarClient, type RegistrarClientOptions } from "../registry/registrar/registrar-client.js";
export type { Twin } from "../registry/twin.js";
export type { TwinRegistry } from "../registry/twin-registry.js";
export {
  type CallOptions,
  type CallResult,
  DEFAULT_CALL_TIMEOUT,
  type Destination,
  type Handler,
  RmbRequest,
  RmbResponse,
} from "../sdk/api.js";
export { RmbCallError, RmbClientClosedError, RmbHandlerError, RmbTimeoutError } from "../sdk/errors.js";
export {
  bytes,
  isPayload,
  JSON_SCHEMA,
  json,
  type Payload,
  type PayloadInput,
  ReceivedPayload,
  text,
  toPayload,
} from "../sdk/payload.js";
export type { RelayTransport, RelayTransportFactory } from "../sdk/relay-transport.js";
export { RmbClient, type RmbClientOptions } from "../sdk/rmb-client.js";
export {
  createWebSocketTransport,
  type StandardWebSocket,
  WEBSOCKET_TRANSPORT_DEFAULTS,
  type WebSocketConstructor,
  type WebSocketLinkInfo,
  type WebSocketLinkStats,
  WebSocketTransport,
  type WebSocketTransportExtras,
  type WebSocketTransportOptions,
} from "./websocket-transport.js";

/** Options of {@link connectBrowserClient}: those of `RmbClient.connect`, with the transport chosen for you. */
export interface BrowserClientOptions extends Omit<RmbClientOptions, "transport" | "registry"> {
  /** Where twins are looked up: a registry, or the URL of a registrar (TFGrid v4 or `rmb registry`; it must allow
   * this page's origin by CORS, as ours does). */
  registry: TwinRegistry | string;
  /** Options of the WebSocket transport (a `WebSocket` implementation, paused-queue size, drain polling). */
  websocket?: WebSocketTransportExtras;
  /** Receives the transport (e.g. to read its links' stats). */
  onTransport?: (transport: WebSocketTransport) => void;
}

/**
 * `RmbClient.connect` over the standard `WebSocket` API: looks this twin up, connects to the relays and resolves
 * once one connection is open (rejects with `RelayUnavailableError` after `connectTimeout`).
 */
export async function connectBrowserClient(options: BrowserClientOptions): Promise<RmbClient> {
  const { registry, websocket, onTransport, ...rest } = options;
  return RmbClient.connect({
    ...rest,
    registry: typeof registry === "string" ? new RegistrarClient({ url: registry }) : registry,
    transport: createWebSocketTransport(websocket, onTransport),
  });
}
