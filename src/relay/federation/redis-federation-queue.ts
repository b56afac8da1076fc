import { type RedisClient, toBuffer } from "../redis/connection.js";
import {
  type FederationHandler,
  type FederationQueue,
  FederationQueueFullError,
} from "./federation-queue.js";

/** KEYS[1] stream, ARGV[1] cap, ARGV[2] envelope: 1 when appended, 0 when the stream is full. */
const PUSH_CAPPED = `
if redis.call("XLEN", KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call("XADD", KEYS[1], "*", "m", ARGV[2])
return 1`;

const GROUP = "federation";
/** How long one blocking read waits before checking for shutdown. */
const BLOCK_MS = 1000;

type StreamEntry = [id: Buffer, fields: Buffer[] | null];

/** The two stream commands used here, with loose argument types (ioredis's overloads are unwieldy). */
interface StreamCommands {
  xreadgroupBuffer(...args: (string | number)[]): Promise<[Buffer, StreamEntry[]][] | null>;
  xautoclaimBuffer(...args: (string | number)[]): Promise<[Buffer, StreamEntry[], Buffer[]?]>;
}

/**
 * {@link FederationQueue} on a Redis stream (`<prefix>:relay:federation`) with the consumer group `federation`,
 * one consumer per relay process. Entries are acked and deleted when done; an entry left for retry stays pending
 * and is claimed again (`XAUTOCLAIM`) once idle for `retryDelayMs` — by whichever process runs the claim first,
 * so a relay process that dies does not strand its entries.
 */
export class RedisFederationQueue implements FederationQueue {
  readonly #client: RedisClient;
  readonly #blocking: RedisClient;
  readonly #key: string;
  readonly #consumer: string;
  readonly #retryDelayMs: number;
  readonly #inFlight = new Set<string>();
  #handler: FederationHandler | undefined;
  #concurrency = 1;
  #closed = false;
  #claiming = false;
  #loop: Promise<void> | undefined;
  #claimTimer: NodeJS.Timeout | undefined;
  #slotWaiters: (() => void)[] = [];

  /** `blocking` must be a connection of its own: it spends most of its time in `XREADGROUP BLOCK`. */
  constructor(
    client: RedisClient,
    blocking: RedisClient,
    prefix: string,
    consumer: string,
    retryDelayMs = 3000,
    maxLength = 100_000,
  ) {
    this.#maxLength = maxLength;
    this.#client = client;
    this.#blocking = blocking;
    this.#key = `${prefix}:relay:federation`;
    this.#consumer = consumer;
    this.#retryDelayMs = retryDelayMs;
  }

  readonly #maxLength: number;

  /** Appends unless the stream holds `maxLength` entries (one script: concurrent pushes cannot overshoot). */
  async push(data: Uint8Array): Promise<void> {
    const added = await this.#client.eval(PUSH_CAPPED, 1, this.#key, this.#maxLength, toBuffer(data));
    if (added === 0) throw new FederationQueueFullError(this.#maxLength);
  }

  async start(handler: FederationHandler, concurrency: number): Promise<void> {
    this.#handler = handler;
    this.#concurrency = concurrency;
    try {
      await this.#client.xgroup("CREATE", this.#key, GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
    }
    this.#loop = this.#readLoop();
    this.#claimTimer = setInterval(() => void this.#claim().catch(() => undefined), this.#retryDelayMs);
    this.#claimTimer.unref();
  }

  async length(): Promise<number> {
    return this.#client.xlen(this.#key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#claimTimer !== undefined) clearInterval(this.#claimTimer);
    for (const w of this.#slotWaiters.splice(0)) w();
    this.#blocking.disconnect(); // interrupts a pending XREADGROUP BLOCK
    await this.#loop?.catch(() => undefined);
    while (this.#inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      const free = this.#concurrency - this.#inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        continue;
      }
      let reply: [Buffer, StreamEntry[]][] | null;
      try {
        reply = await (this.#blocking as unknown as StreamCommands).xreadgroupBuffer(
          "GROUP",
          GROUP,
          this.#consumer,
          "COUNT",
          free,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          this.#key,
          ">",
        );
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, 200)); // Redis unreachable: entries wait in the stream
        continue;
      }
      for (const [, entries] of reply ?? []) for (const entry of entries) this.#run(entry);
    }
  }

  /**
   * Takes over entries pending longer than the retry delay (this process's retries and those of dead ones): the
   * whole pending list, batch after batch as handler slots free up, so a backlog left by an unreachable relay
   * drains at the speed of delivery once that relay is back, not `concurrency` entries per retry delay. A claimed
   * entry's idle time starts again, so one that keeps failing is still tried once per retry delay at most.
   */
  async #claim(): Promise<void> {
    if (this.#claiming) return;
    this.#claiming = true;
    try {
      let cursor = "0-0";
      while (!this.#closed) {
        const free = this.#concurrency - this.#inFlight.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
          continue;
        }
        const reply = await (this.#client as unknown as StreamCommands).xautoclaimBuffer(
          this.#key,
          GROUP,
          this.#consumer,
          this.#retryDelayMs,
          cursor,
          "COUNT",
          free,
        );
        for (const entry of reply[1]) this.#run(entry);
        cursor = reply[0].toString();
        if (cursor === "0-0") return;
      }
    } finally {
      this.#claiming = false;
    }
  }

  #run([idBuf, fields]: StreamEntry): void {
    const id = idBuf.toString();
    if (this.#inFlight.has(id)) return;
    const data = fieldValue(fields, "m");
    if (data === undefined) {
      void this.#finish(id);
      return;
    }
    this.#inFlight.add(id);
    const handler = this.#handler!;
    handler(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      .catch(() => "retry" as const)
      .then(async (outcome) => {
        if (outcome === "done") await this.#finish(id);
      })
      .catch(() => undefined) // the ack failed: the entry is claimed and handled again later
      .finally(() => {
        this.#inFlight.delete(id);
        this.#slotWaiters.shift()?.();
      });
  }

  async #finish(id: string): Promise<void> {
    await Promise.all([this.#client.xack(this.#key, GROUP, id), this.#client.xdel(this.#key, id)]);
  }
}

function fieldValue(fields: Buffer[] | null, name: string): Buffer | undefined {
  if (fields === null) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === name) return fields[i + 1];
  return undefined;
}
