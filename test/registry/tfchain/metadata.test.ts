import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  decodeChainTwin,
  decodeMetadata,
  EventsDecoder,
  MetadataError,
  type PortableType,
  type RuntimeMetadata,
  ScaleDecodeError,
  ScaleReader,
  SYSTEM_EVENTS_STORAGE_KEY,
  TypeRegistry,
} from "../../../src/registry/tfchain/index.js";
import {
  balancesEvent,
  encodeEventRecords,
  type FakeEvent,
  fakeRuntimeMetadata,
  PALLET,
  probeEverythingEvent,
  systemExtrinsicEvent,
  tfgridEvent,
  twinRecordEvent,
} from "../../support/fake-runtime.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const metadata = decodeMetadata(fakeRuntimeMetadata(1));

/** The id of the type whose path is `path` (`a::b::C`). */
function typeByPath(types: TypeRegistry, path: string): number {
  for (let id = 0; id < types.size; id++) if (types.get(id).path.join("::") === path) return id;
  throw new Error(`no type ${path}`);
}

/** Bytes consumed by skipping one value of `type` at the start of `bytes`. */
function skipped(types: TypeRegistry, type: number, bytes: Uint8Array): number {
  const reader = new ScaleReader(bytes);
  types.skip(type, reader);
  return reader.offset;
}

test("metadata — System.Events' storage key is twox128(System) ‖ twox128(Events)", () => {
  assert.equal(
    hex(SYSTEM_EVENTS_STORAGE_KEY),
    "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7",
  );
});

test("metadata — decodes V14: pallets, storage entries, calls, events, errors, constants, extrinsic", () => {
  assert.equal(metadata.version, 14);
  assert.deepEqual(
    metadata.pallets.map((p) => [p.name, p.index]),
    [
      ["System", 0],
      ["Timestamp", 1],
      ["Balances", 5],
      ["Probe", 9],
      ["TfgridModule", 25],
    ],
  );
  const system = metadata.pallets[0]!;
  assert.equal(system.storagePrefix, "System");
  assert.deepEqual(
    system.storage.map((e) => [e.name, e.modifier, e.type.kind]),
    [
      ["Number", "default", "plain"],
      ["BlockHash", "optional", "map"],
      ["Events", "default", "plain"],
    ],
  );
  assert.deepEqual(
    system.constants.map((c) => [c.name, hex(c.value)]),
    [["BlockHashCount", "60090000"]],
  );
  assert.equal(metadata.pallets[1]!.eventType, undefined, "Timestamp has no events");
  const tfgrid = metadata.pallets[4]!;
  const twins = tfgrid.storage.find((e) => e.name === "Twins");
  assert.ok(twins?.type.kind === "map");
  assert.deepEqual(twins.type.hashers, ["Blake2_128Concat"]);
  assert.deepEqual(metadata.types.get(twins.type.value).path, ["pallet_tfgrid", "types", "Twin"]);
  const calls = metadata.types.get(tfgrid.callType!).def;
  assert.ok(calls.kind === "variant");
  assert.deepEqual(
    calls.variants.map((v) => [v.name, v.index, v.fields.map((f) => f.name)]),
    [
      ["create_twin", 17, ["relay", "pk"]],
      ["update_twin", 18, ["relay", "pk"]],
    ],
  );
  assert.notEqual(tfgrid.errorType, undefined);
  assert.equal(metadata.extrinsic.version, 4);
  assert.deepEqual(
    metadata.extrinsic.signedExtensions.map((e) => e.identifier),
    [
      "CheckSpecVersion",
      "CheckTxVersion",
      "CheckGenesis",
      "CheckMortality",
      "CheckNonce",
      "CheckWeight",
      "ChargeTransactionPayment",
    ],
  );
  assert.deepEqual(metadata.types.get(metadata.runtimeType).path, ["substrate_threefold_runtime", "Runtime"]);
  const twin = metadata.types.get(twins.type.value);
  assert.deepEqual(twin.params, [
    { name: "AccountId", type: typeByPath(metadata.types, "sp_core::crypto::AccountId32") },
  ]);
});

