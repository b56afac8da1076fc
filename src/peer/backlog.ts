/**
 * rmb-peer's record of a request it sent (rmb-rs `proto/peer.proto` `Backlog`), kept in Redis under
 * `msgbus.backlog.<uid>` for the request's lifetime so that responses find the client's reply queue and `ref`.
 */

import { ProtobufReader, WireType } from "../protocol/protobuf-reader.js";
import {
  checkUint64,
  lenFieldSize,
  ProtobufWriter,
  utf8Length,
  varintSize,
} from "../protocol/protobuf-writer.js";

export interface Backlog {
  /** Envelope uid of the request (shared by every destination of a fan-out). */
  uid: string;
  /** The client's `ref`; absent ≠ `""` (protobuf `optional`). */
  reference?: string;
  /** The client's reply queue. */
  replyTo: string;
  /** Plugin that handles the responses; `""` = push them to `replyTo`. */
  module: string;
  /** Seconds the record is kept. */
  ttl: number;
}

/** Protobuf bytes of a backlog (proto3: default values omitted, `reference` by presence). */
export function encodeBacklog(b: Backlog): Uint8Array {
  checkUint64("ttl", b.ttl);
  const uidLen = utf8Length(b.uid);
  const refLen = b.reference === undefined ? 0 : utf8Length(b.reference);
  const replyLen = utf8Length(b.replyTo);
  const moduleLen = utf8Length(b.module);
  let size = 0;
  if (uidLen > 0) size += lenFieldSize(1, uidLen);
  if (b.reference !== undefined) size += lenFieldSize(2, refLen);
  if (replyLen > 0) size += lenFieldSize(3, replyLen);
  if (moduleLen > 0) size += lenFieldSize(4, moduleLen);
  if (b.ttl > 0) size += 1 + varintSize(b.ttl);
  const w = new ProtobufWriter(size);
  if (uidLen > 0) w.string(1, b.uid, uidLen);
  if (b.reference !== undefined) w.string(2, b.reference, refLen);
  if (replyLen > 0) w.string(3, b.replyTo, replyLen);
  if (moduleLen > 0) w.string(4, b.module, moduleLen);
  if (b.ttl > 0) {
    w.key(5, WireType.Varint);
    w.varint(b.ttl);
  }
  return w.finish();
}

/** Decodes backlog bytes; throws `DecodeError` for malformed input. Unknown fields are skipped. */
export function decodeBacklog(bytes: Uint8Array): Backlog {
  const r = new ProtobufReader(bytes);
  const b: Backlog = { uid: "", replyTo: "", module: "", ttl: 0 };
  while (!r.done) {
    const key = r.key();
    switch (key) {
      case (1 << 3) | WireType.Len:
        b.uid = r.string();
        break;
      case (2 << 3) | WireType.Len:
        b.reference = r.string();
        break;
      case (3 << 3) | WireType.Len:
        b.replyTo = r.string();
        break;
      case (4 << 3) | WireType.Len:
        b.module = r.string();
        break;
      case (5 << 3) | WireType.Varint:
        b.ttl = r.uint64();
        break;
      default:
        r.skip(key);
    }
  }
  return b;
}
