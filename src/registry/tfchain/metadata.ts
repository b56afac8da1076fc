import { MetadataError, ScaleDecodeError } from "./errors.js";
import { ScaleReader } from "./scale.js";

/**
 * A compact decoder of substrate runtime metadata **V14** (frame-metadata `RuntimeMetadataPrefixed`, what
 * `state_getMetadata` returns) with its portable type registry (scale-info), and a generic skipper of SCALE values
 * described by that registry. Enough to walk any `System.Events` blob: every event of every pallet can be skipped,
 * and the ones we want located, without knowing the pallets in advance.
 *
 * Layout (frame-metadata v14, scale-info 2; `Type` ids are `Compact<u32>`):
 *
 * ```text
 * RuntimeMetadataPrefixed = u32 magic "meta" (0x6174656d LE), u8 version (14), RuntimeMetadataV14
 * RuntimeMetadataV14      = types: Vec<PortableType>, pallets: Vec<PalletMetadata>, extrinsic: ExtrinsicMetadata, ty: Type
 * PortableType            = id: Compact<u32>, path: Vec<String>, params: Vec<{name: String, ty: Option<Type>}>,
 *                           def: TypeDef, docs: Vec<String>
 * TypeDef                 = 0 Composite(Vec<Field>) | 1 Variant(Vec<Variant>) | 2 Sequence(Type) | 3 Array(u32, Type)
 *                         | 4 Tuple(Vec<Type>) | 5 Primitive(u8) | 6 Compact(Type) | 7 BitSequence(store: Type, order: Type)
 * Field                   = name: Option<String>, ty: Type, type_name: Option<String>, docs: Vec<String>
 * Variant                 = name: String, fields: Vec<Field>, index: u8, docs: Vec<String>
 * PalletMetadata          = name: String, storage: Option<{prefix: String, entries: Vec<StorageEntry>}>,
 *                           calls: Option<Type>, event: Option<Type>, constants: Vec<Constant>, error: Option<Type>, index: u8
 * StorageEntry            = name: String, modifier: u8, ty: 0 Plain(Type) | 1 Map{hashers: Vec<u8>, key: Type, value: Type},
 *                           default: Vec<u8>, docs: Vec<String>
 * Constant                = name: String, ty: Type, value: Vec<u8>, docs: Vec<String>
 * ExtrinsicMetadata       = ty: Type, version: u8, signed_extensions: Vec<{identifier: String, ty: Type, additional_signed: Type}>
 * ```
 *
 * Docs are read and dropped. Decoding is strict: every byte must be consumed.
 */

/** `"meta"` read as a little-endian `u32`: the first four bytes of every runtime metadata blob. */
export const METADATA_MAGIC = 0x6174656d;

/** The metadata version this decoder reads. */
export const METADATA_VERSION = 14;

