import { type ChainTwin, encodeChainTwin, ScaleWriter } from "../../src/registry/tfchain/index.js";

/**
 * A tfchain-like runtime for the fake substrate node: its metadata V14 (type registry and pallets), written by our
 * own SCALE encoder here in the test support (independently of the decoder in src/registry/tfchain/metadata.ts),
 * and encoders of the `System.Events` records the fake node stores for each block.
 *
 * Pallets (index): System (0), Timestamp (1, no events), Balances (5), Probe (9: a test pallet whose events use every
 * kind of type — tuples, arrays, `Option`, `str`, `char`, signed and 256-bit integers, compacts of a wrapper and of
 * `()`, zero-sized structs, `Vec<()>`, bit sequences over `u8` and `u32`, and a recursive enum), TfgridModule (25:
 * `TwinStored`/`TwinUpdated(Twin)` and tfchain's other twin and node events). Runtime version 2 (after
 * {@link FakeRuntimeVersion} changes, like a runtime upgrade) adds a field to `Probe.Everything`: events of such a
 * block only decode with its own metadata.
 */

export type FakeRuntimeVersion = 1 | 2;

/** scale-info's `TypeDefPrimitive`, in encoding order (written out here, not taken from the decoder). */
const PRIMITIVES = [
  "bool",
  "char",
  "str",
  "u8",
  "u16",
  "u32",
  "u64",
  "u128",
  "u256",
  "i8",
  "i16",
  "i32",
  "i64",
  "i128",
  "i256",
] as const;
type Primitive = (typeof PRIMITIVES)[number];

/** frame-metadata's `StorageHasher`, in encoding order. */
const STORAGE_HASHERS = [
  "Blake2_128",
  "Blake2_256",
  "Blake2_128Concat",
  "Twox128",
  "Twox256",
  "Twox64Concat",
  "Identity",
] as const;
type StorageHasher = (typeof STORAGE_HASHERS)[number];

type FieldSpec = [name: string | undefined, type: number, typeName?: string];
type VariantSpec = { name: string; index: number; fields?: FieldSpec[] };
type Def =
  | { composite: FieldSpec[] }
  | { variant: VariantSpec[] }
  | { sequence: number }
  | { array: [length: number, type: number] }
  | { tuple: number[] }
  | { primitive: Primitive }
  | { compact: number }
  | { bitSequence: [store: number, order: number] };

interface TypeEntry {
  path: string[];
  params: Array<[string, number | undefined]>;
  def: Def | undefined;
  docs: string[];
}

/** Builds a scale-info portable type registry; ids are allocated in order (reserve first for recursive types). */
export class TypeTable {
  readonly #entries: TypeEntry[] = [];
  readonly #primitives = new Map<Primitive, number>();

  reserve(path: string[] = [], params: Array<[string, number | undefined]> = []): number {
    this.#entries.push({ path, params, def: undefined, docs: [] });
    return this.#entries.length - 1;
  }

  define(id: number, def: Def, docs: string[] = []): number {
    const entry = this.#entries[id];
    if (entry === undefined || entry.def !== undefined) throw new Error(`type ${id} cannot be defined`);
    entry.def = def;
    entry.docs = docs;
    return id;
  }

  add(def: Def, path: string[] = [], params: Array<[string, number | undefined]> = [], docs: string[] = []) {
    return this.define(this.reserve(path, params), def, docs);
  }

  primitive(primitive: Primitive): number {
    let id = this.#primitives.get(primitive);
    if (id === undefined) {
      id = this.add({ primitive });
      this.#primitives.set(primitive, id);
    }
    return id;
  }

  encode(w: ScaleWriter): void {
    w.compact(this.#entries.length);
    this.#entries.forEach((entry, id) => {
      if (entry.def === undefined) throw new Error(`type ${id} was reserved but never defined`);
      w.compact(id);
      w.vec(entry.path, (ww, segment) => ww.text(segment));
      w.vec(entry.params, (ww, [name, type]) => {
        ww.text(name);
        ww.option(type, (www, t) => www.compact(t));
      });
      encodeDef(w, entry.def);
      w.vec(entry.docs, (ww, line) => ww.text(line));
    });
  }
}

