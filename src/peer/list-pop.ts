import type { Redis } from "ioredis";

/** How a connection pops batches: Redis ≥ 7 has `BLMPOP`; older servers get `BRPOP` then `RPOP key count`. */
const modes = new WeakMap<Redis, "blmpop" | "brpop">();

function isUnknownCommand(err: unknown): boolean {
  return err instanceof Error && /unknown command|ERR unknown/i.test(err.message);
}

/**
 * Waits up to `timeout` seconds (0 = forever) for the first non-empty list of `keys` (in that order, as `BRPOP`)
 * and pops up to `count` items from its tail (oldest first when producers `LPUSH`). Returns the key and the items,
 * or `null` on timeout. One round trip on Redis 7 (`BLMPOP`); two on older servers.
 */
export async function popBatch(
  client: Redis,
  keys: readonly string[],
  count: number,
  timeout: number,
): Promise<[key: string, items: string[]] | null> {
  if (modes.get(client) !== "brpop") {
    try {
      const got = (await client.call("BLMPOP", timeout, keys.length, ...keys, "RIGHT", "COUNT", count)) as
        | [string, string[]]
        | null;
      modes.set(client, "blmpop");
      return got;
    } catch (err) {
      if (!isUnknownCommand(err)) throw err;
      modes.set(client, "brpop");
    }
  }
  const first = await client.brpop(...(keys as string[]), timeout);
  if (first === null) return null;
  const [key, value] = first;
  if (count <= 1) return [key, [value]];
  let more: string[] | null = null;
  try {
    more = await client.rpop(key, count - 1);
  } catch (err) {
    if (!isUnknownCommand(err) && !/wrong number of arguments/i.test(String(err))) throw err;
  }
  return [key, more === null ? [value] : [value, ...more]];
}
