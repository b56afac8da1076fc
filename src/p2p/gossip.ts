import type { Signer } from "../identity/signer.js";
import { canonicalJson } from "./canonical-json.js";
import type { Clock } from "./clock.js";
import { P2pInvalidDataError } from "./errors.js";
import { ExpiringSet } from "./expiring-set.js";
import type { P2pOptions } from "./options.js";
import { type Random, randomId, sample } from "./random.js";
import type { AgentTransport } from "./transport.js";
import { fromHex, isCount, isObject, isShortString, isTwinId, toHex, utf8 } from "./wire.js";

/** A message pushed through the network: each agent that gets it first passes it on to `fanout` others. */
export interface GossipMessage {
  /** Unique id (duplicate suppression); content-derived for membership news, random otherwise. */
  id: string;
  /** The agent that published it. */
  origin: number;
  /** What it is (`member`, `report`, …): chooses the handler. */
  kind: string;
  body: unknown;
  /** Hops travelled so far (0 when the origin sends it). */
  hops: number;
  /** It is not passed on once `hops + 1` reaches this. */
  maxHops: number;
  /** The origin's 65-byte RMB signature (hex) of {@link gossipSigningBytes}, for kinds that require one. */
  sig?: string;
}

/** Handles a new (not duplicate) gossip message; resolves whether to pass it on. */
export type GossipHandler = (message: GossipMessage, from: number) => boolean | Promise<boolean>;

/** Counters of one agent's gossip. */
export interface GossipStats {
  /** Messages this agent published. */
  published: number;
  /** New messages received. */
  received: number;
  /** Copies of messages already seen. */
  duplicates: number;
  /** Pushes sent (publish and forward). */
  sent: number;
  /** Messages refused: malformed, or a required signature missing or wrong. */
  invalid: number;
}

/** What {@link Gossip} needs from the agent. */
export interface GossipDeps {
  transport: AgentTransport;
  clock: Clock;
  random: Random;
  options: P2pOptions;
  /** Candidates to push to (live members). */
  peers(): readonly number[];
  /** Signs messages of signed kinds. */
  signer: Signer;
  /** Verifies a twin's 65-byte signature of `message`. */
  verify(twin: number, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** A neighbour sent something invalid (for reputation). */
  onInvalid(from: number, reason: string): void;
}

export const GOSSIP_COMMAND = "p2p.gossip";
const SIGNATURE_LENGTH = 65;

/**
 * The bytes an origin signs for a gossip message: `"rmb-p2p-gossip-v1\n"` followed by the canonical JSON of
 * `[id, origin, kind, body]` (hops are left out: they change on the way).
 */
export function gossipSigningBytes(m: Pick<GossipMessage, "id" | "origin" | "kind" | "body">): Uint8Array {
  return utf8(`rmb-p2p-gossip-v1\n${canonicalJson([m.id, m.origin, m.kind, m.body])}`);
}

/**
 * Push gossip with bounded fan-out, a hop limit and duplicate suppression: a message goes to `gossipFanout` random
 * live members (never back to the one it came from or to its origin); an agent passes on only the first copy it
 * gets (ids are remembered in a bounded, expiring set), and only while `hops + 1 < maxHops`. Kinds registered as
 * `signed` must carry the origin's signature, which every agent on the way verifies before handling or passing on
 * the message (hop-to-hop authenticity comes from RMB's signed envelopes; this makes the *origin's* claim travel).
 */
export class Gossip {
  readonly stats: GossipStats = { published: 0, received: 0, duplicates: 0, sent: 0, invalid: 0 };
  readonly #d: GossipDeps;
  readonly #o: P2pOptions;
  readonly #seen: ExpiringSet;
  readonly #handlers = new Map<string, { fn: GossipHandler; signed: boolean }>();
  #unserve: (() => void) | undefined;

  constructor(deps: GossipDeps) {
    this.#d = deps;
    this.#o = deps.options;
    this.#seen = new ExpiringSet(this.#o.gossipSeenSize, this.#o.gossipSeenTtlMs);
  }

