import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import {
  createJwt,
  JWT_HEADER_TYPED,
  JwtError,
  JwtFailure,
  parseJwt,
  verifyJwt,
} from "../../src/protocol/index.js";
import { fuzzParams } from "../hostile/fuzz-config.js";
import { hex, toHex, vectors } from "../support/vectors.js";

const aliceEd = createSigner("//Alice", "ed25519");
const aliceSr = createSigner("//Alice", "sr25519");

function expectJwtError(fn: () => unknown, reason: JwtFailure, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof JwtError, String(e));
    assert.equal(e.reason, reason);
    assert.match(e.message, message);
    return true;
  });
}

describe("jwt — known answers", () => {
  test("rmb-rs style token for twin 1 signed by //Alice ed25519 is byte-exact", () => {
    const token = createJwt(aliceEd, { twin: 1, iat: 1700000000, ttl: 300 });
    assert.equal(token, vectors.jwt_vector.token);
    assert.equal(token.split(".").slice(0, 2).join("."), vectors.jwt_vector.signing_input);
  });

  test("TS-client style token (typ header, sid string, other key order) is byte-exact and verifies", () => {
    const v = vectors.jwt_vector_ts_style;
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const input = `${b64(v.header_json)}.${b64(v.claims_json)}`;
    const token = `${input}.${Buffer.from(aliceEd.sign(Buffer.from(input))).toString("base64url")}`;
    assert.equal(token, v.token);
    const claims = verifyJwt(v.token, { accountId: aliceEd.publicKey, now: 1700000500 });
    assert.deepEqual(claims, { sub: 1, iat: 1700000000, exp: 1700001000, sid: "test_client" });
  });

  test("parses the fixed rmb-rs token: no sid, ed25519 signature", () => {
    const t =
      "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOjcsImlhdCI6MTY3MzI2NzE1MCwiZXhwIjo2MH0.ZRCH2iy6VnwUFfhL0h7tjlweqJT9tQJuHpApPFD0tDDObyBdGUBrqy2EXS8XSX7YQUH1hswylONxoNLvFkdb2AY";
    const p = parseJwt(t);
    assert.deepEqual(p.header, { alg: "RS512" });
    assert.deepEqual(p.claims, { sub: 7, iat: 1673267150, exp: 60 });
    assert.equal(p.signature.length, 65);
    assert.equal(toHex(p.signature.subarray(0, 1)), vectors.rmbrs_token_test_decoded.sig_prefix_hex);
  });

  test("verifies the vector token against //Alice's account and returns sid as absent", () => {
    const claims = verifyJwt(vectors.jwt_vector.token, {
      accountId: hex(vectors.identities.alice.ed25519_public_hex),
      now: 1700000300,
    });
    assert.deepEqual(claims, { sub: 1, iat: 1700000000, exp: 1700000300 });
  });
});

describe("jwt — accept/reject matrix", () => {
  test("sr25519 and ed25519 tokens with and without sid round-trip (sub 100, ttl 20)", () => {
    for (const signer of [aliceEd, aliceSr]) {
      for (const sid of [undefined, "", "s1"]) {
        const token = createJwt(signer, {
          twin: 100,
          ttl: 20,
          iat: 1000,
          ...(sid === undefined ? {} : { sid }),
        });
        const claims = verifyJwt(token, { accountId: signer.publicKey, now: 1010 });
        assert.equal(claims.sub, 100);
        assert.equal(claims.sid, sid);
      }
    }
  });

  test("exp == now is still valid; now > exp is expired", () => {
    const token = createJwt(aliceEd, { twin: 1, iat: 100, ttl: 10 });
    assert.equal(verifyJwt(token, { accountId: aliceEd.publicKey, now: 110 }).sub, 1);
    expectJwtError(
      () => verifyJwt(token, { accountId: aliceEd.publicKey, now: 111 }),
      JwtFailure.Expired,
      /^jwt has expired$/,
    );
  });

  test("a token signed by another key is refused", () => {
    const token = createJwt(aliceSr, { twin: 1, iat: 100, ttl: 10 });
    expectJwtError(
      () => verifyJwt(token, { accountId: aliceEd.publicKey, now: 100 }),
      JwtFailure.Signature,
      /^jwt: /,
    );
  });

  test("another algorithm name is refused", () => {
    const token = createJwt(aliceEd, { twin: 1, iat: 100, ttl: 10, header: '{"alg":"HS256"}' });
    expectJwtError(() => parseJwt(token), JwtFailure.Algorithm, /expected algorithm RS512 but found "HS256"/);
  });

  test("typ JWT is accepted, another typ is refused", () => {
    const ok = createJwt(aliceEd, { twin: 1, iat: 100, ttl: 10, header: JWT_HEADER_TYPED });
    assert.equal(verifyJwt(ok, { accountId: aliceEd.publicKey, now: 100 }).sub, 1);
    const bad = createJwt(aliceEd, { twin: 1, iat: 100, ttl: 10, header: '{"alg":"RS512","typ":"JWS"}' });
    expectJwtError(() => parseJwt(bad), JwtFailure.Malformed, /typ/);
  });

  test("malformed tokens are refused with a malformed reason", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const h = b64('{"alg":"RS512"}');
    const cases: [string, RegExp][] = [
      ["", /three/],
      ["a.b", /three/],
      [`${h}.${b64('{"sub":1,"iat":1}')}.AA`, /claim 'exp'/],
      [`${h}.${b64('{"sub":-1,"iat":1,"exp":2}')}.AA`, /claim 'sub'/],
      [`${h}.${b64('{"sub":4294967296,"iat":1,"exp":2}')}.AA`, /claim 'sub'/],
      [`${h}.${b64('{"sub":1.5,"iat":1,"exp":2}')}.AA`, /claim 'sub'/],
      [`${h}.${b64('{"sub":1,"iat":1,"exp":2,"sid":5}')}.AA`, /sid/],
      [`${h}.${b64("[1]")}.AA`, /not a json object/],
      [`${h}.${b64("{")}.AA`, /invalid json/],
      [`${h}.e30=.AA`, /invalid base64/],
      [`${h}.e3*.AA`, /invalid base64/],
    ];
    for (const [token, message] of cases)
      expectJwtError(() => parseJwt(token), JwtFailure.Malformed, message);
  });

  test("a signature of the wrong length is refused with the rmb-rs text", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const token = `${b64('{"alg":"RS512"}')}.${b64('{"sub":1,"iat":1,"exp":2}')}.${b64("short")}`;
    expectJwtError(
      () => verifyJwt(token, { accountId: aliceEd.publicKey, now: 1 }),
      JwtFailure.Signature,
      /invalid signature length, expected: 65, found: 5/,
    );
  });

  test("tampering with any character of a token makes it fail", () => {
    const token = createJwt(aliceEd, { twin: 7, sid: "x", iat: 100, ttl: 100 });
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(..."ABCDEFabcdef0123456789-_."), (i, c) => {
        if (token[i] === c) return;
        const t = token.slice(0, i) + c + token.slice(i + 1);
        let accepted: unknown;
        try {
          accepted = verifyJwt(t, { accountId: aliceEd.publicKey, now: 100 });
        } catch (e) {
          assert.ok(e instanceof JwtError);
          return;
        }
        // base64url's last character can carry unused bits: only an identical decoding may pass.
        assert.deepEqual(parseJwt(t).signature, parseJwt(token).signature);
        assert.deepEqual(accepted, parseJwt(token).claims);
      }),
      fuzzParams(500),
    );
  });
});
