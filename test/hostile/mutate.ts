import fc from "fast-check";
import { SLOW_CASE_MS } from "./fuzz-config.js";

/**
 * Mutations of valid inputs (what a fuzzer does to a corpus): bit flips, byte overwrites, truncation, insertion,
 * deletion, duplication of a slice, and length-field inflation (a length prefix replaced by a huge value). Positions
 * are drawn as plain numbers and taken modulo the input length, so one mutation list applies to any input.
 */
export type ByteMutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "duplicate"; at: number; count: number }
  | { kind: "inflate"; at: number; with: Uint8Array };

/** Protobuf varints of huge lengths: 2^31−1, 2^32−1, 2^35, 2^53, 2^63 and a 10-byte 2^64−1. */
export const HUGE_VARINTS: readonly Uint8Array[] = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x07),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
];

/** SCALE compact integers of huge lengths: 2^30−1 (4-byte mode), 2^32−1, 2^53 and 2^64−1 (big-integer mode). */
export const HUGE_COMPACTS: readonly Uint8Array[] = [
  Uint8Array.of(0xfe, 0xff, 0xff, 0xff),
  Uint8Array.of(0x03, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x0f, 0, 0, 0, 0, 0, 0, 0x20),
  Uint8Array.of(0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
];

/** One mutation; `lengthFields` are the huge length encodings of the format (varints or compacts). */
export function byteMutation(lengthFields: readonly Uint8Array[]): fc.Arbitrary<ByteMutation> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant("set" as const),
      at,
      value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12),
    }),
    fc.record({ kind: fc.constant("truncate" as const), at }),
    fc.record({
      kind: fc.constant("insert" as const),
      at,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    }),
    fc.record({ kind: fc.constant("delete" as const), at, count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant("duplicate" as const), at, count: fc.integer({ min: 1, max: 32 }) }),
    fc.record({ kind: fc.constant("inflate" as const), at, with: fc.constantFrom(...lengthFields) }),
  );
}

/**
 * Applies `mutations` in order. An `inflate` replaces the length prefix at one of `lengthOffsets` (chosen by `at`)
 * when there are any, else the byte at `at`, by a huge length.
 */
export function applyByteMutations(
  input: Uint8Array,
  mutations: readonly ByteMutation[],
  lengthOffsets: (bytes: Uint8Array) => { offset: number; size: number }[] = () => [],
): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (const m of mutations) {
    const n = b.length;
    const i = n === 0 ? 0 : m.at % n;
    switch (m.kind) {
      case "flip":
        if (n > 0) b[i] = (b[i] as number) ^ (1 << m.bit);
        break;
      case "set":
        if (n > 0) b[i] = m.value;
        break;
      case "truncate":
        b = b.slice(0, m.at % (n + 1));
        break;
      case "insert": {
        const j = m.at % (n + 1);
        b = concat(b.subarray(0, j), m.bytes, b.subarray(j));
        break;
      }
      case "delete":
        b = concat(b.subarray(0, i), b.subarray(i + m.count));
        break;
      case "duplicate":
        b = concat(b.subarray(0, i), b.subarray(i, i + m.count), b.subarray(i));
        break;
      case "inflate": {
        const fields = lengthOffsets(b);
        const field = fields.length > 0 ? fields[m.at % fields.length] : { offset: i, size: n > 0 ? 1 : 0 };
        if (field === undefined) break;
        b = concat(b.subarray(0, field.offset), m.with, b.subarray(field.offset + field.size));
        break;
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `valid` mutated by 1–4 mutations. */
export function mutatedBytes(
  valid: fc.Arbitrary<Uint8Array>,
  lengthFields: readonly Uint8Array[],
  lengthOffsets?: (bytes: Uint8Array) => { offset: number; size: number }[],
): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(byteMutation(lengthFields), { minLength: 1, maxLength: 4 }))
    .map(([bytes, ms]) => applyByteMutations(bytes, ms, lengthOffsets));
}

/**
 * Offsets and sizes of the length prefixes of length-delimited fields in protobuf bytes, descending into nested
 * fields that themselves parse as messages. Stops at the first malformed byte (it is a best-effort hint).
 */
export function protobufLengthOffsets(bytes: Uint8Array): { offset: number; size: number }[] {
  const out: { offset: number; size: number }[] = [];
  scan(bytes, 0, bytes.length, out, 0);
  return out;
}

function readVarint(b: Uint8Array, pos: number, end: number): [value: number, next: number] | undefined {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const byte = b[pos++] as number;
    value += (byte & 0x7f) * factor;
    if (byte < 0x80) return [value, pos];
    factor *= 128;
  }
  return undefined;
}