/** scale-info's primitive types, in their encoding order. */
export const PRIMITIVES = [
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
export type Primitive = (typeof PRIMITIVES)[number];

/** Byte size of the fixed-size primitives (`str` is length-prefixed). */
const PRIMITIVE_SIZE: Record<Exclude<Primitive, "str">, number> = {
  bool: 1,
  char: 4,
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  u128: 16,
  u256: 32,
  i8: 1,
  i16: 2,
  i32: 4,
  i64: 8,
  i128: 16,
  i256: 32,
};

/** A field of a composite type or of an enum variant. */
export interface MetadataField {
  name: string | undefined;
  type: number;
  typeName: string | undefined;
}

/** One variant of an enum type. */
export interface MetadataVariant {
  name: string;
  index: number;
  fields: MetadataField[];
}

/** The shape of a type (scale-info `TypeDef`). */
export type TypeDef =
  | { kind: "composite"; fields: MetadataField[] }
  | { kind: "variant"; variants: MetadataVariant[] }
  | { kind: "sequence"; type: number }
  | { kind: "array"; length: number; type: number }
  | { kind: "tuple"; types: number[] }
  | { kind: "primitive"; primitive: Primitive }
  | { kind: "compact"; type: number }
  | { kind: "bitSequence"; storeType: number; orderType: number };

/** A type of the registry. */
export interface PortableType {
  id: number;
  /** Rust path, e.g. `["pallet_tfgrid", "types", "Twin"]` (empty for primitives, tuples, …). */
  path: string[];
  params: Array<{ name: string; type: number | undefined }>;
  def: TypeDef;
}

/** A storage item of a pallet. */
export interface StorageEntryMetadata {
  name: string;
  modifier: "optional" | "default";
  type:
    | { kind: "plain"; value: number }
    | { kind: "map"; hashers: StorageHasher[]; key: number; value: number };
}

/** frame-metadata's storage hashers, in their encoding order. */
export const STORAGE_HASHERS = [
  "Blake2_128",
  "Blake2_256",
  "Blake2_128Concat",
  "Twox128",
  "Twox256",
  "Twox64Concat",
  "Identity",
] as const;
export type StorageHasher = (typeof STORAGE_HASHERS)[number];

/** A pallet of the runtime. */
export interface PalletMetadata {
  name: string;
  /** The pallet index (first byte of its calls, variant index of its events in `RuntimeEvent`). */
  index: number;
  storagePrefix: string | undefined;
  storage: StorageEntryMetadata[];
  callType: number | undefined;
  eventType: number | undefined;
  errorType: number | undefined;
  constants: Array<{ name: string; type: number; value: Uint8Array }>;
}

/** Decoded runtime metadata V14. */
export interface RuntimeMetadata {
  version: 14;
  types: TypeRegistry;
  pallets: PalletMetadata[];
  extrinsic: {
    type: number;
    version: number;
    signedExtensions: Array<{ identifier: string; type: number; additionalSigned: number }>;
  };
  runtimeType: number;
}

/** Deepest nesting of values {@link TypeRegistry.skip} follows (guards the stack against hostile metadata). */
export const MAX_VALUE_DEPTH = 128;

/**
 * The portable type registry: looks types up by id and skips values of any type in a {@link ScaleReader}.
 */
export class TypeRegistry {
  readonly #types: Map<number, PortableType>;
  readonly #zeroSized = new Map<number, boolean>();

  constructor(types: Iterable<PortableType>) {
    this.#types = new Map();
    for (const type of types) {
      if (this.#types.has(type.id)) throw new MetadataError(`type id ${type.id} is defined twice`);
      this.#types.set(type.id, type);
    }
  }

  /** Number of types. */
  get size(): number {
    return this.#types.size;
  }

  /** The type with this id; throws {@link MetadataError} when there is none. */
  get(id: number): PortableType {
    const type = this.#types.get(id);
    if (type === undefined) throw new MetadataError(`type id ${id} is not in the metadata's type registry`);
    return type;
  }

  /** The type with this id, skipping newtype wrappers (a composite of one field, e.g. `BoundedVec<u8>` → `Vec<u8>`). */
  resolve(id: number): PortableType {
    let type = this.get(id);
    for (let hops = 0; type.def.kind === "composite" && type.def.fields.length === 1; hops++) {
      if (hops > MAX_VALUE_DEPTH) throw new MetadataError(`type ${id} wraps itself`);
      type = this.get((type.def.fields[0] as MetadataField).type);
    }
    return type;
  }

  /** Whether values of this type take no bytes (`()`, empty structs, `[T; 0]`, `Compact<()>`, structs of such). */
  isZeroSized(id: number, depth = 0): boolean {
    const known = this.#zeroSized.get(id);
    if (known !== undefined) return known;
    if (depth > MAX_VALUE_DEPTH) throw new MetadataError(`type ${id} nests too deeply`);
    // A type that refers back to itself cannot be zero-sized and finite at once; assume not while deciding.
    this.#zeroSized.set(id, false);
    const def = this.get(id).def;
    let zero: boolean;
    switch (def.kind) {
      case "composite":
        zero = def.fields.every((f) => this.isZeroSized(f.type, depth + 1));
        break;
      case "tuple":
        zero = def.types.every((t) => this.isZeroSized(t, depth + 1));
        break;
      case "array":
        zero = def.length === 0 || this.isZeroSized(def.type, depth + 1);
        break;
      case "compact":
        zero = this.isZeroSized(def.type, depth + 1);
        break;
      default:
        zero = false;
    }
    this.#zeroSized.set(id, zero);
    return zero;
  }

  /** Moves `reader` past one value of type `id`. Throws `ScaleDecodeError` on bytes that do not fit the type. */
  skip(id: number, reader: ScaleReader, depth = 0): void {
    if (depth > MAX_VALUE_DEPTH)
      throw new ScaleDecodeError(`value nests deeper than ${MAX_VALUE_DEPTH} levels`);
    // Zero-sized values are skipped at once: walking them costs time and consumes nothing (a type made of many of
    // them must not cost more than the bytes it reads).
    if (this.isZeroSized(id)) return;
    const def = this.get(id).def;
    switch (def.kind) {
      case "composite":
        for (const field of def.fields) this.skip(field.type, reader, depth + 1);
        return;
      case "variant": {
        const index = reader.u8("enum variant index");
        const variant = def.variants.find((v) => v.index === index);
        if (variant === undefined) {
          throw new ScaleDecodeError(`variant index ${index} is not a variant of type ${this.#name(id)}`);
        }
        for (const field of variant.fields) this.skip(field.type, reader, depth + 1);
        return;
      }
      case "sequence": {
        const count = reader.compactNumber("sequence length");
        this.#skipMany(def.type, count, reader, depth);
        return;
      }
      case "array":
        this.#skipMany(def.type, def.length, reader, depth);
        return;
      case "tuple":
        for (const type of def.types) this.skip(type, reader, depth + 1);
        return;
      case "primitive":
        skipPrimitive(def.primitive, reader);
        return;
      case "compact":
        // (`Compact<()>` is zero-sized: skipped above.)
        reader.compact("compact value");
        return;
      case "bitSequence": {
        const store = this.resolve(def.storeType).def;
        if (store.kind !== "primitive" || !["u8", "u16", "u32", "u64"].includes(store.primitive)) {
          throw new MetadataError(`bit sequence type ${id} has a store type that is not u8/u16/u32/u64`);
        }
        const size = PRIMITIVE_SIZE[store.primitive as "u8" | "u16" | "u32" | "u64"];
        const bits = reader.compactNumber("bit sequence length");
        reader.skip(Math.ceil(bits / (8 * size)) * size, "bit sequence");
        return;
      }
    }
  }

  #skipMany(type: number, count: number, reader: ScaleReader, depth: number): void {
    if (this.isZeroSized(type)) return;
    const element = this.get(type).def;
    if (element.kind === "primitive" && element.primitive !== "str" && element.primitive !== "bool") {
      reader.skip(count * PRIMITIVE_SIZE[element.primitive], "sequence");
      return;
    }
    // Every element takes at least one byte: a count above what is left cannot be valid.
    if (count > reader.remaining) {
      throw new ScaleDecodeError(
        `truncated input: ${count} elements claimed, ${reader.remaining} bytes left`,
      );
    }
    for (let i = 0; i < count; i++) this.skip(type, reader, depth + 1);
  }

  #name(id: number): string {
    const type = this.#types.get(id);
    return type === undefined || type.path.length === 0 ? `#${id}` : `${type.path.join("::")} (#${id})`;
  }
}

