import type { Signer } from "../identity/signer.js";
import { canonicalJson } from "./canonical-json.js";
import { P2pInvalidDataError } from "./errors.js";
import { fromHex, isCount, isObject, isTwinId, toHex, utf8 } from "./wire.js";

/** The tag fields of a service record, most general first. */
export const TAG_FIELDS = ["category", "subcategory", "name", "location", "adjective"] as const;
export type TagField = (typeof TAG_FIELDS)[number];

/** What an agent offers: a category and optional finer tags (`compute`/`gpu`/`render-farm`/`ghent`/`cheap`). */
export interface ServiceTags {
  category: string;
  subcategory?: string;
  name?: string;
  location?: string;
  adjective?: string;
}

/**
 * A signed advertisement: twin `twin` offers a service with these tags from `issuedAt` to `expiresAt` (clock ms).
 * `signature` is the twin's 65-byte RMB signature (hex) of {@link recordSigningBytes}; whoever caches or returns
 * a record verifies it against the twin's account key. Tags are stored lower-case and trimmed.
 */
export interface ServiceRecord {
  twin: number;
  tags: ServiceTags;
  issuedAt: number;
  expiresAt: number;
  signature: string;
}

/**
 * A search: one tag (matches a record having it in any field) or some fields that must all match. Matching is
 * exact and case-insensitive.
 */
export type TagQuery = string | Partial<ServiceTags>;

/** A query in normal form: lower-case, trimmed, fields in {@link TAG_FIELDS} order. */
export type NormalizedQuery = { any: string } | { fields: Partial<ServiceTags> };

export const RECORD_SIGNATURE_LENGTH = 65;

/** Lower-case and trim a tag value; throws `P2pInvalidDataError` when empty, too long or not a string. */
export function normalizeTag(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== "string") throw new P2pInvalidDataError(`tag ${field} is not a string`);
  const v = value.trim().toLowerCase();
  if (v.length === 0 || v.length > maxLength) {
    throw new P2pInvalidDataError(`tag ${field} must have 1 to ${maxLength} characters`);
  }
  return v;
}

/** Validates and normalises tags (`category` required, the other fields optional, no unknown fields). */
export function normalizeTags(tags: unknown, maxLength: number): ServiceTags {
  if (!isObject(tags)) throw new P2pInvalidDataError("tags must be an object");
  for (const key of Object.keys(tags)) {
    if (!(TAG_FIELDS as readonly string[]).includes(key))
      throw new P2pInvalidDataError(`unknown tag field ${key}`);
  }
  const out: ServiceTags = { category: normalizeTag(tags.category, "category", maxLength) };
  for (const field of TAG_FIELDS) {
    if (field !== "category" && tags[field] !== undefined)
      out[field] = normalizeTag(tags[field], field, maxLength);
  }
  return out;
}