function encodeFields(w: ScaleWriter, fields: FieldSpec[]): void {
  w.vec(fields, (ww, [name, type, typeName]) => {
    ww.option(name, (www, n) => www.text(n));
    ww.compact(type);
    ww.option(typeName, (www, n) => www.text(n));
    ww.vec(name === undefined ? [] : [`The ${name}.`], (www, line) => www.text(line));
  });
}

function encodeDef(w: ScaleWriter, def: Def): void {
  if ("composite" in def) {
    w.u8(0);
    encodeFields(w, def.composite);
  } else if ("variant" in def) {
    w.u8(1);
    w.vec(def.variant, (ww, v) => {
      ww.text(v.name);
      encodeFields(ww, v.fields ?? []);
      ww.u8(v.index);
      ww.vec([`${v.name}.`], (www, line) => www.text(line));
    });
  } else if ("sequence" in def) {
    w.u8(2).compact(def.sequence);
  } else if ("array" in def) {
    w.u8(3).u32(def.array[0]).compact(def.array[1]);
  } else if ("tuple" in def) {
    w.u8(4).vec(def.tuple, (ww, t) => ww.compact(t));
  } else if ("primitive" in def) {
    w.u8(5).u8(PRIMITIVES.indexOf(def.primitive));
  } else if ("compact" in def) {
    w.u8(6).compact(def.compact);
  } else {
    w.u8(7).compact(def.bitSequence[0]).compact(def.bitSequence[1]);
  }
}

type StorageSpec = {
  name: string;
  default: Uint8Array;
} & ({ plain: number } | { map: { hashers: StorageHasher[]; key: number; value: number } });

interface PalletSpec {
  name: string;
  index: number;
  storage?: StorageSpec[];
  calls?: number;
  event?: number;
  constants?: Array<{ name: string; type: number; value: Uint8Array }>;
  error?: number;
}

/** Pallet indices of the fake runtime (the variant indices of its `RuntimeEvent`). */
export const PALLET = { System: 0, Timestamp: 1, Balances: 5, Probe: 9, TfgridModule: 25 } as const;

/** Event indices used by the fake node. */
export const EVENT = {
  System: { ExtrinsicSuccess: 0, ExtrinsicFailed: 1, NewAccount: 3 },
  Balances: { Withdraw: 8, Deposit: 7 },
  Probe: { Everything: 0, Nothing: 1, Tree: 2 },
  TfgridModule: {
    FarmDeleted: 2,
    NodeUptimeReported: 6,
    TwinStored: 11,
    TwinUpdated: 12,
    TwinEntityStored: 13,
    TwinEntityRemoved: 14,
    TwinDeleted: 15,
    TwinAccountBounded: 16,
    PowerTargetChanged: 30,
  },
} as const;

/** The metadata V14 bytes (`RuntimeMetadataPrefixed`) of the fake runtime. */
export function fakeRuntimeMetadata(version: FakeRuntimeVersion = 1): Uint8Array {
  const cached = metadataCache.get(version);
  if (cached !== undefined) return cached;
  const bytes = buildMetadata(version);
  metadataCache.set(version, bytes);
  return bytes;
}

const metadataCache = new Map<FakeRuntimeVersion, Uint8Array>();