function skipPrimitive(primitive: Primitive, reader: ScaleReader): void {
  if (primitive === "str") {
    reader.skip(reader.compactNumber("string length"), "string");
  } else if (primitive === "bool") {
    reader.bool();
  } else {
    reader.skip(PRIMITIVE_SIZE[primitive], primitive);
  }
}

/**
 * Decodes `state_getMetadata`'s bytes. Throws {@link MetadataError} when they are not metadata V14 and
 * `ScaleDecodeError` when they are malformed.
 */
export function decodeMetadata(bytes: Uint8Array): RuntimeMetadata {
  const reader = new ScaleReader(bytes);
  if (reader.remaining < 5 || reader.u32("metadata magic") !== METADATA_MAGIC) {
    throw new MetadataError('the bytes are not runtime metadata (no "meta" magic)');
  }
  const version = reader.u8("metadata version");
  if (version !== METADATA_VERSION) {
    throw new MetadataError(
      `runtime metadata version ${version} is not supported (only ${METADATA_VERSION})`,
    );
  }
  const types = reader.vec(readPortableType, "metadata types");
  const pallets = reader.vec(readPallet, "metadata pallets");
  const extrinsic = {
    type: typeId(reader),
    version: reader.u8("extrinsic version"),
    signedExtensions: reader.vec(
      (r) => ({ identifier: r.text("signed extension"), type: typeId(r), additionalSigned: typeId(r) }),
      "signed extensions",
    ),
  };
  const runtimeType = typeId(reader);
  reader.end("runtime metadata");
  return { version: METADATA_VERSION, types: new TypeRegistry(types), pallets, extrinsic, runtimeType };
}

