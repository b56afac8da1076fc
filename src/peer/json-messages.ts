/**
 * The four JSON messages of rmb-peer's Redis API (rmb-rs `src/peer/storage/mod.rs`, wire spec §5.5): what local
 * clients and services push (parsed strictly here) and what the peer pushes back (emitted with rmb-rs's key order,
 * `null` for absent optional fields, `dat` in standard base64 with padding).
 */

import { JsonMessageError } from "./errors.js";

/** `err` of a response: an RMB error code and its text. */
export interface JsonError {
  code: number;
  message: string;
}

/** A local client's request, pushed to `msgbus.system.local`. */
export interface JsonOutgoingRequest {
  ver: number;
  /** Client reference, echoed in every response's `ref`. */
  ref: string | null;
  cmd: string;
  /** Lifetime in seconds. */
  exp: number;
  /** Payload (decoded from `dat`). */
  dat: Uint8Array;
  tag: string | null;
  dst: number[];
  /** Reply queue. */
  ret: string;
  shm: string | null;
  /** Send time (unix seconds); 0 = now. */
  now: number;
}

/** A local service's response, pushed to `msgbus.system.reply`. */
export interface JsonOutgoingResponse {
  ver: number;
  /** The request's `ref` (its envelope uid). */
  ref: string | null;
  /** Payload (decoded from `dat`); empty when `err` is set. */
  dat: Uint8Array;
  /** The request's `src`: `"<twin>"` or `"<twin>:<sid>"`. */
  dst: string;
  shm: string | null;
  now: number;
  err: JsonError | null;
}

/** A remote request handed to a local service on `msgbus.<cmd>`. */
export interface JsonIncomingRequest {
  ver: number;
  /** The envelope uid: the service copies it into its response's `ref`. */
  ref: string;
  src: string;
  cmd: string;
  exp: number;
  dat: Uint8Array;
  tag: string | null;
  ret: string;
  shm: string | null;
  now: number;
}

/** A response (or error) handed to a local client on its `ret` queue. */
export interface JsonIncomingResponse {
  ver: number;
  ref: string | null;
  dat: Uint8Array;
  /** `"<twin>"`/`"<twin>:<sid>"`; `"0"` for relay errors, `""` for errors made by this peer. */
  src: string;
  shm: string | null;
  now: number;
  err: JsonError | null;
}

