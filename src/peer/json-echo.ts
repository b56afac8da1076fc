import { Redis } from "ioredis";
import { formatOutgoingResponse, parseIncomingRequest } from "./json-messages.js";
import { popBatch } from "./list-pop.js";
import { PeerKeys } from "./options.js";

/** A running echo service (see {@link startJsonEcho}). */
export interface JsonEcho {
  /** Requests answered so far. */
  readonly answered: number;
  stop(): Promise<void>;
}

/**
 * A service behind an rmb-peer that answers every request on `msgbus.<command>` with its own payload, like rmb-rs's
 * `tools/rmb_tester/msg_handler.py`: pops requests (oldest first), swaps `src` into `dst`, sets `now`, pushes it to the request's
 * `ret` (`msgbus.system.reply`). Pops up to `batch` requests at a time.
 */
export async function startJsonEcho(redisUrl: string, command = "testme", batch = 128): Promise<JsonEcho> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const key = PeerKeys.command(command);
  let stopping = false;
  let answered = 0;
  const loop = (async () => {
    while (!stopping) {
      let items: string[];
      try {
        const got = await popBatch(redis, [key], batch, 0);
        if (got === null) continue;
        items = got[1];
      } catch {
        if (stopping) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const pipe = redis.pipeline();
      for (const text of items) {
        let req: ReturnType<typeof parseIncomingRequest>;
        try {
          req = parseIncomingRequest(text);
        } catch {
          continue; // not a request: nothing to answer
        }
        pipe.lpush(
          req.ret,
          formatOutgoingResponse({
            ver: req.ver,
            ref: req.ref,
            dat: req.dat,
            dst: req.src,
            shm: req.shm,
            now: Math.floor(Date.now() / 1000),
            err: null,
          }),
        );
      }
      try {
        await pipe.exec();
        answered += items.length;
      } catch {
        if (stopping) return;
      }
    }
  })();
  return {
    get answered() {
      return answered;
    },
    async stop() {
      stopping = true;
      redis.disconnect();
      await loop;
    },
  };
}