  /** Handles messages of `kind`; with `signed`, messages without a valid origin signature are dropped. */
  on(kind: string, handler: GossipHandler, options: { signed?: boolean } = {}): void {
    this.#handlers.set(kind, { fn: handler, signed: options.signed === true });
  }

  start(): void {
    this.#unserve ??= this.#d.transport.serve(GOSSIP_COMMAND, (from, body) => this.#receive(from, body));
  }

  stop(): void {
    this.#unserve?.();
    this.#unserve = undefined;
  }

  /** Publishes a message (signed if its kind is); resolves its id. */
  publish(kind: string, body: unknown, options: { id?: string; maxHops?: number } = {}): string {
    const id = options.id ?? randomId(this.#d.random);
    const message: GossipMessage = {
      id,
      origin: this.#d.transport.self,
      kind,
      body,
      hops: 0,
      maxHops: Math.min(options.maxHops ?? this.#o.gossipMaxHops, this.#maxHops()),
    };
    if (this.#handlers.get(kind)?.signed === true) {
      message.sig = toHex(this.#d.signer.sign(gossipSigningBytes(message)));
    }
    this.#seen.add(id, this.#d.clock.now());
    this.stats.published++;
    this.#push(message, undefined);
    return id;
  }

  #maxHops(): number {
    return Math.max(this.#o.gossipMaxHops, this.#o.reportMaxHops);
  }

  async #receive(from: number, body: unknown): Promise<unknown> {
    const message = this.#parse(body);
    if (message === undefined) {
      this.stats.invalid++;
      this.#d.onInvalid(from, "malformed gossip message");
      throw new P2pInvalidDataError("malformed gossip message");
    }
    if (this.#seen.has(message.id, this.#d.clock.now())) {
      this.stats.duplicates++;
      return { dup: 1 };
    }
    const handler = this.#handlers.get(message.kind);
    if (handler === undefined) return { ok: 0 };
    if (handler.signed) {
      const sig = fromHex(message.sig, SIGNATURE_LENGTH);
      const valid =
        sig !== undefined && (await this.#d.verify(message.origin, gossipSigningBytes(message), sig));
      if (!valid) {
        this.stats.invalid++;
        this.#d.onInvalid(from, `gossip ${message.kind} without a valid signature of its origin`);
        return { ok: 0 };
      }
    }
    // Remember the id only once it proved valid, so that a forged copy cannot shadow the real message.
    if (!this.#seen.add(message.id, this.#d.clock.now())) {
      this.stats.duplicates++;
      return { dup: 1 };
    }
    this.stats.received++;
    let forward = false;
    try {
      forward = await handler.fn(message, from);
    } catch {
      forward = false;
    }
    if (forward && message.hops + 1 < message.maxHops) {
      this.#push({ ...message, hops: message.hops + 1 }, from);
    }
    return { ok: 1 };
  }

  #push(message: GossipMessage, from: number | undefined): void {
    const self = this.#d.transport.self;
    const targets = sample(
      this.#d.peers(),
      this.#o.gossipFanout,
      this.#d.random,
      (x) => x === self || x === from || x === message.origin,
    );
    for (const t of targets) {
      this.stats.sent++;
      this.#d.transport.request(t, GOSSIP_COMMAND, message, this.#o.gossipTimeoutMs).catch(() => {});
    }
  }

  #parse(body: unknown): GossipMessage | undefined {
    if (!isObject(body)) return undefined;
    const { id, origin, kind, hops, maxHops, sig } = body;
    if (!isShortString(id, 128) || !isTwinId(origin) || !isShortString(kind, 64)) return undefined;
    if (!isCount(hops) || !isCount(maxHops) || hops >= maxHops) return undefined;
    if (sig !== undefined && typeof sig !== "string") return undefined;
    const message: GossipMessage = {
      id,
      origin,
      kind,
      body: body.body,
      hops,
      maxHops: Math.min(maxHops, this.#maxHops()),
    };
    if (sig !== undefined) message.sig = sig;
    return message;
  }
}
