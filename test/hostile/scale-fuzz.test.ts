import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type ChainTwin,
  decodeChainTwin,
  decodeCompact,
  decodeMetadata,
  decodePkField,
  decodeTwin,
  EventsDecoder,
  encodeChainTwin,
  encodeCompact,
  MetadataError,
  ScaleDecodeError,
  ScaleReader,
} from "../../src/registry/tfchain/index.js";
import {
  encodeEventRecords,
  type FakeEvent,
  fakeRuntimeMetadata,
  PALLET,
  probeEverythingEvent,
  systemExtrinsicEvent,
  tfgridEvent,
  twinRecordEvent,
} from "../support/fake-runtime.js";
import { fuzzParams, fuzzRuns, timeoutFor } from "./fuzz-config.js";
import { HUGE_COMPACTS, mutatedBytes, onlyTyped } from "./mutate.js";

const RUNS = fuzzRuns(2000);

const chainTwin: fc.Arbitrary<ChainTwin> = fc.record({
  id: fc.integer({ min: 0, max: 0xffffffff }),
  accountId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  relay: fc.option(fc.uint8Array({ maxLength: 80 }), { nil: undefined }),
  entities: fc.array(
    fc.record({
      entityId: fc.integer({ min: 0, max: 0xffffffff }),
      signature: fc.uint8Array({ maxLength: 70 }),
    }),
    { maxLength: 3 },
  ),
  pk: fc.option(
    fc.oneof(fc.uint8Array({ minLength: 33, maxLength: 33 }), fc.uint8Array({ maxLength: 128 })),
    {
      nil: undefined,
    },
  ),
});
const validTwin = chainTwin.map(encodeChainTwin);

/** Size in bytes of the compact integer whose first byte is `first`. */
function compactSize(first: number): number {
  const mode = first & 3;
  return mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : (first >> 2) + 5;
}

/** Offsets of the compact length prefixes of a twin record (relay, entity count, signatures, pk), best effort. */
function twinLengthOffsets(b: Uint8Array): { offset: number; size: number }[] {
  const out: { offset: number; size: number }[] = [];
  let pos = 36;
  const compact = (): number | undefined => {
    if (pos >= b.length) return undefined;
    const size = compactSize(b[pos] as number);
    if (pos + size > b.length) return undefined;
    out.push({ offset: pos, size });
    let value = 0;
    if (size <= 4) for (let i = size - 1; i >= 0; i--) value = value * 256 + (b[pos + i] as number);
    pos += size;
    return size <= 4 ? value / 4 : Number.POSITIVE_INFINITY;
  };
  const optionBytes = (): boolean => {
    if (b[pos++] !== 1) return true;
    const len = compact();
    if (len === undefined) return false;
    pos += Math.floor(len);
    return pos <= b.length;
  };
  if (!optionBytes()) return out;
  const count = compact();
  for (let i = 0; count !== undefined && i < count && i < 8; i++) {
    pos += 4;
    const len = compact();
    if (len === undefined) return out;
    pos += Math.floor(len);
  }
  optionBytes();
  return out;
}

describe("hostile input — SCALE twin records (src/registry/tfchain/twin-codec.ts, scale.ts)", () => {
  test("random and mutated records decode or throw ScaleDecodeError; what decodes re-encodes to the same bytes", {
    timeout: timeoutFor(RUNS, 0.2),
  }, () => {
    let decoded = 0;
    let refused = 0;
    const hostile = fc.oneof(
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      { weight: 3, arbitrary: mutatedBytes(validTwin, HUGE_COMPACTS, twinLengthOffsets) },
    );
    fc.assert(
      fc.property(hostile, (bytes) => {
        const outcome = onlyTyped(decodeChainTwin, bytes, ScaleDecodeError);
        onlyTyped(decodeTwin, bytes, ScaleDecodeError);
        if (outcome !== "ok") {
          refused++;
          assert.equal((outcome as ScaleDecodeError).code, "RMB_ERR_SCALE_DECODE");
          return;
        }
        decoded++;
        // Decoding is strict (canonical compacts, 0/1 option tags, bounded lengths, nothing left over), so whatever
        // it accepts is exactly one encoding.
        assert.deepEqual(encodeChainTwin(decodeChainTwin(bytes)), bytes);
      }),
      fuzzParams(RUNS),
    );
    assert.ok(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
  });

  test("compact integers and the pk field: random bytes decode or throw ScaleDecodeError", {
    timeout: timeoutFor(RUNS, 0.1),
  }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        if (onlyTyped(decodeCompact, bytes, ScaleDecodeError) === "ok")
          assert.deepEqual(encodeCompact(decodeCompact(bytes)), bytes);
        onlyTyped(
          (b: Uint8Array) => new ScaleReader(b).vec((r) => r.bytes("item", 64), "list", 1000),
          bytes,
          ScaleDecodeError,
        );
        onlyTyped(
          (b: Uint8Array) => new ScaleReader(b).option((r) => r.compactNumber(), "opt"),
          bytes,
          ScaleDecodeError,
        );
        const pk = onlyTyped(decodePkField, bytes) === "ok" ? decodePkField(bytes) : undefined;
        assert.ok(pk === undefined || pk.length === 33);
      }),
      fuzzParams(RUNS),
    );
  });

  test("huge declared lengths and counts are refused from the bytes at hand, without allocating them", () => {
    const head = new Uint8Array(36); // id + account id
    const cases = [
      ...HUGE_COMPACTS.map((c) => Uint8Array.of(...head, 1, ...c, 0x61)), // relay of 2^30…2^64 bytes
      ...HUGE_COMPACTS.map((c) => Uint8Array.of(...head, 0, ...c, 0)), // 2^30… entities
      ...HUGE_COMPACTS.map((c) => Uint8Array.of(...head, 0, 4, 1, 0, 0, 0, ...c, 0)), // one entity, huge signature
      ...HUGE_COMPACTS.map((c) => Uint8Array.of(...head, 0, 0, 1, ...c, 2)), // pk of 2^30… bytes
    ];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 2000; i++) {
      for (const bytes of cases) {
        assert.throws(
          () => decodeChainTwin(bytes),
          (e: unknown) =>
            e instanceof ScaleDecodeError && /above the limit|truncated input|claims/.test(e.message),
        );
      }
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
  });
});

