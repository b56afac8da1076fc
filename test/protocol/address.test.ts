import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AddressError,
  addressIsSession,
  addressOfSession,
  FAIL_FAST_TAG,
  formatSessionId,
  hasFailFast,
  parseSessionId,
  sameSession,
  sessionOfAddress,
} from "../../src/protocol/index.js";

describe("address — session ids", () => {
  test("parses and formats rmb-rs session ids", () => {
    assert.deepEqual(parseSessionId("10"), { twin: 10 });
    assert.deepEqual(parseSessionId("10:con"), { twin: 10, sid: "con" });
    assert.deepEqual(parseSessionId("10:"), { twin: 10, sid: "" });
    assert.deepEqual(parseSessionId("10:a:b"), { twin: 10, sid: "a:b" });
    assert.equal(formatSessionId({ twin: 10, sid: "con" }), "10:con");
    assert.equal(formatSessionId({ twin: 10 }), "10");
    assert.equal(formatSessionId({ twin: 10, sid: "" }), "10:");
  });

  test("rejects twin ids that are not decimal uint32", () => {
    for (const bad of ["", "x", "-1", "01", "4294967296", "1.5", " 1", ":a"]) {
      assert.throws(() => parseSessionId(bad), AddressError, bad);
    }
    assert.deepEqual(parseSessionId("4294967295"), { twin: 4294967295 });
  });

  test("absent connection and empty connection are different sessions", () => {
    assert.equal(sameSession({ twin: 1 }, { twin: 1, sid: "" }), false);
    assert.equal(addressIsSession({ twin: 1, connection: "" }, { twin: 1 }), false);
    assert.equal(addressIsSession({ twin: 1 }, { twin: 1 }), true);
    assert.equal(addressIsSession(undefined, { twin: 0 }), false);
    assert.deepEqual(sessionOfAddress({ twin: 2, connection: "" }), { twin: 2, sid: "" });
    assert.deepEqual(addressOfSession({ twin: 2 }), { twin: 2 });
  });
});

describe("tags — fail-fast", () => {
  test("finds the fail-fast token split on commas and whitespace, case-sensitive", () => {
    assert.equal(hasFailFast(FAIL_FAST_TAG), true);
    assert.equal(hasFailFast("a, fail-fast"), true);
    assert.equal(hasFailFast("x\tfail-fast\ny"), true);
    assert.equal(hasFailFast("fail-fast,"), true);
    assert.equal(hasFailFast("Fail-Fast"), false);
    assert.equal(hasFailFast("fail-faster"), false);
    assert.equal(hasFailFast("nofail-fast"), false);
    assert.equal(hasFailFast(""), false);
    assert.equal(hasFailFast(undefined), false);
  });
});