/** The tag values of a record (what it can be found by). */
export function tagValues(tags: ServiceTags): string[] {
  const out: string[] = [];
  for (const field of TAG_FIELDS) {
    const v = tags[field];
    if (v !== undefined && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The bytes a twin signs: `"rmb-p2p-record-v1\n"` + canonical JSON of `{expiresAt, issuedAt, tags, twin}`. */
export function recordSigningBytes(r: Omit<ServiceRecord, "signature">): Uint8Array {
  return utf8(
    `rmb-p2p-record-v1\n${canonicalJson({ twin: r.twin, tags: r.tags, issuedAt: r.issuedAt, expiresAt: r.expiresAt })}`,
  );
}

/** Makes a record for `twin` valid from `now` for `ttlMs` (whole ms), signed by `signer` (the twin's key). */
export function signRecord(
  signer: Signer,
  twin: number,
  tags: ServiceTags,
  now: number,
  ttlMs: number,
  maxTagLength = 64,
): ServiceRecord {
  const issuedAt = Math.floor(now);
  const unsigned = {
    twin,
    tags: normalizeTags(tags, maxTagLength),
    issuedAt,
    expiresAt: issuedAt + Math.floor(ttlMs),
  };
  return { ...unsigned, signature: toHex(signer.sign(recordSigningBytes(unsigned))) };
}

/**
 * Checks the shape of a record received from another agent and returns it normalised; throws
 * `P2pInvalidDataError` for anything malformed. (The signature is checked by {@link verifyRecord}.)
 */
export function parseRecord(value: unknown, maxTagLength = 64): ServiceRecord {
  if (!isObject(value)) throw new P2pInvalidDataError("a record must be an object");
  const { twin, tags, issuedAt, expiresAt, signature } = value;
  if (!isTwinId(twin)) throw new P2pInvalidDataError("record twin is not a twin id");
  if (!isCount(issuedAt) || !isCount(expiresAt) || expiresAt <= issuedAt) {
    throw new P2pInvalidDataError("record times are invalid");
  }
  if (fromHex(signature, RECORD_SIGNATURE_LENGTH) === undefined) {
    throw new P2pInvalidDataError("record signature is not 65 bytes of hex");
  }
  const normal = normalizeTags(tags, maxTagLength);
  for (const field of TAG_FIELDS) {
    if (normal[field] !== (tags as Record<string, unknown>)[field]) {
      throw new P2pInvalidDataError("record tags are not in normal form (lower-case, trimmed)");
    }
  }
  return { twin, tags: normal, issuedAt, expiresAt, signature: signature as string };
}

/** Why a record is refused by {@link checkRecord}. */
export type RecordProblem = "expired" | "not-yet-valid" | "too-long" | "signature";

/**
 * Checks a parsed record at time `now`: not expired, not issued in the future (beyond `maxSkewMs`), lifetime at
 * most `maxTtlMs` + skew, and the signature valid for the twin's key (`verify`). Resolves `undefined` when it is
 * good, else the problem.
 */
export async function checkRecord(
  record: ServiceRecord,
  now: number,
  limits: { maxSkewMs: number; maxTtlMs: number },
  verify: (twin: number, message: Uint8Array, signature: Uint8Array) => Promise<boolean>,
): Promise<RecordProblem | undefined> {
  if (record.expiresAt <= now) return "expired";
  if (record.issuedAt > now + limits.maxSkewMs) return "not-yet-valid";
  if (record.expiresAt - record.issuedAt > limits.maxTtlMs + limits.maxSkewMs) return "too-long";
  const sig = fromHex(record.signature, RECORD_SIGNATURE_LENGTH)!;
  return (await verify(record.twin, recordSigningBytes(record), sig)) ? undefined : "signature";
}

/** Normalises a query; throws `P2pInvalidDataError` for an empty or malformed one. */
export function normalizeQuery(query: unknown, maxLength = 64): NormalizedQuery {
  if (typeof query === "string") return { any: normalizeTag(query, "query", maxLength) };
  if (!isObject(query)) throw new P2pInvalidDataError("a query is a tag or an object of tag fields");
  const fields: Partial<ServiceTags> = {};
  for (const key of Object.keys(query)) {
    if (!(TAG_FIELDS as readonly string[]).includes(key))
      throw new P2pInvalidDataError(`unknown tag field ${key}`);
  }
  for (const field of TAG_FIELDS) {
    if (query[field] !== undefined) fields[field] = normalizeTag(query[field], field, maxLength);
  }
  if (Object.keys(fields).length === 0) throw new P2pInvalidDataError("a query needs at least one tag");
  return { fields };
}

/** True when `tags` satisfy the query. */
export function matchesQuery(tags: ServiceTags, query: NormalizedQuery): boolean {
  if ("any" in query) {
    for (const field of TAG_FIELDS) if (tags[field] === query.any) return true;
    return false;
  }
  for (const field of TAG_FIELDS) {
    const want = query.fields[field];
    if (want !== undefined && tags[field] !== want) return false;
  }
  return true;
}

/**
 * The tag a query is routed by (its "home" key): the tag itself, or the most specific field of a structured query
 * (name, then subcategory, adjective, location, category).
 */
export function queryKey(query: NormalizedQuery): string {
  if ("any" in query) return query.any;
  const f = query.fields;
  return (f.name ?? f.subcategory ?? f.adjective ?? f.location ?? f.category)!;
}

/** A stable text of a normalised query (for caches and logs). */
export function queryText(query: NormalizedQuery): string {
  return "any" in query ? query.any : canonicalJson(query.fields);
}