function buildMetadata(version: FakeRuntimeVersion): Uint8Array {
  const t = new TypeTable();
  const p = (name: Primitive) => t.primitive(name);
  const u8 = p("u8");
  const u16 = p("u16");
  const u32 = p("u32");
  const u64 = p("u64");
  const u128 = p("u128");
  const bool = p("bool");
  const bytes = t.add({ sequence: u8 });
  const bytes32 = t.add({ array: [32, u8] });
  const h256 = t.add({ composite: [[undefined, bytes32, "[u8; 32]"]] }, ["primitive_types", "H256"]);
  const accountId = t.add({ composite: [[undefined, bytes32, "[u8; 32]"]] }, [
    "sp_core",
    "crypto",
    "AccountId32",
  ]);
  const unit = t.add({ tuple: [] });

  // frame_system
  const compactU64 = t.add({ compact: u64 });
  const weight = t.add(
    {
      composite: [
        ["ref_time", compactU64, "u64"],
        ["proof_size", compactU64, "u64"],
      ],
    },
    ["sp_weights", "weight_v2", "Weight"],
  );
  const dispatchClass = t.add(
    {
      variant: [
        { name: "Normal", index: 0 },
        { name: "Operational", index: 1 },
        { name: "Mandatory", index: 2 },
      ],
    },
    ["frame_support", "dispatch", "DispatchClass"],
  );
  const pays = t.add(
    {
      variant: [
        { name: "Yes", index: 0 },
        { name: "No", index: 1 },
      ],
    },
    ["frame_support", "dispatch", "Pays"],
  );
  const dispatchInfo = t.add(
    {
      composite: [
        ["weight", weight, "Weight"],
        ["class", dispatchClass, "DispatchClass"],
        ["pays_fee", pays, "Pays"],
      ],
    },
    ["frame_support", "dispatch", "DispatchInfo"],
  );
  const errorBytes = t.add({ array: [4, u8] });
  const moduleError = t.add(
    {
      composite: [
        ["index", u8, "u8"],
        ["error", errorBytes, "[u8; 4]"],
      ],
    },
    ["sp_runtime", "ModuleError"],
  );
  const tokenError = t.add(
    {
      variant: [
        "FundsUnavailable",
        "OnlyProvider",
        "BelowMinimum",
        "CannotCreate",
        "UnknownAsset",
        "Frozen",
      ].map((name, index) => ({ name, index })),
    },
    ["sp_runtime", "TokenError"],
  );
  const dispatchError = t.add(
    {
      variant: [
        { name: "Other", index: 0 },
        { name: "CannotLookup", index: 1 },
        { name: "BadOrigin", index: 2 },
        { name: "Module", index: 3, fields: [[undefined, moduleError, "ModuleError"]] },
        { name: "ConsumerRemaining", index: 4 },
        { name: "NoProviders", index: 5 },
        { name: "TooManyConsumers", index: 6 },
        { name: "Token", index: 7, fields: [[undefined, tokenError, "TokenError"]] },
      ],
    },
    ["sp_runtime", "DispatchError"],
  );
  const systemEvent = t.add(
    {
      variant: [
        { name: "ExtrinsicSuccess", index: 0, fields: [["dispatch_info", dispatchInfo, "DispatchInfo"]] },
        {
          name: "ExtrinsicFailed",
          index: 1,
          fields: [
            ["dispatch_error", dispatchError, "DispatchError"],
            ["dispatch_info", dispatchInfo, "DispatchInfo"],
          ],
        },
        { name: "CodeUpdated", index: 2 },
        { name: "NewAccount", index: 3, fields: [["account", accountId, "T::AccountId"]] },
        { name: "KilledAccount", index: 4, fields: [["account", accountId, "T::AccountId"]] },
        {
          name: "Remarked",
          index: 5,
          fields: [
            ["sender", accountId, "T::AccountId"],
            ["hash", h256, "T::Hash"],
          ],
        },
      ],
    },
    ["frame_system", "pallet", "Event"],
  );

  // pallet_balances
  const balancesEvent = t.add(
    {
      variant: [
        {
          name: "Endowed",
          index: 0,
          fields: [
            ["account", accountId, "T::AccountId"],
            ["free_balance", u128, "T::Balance"],
          ],
        },
        {
          name: "Transfer",
          index: 2,
          fields: [
            ["from", accountId, "T::AccountId"],
            ["to", accountId, "T::AccountId"],
            ["amount", u128, "T::Balance"],
          ],
        },
        {
          name: "Deposit",
          index: 7,
          fields: [
            ["who", accountId, "T::AccountId"],
            ["amount", u128, "T::Balance"],
          ],
        },
        {
          name: "Withdraw",
          index: 8,
          fields: [
            ["who", accountId, "T::AccountId"],
            ["amount", u128, "T::Balance"],
          ],
        },
      ],
    },
    ["pallet_balances", "pallet", "Event"],
  );

  // Probe: every kind of type
  const pair = t.add({ tuple: [u16, bool] });
  const pairs = t.add({ sequence: pair });
  const optionPairs = t.add(
    {
      variant: [
        { name: "None", index: 0 },
        { name: "Some", index: 1, fields: [[undefined, pairs]] },
      ],
    },
    ["Option"],
    [["T", pairs]],
  );
  const perbill = t.add({ composite: [[undefined, u32, "u32"]] }, ["sp_arithmetic", "per_things", "Perbill"]);
  const compactPerbill = t.add({ compact: perbill });
  const compactUnit = t.add({ compact: unit });
  const empty = t.add({ composite: [] }, ["probe", "Empty"]);
  const units = t.add({ sequence: unit });
  const lsb0 = t.add({ composite: [] }, ["bitvec", "order", "Lsb0"]);
  const msb0 = t.add({ composite: [] }, ["bitvec", "order", "Msb0"]);
  const bitsU8 = t.add({ bitSequence: [u8, lsb0] });
  const bitsU32 = t.add({ bitSequence: [u32, msb0] });
  const tree = t.reserve(["probe", "Tree"]);
  const trees = t.add({ sequence: tree });
  t.define(tree, {
    variant: [
      { name: "Leaf", index: 0, fields: [[undefined, u8, "u8"]] },
      { name: "Node", index: 1, fields: [[undefined, trees, "Vec<Tree>"]] },
    ],
  });
  const everything: FieldSpec[] = [
    ["flag", bool, "bool"],
    ["letter", p("char"), "char"],
    ["label", p("str"), "&'static str"],
    ["small", p("i8"), "i8"],
    ["signed", p("i64"), "i64"],
    ["huge", p("i128"), "i128"],
    ["big", p("u256"), "U256"],
    ["pair", pair, "(u16, bool)"],
    ["triple", t.add({ array: [3, u16] }), "[u16; 3]"],
    ["maybe", optionPairs, "Option<Vec<(u16, bool)>>"],
    ["ratio", compactPerbill, "Compact<Perbill>"],
    ["nothing", compactUnit, "Compact<()>"],
    ["empty", empty, "Empty"],
    ["units", units, "Vec<()>"],
    ["bits", bitsU8, "BitVec<u8, Lsb0>"],
    ["wide_bits", bitsU32, "BitVec<u32, Msb0>"],
    ["tree", tree, "Tree"],
  ];
  if (version === 2) everything.push(["extra", compactU64, "Compact<u64>"]);
  const probeEvent = t.add(
    {
      variant: [
        { name: "Everything", index: 0, fields: everything },
        { name: "Nothing", index: 1 },
        { name: "Tree", index: 2, fields: [[undefined, tree, "Tree"]] },
      ],
    },
    ["pallet_probe", "pallet", "Event"],
  );

  // pallet_tfgrid
  const boundedBytes = t.add(
    { composite: [[undefined, bytes, "Vec<T>"]] },
    ["bounded_collections", "bounded_vec", "BoundedVec"],
    [
      ["T", u8],
      ["S", undefined],
    ],
  );
  const optionBounded = t.add(
    {
      variant: [
        { name: "None", index: 0 },
        { name: "Some", index: 1, fields: [[undefined, boundedBytes]] },
      ],
    },
    ["Option"],
    [["T", boundedBytes]],
  );
  const entityProof = t.add(
    {
      composite: [
        ["entity_id", u32, "u32"],
        ["signature", bytes, "Vec<u8>"],
      ],
    },
    ["tfchain_support", "types", "EntityProof"],
  );
  const twin = t.add(
    {
      composite: [
        ["id", u32, "u32"],
        ["account_id", accountId, "AccountId"],
        ["relay", optionBounded, "Option<RelayOf<T>>"],
        ["entities", t.add({ sequence: entityProof }), "Vec<EntityProof>"],
        ["pk", optionBounded, "Option<PkOf<T>>"],
      ],
    },
    ["pallet_tfgrid", "types", "Twin"],
    [["AccountId", accountId]],
  );
  const power = t.add(
    {
      variant: [
        { name: "Up", index: 0 },
        { name: "Down", index: 1 },
      ],
    },
    ["tfchain_support", "types", "Power"],
  );
  const T = EVENT.TfgridModule;
  const tfgridEvent = t.add(
    {
      variant: [
        { name: "FarmDeleted", index: T.FarmDeleted, fields: [[undefined, u32, "u32"]] },
        {
          name: "NodeUptimeReported",
          index: T.NodeUptimeReported,
          fields: [
            [undefined, u32, "u32"],
            [undefined, u64, "u64"],
            [undefined, u64, "u64"],
          ],
        },
        { name: "TwinStored", index: T.TwinStored, fields: [[undefined, twin, "types::Twin<T::AccountId>"]] },
        {
          name: "TwinUpdated",
          index: T.TwinUpdated,
          fields: [[undefined, twin, "types::Twin<T::AccountId>"]],
        },
        {
          name: "TwinEntityStored",
          index: T.TwinEntityStored,
          fields: [
            [undefined, u32, "u32"],
            [undefined, u32, "u32"],
            [undefined, bytes, "Vec<u8>"],
          ],
        },
        {
          name: "TwinEntityRemoved",
          index: T.TwinEntityRemoved,
          fields: [
            [undefined, u32, "u32"],
            [undefined, u32, "u32"],
          ],
        },
        { name: "TwinDeleted", index: T.TwinDeleted, fields: [[undefined, u32, "u32"]] },
        {
          name: "TwinAccountBounded",
          index: T.TwinAccountBounded,
          fields: [
            [undefined, u32, "u32"],
            [undefined, accountId, "T::AccountId"],
          ],
        },
        {
          name: "PowerTargetChanged",
          index: T.PowerTargetChanged,
          fields: [
            ["farm_id", u32, "u32"],
            ["node_id", u32, "u32"],
            ["power_target", power, "Power"],
          ],
        },
      ],
    },
    ["pallet_tfgrid", "pallet", "Event"],
  );
  const tfgridCall = t.add(
    {
      variant: [
        {
          name: "create_twin",
          index: 17,
          fields: [
            ["relay", optionBounded, "RelayInput"],
            ["pk", optionBounded, "PkInput"],
          ],
        },
        {
          name: "update_twin",
          index: 18,
          fields: [
            ["relay", optionBounded, "RelayInput"],
            ["pk", optionBounded, "PkInput"],
          ],
        },
      ],
    },
    ["pallet_tfgrid", "pallet", "Call"],
  );
  const tfgridError = t.add(
    {
      variant: [
        "TwinExists",
        "TwinNotExists",
        "TwinWithPubkeyExists",
        "UserDidNotSignTermsAndConditions",
      ].map((name, index) => ({ name, index })),
    },
    ["pallet_tfgrid", "pallet", "Error"],
  );

  // the runtime
  const runtimeEvent = t.add(
    {
      variant: [
        {
          name: "System",
          index: PALLET.System,
          fields: [[undefined, systemEvent, "frame_system::Event<Runtime>"]],
        },
        {
          name: "Balances",
          index: PALLET.Balances,
          fields: [[undefined, balancesEvent, "pallet_balances::Event"]],
        },
        { name: "Probe", index: PALLET.Probe, fields: [[undefined, probeEvent, "pallet_probe::Event"]] },
        {
          name: "TfgridModule",
          index: PALLET.TfgridModule,
          fields: [[undefined, tfgridEvent, "pallet_tfgrid::Event<Runtime>"]],
        },
      ],
    },
    ["substrate_threefold_runtime", "RuntimeEvent"],
  );
  const phase = t.add(
    {
      variant: [
        { name: "ApplyExtrinsic", index: 0, fields: [[undefined, u32, "u32"]] },
        { name: "Finalization", index: 1 },
        { name: "Initialization", index: 2 },
      ],
    },
    ["frame_system", "Phase"],
  );
  const eventRecord = t.add(
    {
      composite: [
        ["phase", phase, "Phase"],
        ["event", runtimeEvent, "E"],
        ["topics", t.add({ sequence: h256 }), "Vec<T>"],
      ],
    },
    ["frame_system", "EventRecord"],
    [
      ["E", runtimeEvent],
      ["T", h256],
    ],
  );
  const eventRecords = t.add({ sequence: eventRecord });
  const extrinsic = t.add({ composite: [[undefined, bytes]] }, [
    "sp_runtime",
    "generic",
    "UncheckedExtrinsic",
  ]);
  const runtime = t.add({ composite: [] }, ["substrate_threefold_runtime", "Runtime"]);
  const compactU32 = t.add({ compact: u32 });
  const compactU128 = t.add({ compact: u128 });

  const u32le = (n: number) => new ScaleWriter().u32(n).finish();
  const pallets: PalletSpec[] = [
    {
      name: "System",
      index: PALLET.System,
      storage: [
        { name: "Number", plain: u32, default: u32le(0) },
        {
          name: "BlockHash",
          map: { hashers: ["Twox64Concat"], key: u32, value: h256 },
          default: new Uint8Array(32),
        },
        { name: "Events", plain: eventRecords, default: Uint8Array.of(0) },
      ],
      event: systemEvent,
      constants: [{ name: "BlockHashCount", type: u32, value: u32le(2400) }],
    },
    {
      name: "Timestamp",
      index: PALLET.Timestamp,
      storage: [{ name: "Now", plain: u64, default: new Uint8Array(8) }],
    },
    {
      name: "Balances",
      index: PALLET.Balances,
      event: balancesEvent,
      constants: [{ name: "ExistentialDeposit", type: u128, value: new Uint8Array(16) }],
    },
    { name: "Probe", index: PALLET.Probe, event: probeEvent },
    {
      name: "TfgridModule",
      index: PALLET.TfgridModule,
      storage: [
        {
          name: "Twins",
          map: { hashers: ["Blake2_128Concat"], key: u32, value: twin },
          default: Uint8Array.of(0),
        },
        {
          name: "TwinIdByAccountID",
          map: { hashers: ["Blake2_128Concat"], key: accountId, value: u32 },
          default: u32le(0),
        },
      ],
      calls: tfgridCall,
      event: tfgridEvent,
      error: tfgridError,
    },
  ];

  const w = new ScaleWriter(64 * 1024);
  w.raw(new TextEncoder().encode("meta")).u8(14);
  t.encode(w);
  w.vec(pallets, (ww, pallet) => {
    ww.text(pallet.name);
    ww.option(pallet.storage, (www, entries) => {
      www.text(pallet.name);
      www.vec(entries, (w4, entry) => {
        w4.text(entry.name);
        w4.u8("plain" in entry ? 1 : 0); // modifier: Default for plain values, Optional for maps
        if ("plain" in entry) w4.u8(0).compact(entry.plain);
        else {
          w4.u8(1);
          w4.vec(entry.map.hashers, (w5, h) => w5.u8(STORAGE_HASHERS.indexOf(h)));
          w4.compact(entry.map.key).compact(entry.map.value);
        }
        w4.bytes(entry.default);
        w4.vec([` ${entry.name}.`], (w5, line) => w5.text(line));
      });
    });
    ww.option(pallet.calls, (www, type) => www.compact(type));
    ww.option(pallet.event, (www, type) => www.compact(type));
    ww.vec(pallet.constants ?? [], (www, c) => {
      www.text(c.name).compact(c.type).bytes(c.value);
      www.vec([], (w4, line: string) => w4.text(line));
    });
    ww.option(pallet.error, (www, type) => www.compact(type));
    ww.u8(pallet.index);
  });
  w.compact(extrinsic).u8(4);
  const ext: Array<[string, number, number]> = [
    ["CheckSpecVersion", unit, u32],
    ["CheckTxVersion", unit, u32],
    ["CheckGenesis", unit, h256],
    ["CheckMortality", unit, h256],
    ["CheckNonce", compactU32, unit],
    ["CheckWeight", unit, unit],
    ["ChargeTransactionPayment", compactU128, unit],
  ];
  w.vec(ext, (ww, [identifier, type, additional]) => ww.text(identifier).compact(type).compact(additional));
  w.compact(runtime);
  return w.finish();
}

