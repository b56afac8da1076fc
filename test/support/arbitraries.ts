import fc from "fast-check";
import type { Envelope, EnvelopeMessage } from "../../src/protocol/index.js";

const text = fc.string({ unit: "grapheme", maxLength: 40 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.maxSafeNat();
const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array(b));
const address = fc.record({ twin: u32, connection: text }, { requiredKeys: ["twin"], noNullPrototype: true });
const message: fc.Arbitrary<EnvelopeMessage> = fc.oneof(
  text.map((command) => ({ kind: "request" as const, command })),
  fc.constant({ kind: "response" as const }),
  fc.record({ kind: fc.constant("error" as const), code: u32, message: text }, { noNullPrototype: true }),
  fc.constant({ kind: "ping" as const }),
  fc.constant({ kind: "pong" as const }),
);
export const envelopeArb: fc.Arbitrary<Envelope> = fc.record(
  {
    uid: text,
    tags: text,
    timestamp: u64,
    expiration: u64,
    source: address,
    destination: address,
    message,
    signature: bytes,
    schema: text,
    federation: text,
    payload: fc.record(
      { kind: fc.constantFrom("plain" as const, "cipher" as const), data: bytes },
      { noNullPrototype: true },
    ),
    relays: fc.array(text, { maxLength: 4 }),
  },
  { requiredKeys: ["uid", "timestamp", "expiration", "relays"], noNullPrototype: true },
);
