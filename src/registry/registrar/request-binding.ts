/**
 * Reads request bodies the way the registrar's gin `ShouldBindJSON` does: the `Content-Type` is ignored, keys match
 * case-insensitively (an exact match wins), unknown keys are ignored and `null` means "not given". Error texts
 * follow Go's where a client could depend on them (`EOF`, the `required` validator lines); JSON syntax errors
 * carry our parser's text instead of Go's.
 */

export interface CreateAccountRequest {
  timestamp: number;
  publicKey: string;
  signature: string;
  relays: string[] | undefined;
  rmbEncKey: string | undefined;
}

export interface UpdateAccountRequest {
  relays: string[] | undefined;
  rmbEncKey: string | undefined;
}

export type Bound<T> = { ok: true; value: T } | { ok: false; error: string };

const CREATE = "AccountCreationRequest";

export function bindCreateAccount(body: string): Bound<CreateAccountRequest> {
  const object = parseObject(body, CREATE);
  if (!object.ok) return object;
  const o = object.value;
  const problems: string[] = [];
  const timestamp = field(o, "timestamp");
  const publicKey = field(o, "public_key");
  const signature = field(o, "signature");
  const relays = field(o, "relays");
  const rmbEncKey = field(o, "rmb_enc_key");
  if (timestamp !== undefined && timestamp !== null) {
    if (typeof timestamp !== "number")
      return fail(
        `json: cannot unmarshal ${jsonKind(timestamp)} into Go struct field ${CREATE}.timestamp of type int64`,
      );
    if (!Number.isSafeInteger(timestamp))
      return fail(
        `json: cannot unmarshal number ${timestamp} into Go struct field ${CREATE}.timestamp of type int64`,
      );
  }
  for (const [name, value] of [
    ["public_key", publicKey],
    ["signature", signature],
    ["rmb_enc_key", rmbEncKey],
  ] as const) {
    if (value !== undefined && value !== null && typeof value !== "string")
      return fail(
        `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${CREATE}.${name} of type string`,
      );
  }
  const list = stringList(relays, `${CREATE}.relays`);
  if (!list.ok) return list;
  if (timestamp === undefined || timestamp === null || timestamp === 0) problems.push(required("Timestamp"));
  if (typeof publicKey !== "string" || publicKey === "") problems.push(required("PublicKey"));
  if (typeof signature !== "string" || signature === "") problems.push(required("Signature"));
  if (problems.length > 0) return fail(problems.join("\n"));
  return {
    ok: true,
    value: {
      timestamp: timestamp as number,
      publicKey: publicKey as string,
      signature: signature as string,
      relays: list.value,
      rmbEncKey: typeof rmbEncKey === "string" ? rmbEncKey : undefined,
    },
  };
}

/** Any failure is reported by the caller as upstream's `invalid request body`; the text here is for logs. */
export function bindUpdateAccount(body: string): Bound<UpdateAccountRequest> {
  const object = parseObject(body, "UpdateAccountRequest");
  if (!object.ok) return object;
  const relays = stringList(field(object.value, "relays"), "UpdateAccountRequest.relays");
  if (!relays.ok) return relays;
  const rmbEncKey = field(object.value, "rmb_enc_key");
  if (rmbEncKey !== undefined && rmbEncKey !== null && typeof rmbEncKey !== "string")
    return fail(
      `json: cannot unmarshal ${jsonKind(rmbEncKey)} into Go struct field UpdateAccountRequest.rmb_enc_key of type string`,
    );
  return {
    ok: true,
    value: { relays: relays.value, rmbEncKey: typeof rmbEncKey === "string" ? rmbEncKey : undefined },
  };
}

function parseObject(body: string, type: string): Bound<Record<string, unknown>> {
  if (body.trim() === "") return fail("EOF");
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (data === null) return { ok: true, value: {} };
  if (typeof data !== "object" || Array.isArray(data))
    return fail(`json: cannot unmarshal ${jsonKind(data)} into Go value of type server.${type}`);
  return { ok: true, value: data as Record<string, unknown> };
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  let found: unknown;
  for (const key of Object.keys(o)) if (key.toLowerCase() === lower) found = o[key];
  return found;
}

function stringList(value: unknown, where: string): Bound<string[] | undefined> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (!Array.isArray(value))
    return fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${where} of type []string`);
  for (const item of value) {
    if (typeof item !== "string")
      return fail(`json: cannot unmarshal ${jsonKind(item)} into Go struct field ${where} of type string`);
  }
  return { ok: true, value: value as string[] };
}

function required(field: string): string {
  return `Key: '${CREATE}.${field}' Error:Field validation for '${field}' failed on the 'required' tag`;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
