import assert from "node:assert/strict";
import { test } from "node:test";
import { createSigner, ss58Encode } from "../../src/identity/index.js";
import { InvalidTwinError, parseTwinsFile } from "../../src/registry/index.js";

const alice = createSigner("//Alice", "ed25519");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("twins file: hex, 0x-hex and SS58 accounts, relays and pk", () => {
  const pk = `02${"ab".repeat(32)}`;
  const twins = parseTwinsFile(
    JSON.stringify([
      { id: 1, account: hex(alice.publicKey), relays: ["r1", "r2"], pk },
      { id: 2, account: `0x${"11".repeat(32)}` },
      { id: 3, account: ss58Encode(alice.publicKey), pk: null },
    ]),
  );
  assert.deepEqual(twins[0]!.accountId, alice.publicKey);
  assert.deepEqual(twins[0]!.relays, ["r1", "r2"]);
  assert.equal(hex(twins[0]!.pk!), pk);
  assert.deepEqual(twins[1]!.accountId, new Uint8Array(32).fill(0x11));
  assert.deepEqual(twins[2]!.accountId, alice.publicKey);
  assert.equal(twins[2]!.pk, undefined);
});

test("twins file: every malformed input is an InvalidTwinError naming the problem", () => {
  const cases: [string, RegExp][] = [
    ["not json", /twins file is not JSON/],
    ["{}", /must hold a JSON array/],
    ["[1]", /twin #0: expected an object/],
    ['[{"account":"x"}]', /'id' must be a number/],
    ['[{"id":1}]', /twin 1: 'account' must be a string/],
    ['[{"id":1,"account":"zz"}]', /neither 32 bytes of hex nor an SS58 address/],
    [`[{"id":1,"account":"${"aa".repeat(32)}","relays":"r"}]`, /'relays' must be an array/],
    [`[{"id":1,"account":"${"aa".repeat(32)}","pk":"abcd"}]`, /'pk' must be 33 bytes of hex/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseTwinsFile(text),
      (e: unknown) =>
        e instanceof InvalidTwinError && e.code === "RMB_ERR_INVALID_TWIN" && pattern.test(e.message),
      text,
    );
  }
});
