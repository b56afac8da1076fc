import { type Address, type Envelope, type EnvelopeMessage, EnvelopeField as F } from "./envelope.js";
import { DecodeError } from "./errors.js";
import { ProtobufReader, WireType } from "./protobuf-reader.js";
import {
  checkUint32,
  checkUint64,
  lenFieldSize,
  ProtobufWriter,
  utf8Length,
  varintSize,
} from "./protobuf-writer.js";

const KEY = (field: number, wire: number): number => (field << 3) | wire;
const LEN = WireType.Len;
const VARINT = WireType.Varint;

/**
 * Decodes protobuf bytes into an `Envelope`. Throws only `DecodeError`. Bytes fields (`signature`, payload data)
 * are views into `bytes`, not copies. Memory use is bounded by the input length.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("envelope bytes must be a Uint8Array");
  const r = new ProtobufReader(bytes);
  const env: Envelope = { uid: "", timestamp: 0, expiration: 0, relays: [] };
  let unknown: Uint8Array[] | undefined;
  while (!r.done) {
    const fieldStart = r.pos;
    const key = r.key();
    switch (key) {
      case KEY(F.Uid, LEN):
        env.uid = r.string();
        break;
      case KEY(F.Tags, LEN):
        env.tags = r.string();
        break;
      case KEY(F.Timestamp, VARINT):
        env.timestamp = r.uint64();
        break;
      case KEY(F.Expiration, VARINT):
        env.expiration = r.uint64();
        break;
      case KEY(F.Source, LEN):
        env.source = decodeAddress(r.message(), env.source);
        break;
      case KEY(F.Destination, LEN):
        env.destination = decodeAddress(r.message(), env.destination);
        break;
      case KEY(F.Request, LEN): {
        const prev = env.message?.kind === "request" ? env.message.command : "";
        env.message = { kind: "request", command: decodeRequest(r.message(), prev) };
        break;
      }
      case KEY(F.Response, LEN):
        skipAll(r.message());
        env.message = { kind: "response" };
        break;
      case KEY(F.Error, LEN):
        env.message = decodeError(r.message(), env.message?.kind === "error" ? env.message : undefined);
        break;
      case KEY(F.Ping, LEN):
        skipAll(r.message());
        env.message = { kind: "ping" };
        break;
      case KEY(F.Pong, LEN):
        skipAll(r.message());
        env.message = { kind: "pong" };
        break;
      case KEY(F.Signature, LEN):
        env.signature = r.bytes();
        break;
      case KEY(F.Schema, LEN):
        env.schema = r.string();
        break;
      case KEY(F.Federation, LEN):
        env.federation = r.string();
        break;
      case KEY(F.Plain, LEN):
        env.payload = { kind: "plain", data: r.bytes() };
        break;
      case KEY(F.Cipher, LEN):
        env.payload = { kind: "cipher", data: r.bytes() };
        break;
      case KEY(F.Relays, LEN):
        env.relays.push(r.string());
        break;
      default:
        // Like rust-protobuf, a known field number with another wire type is kept as an unknown field.
        r.skip(key);
        if (unknown === undefined) unknown = [];
        unknown.push(bytes.subarray(fieldStart, r.pos));
    }
  }
  if (unknown !== undefined) env.unknownFields = concat(unknown);
  return env;
}

function decodeAddress(r: ProtobufReader, prev: Address | undefined): Address {
  const addr: Address = prev ?? { twin: 0 };
  while (!r.done) {
    const key = r.key();
    if (key === KEY(1, VARINT)) addr.twin = r.uint32();
    else if (key === KEY(2, LEN)) addr.connection = r.string();
    else r.skip(key);
  }
  return addr;
}

function decodeRequest(r: ProtobufReader, command: string): string {
  while (!r.done) {
    const key = r.key();
    if (key === KEY(1, LEN)) command = r.string();
    else r.skip(key);
  }
  return command;
}

function decodeError(
  r: ProtobufReader,
  prev: { code: number; message: string } | undefined,
): EnvelopeMessage {
  let code = prev?.code ?? 0;
  let message = prev?.message ?? "";
  while (!r.done) {
    const key = r.key();
    if (key === KEY(1, VARINT)) code = r.uint32();
    else if (key === KEY(2, LEN)) message = r.string();
    else r.skip(key);
  }
  return { kind: "error", code, message };
}

function skipAll(r: ProtobufReader): void {
  while (!r.done) r.skip(r.key());
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return new Uint8Array(parts[0]!);
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Encodes an envelope to protobuf, fields in ascending field-number order, unknown fields last. Absent optional
 * properties are not written; present ones are written even when empty (`""`, zero-length bytes).
 * Throws `InvalidArgumentError` for numbers that do not fit their protobuf type.
 */
