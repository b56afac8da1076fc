/**
 * `rmb-ts/p2p` — P2P agents over RMB: twins running a service find each other by tags with no central index. Agents
 * talk through the bus itself (`p2p.ping`, `p2p.gossip`, `p2p.search`, …), so every message is signed and, when
 * both twins have keys, end-to-end encrypted.
 *
 * - membership: SWIM failure detector with imAlive heartbeats (suspect before dead, refutation, rejoin);
 * - gossip: bounded fan-out, hop limit, duplicate suppression, origin signatures for claims about others;
 * - service records: tags signed by the twin key, expiring unless refreshed;
 * - search: own cache, then the tag's home agents and overlay neighbours, answers cached on the way back;
 * - reputation: local behavioural scores plus signed misbehaviour reports weighed by the reporter's standing.
 *
 * @example
 * import { P2pAgent, RmbAgentTransport, registryKeys } from "rmb-ts/p2p";
 * const agent = new P2pAgent({
 *   transport: new RmbAgentTransport(client, client.twinId),
 *   signer: identity.signer,
 *   keys: registryKeys(registry),
 *   tags: { category: "barber", location: "ghent", adjective: "trusted" },
 *   bootstrap: [7, 12], // or none, and discover: registryBootstrap(registry)
 * });
 * await agent.start();
 * const { results, hops } = await agent.search("barber", { minReputation: 0.4 });
 * agent.stop();
 *
 * @module
 */

export {
  type KeyDirectory,
  P2pAgent,
  type P2pAgentConfig,
  type P2pAgentStats,
  type P2pEvent,
  registryKeys,
  type SearchOptions,
  type SearchResponse,
  type SearchResult,
  type SignatureVerifier,
} from "./agent.js";
export { canonicalJson } from "./canonical-json.js";
export { type Clock, systemClock, type TimerHandle } from "./clock.js";
export {
  isTimeout,
  P2pInvalidDataError,
  P2pRequestError,
  P2pStoppedError,
  P2pTimeoutError,
} from "./errors.js";
export { type GossipMessage, type GossipStats, gossipSigningBytes } from "./gossip.js";
export {
  type MemberCause,
  type MemberEvent,
  type MemberInfo,
  MemberState,
  type MembershipStats,
} from "./membership.js";
export { P2P_DEFAULTS, type P2pOptions, resolveOptions } from "./options.js";
export { type Random, seededRandom } from "./random.js";
export {
  matchesQuery,
  type NormalizedQuery,
  normalizeQuery,
  parseRecord,
  recordSigningBytes,
  type ServiceRecord,
  type ServiceTags,
  signRecord,
  TAG_FIELDS,
  type TagField,
  type TagQuery,
} from "./records.js";
export {
  type BootstrapSource,
  highestTwinId,
  REGISTRY_BOOTSTRAP_DEFAULTS,
  type RegistryBootstrapOptions,
  registryBootstrap,
} from "./registry-bootstrap.js";
export { Outcome, ReportReason, type ReputationView } from "./reputation.js";
export type { SearchStats } from "./search.js";
export { SimNetwork, type SimNetworkOptions, type SimStats } from "./sim-network.js";
export { type AgentHandler, type AgentTransport, RmbAgentTransport } from "./transport.js";
