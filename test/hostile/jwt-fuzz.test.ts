import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner, type Signer } from "../../src/identity/index.js";
import {
  createJwt,
  JWT_HEADER,
  JWT_HEADER_TYPED,
  type JwtClaims,
  JwtError,
  parseJwt,
  verifyJwt,
} from "../../src/protocol/index.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { applyByteMutations, byteMutation, mutatedJsonObject, mutatedText, onlyTyped } from "./mutate.js";

const RUNS = fuzzRuns(1500);
const signers: Signer[] = [createSigner("//Alice", "ed25519"), createSigner("//Bob", "sr25519")];
const IAT = 1_700_000_000;

/** A valid token, the key that signed it and the claims it carries. */
interface Issued {
  token: string;
  signer: Signer;
  claims: JwtClaims;
}

const issued: fc.Arbitrary<Issued> = fc
  .record({
    signer: fc.constantFrom(...signers),
    twin: fc.integer({ min: 0, max: 0xffffffff }),
    sid: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    ttl: fc.integer({ min: 0, max: 100_000 }),
    header: fc.constantFrom(JWT_HEADER, JWT_HEADER_TYPED),
  })
  .map(({ signer, twin, sid, ttl, header }) => {
    const options = { twin, iat: IAT, ttl, header, ...(sid === undefined ? {} : { sid }) };
    const claims: JwtClaims = { sub: twin, iat: IAT, exp: IAT + ttl, ...(sid === undefined ? {} : { sid }) };
    return { token: createJwt(signer, options), signer, claims };
  });

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64url"));

/**
 * A valid token changed after signing, keeping its signature: the text mutated; one segment's decoded bytes mutated
 * and encoded again; or the claims JSON edited (another twin, session, expiry, types) — what an attacker who captured
 * a token would try.
 */
const tampered: fc.Arbitrary<{ text: string; original: Issued }> = fc.oneof(
  issued.chain((original) => mutatedText(fc.constant(original.token)).map((text) => ({ text, original }))),
  fc
    .tuple(
      issued,
      fc.integer({ min: 0, max: 2 }),
      fc.array(byteMutation([Uint8Array.of(0x7b)]), { minLength: 1, maxLength: 3 }),
    )
    .map(([original, segment, ms]) => {
      const parts = original.token.split(".");
      parts[segment] = b64(applyByteMutations(unb64(parts[segment] as string), ms));
      return { text: parts.join("."), original };
    }),
  issued.chain((original) => {
    const [h, c, s] = original.token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(c, "base64url").toString()) as Record<string, unknown>;
    return mutatedJsonObject(fc.constant(claims)).map((json) => ({
      text: `${h}.${b64(json)}.${s}`,
      original,
    }));
  }),
);

describe("hostile input — relay JWT parser (src/protocol/jwt.ts)", () => {
  test("random text and random three-part tokens throw only JwtError", {
    timeout: timeoutFor(RUNS, 0.2),
  }, () => {
    const part = fc.oneof(
      fc.string({
        unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        maxLength: 120,
      }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => b64(JSON.stringify(v) ?? "")),
      fc.string({ unit: "binary", maxLength: 40 }),
    );
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.tuple(part, part, part).map((p) => p.join(".")),
    );
    fc.assert(
      fc.property(text, fc.constantFrom(...signers), (t, signer) => {
        onlyTyped(parseJwt, t, JwtError);
        onlyTyped((x: string) => verifyJwt(x, { accountId: signer.publicKey, now: IAT }), t, JwtError);
      }),
      fuzzParams(RUNS),
    );
  });

  test("tokens changed after signing throw only JwtError, and none verifies with other claims", {
    timeout: timeoutFor(RUNS, 1),
  }, () => {
    let verified = 0;
    fc.assert(
      fc.property(tampered, ({ text, original }) => {
        onlyTyped(parseJwt, text, JwtError);
        const outcome = onlyTyped(
          (x: string) => verifyJwt(x, { accountId: original.signer.publicKey, now: IAT }),
          text,
          JwtError,
        );
        if (outcome !== "ok") return;
        // Only a change that leaves the signed text and the signature bytes alone can pass (e.g. other unused bits
        // in the last base64 character of the signature): the claims must be the signed ones.
        verified++;
        assert.deepEqual(
          verifyJwt(text, { accountId: original.signer.publicKey, now: IAT }),
          original.claims,
        );
      }),
      fuzzParams(RUNS),
    );
    assert.ok(verified < fuzzRuns(RUNS), "every tampered token verified: the mutations did nothing");
  });

  test("a token verifies only against the key that signed it", {
    timeout: timeoutFor(RUNS, 2),
  }, () => {
    fc.assert(
      fc.property(issued, ({ token, signer, claims }) => {
        assert.deepEqual(verifyJwt(token, { accountId: signer.publicKey, now: IAT }), claims);
        const other = signers.find((s) => s !== signer) as Signer;
        assert.throws(
          () => verifyJwt(token, { accountId: other.publicKey, now: IAT }),
          (e: unknown) => e instanceof JwtError && e.reason === "signature",
        );
      }),
      fuzzParams(RUNS),
    );
  });
});