const BASE64_RE = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes standard base64 as rmb-rs (base64 0.13) does: the standard alphabet, padding optional but never more
 * than needed. Returns `undefined` for anything else.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  let body = text;
  const pad = body.endsWith("==") ? 2 : body.endsWith("=") ? 1 : 0;
  if (pad > 0) {
    if (body.length % 4 !== 0) return undefined;
    body = body.slice(0, -pad);
  }
  if (!BASE64_RE.test(body) || body.length % 4 === 1) return undefined;
  if (pad > 0 && (body.length + pad) % 4 !== 0) return undefined;
  const buf = Buffer.from(body, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

type Fields = Record<string, unknown>;

function parseObject(text: string, what: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JsonMessageError(`${what} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JsonMessageError(`${what} is not a JSON object`);
  }
  return value as Fields;
}

function uint(o: Fields, key: string, fallback?: number): number {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new JsonMessageError(
      v === undefined ? `missing field '${key}'` : `'${key}' must be an unsigned integer`,
    );
  }
  return v;
}

function str(o: Fields, key: string): string {
  const v = o[key];
  if (typeof v !== "string")
    throw new JsonMessageError(v === undefined ? `missing field '${key}'` : `'${key}' must be a string`);
  return v;
}

function optStr(o: Fields, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new JsonMessageError(`'${key}' must be a string or null`);
  return v;
}

function base64Field(o: Fields, key: string): Uint8Array {
  const bytes = decodeBase64(str(o, key));
  if (bytes === undefined) throw new JsonMessageError(`'${key}' is not valid base64`);
  return bytes;
}

/** The reply queue named by a request that failed to parse, when one can be read from it. */
export function replyQueueOf(text: string): { ret: string; ref: string | null } | undefined {
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o !== "object" || o === null) return undefined;
    const { ret, ref } = o as Fields;
    if (typeof ret !== "string" || ret.length === 0) return undefined;
    return { ret, ref: typeof ref === "string" ? ref : null };
  } catch {
    return undefined;
  }
}

/** Parses a `msgbus.system.local` item. Throws `JsonMessageError` naming the first bad field. */
export function parseOutgoingRequest(text: string): JsonOutgoingRequest {
  const o = parseObject(text, "request");
  const dst = o.dst;
  if (!Array.isArray(dst)) {
    throw new JsonMessageError(
      dst === undefined ? "missing field 'dst'" : "'dst' must be an array of twin ids",
    );
  }
  for (const d of dst) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new JsonMessageError("'dst' must be an array of twin ids");
    }
  }
  return {
    ver: uint(o, "ver"),
    ref: optStr(o, "ref"),
    cmd: str(o, "cmd"),
    exp: uint(o, "exp"),
    dat: base64Field(o, "dat"),
    tag: optStr(o, "tag"),
    dst: dst as number[],
    ret: str(o, "ret"),
    shm: optStr(o, "shm"),
    now: uint(o, "now"),
  };
}

/** Parses a `msgbus.system.reply` item. Throws `JsonMessageError` naming the first bad field. */
export function parseOutgoingResponse(text: string): JsonOutgoingResponse {
  const o = parseObject(text, "response");
  let err: JsonError | null = null;
  if (o.err !== undefined && o.err !== null) {
    const e = o.err;
    if (typeof e !== "object" || Array.isArray(e)) {
      throw new JsonMessageError("'err' must be an object {code, message} or null");
    }
    const code = (e as Fields).code;
    if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 0xffffffff) {
      throw new JsonMessageError("'err.code' must be an unsigned 32-bit integer");
    }
    err = { code, message: str(e as Fields, "message") };
  }
  return {
    ver: uint(o, "ver"),
    ref: optStr(o, "ref"),
    // rmb-rs requires `dat`; a service answering with an error may reasonably leave it out.
    dat: err !== null && o.dat === undefined ? new Uint8Array(0) : base64Field(o, "dat"),
    dst: str(o, "dst"),
    shm: optStr(o, "shm"),
    now: uint(o, "now"),
    err,
  };
}

/** The JSON of a `msgbus.<cmd>` item, keys in rmb-rs's order. */
export function formatIncomingRequest(m: JsonIncomingRequest): string {
  return JSON.stringify({
    ver: m.ver,
    ref: m.ref,
    src: m.src,
    cmd: m.cmd,
    exp: m.exp,
    dat: encodeBase64(m.dat),
    tag: m.tag,
    ret: m.ret,
    shm: m.shm,
    now: m.now,
  });
}

/** The JSON of a `<ret>` item, keys in rmb-rs's order. */
export function formatIncomingResponse(m: JsonIncomingResponse): string {
  return JSON.stringify({
    ver: m.ver,
    ref: m.ref,
    dat: encodeBase64(m.dat),
    src: m.src,
    shm: m.shm,
    now: m.now,
    err: m.err,
  });
}

/** Parses a `<ret>` item (for clients of the gateway such as the tester). */
export function parseIncomingResponse(text: string): JsonIncomingResponse {
  const o = parseObject(text, "response");
  let err: JsonError | null = null;
  if (o.err !== undefined && o.err !== null) {
    const e = o.err as Fields;
    err = { code: uint(e, "code"), message: str(e, "message") };
  }
  return {
    ver: uint(o, "ver"),
    ref: optStr(o, "ref"),
    dat: base64Field(o, "dat"),
    src: str(o, "src"),
    shm: optStr(o, "shm"),
    now: uint(o, "now"),
    err,
  };
}

/** Parses a `msgbus.<cmd>` item (for services behind the gateway). */
export function parseIncomingRequest(text: string): JsonIncomingRequest {
  const o = parseObject(text, "request");
  return {
    ver: uint(o, "ver"),
    ref: str(o, "ref"),
    src: str(o, "src"),
    cmd: str(o, "cmd"),
    exp: uint(o, "exp"),
    dat: base64Field(o, "dat"),
    tag: optStr(o, "tag"),
    ret: str(o, "ret"),
    shm: optStr(o, "shm"),
    now: uint(o, "now"),
  };
}

/** The JSON a service pushes to `msgbus.system.reply` (for services behind the gateway). */
export function formatOutgoingResponse(m: JsonOutgoingResponse): string {
  return JSON.stringify({
    ver: m.ver,
    ref: m.ref,
    dat: encodeBase64(m.dat),
    dst: m.dst,
    shm: m.shm,
    now: m.now,
    err: m.err,
  });
}

/** The JSON a client pushes to `msgbus.system.local` (the shape of rmb-rs's `rmb_tester.py`). */
export function formatOutgoingRequest(m: JsonOutgoingRequest): string {
  return JSON.stringify({
    ver: m.ver,
    ref: m.ref,
    cmd: m.cmd,
    exp: m.exp,
    dat: encodeBase64(m.dat),
    tag: m.tag,
    dst: m.dst,
    ret: m.ret,
    shm: m.shm,
    now: m.now,
  });
}
