import { MetadataError, ScaleDecodeError } from "./errors.js";
import type { MetadataField, MetadataVariant, RuntimeMetadata, TypeRegistry } from "./metadata.js";
import { ScaleReader } from "./scale.js";
import { storagePrefix } from "./storage-key.js";

/**
 * Decoding of `System.Events`, the `Vec<EventRecord>` a block leaves in storage, with the runtime metadata:
 *
 * ```text
 * EventRecord = { phase: Phase, event: RuntimeEvent, topics: Vec<Hash> }
 * RuntimeEvent = enum { <Pallet>(<pallet's Event enum>) at the pallet's index, … }
 * ```
 *
 * The record, the phase and the outer event enum are read from the metadata (`System.Events`' storage type), not
 * assumed; every event of every pallet is walked with the type registry, so foreign events of any shape are
 * skipped. Each event is returned with the raw bytes of its fields, for the caller to decode the ones it wants.
 */

/** `twox128("System") ‖ twox128("Events")`: the storage key of the current block's events. */
export const SYSTEM_EVENTS_STORAGE_KEY: Uint8Array = storagePrefix("System", "Events");

/** One event of a block. */
export interface ChainEvent {
  /** Name of the phase variant: `ApplyExtrinsic`, `Finalization` or `Initialization`. */
  phase: string;
  /** Index of the extrinsic that emitted it (phase `ApplyExtrinsic`). */
  extrinsic: number | undefined;
  /** Pallet name as in `construct_runtime!` (the `RuntimeEvent` variant), e.g. `TfgridModule`. */
  pallet: string;
  /** Event name (the variant of the pallet's `Event` enum), e.g. `TwinStored`. */
  name: string;
  /** The SCALE bytes of each of the event's fields, in order. */
  fields: Uint8Array[];
}

/** The positions of the interesting parts of `EventRecord`, found in the metadata. */
interface RecordLayout {
  recordType: number;
  recordFields: MetadataField[];
  phaseField: number;
  eventField: number;
  /** `RuntimeEvent` variants by index. */
  pallets: Map<number, MetadataVariant>;
}

/** Decodes `System.Events` values with one runtime's metadata. */
export class EventsDecoder {
  readonly metadata: RuntimeMetadata;
  readonly #types: TypeRegistry;
  readonly #layout: RecordLayout;

  /** Throws {@link MetadataError} when the metadata has no usable `System.Events`. */
  constructor(metadata: RuntimeMetadata) {
    this.metadata = metadata;
    this.#types = metadata.types;
    this.#layout = recordLayout(metadata);
  }

  /**
   * The variants of `pallet`'s `Event` enum (by name), or `undefined` when the runtime has no such pallet or it
   * has no events.
   */
  palletEvents(pallet: string): Map<string, MetadataVariant> | undefined {
    const found = this.metadata.pallets.find((p) => p.name === pallet);
    if (found?.eventType === undefined) return undefined;
    const def = this.#types.get(found.eventType).def;
    if (def.kind !== "variant") return undefined;
    return new Map(def.variants.map((v) => [v.name, v]));
  }

  /** Decodes a `System.Events` value (all of it). Throws `ScaleDecodeError` when it does not fit the metadata. */
  decode(bytes: Uint8Array): ChainEvent[] {
    const reader = new ScaleReader(bytes);
    const count = reader.compactNumber("number of event records");
    if (count > reader.remaining) {
      throw new ScaleDecodeError(
        `truncated input: ${count} event records claimed, ${reader.remaining} bytes left`,
      );
    }
    const events: ChainEvent[] = [];
    const layout = this.#layout;
    for (let i = 0; i < count; i++) {
      let phase = "";
      let extrinsic: number | undefined;
      let event: Pick<ChainEvent, "pallet" | "name" | "fields"> | undefined;
      for (let position = 0; position < layout.recordFields.length; position++) {
        const field = layout.recordFields[position] as MetadataField;
        if (position === layout.phaseField) [phase, extrinsic] = this.#phase(field.type, reader);
        else if (position === layout.eventField) event = this.#event(reader, bytes);
        else this.#types.skip(field.type, reader);
      }
      if (event === undefined) throw new ScaleDecodeError("an event record without an event");
      events.push({ phase, extrinsic, ...event });
    }
    reader.end("System.Events");
    return events;
  }

