import { isValidSecp256k1PublicKey } from "../../crypto/secp256k1.js";
import type { Twin } from "../twin.js";
import { parseRelayField } from "../twin.js";
import { decodeStdBase64, encodeStdBase64 } from "./base64.js";

/** An account (twin) of the registrar accounts API. */
export interface Account {
  /** Unsigned id, from 1; RMB twin ids are 32-bit, so ours stay below 2^32. */
  twinId: number;
  /** Canonical standard base64 of the 32-byte public key. */
  publicKey: string;
  /** Relay entries as stored; `null` when an upstream PATCH wiped them (ours never stores `null`). */
  relays: string[] | null;
  /** Standard base64 of a 33-byte compressed secp256k1 key, or `""`. */
  rmbEncKey: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The JSON object of an account, keys in the registrar's order (`twin_id, relays, rmb_enc_key, created_at, updated_at, public_key`). */
export interface AccountJson {
  twin_id: number;
  relays: string[] | null;
  rmb_enc_key: string;
  created_at: string;
  updated_at: string;
  public_key: string;
}

export function accountToJson(account: Account): AccountJson {
  return {
    twin_id: account.twinId,
    relays: account.relays === null ? null : [...account.relays],
    rmb_enc_key: account.rmbEncKey,
    created_at: account.createdAt.toISOString(),
    updated_at: account.updatedAt.toISOString(),
    public_key: account.publicKey,
  };
}

/**
 * Reads an account JSON object as a registrar (ours or upstream) sends it; `undefined` when a required field is
 * missing or has the wrong type. Extra keys (e.g. an old `farms`) are ignored.
 */
export function accountFromJson(data: unknown): Account | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const o = data as Record<string, unknown>;
  const id = o.twin_id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) return undefined;
  if (typeof o.public_key !== "string") return undefined;
  let relays: string[] | null = null;
  if (Array.isArray(o.relays)) {
    if (!o.relays.every((r) => typeof r === "string")) return undefined;
    relays = o.relays as string[];
  } else if (o.relays !== null && o.relays !== undefined) return undefined;
  const rmbEncKey = typeof o.rmb_enc_key === "string" ? o.rmb_enc_key : "";
  const date = (v: unknown): Date => {
    const d = typeof v === "string" ? new Date(v) : new Date(Number.NaN);
    return Number.isNaN(d.getTime()) ? new Date(0) : d;
  };
  return {
    twinId: id,
    publicKey: o.public_key,
    relays,
    rmbEncKey,
    createdAt: date(o.created_at),
    updatedAt: date(o.updated_at),
  };
}

/** Most characters of one relay host or URL (a DNS name is at most 253; URLs get some room for scheme and path). */
export const MAX_RELAY_ENTRY_LENGTH = 300;

/** Most characters of one `_`-joined entry (tfchain bounds its `relay` field to 1024 bytes). */
export const MAX_JOINED_RELAY_ENTRY_LENGTH = 1024;

/**
 * Why a list of relay entries is refused, or `undefined` when it is fine. An entry is a relay host name (the tfchain
 * rules: `[A-Za-z0-9.-]`, no leading or trailing `.`, no `..`), a `ws://`/`wss://`/`http://`/`https://` URL of one
 * (zos stores full URLs), or host names joined by `_` (rmb-rs's registrar branch PATCHes its relays as one such
 * entry, the tfchain `relay` format); each host of a joined entry is checked on its own. At most `maxRelays`
 * relays in all (a joined entry counts each of its hosts), none listed twice. Upstream validates nothing.
 */
