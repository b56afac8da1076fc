import { readFile } from "node:fs/promises";
import { ss58Decode } from "../identity/ss58.js";
import { InvalidTwinError } from "./errors.js";
import { MemoryRegistry } from "./memory-registry.js";
import type { Twin } from "./twin.js";

/**
 * One twin in a twins file: `account` is the 32-byte account key as hex (optionally `0x`-prefixed) or an SS58
 * address; `pk` the 33-byte compressed secp256k1 key as hex.
 */
export interface TwinsFileEntry {
  id: number;
  account: string;
  relays?: string[];
  pk?: string | null;
}

/** Parses the JSON text of a twins file (an array of {@link TwinsFileEntry}); throws `InvalidTwinError`. */
export function parseTwinsFile(text: string): Twin[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidTwinError(`twins file is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(data)) throw new InvalidTwinError("twins file must hold a JSON array of twins");
  return data.map((entry: unknown, i) => {
    if (typeof entry !== "object" || entry === null)
      throw new InvalidTwinError(`twin #${i}: expected an object`);
    const e = entry as Partial<Record<keyof TwinsFileEntry, unknown>>;
    if (typeof e.id !== "number") throw new InvalidTwinError(`twin #${i}: 'id' must be a number`);
    if (typeof e.account !== "string") throw new InvalidTwinError(`twin ${e.id}: 'account' must be a string`);
    const twin: Twin = { id: e.id, accountId: parseAccount(e.account, e.id) };
    if (e.relays !== undefined) {
      if (!Array.isArray(e.relays) || !e.relays.every((r) => typeof r === "string")) {
        throw new InvalidTwinError(`twin ${e.id}: 'relays' must be an array of domains`);
      }
      twin.relays = e.relays;
    }
    if (e.pk !== undefined && e.pk !== null) {
      if (typeof e.pk !== "string") throw new InvalidTwinError(`twin ${e.id}: 'pk' must be a hex string`);
      twin.pk = parseHex(e.pk, 33, `twin ${e.id}: 'pk'`);
    }
    return twin;
  });
}

/** A {@link MemoryRegistry} holding the twins of a twins file. */
export async function loadTwinsFile(path: string, into = new MemoryRegistry()): Promise<MemoryRegistry> {
  for (const twin of parseTwinsFile(await readFile(path, "utf8"))) into.set(twin);
  return into;
}

function parseAccount(text: string, id: number): Uint8Array {
  try {
    return parseAccountId(text);
  } catch (err) {
    throw new InvalidTwinError(`twin ${id}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A 32-byte account id written as hex (optionally `0x`-prefixed) or as an SS58 address; throws `InvalidTwinError`
 * (`'account' is neither 32 bytes of hex nor an SS58 address (…)`) otherwise.
 */
export function parseAccountId(text: string): Uint8Array {
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text.replace(/^0x/, ""), "hex"));
  try {
    return ss58Decode(text).publicKey;
  } catch (err) {
    throw new InvalidTwinError(
      `'account' is neither 32 bytes of hex nor an SS58 address (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

function parseHex(text: string, length: number, what: string): Uint8Array {
  const hex = text.startsWith("0x") ? text.slice(2) : text;
  if (hex.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidTwinError(`${what} must be ${length} bytes of hex`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}
