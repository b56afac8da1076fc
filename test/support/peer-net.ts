import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { type Identity, KeyType, loadIdentity } from "../../src/identity/index.js";
import { type PeerOptions, RmbPeer } from "../../src/peer/index.js";
import { MemoryRegistry, type Twin } from "../../src/registry/index.js";
import { type RelayOptions, RelayServer } from "../../src/relay/index.js";
import { type RedisServerHandle, startRedisServer } from "./redis-server.js";

export const PEER_DOMAIN = "relay.test";

/** A twin with a bare `0x` seed (so it has an end-to-end key), registered on the test relay. */
export interface NetTwin {
  identity: Identity;
  twin: Twin;
  secret: string;
}

/** One real relay, one real redis-server and a registry in which twins are made. */
export interface PeerNet {
  redis: RedisServerHandle;
  relay: RelayServer;
  port: number;
  registry: MemoryRegistry;
  /** Registers a new twin (random seed) on the relay's domain, with its secp256k1 key unless `pk` is false. */
  twin(keyType?: KeyType, options?: { pk?: boolean; relays?: string[] }): NetTwin;
  /** Starts a peer for `twin` on its own Redis database (`db` 1…15); stopped by `stop()`. */
  peer(twin: NetTwin, db: number, options?: Partial<PeerOptions>): Promise<PeerHandle>;
  stop(): Promise<void>;
}

export interface PeerHandle {
  peer: RmbPeer;
  redisUrl: string;
  /** A plain Redis connection to the peer's database (closed by `PeerNet.stop`). */
  client: Redis;
}

/** A fresh `0x` seed secret. */
export function randomSeed(): string {
  return `0x${randomBytes(32).toString("hex")}`;
}

export async function startPeerNet(relayOptions: Partial<RelayOptions> = {}): Promise<PeerNet> {
  const redis = await startRedisServer();
  const registry = new MemoryRegistry();
  const relay = new RelayServer({ domains: [PEER_DOMAIN], registry, host: "127.0.0.1", ...relayOptions });
  const { port } = await relay.start();
  const peers: PeerHandle[] = [];
  return {
    redis,
    relay,
    port,
    registry,
    twin(keyType = KeyType.Ed25519, options = {}) {
      const secret = randomSeed();
      const identity = loadIdentity(secret, keyType);
      const pk = options.pk === false ? undefined : identity.e2e?.publicKey;
      const twin = registry.register({
        accountId: identity.publicKey,
        relays: options.relays ?? [PEER_DOMAIN],
        ...(pk === undefined ? {} : { pk }),
      });
      return { identity, twin, secret };
    },
    async peer(twin, db, options = {}) {
      const redisUrl = `${redis.url}/${db}`;
      const peer = new RmbPeer({
        identity: twin.identity,
        registry,
        relays: [`ws://127.0.0.1:${port}`],
        redis: redisUrl,
        update: false,
        relay: { reconnectDelay: 50, maxReconnectDelay: 500 },
        ...options,
      });
      await peer.start();
      const client = new Redis(redisUrl);
      const handle = { peer, redisUrl, client };
      peers.push(handle);
      await peer.waitConnected(5000);
      return handle;
    },
    async stop() {
      for (const p of peers) {
        await p.peer.stop();
        p.client.disconnect();
      }
      await relay.stop();
      await redis.stop();
    },
  };
}
