import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  type ChainTwin,
  chainTwinToTwin,
  decodeChainTwin,
  decodePkField,
  decodeTwin,
  encodeChainTwin,
  encodeRelayField,
  relayFieldProblem,
  ScaleDecodeError,
  twinToChainTwin,
} from "../../../src/registry/tfchain/index.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "hex"));
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const ACCOUNT = "11".repeat(32);
const PK = `02${"ab".repeat(32)}`;
const RELAY = "r1.example_r2.example"; // 21 bytes

// Twin { id: 5, account_id, relay: Some(RELAY), entities: [], pk: Some(33 bytes) }, field by field.
const FULL = `05000000${ACCOUNT}01${"54"}${hex(utf8(RELAY))}00${"01"}${"84"}${PK}`;
// Twin { id: 1, account_id, relay: None, entities: [], pk: None }.
const BARE = `01000000${ACCOUNT}000000`;
// Twin { id: 258, account_id, relay: Some("a.b"), entities: [{ entity_id: 7, signature: "ab" }], pk: None }.
const WITH_ENTITY = `02010000${ACCOUNT}010c${hex(utf8("a.b"))}04${"07000000"}08${hex(utf8("ab"))}00`;

test("twin codec — decodes a record with relay and pk", () => {
  const twin = decodeTwin(bytes(FULL));
  assert.equal(twin.id, 5);
  assert.equal(hex(twin.accountId), ACCOUNT);
  assert.deepEqual(twin.relays, ["r1.example", "r2.example"]);
  assert.equal(hex(twin.pk ?? new Uint8Array()), PK);
});

test("twin codec — relay and pk absent", () => {
  const twin = decodeTwin(bytes(BARE));
  assert.deepEqual(twin, { id: 1, accountId: bytes(ACCOUNT) });
  assert.equal("relays" in twin, false);
  assert.equal("pk" in twin, false);
});

test("twin codec — entities are decoded and skipped in the RMB view", () => {
  const chain = decodeChainTwin(bytes(WITH_ENTITY));
  assert.equal(chain.id, 258);
  assert.deepEqual(chain.entities, [{ entityId: 7, signature: utf8("ab") }]);
  assert.deepEqual(chainTwinToTwin(chain), { id: 258, accountId: bytes(ACCOUNT), relays: ["a.b"] });
});

test("twin codec — encode writes the same bytes back", () => {
  for (const record of [FULL, BARE, WITH_ENTITY]) {
    assert.equal(hex(encodeChainTwin(decodeChainTwin(bytes(record)))), record);
  }
  const twin = decodeTwin(bytes(FULL));
  assert.equal(hex(encodeChainTwin(twinToChainTwin(twin))), FULL);
});

test("twin codec — a pk stored as the hex text of the key is decoded", () => {
  const base: ChainTwin = { id: 9, accountId: bytes(ACCOUNT), relay: undefined, entities: [], pk: undefined };
  for (const pkText of [`0x${PK}`, PK, `0x${PK.toUpperCase()}`]) {
    const twin = decodeTwin(encodeChainTwin({ ...base, pk: utf8(pkText) }));
    assert.equal(hex(twin.pk ?? new Uint8Array()), PK, pkText);
  }
});

test("twin codec — a pk that is not a 33-byte key is treated as absent", () => {
  for (const pk of [new Uint8Array(0), new Uint8Array(32), new Uint8Array(34), utf8(`0x${PK.slice(2)}zz`)]) {
    assert.equal(decodePkField(pk), undefined, `${pk.length} bytes`);
    const twin = decodeTwin(
      encodeChainTwin({ id: 3, accountId: bytes(ACCOUNT), relay: undefined, entities: [], pk }),
    );
    assert.equal("pk" in twin, false);
  }
});

test("twin codec — an empty relay part is dropped, an empty relay field gives no domains", () => {
  const chain: ChainTwin = {
    id: 2,
    accountId: bytes(ACCOUNT),
    relay: utf8("a.b__c.d_"),
    entities: [],
    pk: undefined,
  };
  assert.deepEqual(decodeTwin(encodeChainTwin(chain)).relays, ["a.b", "c.d"]);
  assert.deepEqual(decodeTwin(encodeChainTwin({ ...chain, relay: new Uint8Array(0) })).relays, []);
});

test("twin codec — truncated, oversized and trailing input throws ScaleDecodeError", () => {
  const full = bytes(FULL);
  for (let length = 0; length < full.length; length++) {
    assert.throws(() => decodeTwin(full.subarray(0, length)), ScaleDecodeError, `${length} bytes`);
  }
  assert.throws(() => decodeTwin(bytes(`${FULL}00`)), /unexpected bytes after twin record/);
  assert.throws(() => decodeTwin(bytes(`01000000${ACCOUNT}020000`)), /invalid twin relay option tag 0x02/);
  const longRelay = `01000000${ACCOUNT}01${"0510"}`; // compact(1025) = 0x0510: a length above 1024
  assert.throws(() => decodeTwin(bytes(longRelay)), /length of twin relay 1025 is above the limit 1024/);
});

test("twin codec — relay field encoding and tfchain's relay validation", () => {
  assert.equal(encodeRelayField([]), undefined);
  assert.equal(
    new TextDecoder().decode(encodeRelayField(["r1.grid.tf", "r2.grid.tf"])),
    "r1.grid.tf_r2.grid.tf",
  );
  assert.throws(() => encodeRelayField(["a_b"]), InvalidArgumentError);
  assert.throws(() => encodeRelayField([""]), InvalidArgumentError);
  for (const ok of ["relay.dev.grid.tf", "r1.dev.grid.tf_r2.dev.grid.tf", "localhost", "a-b.c_d"]) {
    assert.equal(relayFieldProblem(utf8(ok)), undefined, ok);
  }
  const refused: Array<[string, RegExp]> = [
    ["", /empty/],
    [".relay.tf", /misplaced '\.' at byte 0/],
    ["relay.tf.", /ends with '\.'/],
    ["relay..tf", /misplaced '\.' at byte 6/],
    ["a.relay.tf", /misplaced '\.' at byte 1/], // the chain's quirk
    ["relay.tf:443", /byte 8 .* is not allowed/],
    ["wss://relay.tf", /byte 3 .* is not allowed/],
  ];
  for (const [relay, reason] of refused) assert.match(relayFieldProblem(utf8(relay)) ?? "", reason, relay);
  assert.match(relayFieldProblem(new Uint8Array(1025).fill(0x61)) ?? "", /longer than 1024/);
});
