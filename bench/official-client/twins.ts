/**
 * The twins of the official-client benchmark (`official-client.bench.ts`) and the messages between it and its child
 * processes (`service-process.ts`), sent over the Node IPC channel as JSON. Every process builds the same
 * `MemoryRegistry` from the same list, so the relay, the echo service and both callers agree on every twin.
 */
import type { KeyType } from "../../src/identity/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";

/** Domain served by the benchmark relay; every twin names it, so all twins are local to the one relay. */
export const OFFICIAL_BENCH_DOMAIN = "relay.bench";

/** A twin as registered: id, account id and secp256k1 key, both hex. */
export interface BenchTwin {
  id: number;
  /** 32-byte account id (ed25519 or sr25519 public key), hex. */
  account: string;
  /** 33-byte compressed secp256k1 public key, hex. */
  pk: string;
}

/** A `MemoryRegistry` holding `twins`, each reachable through {@link OFFICIAL_BENCH_DOMAIN}. */
export function benchRegistry(twins: readonly BenchTwin[]): MemoryRegistry {
  const registry = new MemoryRegistry();
  for (const t of twins) {
    registry.set({
      id: t.id,
      accountId: Buffer.from(t.account, "hex"),
      relays: [OFFICIAL_BENCH_DOMAIN],
      pk: Buffer.from(t.pk, "hex"),
    });
  }
  return registry;
}

/** What `service-process.js` runs: our relay (embedded mode), or an echo service on our `RmbClient`. */
export type ServiceSpec =
  | { kind: "relay"; twins: BenchTwin[] }
  | {
      kind: "echo";
      twins: BenchTwin[];
      /** Port of the relay on 127.0.0.1. */
      port: number;
      /** Mnemonic of the echo twin. */
      secret: string;
      keyType: KeyType;
      /** Command served: it answers with the request's payload and schema. */
      command: string;
    };

/** Child → parent. */
export type ServiceMessage = { type: "ready"; port: number } | { type: "error"; message: string };
