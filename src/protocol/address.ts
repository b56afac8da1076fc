import type { Address } from "./envelope.js";
import { AddressError } from "./errors.js";

/**
 * A relay session: a twin plus an optional session id (`sid` from the JWT). `sid` absent and `sid === ""` are
 * different sessions. String form `"<twin>"` or `"<twin>:<sid>"`.
 */
export interface SessionId {
  twin: number;
  sid?: string;
}

const TWIN_RE = /^(0|[1-9][0-9]{0,9})$/;

/** Parses a decimal `uint32` twin id; throws `AddressError` otherwise. */
export function parseTwinId(text: string): number {
  if (!TWIN_RE.test(text)) throw new AddressError(`invalid twin id '${text}'`);
  const n = Number(text);
  if (n > 0xffffffff) throw new AddressError(`invalid twin id '${text}'`);
  return n;
}

/** `"<twin>"` or `"<twin>:<sid>"`. */
export function formatSessionId(id: SessionId): string {
  return id.sid === undefined ? `${id.twin}` : `${id.twin}:${id.sid}`;
}

/** Parses `"<twin>"` or `"<twin>:<sid>"`, splitting at the first `:` (the sid may contain more). */
export function parseSessionId(text: string): SessionId {
  const i = text.indexOf(":");
  if (i < 0) return { twin: parseTwinId(text) };
  return { twin: parseTwinId(text.slice(0, i)), sid: text.slice(i + 1) };
}

/** The session an address names (`connection` ↔ `sid`). */
export function sessionOfAddress(address: Address): SessionId {
  return address.connection === undefined
    ? { twin: address.twin }
    : { twin: address.twin, sid: address.connection };
}

/** The address of a session. */
export function addressOfSession(id: SessionId): Address {
  return id.sid === undefined ? { twin: id.twin } : { twin: id.twin, connection: id.sid };
}

/** Exact equality of session ids, where an absent sid differs from `""`. */
export function sameSession(a: SessionId, b: SessionId): boolean {
  return a.twin === b.twin && a.sid === b.sid;
}

/** True when the envelope address names exactly this session (absent address never does). */
export function addressIsSession(address: Address | undefined, id: SessionId): boolean {
  return address !== undefined && address.twin === id.twin && address.connection === id.sid;
}
