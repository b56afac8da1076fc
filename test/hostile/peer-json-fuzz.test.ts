import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeBase64,
  formatIncomingRequest,
  formatIncomingResponse,
  formatOutgoingRequest,
  formatOutgoingResponse,
  JsonMessageError,
  parseIncomingRequest,
  parseIncomingResponse,
  parseOutgoingRequest,
  parseOutgoingResponse,
} from "../../src/peer/index.js";
import { replyQueueOf } from "../../src/peer/json-messages.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { mutatedJsonObject, mutatedText, onlyTyped } from "./mutate.js";

const RUNS = fuzzRuns(2000);

const text = fc.string({ maxLength: 30 });
const opt = fc.option(text, { nil: null });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const dat = fc.uint8Array({ maxLength: 48 });
const err = fc.option(fc.record({ code: u32, message: text }, { noNullPrototype: true }), { nil: null });

/** Valid items of the four messages, as the peer's clients and services write them. */
const validItems: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      ver: u32,
      ref: opt,
      cmd: text,
      exp: u32,
      dat,
      tag: opt,
      dst: fc.array(u32, { maxLength: 4 }),
      ret: text,
      shm: opt,
      now: u32,
    })
    .map(formatOutgoingRequest),
  fc.record({ ver: u32, ref: opt, dat, dst: text, shm: opt, now: u32, err }).map(formatOutgoingResponse),
  fc
    .record({
      ver: u32,
      ref: text,
      src: text,
      cmd: text,
      exp: u32,
      dat,
      tag: opt,
      ret: text,
      shm: opt,
      now: u32,
    })
    .map(formatIncomingRequest),
  fc.record({ ver: u32, ref: opt, dat, src: text, shm: opt, now: u32, err }).map(formatIncomingResponse),
);

/** Random text, random JSON, and valid items mutated as text or as objects. */
const hostileJsonItem: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  mutatedText(validItems),
  mutatedJsonObject(validItems.map((t) => JSON.parse(t) as Record<string, unknown>)),
  mutatedJsonObject(validItems.map((t) => JSON.parse(t) as Record<string, unknown>)),
);

const parsers = [
  parseOutgoingRequest,
  parseOutgoingResponse,
  parseIncomingRequest,
  parseIncomingResponse,
] as const;

describe("hostile input — peer Redis API JSON (src/peer/json-messages.ts)", () => {
  test("random and mutated items are parsed or refused with JsonMessageError naming the problem", {
    timeout: timeoutFor(RUNS, 0.3),
  }, () => {
    let parsed = 0;
    let refused = 0;
    fc.assert(
      fc.property(hostileJsonItem, (item) => {
        for (const parse of parsers) {
          const outcome = onlyTyped(parse, item, JsonMessageError);
          if (outcome === "ok") parsed++;
          else {
            refused++;
            assert.equal((outcome as JsonMessageError).code, "RMB_ERR_PEER_JSON");
            assert.ok(outcome.message.length > 0);
          }
        }
        // The peer answers a refused item on the reply queue it names: finding it must never throw either.
        onlyTyped(replyQueueOf, item);
      }),
      fuzzParams(RUNS),
    );
    assert.ok(parsed > 0 && refused > 0, `parsed ${parsed}, refused ${refused}`);
  });

  test("what parses has the types the peer relies on", { timeout: timeoutFor(RUNS, 0.3) }, () => {
    const isU32 = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
    const isUint = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
    const isOptString = (s: unknown) => s === null || typeof s === "string";
    fc.assert(
      fc.property(hostileJsonItem, (item) => {
        try {
          const r = parseOutgoingRequest(item);
          assert.ok(r.dst.every(isU32) && isUint(r.exp) && isUint(r.now) && isUint(r.ver));
          assert.ok(typeof r.cmd === "string" && typeof r.ret === "string" && r.dat instanceof Uint8Array);
          assert.ok(isOptString(r.ref) && isOptString(r.tag) && isOptString(r.shm));
        } catch (e) {
          if (!(e instanceof JsonMessageError)) throw e;
        }
        try {
          const r = parseOutgoingResponse(item);
          assert.ok(isUint(r.now) && typeof r.dst === "string" && r.dat instanceof Uint8Array);
          assert.ok(r.err === null || (isU32(r.err.code) && typeof r.err.message === "string"));
        } catch (e) {
          if (!(e instanceof JsonMessageError)) throw e;
        }
      }),
      fuzzParams(RUNS),
    );
  });

  test("base64 of any text decodes or is refused (undefined), never throws", {
    timeout: timeoutFor(RUNS, 0.1),
  }, () => {
    const b64ish = fc.string({ unit: fc.constantFrom(..."ABCDEFabcdef0123456789+/=-_ \n%"), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(b64ish, fc.string({ unit: "binary", maxLength: 40 })), (t) => {
        onlyTyped(decodeBase64, t);
        const bytes = decodeBase64(t);
        if (bytes !== undefined)
          assert.equal(bytes.length, Math.floor((t.replace(/=+$/, "").length * 3) / 4));
      }),
      fuzzParams(RUNS),
    );
  });
});
