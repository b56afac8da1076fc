/**
 * `rmb-ts/peer` — the rmb-peer gateway: one twin's connection to its relays, exposed to local applications through
 * rmb-rs's Redis JSON API (wire spec §5), plus a tester client and an echo service for that API.
 *
 * @example
 * import { RmbPeer } from "rmb-ts/peer";
 * const peer = new RmbPeer({ identity, registry, relays: ["wss://relay.grid.tf"], redis: "redis://localhost:6379" });
 * await peer.start();
 *
 * @module
 */

export { type Backlog, decodeBacklog, encodeBacklog } from "./backlog.js";
export { EnvelopeOpener } from "./envelope-opener.js";
export { EnvelopeSealer } from "./envelope-sealer.js";
export { JsonMessageError, PeerProtocolError, PeerStartError } from "./errors.js";
export { type JsonEcho, startJsonEcho } from "./json-echo.js";
export {
  decodeBase64,
  encodeBase64,
  formatIncomingRequest,
  formatIncomingResponse,
  formatOutgoingRequest,
  formatOutgoingResponse,
  type JsonError,
  type JsonIncomingRequest,
  type JsonIncomingResponse,
  type JsonOutgoingRequest,
  type JsonOutgoingResponse,
  parseIncomingRequest,
  parseIncomingResponse,
  parseOutgoingRequest,
  parseOutgoingResponse,
} from "./json-messages.js";
export { type JsonTesterOptions, type JsonTesterReport, runJsonTester } from "./json-tester.js";
export { PEER_DEFAULTS, PeerKeys, type PeerLog, type PeerOptions } from "./options.js";
export {
  RELAY_POOL_DEFAULTS,
  RelayPool,
  type RelayPoolOptions,
  RelayUnavailableError,
} from "./relay-pool.js";
export { type PeerStats, RmbPeer } from "./rmb-peer.js";
export { SeenMessages } from "./seen-messages.js";
export { relayDomainsOf, syncOwnTwin } from "./twin-sync.js";
