import { createSigner, type Signer } from "../../src/identity/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { type RelayOptions, RelayServer } from "../../src/relay/index.js";

export const HOSTILE_DOMAIN = "relay.test";

/** A relay on 127.0.0.1 with three twins of its own domain (no federation, so no traffic leaves the machine). */
export interface HostileNet {
  relay: RelayServer;
  port: number;
  registry: MemoryRegistry;
  /** Sends the hostile traffic. */
  hostile: Signer;
  /** Two bystanders that exchange a normal message afterwards. */
  a: Signer;
  b: Signer;
  /** Twin ids of `hostile`, `a` and `b`. */
  ids: [hostile: number, a: number, b: number];
}

export async function startHostileNet(options: Partial<RelayOptions> = {}): Promise<HostileNet> {
  const registry = new MemoryRegistry();
  const hostile = createSigner("//Eve", "ed25519");
  const a = createSigner("//Alice", "ed25519");
  const b = createSigner("//Bob", "sr25519");
  const ids = [hostile, a, b].map(
    (s) => registry.register({ accountId: s.publicKey, relays: [HOSTILE_DOMAIN] }).id,
  ) as [number, number, number];
  const relay = new RelayServer({ domains: [HOSTILE_DOMAIN], registry, ...options });
  const { port } = await relay.start();
  return { relay, port, registry, hostile, a, b, ids };
}
