import { isIP } from "node:net";
import { messageOf } from "../errors.js";
import type { Identity } from "../identity/index.js";
import type { TwinRegistry, WritableTwinRegistry } from "../registry/index.js";
import { PeerStartError } from "./errors.js";

/**
 * The relay domains a twin record must list for these relay URLs (`wss://r1.grid.tf:443` → `r1.grid.tf`). rmb-peer
 * publishes host names only, so a URL with an IP address is refused (use a name such as `localhost`).
 */
export function relayDomainsOf(urls: readonly string[]): string[] {
  const domains: string[] = [];
  for (const text of urls) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new PeerStartError(`invalid relay URL '${text}'`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (host === "" || isIP(host) !== 0) {
      throw new PeerStartError(
        `relay URL '${text}' must name its relay by domain (an IP address cannot go into the twin record); ` +
          "use a host name such as localhost, or run with --no-update",
      );
    }
    if (!domains.includes(host)) domains.push(host);
  }
  return domains;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

function isWritable(registry: TwinRegistry): registry is WritableTwinRegistry {
  return typeof (registry as Partial<WritableTwinRegistry>).updateTwin === "function";
}

/**
 * Makes the registry's record of this twin list the relays' domains and carry the identity's secp256k1 key, as
 * rmb-peer does at start. Relays are compared as sets, so a record listing the same relays in another order is left
 * alone. Returns a line saying what happened; throws `PeerStartError` when the update is needed but impossible.
 */
export async function syncOwnTwin(
  registry: TwinRegistry,
  identity: Identity,
  twinId: number,
  relayUrls: readonly string[],
): Promise<string> {
  const domains = relayDomainsOf(relayUrls);
  const pk = identity.e2e?.publicKey;
  if (pk === undefined) throw new PeerStartError("this secret has no end-to-end key to publish");
  let twin: Awaited<ReturnType<TwinRegistry["getTwin"]>>;
  try {
    twin = await registry.getTwin(twinId);
  } catch (cause) {
    throw new PeerStartError(`failed to read twin ${twinId}: ${messageOf(cause)}`, { cause });
  }
  if (twin === undefined) throw new PeerStartError(`twin ${twinId} is not in the registry`);
  if (sameSet(twin.relays ?? [], domains) && sameBytes(twin.pk, pk)) {
    return `twin ${twinId} is up to date (relays: ${domains.join(", ")})`;
  }
  if (!isWritable(registry)) {
    throw new PeerStartError(
      `twin ${twinId} must be updated (relays ${domains.join(", ")} and this key's pk) but the registry is read-only; ` +
        "update it elsewhere or run with --no-update",
    );
  }
  try {
    await registry.updateTwin(identity.signer, { relays: domains, pk });
  } catch (cause) {
    throw new PeerStartError(`updating twin ${twinId} failed: ${messageOf(cause)}`, { cause });
  }
  return `twin ${twinId} updated: relays ${domains.join(", ")}, pk ${Buffer.from(pk).toString("hex")}`;
}
