import type { SessionSignalHandlers, SessionSignals } from "../session-signals.js";
import { type RedisClient, sessionChannel } from "./connection.js";

const WAKE = "w";
const EVICT_PREFIX = "k";

interface Attached {
  owner: string;
  /** Login sequence number; 0 until assigned. */
  seq: number;
  handlers: SessionSignalHandlers;
}

/**
 * Records `ARGV[1]` as the session's newest login unless a newer one is recorded, keeps the record for a day, and
 * returns the newest login.
 */
const CLAIM_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local seq = tonumber(ARGV[1])
if seq > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  cur = seq
end
redis.call('EXPIRE', KEYS[1], 86400)
return cur
`;

interface ClaimCommand {
  rmbClaim(key: string, seq: number): Promise<number>;
}

/**
 * {@link SessionSignals} over Redis pub/sub: one channel per session (`<prefix>:relay:session:{<session>}`),
 * subscribed to by the process holding its connection. `w` wakes it. Every login takes a number from a global
 * counter and announces it as `k<seq>`; a connection with a lower number is evicted, so of two logins racing on
 * two processes exactly the later survives. A login also records its number in `…:relay:login:{<session>}` after
 * subscribing and evicts itself if a newer one is already there (it would have missed that announcement).
 * In a cluster, `PUBLISH` reaches subscribers on every node.
 */
export class RedisSessionSignals implements SessionSignals {
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #prefix: string;
  readonly #attached = new Map<string, Attached>();
  readonly #resync: (() => void)[] = [];
  #ready = false;

  constructor(publisher: RedisClient, subscriber: RedisClient, prefix: string) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#prefix = prefix;
    publisher.defineCommand("rmbClaim", { numberOfKeys: 1, lua: CLAIM_LUA });
    subscriber.on("message", (channel: string, message: string) => this.#onMessage(channel, message));
    subscriber.on("ready", () => {
      // The first "ready" is the initial connection; later ones follow a reconnect (ioredis resubscribes).
      if (this.#ready) for (const listener of this.#resync) listener();
      this.#ready = true;
    });
  }

  async attach(session: string, owner: string, handlers: SessionSignalHandlers): Promise<void> {
    const channel = sessionChannel(this.#prefix, session);
    const fresh = !this.#attached.has(channel);
    const entry: Attached = { owner, seq: 0, handlers };
    this.#attached.set(channel, entry);
    entry.seq = await this.#publisher.incr(`${this.#prefix}:relay:login-seq`);
    if (fresh) await this.#subscriber.subscribe(channel);
    const claim = this.#publisher as unknown as ClaimCommand;
    const newest = await claim.rmbClaim(`${this.#prefix}:relay:login:{${session}}`, entry.seq);
    if (newest > entry.seq) {
      if (this.#attached.get(channel) === entry) handlers.evict();
      return;
    }
    await this.#publisher.publish(channel, EVICT_PREFIX + entry.seq);
  }

  detach(session: string, owner: string): void {
    const channel = sessionChannel(this.#prefix, session);
    if (this.#attached.get(channel)?.owner !== owner) return;
    this.#attached.delete(channel);
    this.#subscriber.unsubscribe(channel).catch(() => undefined);
  }

  wake(session: string): void {
    this.#publisher.publish(sessionChannel(this.#prefix, session), WAKE).catch(() => undefined);
  }

  onResync(listener: () => void): void {
    this.#resync.push(listener);
  }

  async close(): Promise<void> {
    this.#attached.clear();
  }

  #onMessage(channel: string, message: string): void {
    const target = this.#attached.get(channel);
    if (target === undefined) return;
    if (message === WAKE) {
      target.handlers.wake();
    } else if (message.startsWith(EVICT_PREFIX)) {
      const seq = Number(message.slice(EVICT_PREFIX.length));
      if (target.seq !== 0 && seq > target.seq) target.handlers.evict();
    }
  }
}