export function relaysProblem(relays: readonly string[], maxRelays: number): string | undefined {
  if (relays.length > maxRelays) return `at most ${maxRelays} relays are allowed, got ${relays.length}`;
  const seen = new Set<string>();
  for (const entry of relays) {
    if (typeof entry !== "string") return "each relay must be a string";
    const joined = !entry.includes("://") && entry.includes("_");
    const limit = joined ? MAX_JOINED_RELAY_ENTRY_LENGTH : MAX_RELAY_ENTRY_LENGTH;
    if (entry.length === 0 || entry.length > limit)
      return `relay ${JSON.stringify(entry.slice(0, 40))} must be 1 to ${limit} characters`;
    for (const part of joined ? entry.split("_") : [entry]) {
      if (part.length === 0) return `relay ${JSON.stringify(entry)} has an empty host between its '_'s`;
      if (part.length > MAX_RELAY_ENTRY_LENGTH)
        return `relay ${JSON.stringify(part.slice(0, 40))} must be 1 to ${MAX_RELAY_ENTRY_LENGTH} characters`;
      const host = relayHost(part);
      if (host === undefined)
        return `relay ${JSON.stringify(part)} is neither a host name nor a ws(s):// or http(s):// URL of one`;
      if (seen.has(part.toLowerCase())) return `relay ${JSON.stringify(part)} is listed twice`;
      seen.add(part.toLowerCase());
    }
  }
  if (seen.size > maxRelays) return `at most ${maxRelays} relays are allowed, got ${seen.size}`;
  return undefined;
}

const HOST = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;

/** The host name of one relay entry (a bare host, or the host of a URL), lower-cased; `undefined` if invalid. */
export function relayHost(entry: string): string | undefined {
  if (HOST.test(entry) && entry.length <= 253) return entry.toLowerCase();
  if (!/^(wss?|https?):\/\//i.test(entry)) return undefined;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  const host = url.hostname;
  return HOST.test(host) && host.length <= 253 ? host.toLowerCase() : undefined;
}

/**
 * The relay domains of an account, as RMB needs them: each entry's host (URLs reduced to their host, the port
 * dropped), `_`-joined entries (rmb-rs's registrar branch) split, duplicates and unusable entries dropped.
 */
export function relayDomains(relays: readonly string[] | null): string[] {
  const out: string[] = [];
  for (const entry of relays ?? []) {
    for (const part of entry.includes("://") ? [entry] : parseRelayField(entry)) {
      const host = relayHost(part);
      if (host !== undefined && !out.includes(host)) out.push(host);
    }
  }
  return out;
}

/** Why an `rmb_enc_key` is refused (`""` is fine: no key), or `undefined`. Upstream validates nothing. */
export function rmbEncKeyProblem(text: string): string | undefined {
  if (text === "") return undefined;
  const bytes = decodeStdBase64(text);
  if (bytes === undefined || bytes.length !== 33 || !isValidSecp256k1PublicKey(bytes))
    return "rmb_enc_key must be empty or the standard base64 of a 33-byte compressed secp256k1 public key";
  return undefined;
}

/** The 33-byte e2e key of an `rmb_enc_key`, or `undefined` when it is empty or not such a key. */
export function rmbEncKeyBytes(text: string): Uint8Array | undefined {
  if (text === "") return undefined;
  // polkadot.js-style `0x…` hex (66 hex digits) is read too; 44 base64 characters cannot be mistaken for it.
  const bytes = /^(0x)?[0-9a-fA-F]{66}$/.test(text) ? hexBytes(text) : decodeStdBase64(text);
  return bytes !== undefined && bytes.length === 33 && isValidSecp256k1PublicKey(bytes) ? bytes : undefined;
}

function hexBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/^0x/, ""), "hex"));
}

/** `rmb_enc_key` text for an e2e key (`""` for none). */
export function rmbEncKeyText(pk: Uint8Array | undefined): string {
  return pk === undefined ? "" : encodeStdBase64(pk);
}

/** The RMB twin of an account; `undefined` when its public key is not 32 bytes of base64 or the id is above 2^32−1. */
export function accountToTwin(account: Account): Twin | undefined {
  const accountId = decodeStdBase64(account.publicKey);
  if (accountId === undefined || accountId.length !== 32 || account.twinId > 0xffffffff) return undefined;
  const twin: Twin = { id: account.twinId, accountId, relays: relayDomains(account.relays) };
  const pk = rmbEncKeyBytes(account.rmbEncKey);
  if (pk !== undefined) twin.pk = pk;
  return twin;
}
