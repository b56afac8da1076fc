import assert from "node:assert/strict";
import { test } from "node:test";
import { bytes, isPayload, json, ReceivedPayload, text, toPayload } from "../../src/sdk/index.js";

test("payload helpers: explicit schemas, raw bytes, empty, and JSON for any other value", () => {
  assert.deepEqual(
    [json({ a: 1 }).schema, new TextDecoder().decode(json({ a: 1 }).data)],
    ["application/json", '{"a":1}'],
  );
  assert.equal(text("hi").schema, "text/plain");
  assert.equal(text("<b/>", "text/html").schema, "text/html");
  assert.equal(bytes(new Uint8Array([1])).schema, undefined);
  const raw = toPayload(new Uint8Array([9, 8]));
  assert.deepEqual([...raw.data], [9, 8]);
  assert.equal(raw.schema, undefined);
  assert.equal(toPayload(undefined).data.length, 0);
  for (const value of ["s", 3, true, null, [1, 2], { x: "y" }]) {
    const p = toPayload(value);
    assert.equal(p.schema, "application/json");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(p.data)), value);
  }
  assert.equal(isPayload(json(1)), true);
  assert.equal(
    isPayload({ data: new Uint8Array(0), schema: "x" }),
    false,
    "only helper-made payloads are taken as is",
  );
});

test("received payloads decode text and JSON; empty JSON is undefined; bad UTF-8 throws", () => {
  const p = new ReceivedPayload(new TextEncoder().encode('{"n":2}'), "application/json");
  assert.deepEqual(p.json(), { n: 2 });
  assert.equal(p.text(), '{"n":2}');
  assert.equal(new ReceivedPayload(new Uint8Array(0), undefined).json(), undefined);
  assert.throws(() => new ReceivedPayload(new Uint8Array([0xff]), undefined).text(), TypeError);
  assert.throws(() => new ReceivedPayload(new TextEncoder().encode("nope"), undefined).json(), SyntaxError);
});