function typeId(reader: ScaleReader): number {
  return reader.compactNumber("type id", 0xffff_ffff);
}

function docs(reader: ScaleReader): void {
  reader.vec((r) => r.text("doc line"), "docs");
}

function optionalText(reader: ScaleReader, what: string): string | undefined {
  return reader.option((r) => r.text(what), what);
}

function readFields(reader: ScaleReader): MetadataField[] {
  return reader.vec((r) => {
    const name = optionalText(r, "field name");
    const type = typeId(r);
    const typeName = optionalText(r, "field type name");
    docs(r);
    return { name, type, typeName };
  }, "fields");
}

function readPortableType(reader: ScaleReader): PortableType {
  const id = typeId(reader);
  const path = reader.vec((r) => r.text("path segment"), "type path");
  const params = reader.vec(
    (r) => ({ name: r.text("type parameter"), type: r.option(typeId, "type parameter type") }),
    "type parameters",
  );
  const def = readTypeDef(reader);
  docs(reader);
  return { id, path, params, def };
}

function readTypeDef(reader: ScaleReader): TypeDef {
  const tag = reader.u8("type definition");
  switch (tag) {
    case 0:
      return { kind: "composite", fields: readFields(reader) };
    case 1:
      return {
        kind: "variant",
        variants: reader.vec((r) => {
          const name = r.text("variant name");
          const fields = readFields(r);
          const index = r.u8("variant index");
          docs(r);
          return { name, index, fields };
        }, "variants"),
      };
    case 2:
      return { kind: "sequence", type: typeId(reader) };
    case 3:
      return { kind: "array", length: reader.u32("array length"), type: typeId(reader) };
    case 4:
      return { kind: "tuple", types: reader.vec(typeId, "tuple") };
    case 5: {
      const index = reader.u8("primitive");
      const primitive = PRIMITIVES[index];
      if (primitive === undefined) throw new ScaleDecodeError(`unknown primitive type ${index}`);
      return { kind: "primitive", primitive };
    }
    case 6:
      return { kind: "compact", type: typeId(reader) };
    case 7:
      return { kind: "bitSequence", storeType: typeId(reader), orderType: typeId(reader) };
    default:
      throw new ScaleDecodeError(`unknown type definition tag ${tag}`);
  }
}

function readPallet(reader: ScaleReader): PalletMetadata {
  const name = reader.text("pallet name");
  const storage = reader.option(
    (r) => ({
      prefix: r.text("storage prefix"),
      entries: r.vec(readStorageEntry, "storage entries"),
    }),
    "pallet storage",
  );
  const callType = reader.option(typeId, "pallet calls");
  const eventType = reader.option(typeId, "pallet event");
  const constants = reader.vec((r) => {
    const constant = { name: r.text("constant name"), type: typeId(r), value: r.bytes("constant value") };
    docs(r);
    return constant;
  }, "constants");
  const errorType = reader.option(typeId, "pallet error");
  const index = reader.u8("pallet index");
  return {
    name,
    index,
    storagePrefix: storage?.prefix,
    storage: storage?.entries ?? [],
    callType,
    eventType,
    errorType,
    constants,
  };
}

function readStorageEntry(reader: ScaleReader): StorageEntryMetadata {
  const name = reader.text("storage entry name");
  const modifierTag = reader.u8("storage modifier");
  if (modifierTag > 1) throw new ScaleDecodeError(`unknown storage modifier ${modifierTag}`);
  const typeTag = reader.u8("storage entry type");
  let type: StorageEntryMetadata["type"];
  if (typeTag === 0) {
    type = { kind: "plain", value: typeId(reader) };
  } else if (typeTag === 1) {
    const hashers = reader.vec((r) => {
      const index = r.u8("storage hasher");
      const hasher = STORAGE_HASHERS[index];
      if (hasher === undefined) throw new ScaleDecodeError(`unknown storage hasher ${index}`);
      return hasher;
    }, "storage hashers");
    type = { kind: "map", hashers, key: typeId(reader), value: typeId(reader) };
  } else {
    throw new ScaleDecodeError(`unknown storage entry type ${typeTag}`);
  }
  reader.bytes("storage default");
  docs(reader);
  return { name, modifier: modifierTag === 0 ? "optional" : "default", type };
}
