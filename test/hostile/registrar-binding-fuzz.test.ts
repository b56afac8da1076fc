import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeStdBase64,
  relaysProblem,
  rmbEncKeyProblem,
  verifyRawSignature,
} from "../../src/registry/index.js";
import {
  type Bound,
  bindCreateAccount,
  bindUpdateAccount,
} from "../../src/registry/registrar/request-binding.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { mutatedJsonObject, mutatedText, onlyTyped } from "./mutate.js";

const RUNS = fuzzRuns(2000);

const b64 = fc.uint8Array({ maxLength: 66 }).map((b) => Buffer.from(b).toString("base64"));
const relay = fc.oneof(
  fc.constantFrom("relay.example", "wss://relay.example:443/x", "a_b", "", "ws://[::1]/", "http://%zz"),
  fc.string({ maxLength: 30 }),
);
/** Bodies of `POST /accounts` and `PATCH /accounts/:id` as clients send them. */
const validBody: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      timestamp: fc.maxSafeNat(),
      public_key: b64,
      signature: b64,
      relays: fc.array(relay, { maxLength: 4 }),
      rmb_enc_key: b64,
    },
    { requiredKeys: ["timestamp", "public_key", "signature"], noNullPrototype: true },
  ),
  fc.record(
    { relays: fc.array(relay, { maxLength: 4 }), rmb_enc_key: b64 },
    { requiredKeys: [], noNullPrototype: true },
  ),
);
const hostileBody = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  mutatedText(validBody.map((o) => JSON.stringify(o))),
  mutatedJsonObject(validBody),
  mutatedJsonObject(validBody),
);

function checkBound<T>(bound: Bound<T>): T | undefined {
  assert.equal(typeof bound, "object");
  if (bound.ok) return bound.value;
  assert.equal(typeof bound.error, "string");
  assert.ok(bound.error.length > 0, "an empty error text");
  return undefined;
}

describe("hostile input — registry service request binding (src/registry/registrar/request-binding.ts)", () => {
  test("any body binds or gives a binding error value; the checks after binding never throw", {
    timeout: timeoutFor(RUNS, 0.5),
  }, () => {
    let bound = 0;
    let refused = 0;
    fc.assert(
      fc.property(hostileBody, (body) => {
        // The binders report problems as values (the service answers them 400); they must never throw.
        onlyTyped(bindCreateAccount, body);
        onlyTyped(bindUpdateAccount, body);
        const create = checkBound(bindCreateAccount(body));
        const update = checkBound(bindUpdateAccount(body));
        if (create === undefined) refused++;
        else bound++;
        for (const value of [create, update]) {
          if (value === undefined) continue;
          assert.ok(value.relays === undefined || value.relays.every((r) => typeof r === "string"));
          assert.ok(value.rmbEncKey === undefined || typeof value.rmbEncKey === "string");
          // What the service does next with the bound fields (400 on a problem) must not throw either.
          onlyTyped((v: typeof value) => relaysProblem(v.relays ?? [], 8), value);
          if (value.rmbEncKey !== undefined) onlyTyped(rmbEncKeyProblem, value.rmbEncKey);
        }
        if (create !== undefined) {
          assert.ok(Number.isSafeInteger(create.timestamp) && create.timestamp !== 0);
          assert.ok(create.publicKey.length > 0 && create.signature.length > 0);
          const key = decodeStdBase64(create.publicKey);
          const signature = decodeStdBase64(create.signature);
          if (key !== undefined && signature !== undefined)
            onlyTyped(() => verifyRawSignature(key, new Uint8Array([1]), signature), undefined);
        }
      }),
      fuzzParams(RUNS),
    );
    assert.ok(bound > 0 && refused > 0, `bound ${bound}, refused ${refused}`);
  });
});