export function encodeEnvelope(env: Envelope): Uint8Array {
  checkUint64("envelope.timestamp", env.timestamp);
  checkUint64("envelope.expiration", env.expiration);
  const uidLen = utf8Length(env.uid);
  const tagsLen = env.tags === undefined ? -1 : utf8Length(env.tags);
  const srcLen = env.source === undefined ? -1 : addressSize(env.source, "envelope.source");
  const dstLen = env.destination === undefined ? -1 : addressSize(env.destination, "envelope.destination");
  const msg = env.message;
  let msgLen = 0;
  let textLen = 0;
  if (msg !== undefined) {
    if (msg.kind === "request") {
      textLen = utf8Length(msg.command);
      msgLen = textLen === 0 ? 0 : lenFieldSize(1, textLen);
    } else if (msg.kind === "error") {
      checkUint32("envelope.message.code", msg.code);
      textLen = utf8Length(msg.message);
      msgLen =
        (msg.code === 0 ? 0 : 1 + varintSize(msg.code)) + (textLen === 0 ? 0 : lenFieldSize(2, textLen));
    }
  }
  const schemaLen = env.schema === undefined ? -1 : utf8Length(env.schema);
  const fedLen = env.federation === undefined ? -1 : utf8Length(env.federation);
  const relayLens = env.relays.length === 0 ? undefined : env.relays.map(utf8Length);

  let size = 0;
  if (uidLen > 0) size += lenFieldSize(F.Uid, uidLen);
  if (tagsLen >= 0) size += lenFieldSize(F.Tags, tagsLen);
  if (env.timestamp !== 0) size += 1 + varintSize(env.timestamp);
  if (env.expiration !== 0) size += 1 + varintSize(env.expiration);
  if (srcLen >= 0) size += lenFieldSize(F.Source, srcLen);
  if (dstLen >= 0) size += lenFieldSize(F.Destination, dstLen);
  if (msg !== undefined) size += lenFieldSize(messageField(msg), msgLen);
  if (env.signature !== undefined) size += lenFieldSize(F.Signature, env.signature.length);
  if (schemaLen >= 0) size += lenFieldSize(F.Schema, schemaLen);
  if (fedLen >= 0) size += lenFieldSize(F.Federation, fedLen);
  if (env.payload !== undefined) size += lenFieldSize(F.Plain, env.payload.data.length);
  if (relayLens !== undefined) for (const l of relayLens) size += lenFieldSize(F.Relays, l);
  if (env.unknownFields !== undefined) size += env.unknownFields.length;

  const w = new ProtobufWriter(size);
  if (uidLen > 0) w.string(F.Uid, env.uid, uidLen);
  if (tagsLen >= 0) w.string(F.Tags, env.tags!, tagsLen);
  if (env.timestamp !== 0) {
    w.key(F.Timestamp, VARINT);
    w.varint(env.timestamp);
  }
  if (env.expiration !== 0) {
    w.key(F.Expiration, VARINT);
    w.varint(env.expiration);
  }
  if (srcLen >= 0) writeAddress(w, F.Source, env.source!, srcLen);
  if (dstLen >= 0) writeAddress(w, F.Destination, env.destination!, dstLen);
  // The message oneof sits between fields 6 and 9 only for Request (7) and Response (8); fields 12, 15 and 16
  // are written in their numeric place below.
  if (msg !== undefined && (msg.kind === "request" || msg.kind === "response"))
    writeMessage(w, msg, msgLen, textLen);
  if (env.signature !== undefined) w.bytes(F.Signature, env.signature);
  if (schemaLen >= 0) w.string(F.Schema, env.schema!, schemaLen);
  if (fedLen >= 0) w.string(F.Federation, env.federation!, fedLen);
  if (msg !== undefined && msg.kind === "error") writeMessage(w, msg, msgLen, textLen);
  if (env.payload !== undefined) w.bytes(env.payload.kind === "plain" ? F.Plain : F.Cipher, env.payload.data);
  if (msg !== undefined && (msg.kind === "ping" || msg.kind === "pong"))
    writeMessage(w, msg, msgLen, textLen);
  if (relayLens !== undefined) {
    for (let i = 0; i < relayLens.length; i++) w.string(F.Relays, env.relays[i]!, relayLens[i]!);
  }
  if (env.unknownFields !== undefined) w.raw(env.unknownFields);
  return w.finish();
}

function messageField(msg: EnvelopeMessage): number {
  switch (msg.kind) {
    case "request":
      return F.Request;
    case "response":
      return F.Response;
    case "error":
      return F.Error;
    case "ping":
      return F.Ping;
    case "pong":
      return F.Pong;
  }
}

function writeMessage(w: ProtobufWriter, msg: EnvelopeMessage, len: number, textLen: number): void {
  w.key(messageField(msg), LEN);
  w.varint(len);
  if (msg.kind === "request") {
    if (textLen > 0) w.string(1, msg.command, textLen);
  } else if (msg.kind === "error") {
    if (msg.code !== 0) {
      w.key(1, VARINT);
      w.varint(msg.code);
    }
    if (textLen > 0) w.string(2, msg.message, textLen);
  }
}

function addressSize(a: Address, name: string): number {
  checkUint32(`${name}.twin`, a.twin);
  let n = a.twin === 0 ? 0 : 1 + varintSize(a.twin);
  if (a.connection !== undefined) n += lenFieldSize(2, utf8Length(a.connection));
  return n;
}

function writeAddress(w: ProtobufWriter, field: number, a: Address, len: number): void {
  w.key(field, LEN);
  w.varint(len);
  if (a.twin !== 0) {
    w.key(1, VARINT);
    w.varint(a.twin);
  }
  if (a.connection !== undefined) w.string(2, a.connection, utf8Length(a.connection));
}