test("metadata — skips values of every kind of type", () => {
  const types = metadata.types;
  const tree = typeByPath(types, "probe::Tree");
  // Node([Leaf(1), Node([Leaf(2)])]) and a trailing byte that is not part of it
  assert.equal(skipped(types, tree, Uint8Array.of(1, 8, 0, 1, 1, 4, 0, 2, 0xee)), 8);
  const bitSequence = (store: string) => {
    for (let id = 0; id < types.size; id++) {
      const def = types.get(id).def;
      if (def.kind === "bitSequence" && types.get(def.storeType).def.kind === "primitive") {
        const s = types.get(def.storeType).def;
        if (s.kind === "primitive" && s.primitive === store) return id;
      }
    }
    throw new Error(store);
  };
  assert.equal(
    skipped(types, bitSequence("u8"), Uint8Array.of(10 << 2, 0xff, 0x03, 0xee)),
    3,
    "10 bits: 2 bytes",
  );
  assert.equal(skipped(types, bitSequence("u8"), Uint8Array.of(0, 0xee)), 1, "no bits");
  assert.equal(skipped(types, bitSequence("u32"), Uint8Array.of(33 << 2, ...new Uint8Array(8), 0xee)), 9);
  const ofKind = (check: (t: PortableType) => boolean) => {
    for (let id = 0; id < types.size; id++) if (check(types.get(id))) return id;
    throw new Error("no such type");
  };
  const primitive = (name: string) => ofKind((t) => t.def.kind === "primitive" && t.def.primitive === name);
  assert.equal(skipped(types, primitive("char"), new Uint8Array(5)), 4);
  assert.equal(skipped(types, primitive("str"), Uint8Array.of(3 << 2, 0x61, 0x62, 0x63, 0xee)), 4);
  assert.equal(skipped(types, primitive("u256"), new Uint8Array(33)), 32);
  assert.equal(skipped(types, primitive("i128"), new Uint8Array(17)), 16);
  const unit = ofKind((t) => t.def.kind === "tuple" && t.def.types.length === 0);
  const compactOf = (inner: number) => ofKind((t) => t.def.kind === "compact" && t.def.type === inner);
  assert.equal(skipped(types, compactOf(unit), Uint8Array.of(0xee)), 0, "Compact<()> is empty");
  const perbill = typeByPath(types, "sp_arithmetic::per_things::Perbill");
  assert.equal(skipped(types, compactOf(perbill), Uint8Array.of(0x02, 0x65, 0xcd, 0x1d, 0xee)), 4);
  assert.equal(skipped(types, typeByPath(types, "probe::Empty"), Uint8Array.of(0xee)), 0);
  const units = ofKind((t) => t.def.kind === "sequence" && t.def.type === unit);
  // compact 200 = (200 << 2 | 0b01) as 2 little-endian bytes
  assert.equal(skipped(types, units, Uint8Array.of(0x21, 0x03, 0xee)), 2, "Vec<()> of 200: just its length");
  const triple = ofKind((t) => t.def.kind === "array" && t.def.length === 3);
  assert.equal(skipped(types, triple, new Uint8Array(7)), 6);
  const options = ofKind(
    (t) =>
      t.path.join() === "Option" &&
      t.params[0]?.type !== undefined &&
      t.def.kind === "variant" &&
      types.get(t.params[0].type).def.kind === "sequence",
  );
  assert.equal(skipped(types, options, Uint8Array.of(0, 0xee)), 1, "None");
  assert.equal(
    skipped(types, options, Uint8Array.of(1, 2 << 2, 4, 0, 1, 5, 0, 0, 0xee)),
    8,
    "Some([(4, true), (5, false)])",
  );
});

