import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { isValidSignature } from "../../src/identity/index.js";
import {
  canonicalJson,
  matchesQuery,
  normalizeQuery,
  P2pInvalidDataError,
  parseRecord,
  recordSigningBytes,
  type ServiceRecord,
  signRecord,
} from "../../src/p2p/index.js";
import { checkRecord } from "../../src/p2p/records.js";
import { fromHex } from "../../src/p2p/wire.js";
import { signerFor } from "./sim-agents.js";

const alice = signerFor(1);
const verify = async (twin: number, m: Uint8Array, s: Uint8Array): Promise<boolean> =>
  isValidSignature(signerFor(twin).publicKey, m, s);
const LIMITS = { maxSkewMs: 60_000, maxTtlMs: 600_000 };
const T0 = 1_700_000_000_000;

describe("p2p service records", () => {
  test("records — the signed bytes are a fixed text: prefix and canonical JSON with sorted keys", () => {
    const bytes = recordSigningBytes({
      twin: 7,
      tags: { category: "barber", location: "ghent" },
      issuedAt: 1,
      expiresAt: 2,
    });
    assert.equal(
      new TextDecoder().decode(bytes),
      'rmb-p2p-record-v1\n{"expiresAt":2,"issuedAt":1,"tags":{"category":"barber","location":"ghent"},"twin":7}',
    );
    assert.equal(
      canonicalJson({ b: [1, { d: null, c: "x" }], a: true, u: undefined }),
      '{"a":true,"b":[1,{"c":"x","d":null}]}',
    );
  });

  test("records — a record signed by the twin verifies; tags are lower-cased and trimmed", async () => {
    const r = signRecord(
      alice,
      1,
      { category: " Barber ", location: "GHENT", adjective: "Trusted" },
      T0,
      600_000,
    );
    assert.deepEqual(r.tags, { category: "barber", location: "ghent", adjective: "trusted" });
    assert.equal(r.issuedAt, T0);
    assert.equal(r.expiresAt, T0 + 600_000);
    assert.equal(r.signature.length, 130);
    assert.equal(await checkRecord(r, T0 + 1000, LIMITS, verify), undefined);
    assert.deepEqual(parseRecord(JSON.parse(JSON.stringify(r))), r);
  });

  test("records — a forged record is refused: changed tags, another twin's id, a wrong key", async () => {
    const r = signRecord(alice, 1, { category: "barber" }, T0, 600_000);
    assert.equal(await checkRecord({ ...r, tags: { category: "dentist" } }, T0, LIMITS, verify), "signature");
    assert.equal(await checkRecord({ ...r, twin: 2 }, T0, LIMITS, verify), "signature");
    assert.equal(await checkRecord({ ...r, expiresAt: r.expiresAt + 1 }, T0, LIMITS, verify), "signature");
    const mallory = signRecord(signerFor(6), 1, { category: "barber" }, T0, 600_000);
    assert.equal(
      await checkRecord(mallory, T0, LIMITS, verify),
      "signature",
      "signed by another key than twin 1's",
    );
  });

  test("records — expiry, issue time in the future and over-long lifetimes are refused", async () => {
    const r = signRecord(alice, 1, { category: "barber" }, T0, 600_000);
    assert.equal(await checkRecord(r, T0 + 600_000, LIMITS, verify), "expired");
    assert.equal(await checkRecord(r, T0 - 61_000, LIMITS, verify), "not-yet-valid");
    const long = signRecord(alice, 1, { category: "barber" }, T0, 3_600_000);
    assert.equal(await checkRecord(long, T0, LIMITS, verify), "too-long");
  });

  test("records — parseRecord refuses malformed records with P2pInvalidDataError", () => {
    const r = signRecord(alice, 1, { category: "barber" }, T0, 600_000);
    const bad: unknown[] = [
      null,
      { ...r, twin: 0 },
      { ...r, twin: "1" },
      { ...r, expiresAt: r.issuedAt },
      { ...r, issuedAt: 1.5 },
      { ...r, signature: "00" },
      { ...r, signature: r.signature.toUpperCase() },
      { ...r, tags: { category: "Barber" } },
      { ...r, tags: { category: "" } },
      { ...r, tags: { category: "x".repeat(65) } },
      { ...r, tags: { category: "a", colour: "red" } },
      { ...r, tags: { location: "ghent" } },
    ];
    for (const b of bad) assert.throws(() => parseRecord(b), P2pInvalidDataError, JSON.stringify(b));
  });

  test("records — property: sign→verify accepts, any change of a tag rejects", async () => {
    const tag = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    await fc.assert(
      fc.asyncProperty(tag, fc.option(tag, { nil: undefined }), tag, async (category, name, other) => {
        const tags = name === undefined ? { category } : { category, name };
        const r = signRecord(alice, 1, tags, T0, 600_000);
        assert.equal(await checkRecord(r, T0, LIMITS, verify), undefined);
        if (other !== category) {
          const changed: ServiceRecord = { ...r, tags: { ...r.tags, category: other } };
          assert.equal(await checkRecord(changed, T0, LIMITS, verify), "signature");
        }
        const sig = fromHex(r.signature, 65)!;
        sig[10] = (sig[10] ?? 0) ^ 1;
        assert.equal(
          await checkRecord({ ...r, signature: Buffer.from(sig).toString("hex") }, T0, LIMITS, verify),
          "signature",
        );
      }),
      { numRuns: 100 },
    );
  });

  test("records — a tag matches any field, case-insensitively; a structured query needs every field", () => {
    const tags = { category: "compute", subcategory: "gpu", location: "ghent" };
    assert.ok(matchesQuery(tags, normalizeQuery("GPU")));
    assert.ok(matchesQuery(tags, normalizeQuery(" ghent ")));
    assert.ok(!matchesQuery(tags, normalizeQuery("gp")));
    assert.ok(matchesQuery(tags, normalizeQuery({ category: "compute", location: "Ghent" })));
    assert.ok(!matchesQuery(tags, normalizeQuery({ category: "compute", location: "paris" })));
    assert.throws(() => normalizeQuery({}), P2pInvalidDataError);
    assert.throws(() => normalizeQuery(""), P2pInvalidDataError);
    assert.throws(() => normalizeQuery({ colour: "red" }), P2pInvalidDataError);
  });
});