/** The phase of an event record. */
export type FakePhase = { applyExtrinsic: number } | "finalization" | "initialization";

/** One event record for `System.Events`: its pallet and event index and the SCALE bytes of its fields. */
export interface FakeEvent {
  phase: FakePhase;
  pallet: number;
  event: number;
  data: Uint8Array;
  topics?: Uint8Array[];
}

/** `Vec<EventRecord>` of the fake runtime. */
export function encodeEventRecords(records: readonly FakeEvent[]): Uint8Array {
  const w = new ScaleWriter(256);
  w.vec(records, (ww, record) => {
    if (typeof record.phase === "object") ww.u8(0).u32(record.phase.applyExtrinsic);
    else ww.u8(record.phase === "finalization" ? 1 : 2);
    ww.u8(record.pallet).u8(record.event).raw(record.data);
    ww.vec(record.topics ?? [], (www, topic) => www.raw(topic));
  });
  return w.finish();
}

const u128 = (w: ScaleWriter, value: bigint) => w.u64(value & 0xffff_ffff_ffff_ffffn).u64(value >> 64n);

/** `System.ExtrinsicSuccess { dispatch_info }` (or `ExtrinsicFailed` with a module error of `pallet`). */
export function systemExtrinsicEvent(
  phase: FakePhase,
  failure?: { pallet: number; error: number },
): FakeEvent {
  const w = new ScaleWriter();
  if (failure !== undefined)
    w.u8(3)
      .u8(failure.pallet)
      .raw(Uint8Array.of(failure.error, 0, 0, 0));
  w.compact(125_000_000n).compact(3_593n).u8(0).u8(0); // weight, class Normal, pays Yes
  return {
    phase,
    pallet: PALLET.System,
    event: failure === undefined ? EVENT.System.ExtrinsicSuccess : EVENT.System.ExtrinsicFailed,
    data: w.finish(),
  };
}

