import { createHash, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { E2eCipher } from "../crypto/index.js";
import { InvalidArgumentError, messageOf } from "../errors.js";
import {
  addressOfSession,
  decodeEnvelope,
  type Envelope,
  type EnvelopeMessage,
  formatSessionId,
  parseSessionId,
  sessionOfAddress,
  stamp,
  unixNow,
  WireErrorCode,
} from "../protocol/index.js";
import { CachedRegistry } from "../registry/index.js";
import { toBuffer } from "../relay/redis/connection.js";
import { packageVersion } from "../version.js";
import { type Backlog, decodeBacklog, encodeBacklog } from "./backlog.js";
import { BacklogCache } from "./backlog-cache.js";
import { corkForThisTurn } from "./cork.js";
import { EnvelopeOpener } from "./envelope-opener.js";
import { EnvelopeSealer } from "./envelope-sealer.js";
import { JsonMessageError, PeerProtocolError, PeerStartError } from "./errors.js";
import {
  formatIncomingRequest,
  formatIncomingResponse,
  type JsonError,
  parseOutgoingRequest,
  parseOutgoingResponse,
  replyQueueOf,
} from "./json-messages.js";
import { popBatch } from "./list-pop.js";
import { PEER_DEFAULTS, PeerKeys, type PeerLog, type PeerOptions } from "./options.js";
import { RelayPool } from "./relay-pool.js";
import { SeenMessages } from "./seen-messages.js";
import { syncOwnTwin } from "./twin-sync.js";

/** Counters of a running peer. */
export interface PeerStats {
  /** Requests read from `msgbus.system.local`. */
  localRequests: number;
  /** Responses read from `msgbus.system.reply`. */
  localResponses: number;
  /** Envelopes handed to a relay. */
  envelopesOut: number;
  /** Envelopes received from relays. */
  envelopesIn: number;
  /** Requests pushed to `msgbus.<cmd>`. */
  requestsDelivered: number;
  /** Responses and errors pushed to a client's reply queue. */
  responsesDelivered: number;
  /** Redeliveries dropped (same envelope seen before within its lifetime, by this process or, through the marks
   * kept in Redis, by an earlier one). */
  duplicates: number;
  /** Received frames that are not envelopes. */
  undecodable: number;
  /** Received envelopes refused (expired, unknown or bad signature, decryption failure). */
  rejected: number;
  /** Responses whose request is no longer known (backlog expired). */
  lateResponses: number;
  /** Malformed items on the Redis API. */
  malformed: number;
  /** Error responses this peer produced for local clients (undeliverable, bad input). */
  localErrors: number;
  /** Times reading from the relays was paused because `maxInFlight` envelopes were being handled. */
  readPauses: number;
}

const REPLY_QUEUE = PeerKeys.reply;
const RESPONSE_EXPIRATION = 3600;

/**
 * Hands items to the application at most once each: unless an envelope's mark exists, `LPUSH` its item, set the
 * mark (it expires with the envelope) and keep the newest `cap` items. One script for every item of an event-loop
 * turn, so a mark and its push happen together or not at all (a failed push, e.g. `WRONGTYPE`, leaves no mark) and
 * the batch costs one round trip. KEYS: mark₁, list₁, mark₂, list₂, … ARGV: cap, then per item its mark lifetime (s)
 * and the item. Returns per item the list length, -1 for a repeat, or the error text of a push that failed (the
 * other items go on).
 */
const DELIVER_ONCE_LUA = `
local cap = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local mark = KEYS[2 * i - 1]
  local list = KEYS[2 * i]
  if redis.call('EXISTS', mark) == 1 then
    out[i] = -1
  else
    local n = redis.pcall('LPUSH', list, ARGV[2 * i + 1])
    if type(n) == 'table' and n.err then
      out[i] = n.err
    else
      redis.call('SET', mark, '1', 'EX', ARGV[2 * i])
      if n > cap then redis.call('LTRIM', list, 0, cap - 1) end
      out[i] = n
    end
  end
end
return out
`;

interface DeliverOnceCommand {
  rmbPeerDeliverOnce(...args: (string | number)[]): Promise<(number | string)[]>;
}

/** One push waiting for this turn's delivery script. */
interface PendingDelivery {
  mark: string;
  list: string;
  ttl: number;
  json: string;
  done: (err: unknown, length: number) => void;
}

/** The key under which an envelope is remembered: its kind, source and uid (and for an error, a digest of it, since
 * a relay reports the errors of a fan-out's destinations with one uid). */
function seenId(kind: "request" | "response", src: string, uid: string): string;
function seenId(kind: "error", src: string, uid: string, code: number, message: string): string;
function seenId(kind: string, src: string, uid: string, code?: number, message?: string): string {
  if (kind !== "error") return `${kind}|${src}|${uid}`;
  const digest = createHash("sha256").update(`${code}|${message}`).digest("base64url").slice(0, 16);
  return `error|${src}|${uid}|${digest}`;
}

/** Requests whose backlog the gateway keeps in memory (beyond it they are read back from Redis). */
const BACKLOG_CACHE_ENTRIES = 100_000;
/** Most deliveries in one script call. */
const MAX_DELIVERIES = 256;

/**
 * rmb-peer: the gateway between a local Redis and the relays. Local clients push JSON requests to
 * `msgbus.system.local` and pop responses from the queue they named; local services pop requests from
 * `msgbus.<cmd>` and push responses to `msgbus.system.reply` (wire spec §5). Everything that leaves is signed and,
 * when the destination has a key, encrypted; everything that arrives is checked before an application sees it, and
 * each envelope reaches the application once.
 *
 * @example
 * const peer = new RmbPeer({ identity: loadIdentity(mnemonic, KeyType.Sr25519), registry,
 *   relays: ["wss://relay.grid.tf"], redis: "redis://localhost:6379" });
 * await peer.start();
 * …
 * await peer.stop();
 */
export class RmbPeer {
  readonly stats: PeerStats = {
    localRequests: 0,
    localResponses: 0,
    envelopesOut: 0,
    envelopesIn: 0,
    requestsDelivered: 0,
    responsesDelivered: 0,
    duplicates: 0,
    undecodable: 0,
    rejected: 0,
    lateResponses: 0,
    malformed: 0,
    localErrors: 0,
    readPauses: 0,
  };
  readonly #options: PeerOptions;
  readonly #log: PeerLog;
  readonly #limits: {
    listCap: number;
    defaultTtl: number;
    maxTtl: number;
    popBatch: number;
    maxInFlight: number;
    maxPayloadSize: number;
    redisRetryDelay: number;
    maxSeenTtl: number;
  };
  readonly #registry: CachedRegistry;
  readonly #seen: SeenMessages;
  readonly #maxClockSkew: number;
  readonly #backlogs = new BacklogCache(BACKLOG_CACHE_ENTRIES);
  /** Pushes to the application collected this turn (one delivery script per turn). */
  #deliveries: PendingDelivery[] = [];
  readonly #flushDeliveries = (): void => this.#sendDeliveries();
  readonly #version: string;
  #twinId = 0;
  #e2e: E2eCipher | undefined;
  #sealer: EnvelopeSealer | undefined;
  #opener: EnvelopeOpener | undefined;
  #pool: RelayPool | undefined;
  #redis: Redis | undefined;
  #blocking: Redis | undefined;
  #running = false;
  #stopping = false;
  #popLoop: Promise<void> | undefined;
  #inFlight = 0;
  #readingPaused = false;
  #slotWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(options: PeerOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#limits = {
      listCap: options.listCap ?? PEER_DEFAULTS.listCap,
      defaultTtl: options.defaultTtl ?? PEER_DEFAULTS.defaultTtl,
      maxTtl: options.maxTtl ?? PEER_DEFAULTS.maxTtl,
      popBatch: options.popBatch ?? PEER_DEFAULTS.popBatch,
      maxInFlight: options.maxInFlight ?? PEER_DEFAULTS.maxInFlight,
      maxPayloadSize: options.maxPayloadSize ?? PEER_DEFAULTS.maxPayloadSize,
      redisRetryDelay: options.redisRetryDelay ?? PEER_DEFAULTS.redisRetryDelay,
      maxSeenTtl: options.maxSeenTtl ?? PEER_DEFAULTS.maxSeenTtl,
    };
    this.#registry = new CachedRegistry(options.registry, {
      ttl: options.twinCacheTtl ?? PEER_DEFAULTS.twinCacheTtl,
    });
    this.#seen = new SeenMessages(options.maxSeenMessages ?? PEER_DEFAULTS.maxSeenMessages);
    this.#maxClockSkew = options.maxClockSkew ?? PEER_DEFAULTS.maxClockSkew;
    if (!Number.isSafeInteger(this.#maxClockSkew) || this.#maxClockSkew < 0) {
      throw new InvalidArgumentError("maxClockSkew", "expected an integer number of seconds >= 0");
    }
    this.#version = options.version ?? packageVersion();
  }

  /** This peer's twin id (known after `start`). */
  get twinId(): number {
    return this.#twinId;
  }

  /** Relay connections that are open now. */
  get connectedRelays(): number {
    return this.#pool?.connectedCount ?? 0;
  }

  /** Resolves when at least one relay connection is open (rejects after `timeoutMs`). */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.#pool === undefined) throw new PeerStartError("the peer is not started");
    await this.#pool.waitConnected(timeoutMs);
  }

  /**
   * Finds this twin, makes its registry record current (unless `update: false`), connects to Redis and starts the
   * relay connections and the API loop. Throws `PeerStartError` when the twin is unknown, the key cannot encrypt,
   * the registry refuses the update or Redis cannot be reached.
   */
  async start(): Promise<void> {
    if (this.#running) throw new PeerStartError("the peer is already started");
    const { identity } = this.#options;
    const relays = this.#options.relays;
    const maxRelays = this.#options.maxRelays ?? PEER_DEFAULTS.maxRelays;
    if (relays.length === 0) throw new PeerStartError("at least one relay URL is required");
    if (relays.length > maxRelays) {
      throw new PeerStartError(`too many relays: ${relays.length} given, at most ${maxRelays}`);
    }
    if (identity.e2e === undefined) {
      throw new PeerStartError(
        "failed to initialize encryption key: the secret must be a bare mnemonic or 0x seed (no // or /// parts)",
      );
    }
    this.#twinId = await this.#findTwin();
    if (this.#options.update !== false) {
      const outcome = await syncOwnTwin(this.#options.registry, identity, this.#twinId, relays);
      this.#log("info", outcome);
      this.#registry.invalidate(this.#twinId);
    }
    this.#e2e = new E2eCipher(identity.e2e.secret);
    this.#sealer = new EnvelopeSealer({ twin: this.#twinId }, identity.signer, this.#e2e, this.#registry);
    this.#opener = new EnvelopeOpener(
      this.#e2e,
      this.#registry,
      (id) => this.#registry.invalidate(id),
      undefined,
      this.#maxClockSkew,
    );
    await this.#connectRedis();
    this.#pool = new RelayPool({
      relays,
      twin: this.#twinId,
      signer: identity.signer,
      maxRelays,
      ...this.#options.relay,
      onFrame: (bytes) => this.#onFrame(bytes),
      onStateChange: (link, state) => {
        if (state === "open") this.#log("info", `now connected to relay ${link.url}`);
        else if (state === "closed") this.#log("warn", `relay ${link.url} disconnected`);
      },
      // The pool's own "connected" lines would repeat ours; its warnings (refused logins, drops) stay warnings.
      log: (level, message) => this.#log(level === "info" ? "debug" : level, message),
    });
    this.#pool.start();
    this.#running = true;
    this.#popLoop = this.#runPopLoop();
  }

  /** Stops reading the API, lets in-flight work finish (up to `drainMs`), closes relays and Redis. */
  async stop(drainMs = 5000): Promise<void> {
    if (!this.#running || this.#stopping) return;
    this.#stopping = true;
    this.#blocking?.disconnect();
    await this.#popLoop;
    await this.#whenIdle(drainMs);
    await this.#pool?.stop();
    await this.#redis?.quit().catch(() => this.#redis?.disconnect());
    this.#registry.close();
    this.#running = false;
  }

  async #findTwin(): Promise<number> {
    if (this.#options.twinId !== undefined) return this.#options.twinId;
    let id: number | undefined;
    try {
      id = await this.#options.registry.getTwinIdByAccount(this.#options.identity.publicKey);
    } catch (cause) {
      throw new PeerStartError(`failed to look up the twin of this key: ${messageOf(cause)}`, { cause });
    }
    if (id === undefined) {
      throw new PeerStartError(
        `no twin found on this network with given key (${this.#options.identity.ss58})`,
      );
    }
    return id;
  }

  async #connectRedis(): Promise<void> {
    const url = this.#options.redis ?? PEER_DEFAULTS.redis;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    };
    this.#redis = new Redis(url, { ...common, enableAutoPipelining: true, connectionName: "rmb-peer" });
    this.#redis.defineCommand("rmbPeerDeliverOnce", { lua: DELIVER_ONCE_LUA });
    this.#blocking = new Redis(url, { ...common, connectionName: "rmb-peer-api" });
    for (const client of [this.#redis, this.#blocking]) {
      client.on("error", (err: Error) => this.#log("debug", `redis: ${err.message}`));
    }
    try {
      await Promise.all([this.#redis.connect(), this.#blocking.connect()]);
    } catch (cause) {
      this.#redis.disconnect();
      this.#blocking.disconnect();
      throw new PeerStartError(`cannot reach Redis: ${messageOf(cause)}`, { cause });
    }
  }

  // ---- the Redis API loop ------------------------------------------------------------------------------------

  async #runPopLoop(): Promise<void> {
    const blocking = this.#blocking as Redis;
    const n = this.#limits.popBatch;
    while (!this.#stopping) {
      let items: string[] = [];
      let key = "";
      try {
        const got = await popBatch(blocking, [PeerKeys.local, REPLY_QUEUE], n, 0);
        if (got === null) continue;
        [key, items] = got;
      } catch (err) {
        if (this.#stopping) break;
        this.#log("warn", `reading the Redis API failed: ${messageOf(err)}`);
        await new Promise((r) => setTimeout(r, this.#limits.redisRetryDelay));
      }
      for (const value of items) {
        await this.#acquire();
        const work =
          key === PeerKeys.local ? this.#handleLocalRequest(value) : this.#handleLocalResponse(value);
        work
          .catch((err: unknown) => this.#log("error", `API item failed: ${messageOf(err)}`))
          .finally(() => this.#release());
      }
    }
  }

  async #acquire(): Promise<void> {
    while (this.#inFlight >= this.#limits.maxInFlight) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    this.#inFlight++;
  }

  #release(): void {
    this.#inFlight--;
    if (this.#readingPaused && this.#inFlight <= this.#limits.maxInFlight / 2) {
      this.#readingPaused = false;
      this.#pool?.pauseReading(false);
    }
    this.#slotWaiters.shift()?.();
    if (this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #whenIdle(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- local client → remote twins ---------------------------------------------------------------------------

  async #handleLocalRequest(text: string): Promise<void> {
    this.stats.localRequests++;
    let req: ReturnType<typeof parseOutgoingRequest>;
    try {
      req = parseOutgoingRequest(text);
    } catch (err) {
      if (!(err instanceof JsonMessageError)) throw err;
      this.stats.malformed++;
      const to = replyQueueOf(text);
      this.#log("warn", `malformed request on ${PeerKeys.local}: ${err.message}`);
      if (to !== undefined) {
        await this.#replyLocalError(
          to.ret,
          to.ref,
          WireErrorCode.Other,
          `other: bad request: ${err.message}`,
        );
      }
      return;
    }
    const fail = (code: number, message: string) => this.#replyLocalError(req.ret, req.ref, code, message);
    if (req.dat.length > this.#limits.maxPayloadSize) {
      return fail(
        WireErrorCode.Other,
        `other: bad request: payload of ${req.dat.length} bytes exceeds the limit of ${this.#limits.maxPayloadSize}`,
      );
    }
    if (req.dst.length === 0) return fail(WireErrorCode.Other, "other: bad request: 'dst' is empty");
    const now = unixNow();
    const [timestamp, ttl] = stamp(now, req.now, req.exp === 0 ? this.#limits.defaultTtl : req.exp);
    if (ttl <= 0) return fail(WireErrorCode.Expired, "envelope validation error: message has expired");
    const life = Math.min(ttl, this.#limits.maxTtl);
    const uid = randomUUID();
    const backlog: Backlog = { uid, replyTo: req.ret, module: "", ttl: life };
    if (req.ref !== null) backlog.reference = req.ref;
    this.#backlogs.set(backlog, now + life, req.dst.length, now);
    corkForThisTurn((this.#redis as Redis).stream);
    const saved = (this.#redis as Redis)
      .setex(PeerKeys.backlog(uid), life, toBuffer(encodeBacklog(backlog)))
      .catch((err: unknown) => this.#log("warn", `storing backlog ${uid} failed: ${messageOf(err)}`));
    const sends = req.dst.map(async (twin) => {
      const env: Envelope = {
        uid,
        timestamp,
        expiration: life,
        destination: { twin },
        message: { kind: "request", command: req.cmd },
        payload: { kind: "plain", data: req.dat },
        relays: [],
      };
      if (req.tag !== null) env.tags = req.tag;
      if (req.shm !== null) env.schema = req.shm;
      try {
        await this.#send(env, now);
      } catch (err) {
        const [code, message] = wireError(err);
        this.#log("debug", `request ${uid} to twin ${twin} undeliverable: ${message}`);
        await fail(code, message);
      }
    });
    await Promise.all([saved, ...sends]);
  }

  async #replyLocalError(ret: string, ref: string | null, code: number, message: string): Promise<void> {
    this.stats.localErrors++;
    await this.#pushCapped(
      ret,
      formatIncomingResponse({
        ver: 1,
        ref,
        dat: new Uint8Array(0),
        src: "",
        shm: null,
        now: 0,
        err: { code, message },
      }),
    );
    this.stats.responsesDelivered++;
  }

  // ---- local service → remote requester ----------------------------------------------------------------------

  async #handleLocalResponse(text: string): Promise<void> {
    this.stats.localResponses++;
    let res: ReturnType<typeof parseOutgoingResponse>;
    try {
      res = parseOutgoingResponse(text);
    } catch (err) {
      if (!(err instanceof JsonMessageError)) throw err;
      this.stats.malformed++;
      this.#log("warn", `malformed response on ${REPLY_QUEUE}: ${err.message}`);
      await this.#reportMalformedResponse(text, err.message);
      return;
    }
    let destination: ReturnType<typeof parseSessionId>;
    try {
      destination = parseSessionId(res.dst);
    } catch {
      this.stats.malformed++;
      this.#log("warn", `response on ${REPLY_QUEUE} names no valid destination: '${res.dst}'`);
      return;
    }
    const uid = res.ref ?? "";
    const message: EnvelopeMessage =
      res.err === null
        ? { kind: "response" }
        : { kind: "error", code: res.err.code, message: res.err.message };
    const env: Envelope = {
      uid,
      timestamp: res.now,
      expiration: this.#responseLifetime(res.dst, uid),
      destination: addressOfSession(destination),
      message,
      relays: [],
    };
    if (res.err === null) env.payload = { kind: "plain", data: res.dat };
    if (res.shm !== null) env.schema = res.shm;
    try {
      await this.#send(env, unixNow());
    } catch (err) {
      this.#log("warn", `response ${uid} to ${res.dst} not sent: ${wireError(err)[1]}`);
    }
  }

  /** A response lives as long as the request it answers has left, else rmb-rs's 3600 s (capped at `maxTtl`). */
  #responseLifetime(src: string, uid: string): number {
    const requestEnd = this.#seen.expiresAt(seenId("request", src, uid));
    const now = unixNow();
    if (requestEnd !== undefined && requestEnd > now) return Math.min(requestEnd - now, this.#limits.maxTtl);
    return Math.min(RESPONSE_EXPIRATION, this.#limits.maxTtl);
  }

  /** A service's reply that does not parse still names its requester often enough: tell the requester. */
  async #reportMalformedResponse(text: string, problem: string): Promise<void> {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof o !== "object" || o === null) return;
    const { dst, ref } = o as Record<string, unknown>;
    if (typeof dst !== "string" || typeof ref !== "string") return;
    let destination: ReturnType<typeof parseSessionId>;
    try {
      destination = parseSessionId(dst);
    } catch {
      return;
    }
    const env: Envelope = {
      uid: ref,
      timestamp: 0,
      expiration: this.#responseLifetime(dst, ref),
      destination: addressOfSession(destination),
      message: {
        kind: "error",
        code: WireErrorCode.Other,
        message: `other: the service sent a malformed response: ${problem}`,
      },
      relays: [],
    };
    await this.#send(env, unixNow()).catch(() => {});
  }

  // ---- remote twins → local ----------------------------------------------------------------------------------

  #onFrame(bytes: Uint8Array): void {
    this.stats.envelopesIn++;
    this.#inFlight++;
    if (this.#inFlight >= this.#limits.maxInFlight && !this.#readingPaused) {
      // Saturated (e.g. Redis is slow): stop reading the relays until half the work is done.
      this.#readingPaused = true;
      this.stats.readPauses++;
      this.#pool?.pauseReading(true);
    }
    this.#handleFrame(bytes)
      .catch((err: unknown) => this.#log("error", `incoming envelope failed: ${messageOf(err)}`))
      .finally(() => this.#release());
  }

  async #handleFrame(bytes: Uint8Array): Promise<void> {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch (err) {
      this.stats.undecodable++;
      this.#log("debug", `dropped an undecodable frame: ${messageOf(err)}`);
      return;
    }
    const now = unixNow();
    try {
      await (this.#opener as EnvelopeOpener).open(env, now);
    } catch (err) {
      if (!(err instanceof PeerProtocolError)) throw err;
      this.stats.rejected++;
      this.#log(
        "debug",
        `refused envelope ${env.uid} from twin ${env.source?.twin ?? 0}: ${err.message} (code ${err.wireCode})`,
      );
      if (env.message?.kind === "request") await this.#replyRemoteError(env, err.wireCode, err.message);
      return;
    }
    const src = formatSessionId(sessionOfAddress(env.source ?? { twin: 0 }));
    const message = env.message;
    if (message === undefined) return;
    const plain = env.payload?.kind === "plain" ? env.payload.data : new Uint8Array(0);
    const expiresAt = env.timestamp + env.expiration;
    // Remembered in memory (the fast path, this process) and marked in Redis with the delivery (across restarts).
    const seen: SeenMark = { id: "", ttl: Math.min(Math.max(expiresAt - now, 1), this.#limits.maxSeenTtl) };
    if (message.kind === "request") {
      seen.id = seenId("request", src, env.uid);
      if (!this.#seen.firstTime(seen.id, expiresAt, now)) {
        this.stats.duplicates++;
        return;
      }
      await this.#deliverRequest(env, message.command, src, plain, seen);
    } else if (message.kind === "response" || message.kind === "error") {
      seen.id =
        message.kind === "response"
          ? seenId("response", src, env.uid)
          : seenId("error", src, env.uid, message.code, message.message);
      if (!this.#seen.firstTime(seen.id, expiresAt, now)) {
        this.stats.duplicates++;
        return;
      }
      const err: JsonError | null =
        message.kind === "error" ? { code: message.code, message: message.message } : null;
      await this.#deliverResponse(env, src, err === null ? plain : new Uint8Array(0), err, seen);
    }
  }

  async #deliverRequest(
    env: Envelope,
    command: string,
    src: string,
    plain: Uint8Array,
    seen: SeenMark,
  ): Promise<void> {
    if (command.startsWith("rmb.")) {
      await this.#rmbPlugin(env, command);
      return;
    }
    try {
      const delivered = await this.#deliverOnce(
        seen,
        PeerKeys.command(command),
        formatIncomingRequest({
          ver: 1,
          ref: env.uid,
          src,
          cmd: command,
          exp: env.expiration,
          dat: plain,
          tag: env.tags ?? null,
          ret: REPLY_QUEUE,
          shm: env.schema ?? null,
          now: env.timestamp,
        }),
      );
      if (delivered) this.stats.requestsDelivered++;
    } catch (err) {
      await this.#replyRemoteError(env, WireErrorCode.Generic, messageOf(err), true);
    }
  }

  async #rmbPlugin(env: Envelope, command: string): Promise<void> {
    if (command !== "rmb.version") {
      await this.#replyRemoteError(env, WireErrorCode.Other, `other: unknown command '${command}'`);
      return;
    }
    const reply: Envelope = {
      uid: env.uid,
      timestamp: 0,
      expiration: this.#limits.defaultTtl,
      destination: env.source ?? { twin: 0 },
      message: { kind: "response" },
      schema: "application/json",
      payload: { kind: "plain", data: new TextEncoder().encode(JSON.stringify(this.#version)) },
      relays: [],
    };
    await this.#send(reply, unixNow()).catch((err: unknown) =>
      this.#log("debug", `rmb.version reply not sent: ${wireError(err)[1]}`),
    );
  }

  async #deliverResponse(
    env: Envelope,
    src: string,
    dat: Uint8Array,
    err: JsonError | null,
    seen: SeenMark,
  ): Promise<void> {
    const backlog = await this.#backlog(env.uid);
    if (backlog === undefined) {
      this.stats.lateResponses++;
      this.#log("debug", `received reply of an expired message (${env.uid} from ${src})`);
      return;
    }
    const delivered = await this.#deliverOnce(
      seen,
      backlog.replyTo,
      formatIncomingResponse({
        ver: 1,
        ref: backlog.reference ?? null,
        dat,
        src,
        shm: env.schema ?? null,
        now: env.timestamp,
        err,
      }),
    );
    if (delivered) {
      this.stats.responsesDelivered++;
      this.#backlogs.answered(env.uid);
    }
  }

  async #backlog(uid: string): Promise<Backlog | undefined> {
    const cached = this.#backlogs.get(uid, unixNow());
    if (cached !== undefined) return cached;
    const bytes = await (this.#redis as Redis).getBuffer(PeerKeys.backlog(uid));
    if (bytes === null) return undefined;
    try {
      return decodeBacklog(bytes);
    } catch {
      return undefined;
    }
  }

  /**
   * Answers a refused or failed request with an `Error` envelope to its sender (rmb-rs `Protocol::reply_err`); a
   * failure of this peer's own handling (`handlerFailure`, e.g. Redis down) keeps the request's tags and lives 300 s.
   */
  async #replyRemoteError(
    req: Envelope,
    code: number,
    message: string,
    handlerFailure = false,
  ): Promise<void> {
    if (req.source === undefined || req.source.twin === 0) return;
    const lifetime = handlerFailure ? this.#limits.defaultTtl : req.expiration || this.#limits.defaultTtl;
    const env: Envelope = {
      uid: req.uid,
      timestamp: 0,
      expiration: Math.min(lifetime, this.#limits.maxTtl),
      destination: { ...req.source },
      message: { kind: "error", code, message },
      relays: [],
    };
    if (handlerFailure && req.tags !== undefined) env.tags = req.tags;
    await this.#send(env, unixNow()).catch((err: unknown) =>
      this.#log("debug", `error reply to ${req.source?.twin} not sent: ${wireError(err)[1]}`),
    );
  }

  // ---- plumbing ----------------------------------------------------------------------------------------------

  async #send(env: Envelope, now: number): Promise<void> {
    const bytes = await (this.#sealer as EnvelopeSealer).seal(env, now);
    await (this.#pool as RelayPool).send(bytes, (env.timestamp + env.expiration) * 1000);
    this.stats.envelopesOut++;
  }

  /**
   * Pushes an incoming request or response to the application unless an earlier process of this peer already did
   * (its mark is in Redis): true when pushed, false for a redelivery (counted in `duplicates`).
   */
  async #deliverOnce(seen: SeenMark, key: string, json: string): Promise<boolean> {
    const length = await new Promise<number>((resolve, reject) => {
      if (this.#deliveries.length === 0) queueMicrotask(this.#flushDeliveries);
      this.#deliveries.push({
        mark: PeerKeys.seen(seen.id),
        list: key,
        ttl: seen.ttl,
        json,
        done: (err, n) => (err === undefined ? resolve(n) : reject(err)),
      });
    });
    if (length >= 0) return true;
    this.stats.duplicates++;
    this.#log("debug", `dropped a redelivery already handed over before a restart (${seen.id})`);
    return false;
  }

  /** Sends this turn's deliveries, in order, in one script call (up to {@link MAX_DELIVERIES} each). */
  #sendDeliveries(): void {
    const all = this.#deliveries;
    this.#deliveries = [];
    const redis = this.#redis as Redis;
    corkForThisTurn(redis.stream);
    for (let from = 0; from < all.length; from += MAX_DELIVERIES) {
      const part = all.slice(from, from + MAX_DELIVERIES);
      const keys: string[] = [];
      const argv: (string | number)[] = [this.#limits.listCap];
      for (const d of part) {
        keys.push(d.mark, d.list);
        argv.push(d.ttl, d.json);
      }
      (redis as unknown as DeliverOnceCommand).rmbPeerDeliverOnce(keys.length, ...keys, ...argv).then(
        (results) => {
          for (let i = 0; i < part.length; i++) {
            const r = results[i];
            if (typeof r === "number") part[i]!.done(undefined, r);
            else part[i]!.done(new Error(String(r)), -1);
          }
        },
        (err: unknown) => {
          for (const d of part) d.done(err, -1);
        },
      );
    }
  }

  /** `LPUSH` and keep the newest `listCap` items (rmb-rs trims after every push; trimming only when the length
   * returned by `LPUSH` exceeds the cap gives the same list with one command instead of two). */
  async #pushCapped(key: string, json: string): Promise<void> {
    const redis = this.#redis as Redis;
    corkForThisTurn(redis.stream);
    const length = await redis.lpush(key, json);
    if (length > this.#limits.listCap) await redis.ltrim(key, 0, this.#limits.listCap - 1);
  }
}

/** Where an incoming envelope is remembered (see `seenId`) and how long its Redis mark lives (seconds). */
interface SeenMark {
  id: string;
  ttl: number;
}

/** The `[code, text]` a client gets for a failure on the way out. */
function wireError(err: unknown): [number, string] {
  if (err instanceof PeerProtocolError) return [err.wireCode, err.message];
  return [WireErrorCode.Other, `other: ${messageOf(err)}`];
}
