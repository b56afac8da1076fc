import { createSigner, type Signer } from "../../src/identity/index.js";
import { MemoryRegistry, type Twin } from "../../src/registry/index.js";
import { type RelayOptions, RelayServer } from "../../src/relay/index.js";

export const DOMAIN = "relay.test";

/** A relay on 127.0.0.1 with twins 1 (//Alice ed25519), 2 (//Bob sr25519) on this relay, 3 (//Charlie) on
 * another relay, 4 (//Dave) without relay info. */
export interface RelayFixture {
  relay: RelayServer;
  port: number;
  registry: MemoryRegistry;
  alice: Signer;
  bob: Signer;
  charlie: Signer;
  dave: Signer;
  twins: { alice: Twin; bob: Twin; charlie: Twin; dave: Twin };
}

/** The fixture's registry and keys without a relay. */
export type TwinsFixture = Omit<RelayFixture, "relay" | "port">;

export function createTwins(): TwinsFixture {
  const registry = new MemoryRegistry();
  const alice = createSigner("//Alice", "ed25519");
  const bob = createSigner("//Bob", "sr25519");
  const charlie = createSigner("//Charlie", "ed25519");
  const dave = createSigner("//Dave", "ed25519");
  const twins = {
    alice: registry.register({ accountId: alice.publicKey, relays: [DOMAIN] }),
    bob: registry.register({ accountId: bob.publicKey, relays: ["other.relay", DOMAIN] }),
    charlie: registry.register({ accountId: charlie.publicKey, relays: ["other.relay"] }),
    dave: registry.register({ accountId: dave.publicKey }),
  };
  return { registry, alice, bob, charlie, dave, twins };
}

/** Starts a relay for `DOMAIN`; pass `shared` to start another relay process over the same twins. */
export async function startRelay(
  options: Partial<RelayOptions> = {},
  shared: TwinsFixture = createTwins(),
): Promise<RelayFixture> {
  const relay = new RelayServer({ domains: [DOMAIN], registry: shared.registry, ...options });
  const { port } = await relay.start();
  return { ...shared, relay, port };
}