test("metadata — values that do not fit their type are ScaleDecodeErrors", () => {
  const types = metadata.types;
  const tree = typeByPath(types, "probe::Tree");
  const bool = (() => {
    for (let id = 0; id < types.size; id++) {
      const def = types.get(id).def;
      if (def.kind === "primitive" && def.primitive === "bool") return id;
    }
    throw new Error("bool");
  })();
  const cases: [string, number, Uint8Array, RegExp][] = [
    ["unknown variant", tree, Uint8Array.of(7), /variant index 7 is not a variant of type probe::Tree/],
    ["truncated", tree, Uint8Array.of(1, 8, 0, 1), /truncated input/],
    ["a bool that is 2", bool, Uint8Array.of(2), /neither 0 nor 1/],
    ["more elements than bytes", tree, Uint8Array.of(1, 0xfd, 0xff, 0x00, 0x00), /truncated input/],
  ];
  for (const [name, type, bytes, message] of cases) {
    assert.throws(
      () => skipped(types, type, bytes),
      (err: unknown) => {
        assert.ok(err instanceof ScaleDecodeError, name);
        assert.match(err.message, message, name);
        return true;
      },
    );
  }
  // 200 nested nodes: deeper than MAX_VALUE_DEPTH (hostile input must not exhaust the stack)
  const deep = new Uint8Array(400);
  for (let i = 0; i < 200; i++) deep.set([1, 4], i * 2);
  assert.throws(() => skipped(types, tree, deep), /nests deeper than 128 levels/);
  const broken = new TypeRegistry([
    {
      id: 0,
      path: [],
      params: [],
      def: { kind: "composite", fields: [{ name: "x", type: 9, typeName: undefined }] },
    },
  ]);
  assert.throws(
    () => skipped(broken, 0, Uint8Array.of(0)),
    (err: unknown) => {
      assert.ok(err instanceof MetadataError);
      assert.equal(err.code, "RMB_ERR_SUBSTRATE_METADATA");
      assert.match(err.message, /type id 9 is not in the metadata's type registry/);
      return true;
    },
  );
});

test("metadata — other versions, other bytes and leftovers are refused", () => {
  const bytes = fakeRuntimeMetadata(1);
  assert.throws(() => decodeMetadata(Uint8Array.of(1, 2, 3, 4, 14)), /no "meta" magic/);
  assert.throws(() => decodeMetadata(Uint8Array.of(0x6d, 0x65, 0x74, 0x61)), MetadataError);
  const v15 = Uint8Array.from(bytes);
  v15[4] = 15;
  assert.throws(
    () => decodeMetadata(v15),
    (err: unknown) => {
      assert.ok(err instanceof MetadataError);
      assert.match(err.message, /runtime metadata version 15 is not supported \(only 14\)/);
      return true;
    },
  );
  assert.throws(() => decodeMetadata(bytes.subarray(0, bytes.length - 1)), ScaleDecodeError);
  assert.throws(() => decodeMetadata(Uint8Array.of(...bytes, 0)), /unexpected bytes after runtime metadata/);
});

/** A block's events, as the fake node stores them. */
function blockEvents(version: 1 | 2 = 1): {
  events: FakeEvent[];
  bytes: Uint8Array;
  twin: ReturnType<typeof decodeChainTwin>;
} {
  const twin = {
    id: 12,
    accountId: new Uint8Array(32).fill(12),
    relay: new TextEncoder().encode("r1.grid.tf_r2.grid.tf"),
    entities: [{ entityId: 3, signature: Uint8Array.of(1, 2, 3) }],
    pk: undefined,
  };
  const events: FakeEvent[] = [
    probeEverythingEvent("initialization", version, 1),
    systemExtrinsicEvent({ applyExtrinsic: 0 }),
    tfgridEvent({ applyExtrinsic: 0 }, { kind: "NodeUptimeReported", node: 1, now: 2n, uptime: 3n }),
    balancesEvent({ applyExtrinsic: 1 }, "Withdraw", twin.accountId, 10n ** 20n),
    twinRecordEvent({ applyExtrinsic: 1 }, "TwinUpdated", twin),
    systemExtrinsicEvent({ applyExtrinsic: 1 }),
    systemExtrinsicEvent({ applyExtrinsic: 2 }, { pallet: PALLET.TfgridModule, error: 1 }),
    tfgridEvent({ applyExtrinsic: 3 }, { kind: "PowerTargetChanged", farm: 1, node: 2, up: true }),
    tfgridEvent("finalization", {
      kind: "TwinEntityStored",
      twin: 1,
      entity: 2,
      signature: new Uint8Array(70),
    }),
    { ...balancesEvent("finalization", "Deposit", twin.accountId, 1n), topics: [new Uint8Array(32).fill(3)] },
  ];
  return { events, bytes: encodeEventRecords(events), twin };
}

test("events — a block's System.Events: every record's phase, pallet and event, and each field's bytes", () => {
  const decoder = new EventsDecoder(metadata);
  const { bytes, twin } = blockEvents();
  const decoded = decoder.decode(bytes);
  assert.deepEqual(
    decoded.map((e) => `${e.phase}${e.extrinsic ?? ""} ${e.pallet}.${e.name}`),
    [
      "Initialization Probe.Everything",
      "ApplyExtrinsic0 System.ExtrinsicSuccess",
      "ApplyExtrinsic0 TfgridModule.NodeUptimeReported",
      "ApplyExtrinsic1 Balances.Withdraw",
      "ApplyExtrinsic1 TfgridModule.TwinUpdated",
      "ApplyExtrinsic1 System.ExtrinsicSuccess",
      "ApplyExtrinsic2 System.ExtrinsicFailed",
      "ApplyExtrinsic3 TfgridModule.PowerTargetChanged",
      "Finalization TfgridModule.TwinEntityStored",
      "Finalization Balances.Deposit",
    ],
  );
  const updated = decoded[4]!;
  assert.equal(updated.fields.length, 1);
  assert.deepEqual(decodeChainTwin(updated.fields[0]!), twin);
  assert.deepEqual(
    decoded[0]!.fields.map((f) => f.length),
    [1, 4, 12, 1, 8, 16, 32, 3, 6, 8, 4, 0, 0, 1, 3, 9, 8],
    "Probe.Everything's 17 fields",
  );
  assert.deepEqual(decoded[2]!.fields.map(hex), ["01000000", "0200000000000000", "0300000000000000"]);
  assert.equal(decoded[8]!.fields[2]!.length, 2 + 70, "Vec<u8> with its compact length");
  assert.deepEqual(decoder.decode(Uint8Array.of(0)), [], "a block without events");
  const twinEvents = decoder.palletEvents("TfgridModule");
  assert.deepEqual([twinEvents?.get("TwinStored")?.index, twinEvents?.get("TwinUpdated")?.index], [11, 12]);
  assert.equal(decoder.palletEvents("Timestamp"), undefined);
  assert.equal(decoder.palletEvents("Nope"), undefined);
});

test("events — records that do not fit the metadata are ScaleDecodeErrors", () => {
  const decoder = new EventsDecoder(metadata);
  const { bytes } = blockEvents();
  const record = (pallet: number, event: number, data: number[] = []) =>
    encodeEventRecords([{ phase: "finalization", pallet, event, data: Uint8Array.from(data) }]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["a pallet without events", record(PALLET.Timestamp, 0), /no pallet with index 1 has events/],
    [
      "an unknown event",
      record(PALLET.TfgridModule, 99),
      /event index 99 is not an event of pallet TfgridModule/,
    ],
    ["a truncated field", record(PALLET.TfgridModule, 15, [1, 0]), /truncated input/],
    ["bytes after the records", Uint8Array.of(...bytes, 0), /unexpected bytes after System.Events/],
    ["a cut record", bytes.subarray(0, bytes.length - 50), /truncated input/],
    ["an unknown phase", Uint8Array.of(4, 9), /unknown phase variant 9/],
    // decoded with runtime 1's metadata, the extra field is read as the next record: whatever it trips over
    ["runtime 2's events", blockEvents(2).bytes, /./],
  ];
  for (const [name, input, message] of cases) {
    assert.throws(
      () => decoder.decode(input),
      (err: unknown) => {
        assert.ok(err instanceof ScaleDecodeError, `${name}: ${String(err)}`);
        assert.match(err.message, message, name);
        return true;
      },
    );
  }
  assert.equal(
    new EventsDecoder(decodeMetadata(fakeRuntimeMetadata(2))).decode(blockEvents(2).bytes).length,
    10,
  );
});

test("events — metadata without a usable System.Events is a MetadataError", () => {
  const without = (edit: (m: RuntimeMetadata) => RuntimeMetadata) => () => new EventsDecoder(edit(metadata));
  assert.throws(
    without((m) => ({ ...m, pallets: m.pallets.filter((p) => p.name !== "System") })),
    /no System\.Events storage item/,
  );
  assert.throws(
    without((m) => ({
      ...m,
      pallets: m.pallets.map((p) =>
        p.name === "System"
          ? { ...p, storage: p.storage.map((e) => ({ ...e, type: { kind: "plain" as const, value: 0 } })) }
          : p,
      ),
    })),
    (err: unknown) => err instanceof MetadataError && /not a sequence of event records/.test(err.message),
  );
});

test("metadata — a real tfchain runtime's metadata (devnet, 2023-04): decoded whole, twin events and Twin as we read them", () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = join(here, "..", "..", "..", "..", "test", "fixtures", "tfchain-metadata-v14-2023-04.scale");
  const real = decodeMetadata(new Uint8Array(readFileSync(file)));
  const tfgrid = real.pallets.find((p) => p.name === "TfgridModule");
  assert.equal(tfgrid?.index, 11, "the pallet index of that runtime (25 since 2023-07)");
  const decoder = new EventsDecoder(real);
  const events = decoder.palletEvents("TfgridModule");
  assert.deepEqual(
    ["TwinStored", "TwinUpdated", "TwinDeleted"].map((name) => [name, events?.get(name)?.index]),
    [
      ["TwinStored", 11],
      ["TwinUpdated", 12],
      ["TwinDeleted", 15],
    ],
  );
  // The event's Twin is the record our codec reads: same fields in the same order.
  const twinType = real.types.get(events?.get("TwinStored")?.fields[0]?.type ?? -1);
  assert.deepEqual(twinType.path, ["pallet_tfgrid", "types", "Twin"]);
  assert.ok(twinType.def.kind === "composite");
  assert.deepEqual(
    twinType.def.fields.map((f) => f.name),
    ["id", "account_id", "relay", "entities", "pk"],
  );
  const calls = real.types.get(tfgrid?.callType ?? -1).def;
  assert.ok(calls.kind === "variant");
  assert.deepEqual(
    calls.variants.filter((v) => v.name.endsWith("_twin")).map((v) => [v.name, v.index]),
    [
      ["create_twin", 17],
      ["update_twin", 18],
    ],
  );
  assert.deepEqual(
    tfgrid?.storage
      .filter((e) => ["Twins", "TwinIdByAccountID", "UsersTermsAndConditions"].includes(e.name))
      .map((e) => [e.name, e.type.kind === "map" ? e.type.hashers : []]),
    [
      ["Twins", ["Blake2_128Concat"]],
      ["TwinIdByAccountID", ["Blake2_128Concat"]],
      ["UsersTermsAndConditions", ["Blake2_128Concat"]],
    ],
  );
  assert.deepEqual(
    real.extrinsic.signedExtensions.map((e) => e.identifier),
    [
      "CheckNonZeroSender",
      "CheckSpecVersion",
      "CheckTxVersion",
      "CheckGenesis",
      "CheckMortality",
      "CheckNonce",
      "CheckWeight",
      "ChargeTransactionPayment",
    ],
    "the signed extensions our extrinsics encode",
  );
  // Every constant's value is exactly one value of its declared type (exercises the skipper on a real registry).
  let constants = 0;
  for (const pallet of real.pallets) {
    for (const constant of pallet.constants) {
      const reader = new ScaleReader(constant.value);
      real.types.skip(constant.type, reader);
      reader.end(`${pallet.name}.${constant.name}`);
      constants += 1;
    }
  }
  assert.ok(constants >= 20, `${constants} constants`);
  // A System.Events blob of that runtime: a node event (skipped) and a TwinUpdated, read with its metadata.
  const twin = {
    id: 55,
    accountId: new Uint8Array(32).fill(5),
    relay: new TextEncoder().encode("relay.dev.grid.tf"),
    entities: [],
    pk: new Uint8Array(33).fill(2),
  };
  const records = encodeEventRecords([
    tfgridEventAt(
      11,
      6,
      tfgridEvent({ applyExtrinsic: 1 }, { kind: "NodeUptimeReported", node: 1, now: 2n, uptime: 3n }),
    ),
    tfgridEventAt(11, 12, twinRecordEvent({ applyExtrinsic: 1 }, "TwinUpdated", twin)),
  ]);
  const decoded = decoder.decode(records);
  assert.deepEqual(
    decoded.map((e) => `${e.pallet}.${e.name}`),
    ["TfgridModule.NodeUptimeReported", "TfgridModule.TwinUpdated"],
  );
  assert.deepEqual(decodeChainTwin(decoded[1]!.fields[0]!), twin);
});

/** The same event at another pallet and event index (the 2023 runtime's). */
function tfgridEventAt(pallet: number, event: number, record: FakeEvent): FakeEvent {
  return { ...record, pallet, event };
}
