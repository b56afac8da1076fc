/**
 * `rmb-ts/sdk` — call and serve RMB commands from TypeScript, directly over relays ({@link RmbClient}) or through an
 * rmb-peer's Redis API ({@link PeerClient}), with one API.
 *
 * @example
 * import { RmbClient, json } from "rmb-ts/sdk";
 * const client = await RmbClient.connect({ identity, registry, relays: ["wss://relay.grid.tf"] });
 * client.serve("echo", (req) => req.data);
 * const res = await client.call(42, "calc.add", { a: 1, b: 2 }, { timeout: 5000 });
 * res.json<number>();
 *
 * @module
 */

export {
  type CallOptions,
  type CallResult,
  DEFAULT_CALL_TIMEOUT,
  type Destination,
  type Handler,
  type RmbCaller,
  RmbRequest,
  RmbResponse,
} from "./api.js";
export { RmbCallError, RmbClientClosedError, RmbHandlerError, RmbTimeoutError } from "./errors.js";
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
} from "./payload.js";
export { PeerClient, type PeerClientOptions } from "./peer-client.js";
export type { RelayTransport, RelayTransportFactory } from "./relay-transport.js";
export { RmbClient, type RmbClientOptions } from "./rmb-client.js";
