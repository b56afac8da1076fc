import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { InvalidArgumentError, messageOf } from "../errors.js";
import { formatOutgoingRequest, parseIncomingResponse } from "./json-messages.js";
import { PeerKeys } from "./options.js";

/** Options of {@link runJsonTester}. */
export interface JsonTesterOptions {
  /** Redis of the rmb-peer to test through. */
  redis: string;
  /** Destination twins; every request goes to all of them. */
  dst: number[];
  /** @default "testme" */
  cmd?: string;
  /** Requests to send. @default 1 */
  count?: number;
  /** Request lifetime in seconds. @default 120 */
  exp?: number;
  /** Seconds to wait for all responses. @default exp */
  timeout?: number;
  /** Payload bytes (random letters). @default 56 */
  size?: number;
}

/** What {@link runJsonTester} saw. */
export interface JsonTesterReport {
  sent: number;
  /** `count × dst.length`. */
  expected: number;
  /** Responses received (including errors). */
  received: number;
  /** Responses with `err` set, and malformed items. */
  errors: number;
  /** Items on the reply queue that are not a valid JSON response (counted in `errors` too). */
  malformed: number;
  /** Errors made by a relay (`src` = `"0"`). */
  relayErrors: number;
  /** Successful responses per source twin. */
  responsesByTwin: Record<string, number>;
  /** Destination twins that sent fewer responses than requests. */
  missingTwins: number[];
  /** First few error texts, with their code. */
  errorSamples: string[];
  elapsedMs: number;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * A Redis JSON client that behaves like rmb-rs's `tools/rmb_tester.py`: pushes `count` requests to
 * `msgbus.system.local` (`LPUSH`, pipelined) and pops the responses (`BLPOP`) until all arrived or the timeout
 * passed. All requests share one reply queue.
 */
export async function runJsonTester(options: JsonTesterOptions): Promise<JsonTesterReport> {
  const count = options.count ?? 1;
  const exp = options.exp ?? 120;
  const timeout = options.timeout ?? exp;
  const size = options.size ?? 56;
  if (options.dst.length === 0) throw new InvalidArgumentError("dst", "give at least one destination twin");
  if (!Number.isSafeInteger(count) || count < 1)
    throw new InvalidArgumentError("count", "expected an integer ≥ 1");
  const redis = new Redis(options.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const ret = randomUUID();
  const started = Date.now();
  try {
    const random = randomBytes(size);
    const dat = Buffer.from(Array.from(random, (b) => LETTERS.charCodeAt(b % LETTERS.length)));
    const now = Math.floor(Date.now() / 1000);
    const pipe = redis.pipeline();
    for (let i = 0; i < count; i++) {
      pipe.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: "",
          cmd: options.cmd ?? "testme",
          exp,
          dat,
          tag: null,
          dst: options.dst,
          ret,
          shm: "application/json",
          now,
        }),
      );
    }
    await pipe.exec();
    const expected = count * options.dst.length;
    const report: JsonTesterReport = {
      sent: count,
      expected,
      received: 0,
      errors: 0,
      malformed: 0,
      relayErrors: 0,
      responsesByTwin: {},
      missingTwins: [],
      errorSamples: [],
      elapsedMs: 0,
    };
    const deadline = started + timeout * 1000;
    while (report.received < expected) {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) break;
      const popped = await redis.blpop(ret, Math.max(left, 0.01));
      if (popped === null) break;
      report.received++;
      let res: ReturnType<typeof parseIncomingResponse>;
      try {
        res = parseIncomingResponse(popped[1]);
      } catch (err) {
        // A broken item counts as an error; the run goes on for the others.
        report.errors++;
        report.malformed++;
        if (report.errorSamples.length < 5) report.errorSamples.push(`malformed response: ${messageOf(err)}`);
        continue;
      }
      if (res.err !== null) {
        report.errors++;
        if (res.src === "0") report.relayErrors++;
        if (report.errorSamples.length < 5) report.errorSamples.push(`${res.err.code}: ${res.err.message}`);
      } else {
        const twin = res.src.split(":")[0] as string;
        report.responsesByTwin[twin] = (report.responsesByTwin[twin] ?? 0) + 1;
      }
    }
    report.missingTwins = options.dst.filter((d) => (report.responsesByTwin[String(d)] ?? 0) < count);
    report.elapsedMs = Date.now() - started;
    return report;
  } finally {
    await redis.del(ret).catch(() => {});
    redis.disconnect();
  }
}