describe("hostile input — runtime metadata and System.Events (src/registry/tfchain/metadata.ts, events.ts)", () => {
  const METADATA_RUNS = fuzzRuns(300);
  const EVENTS_RUNS = fuzzRuns(1000);
  const metadata = decodeMetadata(fakeRuntimeMetadata(1));
  const decoder = new EventsDecoder(metadata);
  const phase = fc.oneof(
    fc.integer({ min: 0, max: 9 }).map((n) => ({ applyExtrinsic: n })),
    fc.constantFrom("finalization" as const, "initialization" as const),
  );
  const record: fc.Arbitrary<FakeEvent> = fc.oneof(
    fc.tuple(phase, fc.integer({ min: 0, max: 1000 })).map(([p, seed]) => probeEverythingEvent(p, 1, seed)),
    fc.tuple(phase, chainTwin).map(([p, twin]) => twinRecordEvent(p, "TwinUpdated", twin)),
    fc
      .tuple(phase, fc.boolean())
      .map(([p, failed]) =>
        systemExtrinsicEvent(p, failed ? { pallet: PALLET.TfgridModule, error: 1 } : undefined),
      ),
    fc
      .tuple(phase, fc.uint8Array({ maxLength: 40 }))
      .map(([p, signature]) => tfgridEvent(p, { kind: "TwinEntityStored", twin: 1, entity: 2, signature })),
  );
  const validEvents = fc.array(record, { maxLength: 6 }).map(encodeEventRecords);

  test("mutated metadata decodes or throws ScaleDecodeError / MetadataError", {
    timeout: timeoutFor(METADATA_RUNS, 5),
  }, () => {
    let refused = 0;
    const valid = fc.constant(fakeRuntimeMetadata(1));
    fc.assert(
      fc.property(mutatedBytes(valid, HUGE_COMPACTS), (bytes) => {
        const outcome = onlyTyped(
          (b: Uint8Array) => {
            const decoded = decodeMetadata(b);
            const events = new EventsDecoder(decoded);
            events.decode(Uint8Array.of(0));
          },
          bytes,
          ScaleDecodeError,
          MetadataError,
        );
        if (outcome !== "ok") refused++;
      }),
      fuzzParams(METADATA_RUNS),
    );
    assert.ok(refused > 0);
  });

  test("random and mutated System.Events decode or throw ScaleDecodeError / MetadataError; valid ones decode whole", {
    timeout: timeoutFor(EVENTS_RUNS, 0.5),
  }, () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 6 }), (records) => {
        assert.equal(decoder.decode(encodeEventRecords(records)).length, records.length);
      }),
      fuzzParams(Math.ceil(EVENTS_RUNS / 4)),
    );
    let decoded = 0;
    let refused = 0;
    const hostile = fc.oneof(
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
      { weight: 3, arbitrary: mutatedBytes(validEvents, HUGE_COMPACTS) },
    );
    fc.assert(
      fc.property(hostile, (bytes) => {
        if (onlyTyped((b: Uint8Array) => decoder.decode(b), bytes, ScaleDecodeError, MetadataError) === "ok")
          decoded++;
        else refused++;
      }),
      fuzzParams(EVENTS_RUNS),
    );
    assert.ok(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
  });
});
