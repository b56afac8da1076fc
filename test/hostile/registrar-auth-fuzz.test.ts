import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import { buildAuthHeader, encodeStdBase64, verifyRawSignature } from "../../src/registry/index.js";
import { parseAuthHeader, parseUint64 } from "../../src/registry/registrar/auth-header.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { applyByteMutations, byteMutation, mutatedText, onlyTyped } from "./mutate.js";

const RUNS = fuzzRuns(2000);
const NOW = 1_700_000_000;
const LIMITS = { now: NOW, validity: 60, futureSkew: 30 };
const signers = [createSigner("//Alice", "ed25519"), createSigner("//Bob", "sr25519")];

/** Every refusal parseAuthHeader may give, with its status (upstream's texts). */
const REFUSALS = new Map<string, number>([
  ["Authorization header required", 401],
  ["Invalid header format. Use 'Challenge:Signature'", 400],
  ["Invalid challenge encoding", 400],
  ["Invalid challenge format", 400],
  ["Invalid timestamp", 400],
  ["Expired challenge", 401],
  ["Challenge timestamp is in the future", 401],
  ["Invalid twin ID format", 400],
]);

/** Headers as clients send them, around NOW (some expired, some ahead), for twins 0…2^64−1 and beyond. */
const validHeader = fc
  .tuple(
    fc.constantFrom(...signers),
    fc.oneof(fc.integer({ min: 0, max: 10 }), fc.maxSafeNat()),
    fc.integer({ min: NOW - 200, max: NOW + 200 }),
  )
  .map(([signer, twin, ts]) => ({ header: buildAuthHeader(signer, twin, ts), signer, twin, ts }));

/** Challenge texts a hostile client might base64-encode: numbers out of range, signs, spaces, extra colons. */
const challengeText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc
    .tuple(
      fc.oneof(
        fc.integer({ min: NOW - 200, max: NOW + 200 }).map(String),
        fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
        fc.constantFrom("+1700000000", "-0", "", " 1700000000", "1e9", "9223372036854775808"),
      ),
      fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 66n }).map(String),
        fc.constantFrom("", "-1", "+1", "1.0", "18446744073709551615", "18446744073709551616", "0x1"),
      ),
    )
    .map(([ts, id]) => `${ts}:${id}`),
);

/** Digits that overflow int64 / uint64, put in place of a byte of the challenge by the `inflate` mutation. */
const HUGE_NUMBERS = ["99999999999999999999", "18446744073709551616", "-9223372036854775809"].map((t) =>
  new TextEncoder().encode(t),
);

const hostileHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(undefined, "", ":", "::", "a:b:c") },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 3, arbitrary: mutatedText(validHeader.map((v) => v.header)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(challengeText, fc.uint8Array({ maxLength: 80 }))
      .map(([c, sig]) => `${encodeStdBase64(new TextEncoder().encode(c))}:${encodeStdBase64(sig)}`),
  },
  {
    // The decoded challenge bytes mutated (bit flips, truncation, insertion), then encoded again.
    weight: 2,
    arbitrary: fc
      .tuple(validHeader, fc.array(byteMutation(HUGE_NUMBERS), { minLength: 1, maxLength: 3 }))
      .map(([v, ms]) => {
        const [c, s] = v.header.split(":") as [string, string];
        return `${encodeStdBase64(applyByteMutations(Buffer.from(c, "base64"), ms))}:${s}`;
      }),
  },
);

describe("hostile input — registry service X-Auth header (src/registry/registrar/auth-header.ts)", () => {
  test("any header parses or gives one of upstream's refusals; what parses is within the time window", {
    timeout: timeoutFor(RUNS, 0.2),
  }, () => {
    let parsed = 0;
    let refused = 0;
    fc.assert(
      fc.property(hostileHeader, (header) => {
        onlyTyped((h: string | undefined) => parseAuthHeader(h, LIMITS), header);
        const r = parseAuthHeader(header, LIMITS);
        if (!r.ok) {
          refused++;
          assert.equal(REFUSALS.get(r.error), r.status, `unexpected refusal ${r.status} ${r.error}`);
          return;
        }
        parsed++;
        assert.equal(r.header, header);
        const [tsText, idText] = Buffer.from(r.challenge).toString("latin1").split(":") as [string, string];
        assert.equal(r.timestamp, Number(tsText));
        assert.ok(NOW - r.timestamp <= LIMITS.validity && r.timestamp - NOW <= LIMITS.futureSkew);
        assert.equal(r.twinId, parseUint64(idText));
        assert.ok(r.twinId >= 0n && r.twinId < 2n ** 64n);
        assert.ok(r.signature === undefined || r.signature instanceof Uint8Array);
      }),
      fuzzParams(RUNS),
    );
    assert.ok(parsed > 0 && refused > 0, `parsed ${parsed}, refused ${refused}: the sample misses a branch`);
  });

  test("a header built by a client within the window parses to its twin, and its signature verifies", {
    timeout: timeoutFor(RUNS, 1),
  }, () => {
    fc.assert(
      fc.property(validHeader, ({ header, signer, twin, ts }) => {
        const r = parseAuthHeader(header, LIMITS);
        if (NOW - ts > LIMITS.validity) {
          assert.deepEqual(r, { ok: false, status: 401, error: "Expired challenge" });
          return;
        }
        if (ts - NOW > LIMITS.futureSkew) {
          assert.deepEqual(r, { ok: false, status: 401, error: "Challenge timestamp is in the future" });
          return;
        }
        assert.ok(r.ok);
        assert.deepEqual([r.timestamp, r.twinId], [ts, BigInt(twin)]);
        assert.ok(r.signature !== undefined);
        assert.equal(verifyRawSignature(signer.publicKey, r.challenge, r.signature), undefined);
      }),
      fuzzParams(RUNS),
    );
  });
});
