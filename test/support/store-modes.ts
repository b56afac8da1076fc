import { after, before, describe } from "node:test";
import type { RelayOptions } from "../../src/relay/index.js";
import { type RedisServerHandle, startRedisServer } from "./redis-server.js";

/**
 * Runs `body` once per queue store: embedded (in-process) and Redis (a `redis-server` started for the suite).
 * `store()` returns the relay options of the mode; each call gives a fresh key prefix so relays do not share
 * queues unless a test wants them to.
 */
export function forEachStoreMode(body: (mode: string, store: () => Partial<RelayOptions>) => void): void {
  body("embedded", () => ({}));
  describe("with Redis", () => {
    let server: RedisServerHandle | undefined;
    let n = 0;
    before(async () => {
      server = await startRedisServer();
    });
    after(async () => {
      await server?.stop();
    });
    body("redis", () => {
      if (server === undefined) throw new Error("redis-server not started");
      return { redis: server.url, redisPrefix: `m${++n}` };
    });
  });
}