function scan(
  b: Uint8Array,
  start: number,
  end: number,
  out: { offset: number; size: number }[],
  depth: number,
): boolean {
  let pos = start;
  const found: { offset: number; size: number }[] = [];
  while (pos < end) {
    const key = readVarint(b, pos, end);
    if (key === undefined || key[0] < 8) return false;
    pos = key[1];
    const wire = key[0] % 8;
    if (wire === 0) {
      const v = readVarint(b, pos, end);
      if (v === undefined) return false;
      pos = v[1];
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint(b, pos, end);
      if (len === undefined || len[1] + len[0] > end) return false;
      found.push({ offset: pos, size: len[1] - pos });
      if (depth < 3 && len[0] > 0) scan(b, len[1], len[1] + len[0], found, depth + 1);
      pos = len[1] + len[0];
    } else return false;
    if (pos > end) return false;
  }
  out.push(...found);
  return true;
}

/** Text mutations: a character replaced, deleted or duplicated, the text cut, or a JSON-ish snippet inserted. */
export type TextMutation =
  | { kind: "replace"; at: number; with: string }
  | { kind: "delete"; at: number; count: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "duplicate"; at: number; count: number };

/** Snippets that stress JSON parsers and the code after them. */
export const JSON_SNIPPETS = [
  '"',
  "\\",
  "\\u0000",
  "\\ud800",
  "null",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  '{"a":',
  "1e999",
  "-0",
  "-1",
  "9007199254740993",
  "18446744073709551616",
  "4294967296",
  "0.5",
  "true",
  '"__proto__":{}',
  '"constructor":1',
  "\u2028",
  "\ufeff",
  "\u{1f600}",
  "=",
  "==",
  "+/",
  "-_",
  "%",
  ".",
  "  ",
] as const;

const charArb = fc.oneof(
  fc.constantFrom(...'{}[]":,\\0123456789eE.+-ntfrulsa= /_%'),
  fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
);

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), with: charArb }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...JSON_SNIPPETS), fc.string({ maxLength: 8, unit: "binary" })),
  }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 40 }),
  }),
);

export function applyTextMutations(input: string, mutations: readonly TextMutation[]): string {
  let s = input;
  for (const m of mutations) {
    const n = s.length;
    const i = n === 0 ? 0 : m.at % n;
    switch (m.kind) {
      case "replace":
        s = n === 0 ? m.with : s.slice(0, i) + m.with + s.slice(i + 1);
        break;
      case "delete":
        s = s.slice(0, i) + s.slice(i + m.count);
        break;
      case "truncate":
        s = s.slice(0, m.at % (n + 1));
        break;
      case "insert": {
        const j = m.at % (n + 1);
        s = s.slice(0, j) + m.text + s.slice(j);
        break;
      }
      case "duplicate":
        s = s.slice(0, i) + s.slice(i, i + m.count) + s.slice(i);
        break;
    }
  }
  return s;
}

/** `valid` text mutated by 1–4 text mutations. */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.array(textMutation, { minLength: 1, maxLength: 4 }))
    .map(([s, ms]) => applyTextMutations(s, ms));
}

/**
 * Structural mutations of a JSON object (what a buggy or hostile client sends): a field set to any JSON value,
 * removed, re-keyed with other letter case, or an extra field added. Returns the JSON text.
 */
export function mutatedJsonObject(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("recase" as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant("add" as const),
      key: fc.string({ maxLength: 8 }),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
  );
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([object, edits]) => {
    const o: Record<string, unknown> = { ...object };
    for (const e of edits) {
      const keys = Object.keys(o);
      const key = keys.length === 0 ? "x" : (keys[("at" in e ? e.at : 0) % keys.length] as string);
      if (e.kind === "set") o[key] = e.value;
      else if (e.kind === "remove") delete o[key];
      else if (e.kind === "recase") {
        const value = o[key];
        delete o[key];
        o[key.toUpperCase()] = value;
      } else
        Object.defineProperty(o, e.key, {
          value: e.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return JSON.stringify(o);
  });
}

/** A constructor of an error class, for {@link onlyTyped}. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `fn(input)`; returns `"ok"` or the typed error it threw. Anything thrown that is not an instance of one of
 * `allowed` fails the property with its class and message; a case slower than `SLOW_CASE_MS` fails it too.
 */
export function onlyTyped<I>(fn: (input: I) => unknown, input: I, ...allowed: ErrorClass[]): "ok" | Error {
  const start = performance.now();
  let outcome: "ok" | Error;
  try {
    fn(input);
    outcome = "ok";
  } catch (e) {
    if (!allowed.some((c) => e instanceof c)) {
      const name = e instanceof Error ? e.constructor.name : typeof e;
      throw new Error(`unexpected ${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    outcome = e as Error;
  }
  const ms = performance.now() - start;
  if (ms > SLOW_CASE_MS) throw new Error(`one case took ${ms.toFixed(0)} ms: ${describeInput(input)}`);
  return outcome;
}

function describeInput(input: unknown): string {
  if (input instanceof Uint8Array)
    return `${input.length} bytes ${Buffer.from(input.subarray(0, 64)).toString("hex")}`;
  const text = typeof input === "string" ? input : JSON.stringify(input);
  return text === undefined ? String(input) : text.slice(0, 200);
}
