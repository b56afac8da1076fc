import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import {
  formatIncomingResponse,
  PeerKeys,
  parseOutgoingRequest,
  runJsonTester,
} from "../../src/peer/index.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";

describe("runJsonTester (rmb tester) against a scripted gateway on a real Redis", () => {
  let redis: RedisServerHandle;
  let gateway: Redis;

  before(async () => {
    redis = await startRedisServer();
    gateway = new Redis(redis.url);
  });
  after(async () => {
    gateway?.disconnect();
    await redis?.stop();
  });

  test("a malformed item on the reply queue counts as an error and the run goes on", async () => {
    // Stands in for rmb-peer: answers the first request with garbage, the others properly.
    const answering = (async () => {
      for (let i = 0; i < 3; i++) {
        const got = await gateway.brpop(PeerKeys.local, 10);
        assert.ok(got, "the tester pushed its requests");
        const req = parseOutgoingRequest(got[1]);
        const item =
          i === 0
            ? "{ this is not json"
            : formatIncomingResponse({
                ver: 1,
                ref: req.ref,
                dat: req.dat,
                src: String(req.dst[0]),
                shm: req.shm,
                now: 0,
                err: null,
              });
        await gateway.lpush(req.ret, item);
      }
    })();
    const report = await runJsonTester({ redis: redis.url, dst: [7], count: 3, timeout: 10 });
    await answering;
    assert.equal(report.received, 3);
    assert.equal(report.errors, 1);
    assert.equal(report.malformed, 1);
    assert.equal(report.responsesByTwin["7"], 2);
    assert.deepEqual(report.missingTwins, [7], "twin 7 answered 2 of 3 requests properly");
    assert.equal(report.errorSamples.length, 1);
    assert.match(report.errorSamples[0] ?? "", /^malformed response: /);
  });
});