/** `Balances.Withdraw { who, amount }` / `Deposit { who, amount }`. */
export function balancesEvent(
  phase: FakePhase,
  kind: "Withdraw" | "Deposit",
  who: Uint8Array,
  amount: bigint,
) {
  const w = new ScaleWriter().raw(who);
  u128(w, amount);
  return { phase, pallet: PALLET.Balances, event: EVENT.Balances[kind], data: w.finish() };
}

/** `Probe.Everything { … }`, every kind of type, for runtime `version`; `seed` varies the values. */
export function probeEverythingEvent(phase: FakePhase, version: FakeRuntimeVersion, seed: number): FakeEvent {
  const w = new ScaleWriter(256);
  w.bool(seed % 2 === 0);
  w.u32(0x1f600); // char: 😀
  w.text(`block ${seed} ✓`);
  w.u8(0xfe); // i8 -2
  w.u64(0xffff_ffff_ffff_fffbn); // i64 -5
  u128(w, (1n << 128n) - 7n); // i128 -7
  w.raw(new Uint8Array(32).fill(seed & 0xff)); // u256
  w.u16(seed & 0xffff).bool(true); // (u16, bool)
  w.u16(1).u16(2).u16(3); // [u16; 3]
  w.u8(1).vec([4, 5], (ww, n) => ww.u16(n).bool(n % 2 === 0)); // Some(vec![(4, true), (5, false)])
  w.compact(500_000_000); // Compact<Perbill>: 50 %
  // Compact<()>, Empty: nothing
  w.compact(3); // Vec<()> of 3
  w.compact(10).raw(Uint8Array.of(0xff, 0x03)); // 10 bits in 2 u8
  w.compact(33).raw(new Uint8Array(8).fill(0xaa)); // 33 bits in 2 u32
  w.raw(Uint8Array.of(1, 8, 0, 1, 1, 4, 0, 2)); // Node([Leaf(1), Node([Leaf(2)])])
  if (version === 2) w.compact(BigInt(seed) * 1_000_000_007n);
  return { phase, pallet: PALLET.Probe, event: EVENT.Probe.Everything, data: w.finish() };
}