  #phase(type: number, reader: ScaleReader): [string, number | undefined] {
    const def = this.#types.get(type).def;
    if (def.kind !== "variant") {
      this.#types.skip(type, reader);
      return ["", undefined];
    }
    const index = reader.u8("phase");
    const variant = def.variants.find((v) => v.index === index);
    if (variant === undefined) throw new ScaleDecodeError(`unknown phase variant ${index}`);
    if (variant.fields.length === 1) {
      const fieldType = this.#types.get((variant.fields[0] as MetadataField).type).def;
      if (fieldType.kind === "primitive" && fieldType.primitive === "u32") {
        return [variant.name, reader.u32("extrinsic index")];
      }
    }
    for (const field of variant.fields) this.#types.skip(field.type, reader);
    return [variant.name, undefined];
  }

  #event(reader: ScaleReader, bytes: Uint8Array): Pick<ChainEvent, "pallet" | "name" | "fields"> {
    const palletIndex = reader.u8("event pallet index");
    const pallet = this.#layout.pallets.get(palletIndex);
    if (pallet === undefined) throw new ScaleDecodeError(`no pallet with index ${palletIndex} has events`);
    const [inner] = pallet.fields;
    if (pallet.fields.length !== 1 || inner === undefined) {
      // Not the usual `Pallet(pallet::Event)` shape: report the variant's fields as the event's.
      return { pallet: pallet.name, name: "", fields: this.#fields(pallet.fields, reader, bytes) };
    }
    const def = this.#types.get(inner.type).def;
    if (def.kind !== "variant") {
      return { pallet: pallet.name, name: "", fields: this.#fields([inner], reader, bytes) };
    }
    const index = reader.u8("event index");
    const variant = def.variants.find((v) => v.index === index);
    if (variant === undefined) {
      throw new ScaleDecodeError(`event index ${index} is not an event of pallet ${pallet.name}`);
    }
    return { pallet: pallet.name, name: variant.name, fields: this.#fields(variant.fields, reader, bytes) };
  }

  #fields(fields: MetadataField[], reader: ScaleReader, bytes: Uint8Array): Uint8Array[] {
    return fields.map((field) => {
      const start = reader.offset;
      this.#types.skip(field.type, reader);
      return bytes.subarray(start, reader.offset);
    });
  }
}

function recordLayout(metadata: RuntimeMetadata): RecordLayout {
  const types = metadata.types;
  const system = metadata.pallets.find((p) => p.name === "System");
  const entry = system?.storage.find((e) => e.name === "Events");
  if (entry === undefined) throw new MetadataError("the runtime metadata has no System.Events storage item");
  if (entry.type.kind !== "plain") throw new MetadataError("System.Events is not a plain storage value");
  const vec = types.get(entry.type.value).def;
  if (vec.kind !== "sequence") throw new MetadataError("System.Events is not a sequence of event records");
  const record = types.get(vec.type).def;
  if (record.kind !== "composite") throw new MetadataError("an event record is not a struct");
  const eventField = record.fields.findIndex((f) => f.name === "event");
  const phaseField = record.fields.findIndex((f) => f.name === "phase");
  if (eventField < 0) throw new MetadataError("an event record has no `event` field");
  const outer = types.get((record.fields[eventField] as MetadataField).type).def;
  if (outer.kind !== "variant") throw new MetadataError("the runtime event type is not an enum");
  return {
    recordType: vec.type,
    recordFields: record.fields,
    phaseField,
    eventField,
    pallets: new Map(outer.variants.map((v) => [v.index, v])),
  };
}
