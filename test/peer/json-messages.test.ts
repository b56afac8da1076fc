import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeBase64,
  encodeBase64,
  formatIncomingRequest,
  formatIncomingResponse,
  JsonMessageError,
  parseIncomingRequest,
  parseOutgoingRequest,
  parseOutgoingResponse,
} from "../../src/peer/index.js";

const good = {
  ver: 1,
  ref: "",
  cmd: "testme",
  exp: 120,
  dat: "SGVsbG8=",
  dst: [41, 55],
  ret: "2f0c",
  shm: "application/json",
  now: 1700000000,
};

describe("peer JSON messages", () => {
  test("parses the request shape rmb_tester.py pushes; Go's extra 'con' key is ignored", () => {
    const req = parseOutgoingRequest(JSON.stringify({ ...good, con: null }));
    assert.equal(req.cmd, "testme");
    assert.deepEqual(req.dst, [41, 55]);
    assert.equal(new TextDecoder().decode(req.dat), "Hello");
    assert.equal(req.tag, null);
    assert.equal(req.ref, "");
  });

  test("optional fields may be null or missing; required ones may not", () => {
    const { ref: _r, shm: _s, ...rest } = good;
    const req = parseOutgoingRequest(JSON.stringify({ ...rest, tag: null }));
    assert.equal(req.ref, null);
    assert.equal(req.shm, null);
    for (const key of ["ver", "cmd", "exp", "dat", "dst", "ret", "now"]) {
      const o: Record<string, unknown> = { ...good };
      delete o[key];
      assert.throws(() => parseOutgoingRequest(JSON.stringify(o)), {
        name: "JsonMessageError",
        message: `missing field '${key}'`,
      });
    }
  });

  test("wrong types are refused with the field named", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ exp: -1 }, /'exp' must be an unsigned integer/],
      [{ exp: 1.5 }, /'exp'/],
      [{ now: "1" }, /'now'/],
      [{ dst: [1, "2"] }, /'dst'/],
      [{ dst: [2 ** 32] }, /'dst'/],
      [{ dst: 3 }, /'dst'/],
      [{ ref: 5 }, /'ref' must be a string or null/],
      [{ dat: "@@" }, /'dat' is not valid base64/],
    ];
    for (const [patch, message] of cases) {
      assert.throws(() => parseOutgoingRequest(JSON.stringify({ ...good, ...patch })), message);
    }
    assert.throws(() => parseOutgoingRequest("[1]"), /not a JSON object/);
    assert.throws(() => parseOutgoingRequest("{"), JsonMessageError);
  });

  test("base64: standard alphabet, padding optional but exact; url-safe and stray characters refused", () => {
    assert.equal(new TextDecoder().decode(decodeBase64("SGVsbG8=")), "Hello");
    assert.equal(new TextDecoder().decode(decodeBase64("SGVsbG8")), "Hello");
    assert.equal(decodeBase64("")?.length, 0);
    for (const bad of ["SGVsbG8==", "SGVsb G8=", "SGV-bG8=", "S", "SGVsbG8=A", "====", "ab_c"]) {
      assert.equal(decodeBase64(bad), undefined, bad);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
      }),
    );
  });

  test("responses from services: err may replace dat; a bad err is refused", () => {
    const res = parseOutgoingResponse(
      JSON.stringify({ ver: 1, ref: "u", dst: "7:sid", now: 0, err: { code: 255, message: "boom" } }),
    );
    assert.deepEqual(res.err, { code: 255, message: "boom" });
    assert.equal(res.dat.length, 0);
    assert.throws(
      () =>
        parseOutgoingResponse(
          JSON.stringify({ ver: 1, ref: "u", dat: "", dst: "7", now: 0, err: { code: -1, message: "" } }),
        ),
      /'err.code'/,
    );
    assert.throws(
      () => parseOutgoingResponse(JSON.stringify({ ver: 1, ref: "u", dst: "7", now: 0 })),
      /missing field 'dat'/,
    );
  });

  test("emitted JSON has rmb-rs's key order and nulls for absent optionals", () => {
    assert.equal(
      formatIncomingResponse({
        ver: 1,
        ref: null,
        dat: new Uint8Array(0),
        src: "",
        shm: null,
        now: 0,
        err: { code: 103, message: "unknown twin id '2'" },
      }),
      `{"ver":1,"ref":null,"dat":"","src":"","shm":null,"now":0,"err":{"code":103,"message":"unknown twin id '2'"}}`,
    );
    const text = formatIncomingRequest({
      ver: 1,
      ref: "uid",
      src: "5:s",
      cmd: "a.b",
      exp: 60,
      dat: new Uint8Array([1, 2, 3]),
      tag: null,
      ret: "msgbus.system.reply",
      shm: null,
      now: 9,
    });
    assert.equal(
      text,
      `{"ver":1,"ref":"uid","src":"5:s","cmd":"a.b","exp":60,"dat":"AQID","tag":null,"ret":"msgbus.system.reply","shm":null,"now":9}`,
    );
    assert.deepEqual(parseIncomingRequest(text).dat, new Uint8Array([1, 2, 3]));
  });

  test("any string is either parsed or refused with JsonMessageError, never another error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        for (const parse of [parseOutgoingRequest, parseOutgoingResponse]) {
          try {
            parse(s);
          } catch (e) {
            assert.ok(e instanceof JsonMessageError, String(e));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
