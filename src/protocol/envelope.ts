/**
 * The RMB envelope (`proto/types.proto` of rmb-rs). Optional properties model protobuf *explicit presence*:
 * an absent property is an absent field, and `""` is a present field. Presence changes the signature challenge
 * and, for `Address.connection`, the session a message is routed to.
 */

/** A twin, optionally narrowed to one of its sessions (`connection`). Absent connection ≠ `""`. */
export interface Address {
  /** Twin id (`uint32`). */
  twin: number;
  connection?: string;
}

/** Which kind of message the envelope carries (the `message` oneof). */
export type EnvelopeMessage =
  | { readonly kind: "request"; command: string }
  | { readonly kind: "response" }
  | { readonly kind: "error"; code: number; message: string }
  | { readonly kind: "ping" }
  | { readonly kind: "pong" };

/** The `payload` oneof: plaintext or end-to-end ciphertext (`nonce ‖ ciphertext ‖ tag`). */
export type EnvelopePayload =
  | { readonly kind: "plain"; data: Uint8Array }
  | { readonly kind: "cipher"; data: Uint8Array };

export interface Envelope {
  /** Message id; a response or error carries the uid of the request it answers. */
  uid: string;
  /** Free text; relays look only for the `fail-fast` token. */
  tags?: string;
  /** Unix seconds of sending. */
  timestamp: number;
  /** Lifetime in seconds counted from `timestamp`. */
  expiration: number;
  source?: Address;
  destination?: Address;
  message?: EnvelopeMessage;
  /** 65 bytes: type byte (`e`/`s`) ‖ signature of the MD5 challenge. */
  signature?: Uint8Array;
  /** Payload format, e.g. `application/json`. */
  schema?: string;
  /** Deprecated (field 11): ignored by relays, still part of the challenge. */
  federation?: string;
  payload?: EnvelopePayload;
  /** Deprecated (field 17): ignored by relays, still part of the challenge. */
  relays: string[];
  /**
   * Fields this codec does not know, as the raw bytes (key and value) in which they arrived; re-encoded
   * unchanged after the known fields, so a decode → encode cycle keeps them.
   */
  unknownFields?: Uint8Array;
}

/** Field numbers of `Envelope`. */
export const EnvelopeField = {
  Uid: 1,
  Tags: 2,
  Timestamp: 3,
  Expiration: 4,
  Source: 5,
  Destination: 6,
  Request: 7,
  Response: 8,
  Signature: 9,
  Schema: 10,
  Federation: 11,
  Error: 12,
  Plain: 13,
  Cipher: 14,
  Ping: 15,
  Pong: 16,
  Relays: 17,
} as const;

/** Builds an envelope with the given fields and empty defaults for the rest. */
export function createEnvelope(fields: Partial<Envelope> & Pick<Envelope, "uid">): Envelope {
  return { timestamp: 0, expiration: 0, relays: [], ...fields };
}