/** A `TfgridModule` event carrying a twin record. */
export function twinRecordEvent(
  phase: FakePhase,
  kind: "TwinStored" | "TwinUpdated",
  twin: ChainTwin,
): FakeEvent {
  return { phase, pallet: PALLET.TfgridModule, event: EVENT.TfgridModule[kind], data: encodeChainTwin(twin) };
}

/** Other `TfgridModule` events (skipped by the twin follower, or resetting caches). */
export function tfgridEvent(
  phase: FakePhase,
  event:
    | { kind: "NodeUptimeReported"; node: number; now: bigint; uptime: bigint }
    | { kind: "TwinEntityStored"; twin: number; entity: number; signature: Uint8Array }
    | { kind: "TwinDeleted"; twin: number }
    | { kind: "TwinAccountBounded"; twin: number; account: Uint8Array }
    | { kind: "PowerTargetChanged"; farm: number; node: number; up: boolean },
): FakeEvent {
  const w = new ScaleWriter();
  switch (event.kind) {
    case "NodeUptimeReported":
      w.u32(event.node).u64(event.now).u64(event.uptime);
      break;
    case "TwinEntityStored":
      w.u32(event.twin).u32(event.entity).bytes(event.signature);
      break;
    case "TwinDeleted":
      w.u32(event.twin);
      break;
    case "TwinAccountBounded":
      w.u32(event.twin).raw(event.account);
      break;
    case "PowerTargetChanged":
      w.u32(event.farm)
        .u32(event.node)
        .u8(event.up ? 0 : 1);
      break;
  }
  return { phase, pallet: PALLET.TfgridModule, event: EVENT.TfgridModule[event.kind], data: w.finish() };
}
