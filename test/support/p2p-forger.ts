/**
 * A misbehaving P2P agent, run as its own process by the CLI tests:
 *
 *   RMB_SECRET=<seed> node dist/test/support/p2p-forger.js <relay ws url> <registrar url> <bootstrap twin ids>
 *
 * A real agent over RMB (membership, gossip, records) that answers every search with a forged record: the query's
 * tags under another twin's id, with a random signature — what a liar or a broken cache would send. Prints
 * "forger running as twin N" once joined; stops on SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { KeyType, loadIdentity } from "../../src/identity/index.js";
import { type AgentTransport, P2pAgent, RmbAgentTransport, registryKeys } from "../../src/p2p/index.js";
import { CachedRegistry, RegistrarClient } from "../../src/registry/index.js";
import { RmbClient } from "../../src/sdk/index.js";

async function main(relay: string, registrar: string, boot: string | undefined): Promise<void> {
  const identity = loadIdentity(process.env.RMB_SECRET ?? "", KeyType.Sr25519);
  const registry = new CachedRegistry(new RegistrarClient({ url: registrar }));
  const client = await RmbClient.connect({ identity, registry, relays: [relay] });
  const inner = new RmbAgentTransport(client, client.twinId);
  const transport: AgentTransport = {
    self: inner.self,
    request: (to, command, body, timeoutMs) => inner.request(to, command, body, timeoutMs),
    serve(command, handler) {
      if (command !== "p2p.search") return inner.serve(command, handler);
      return inner.serve(command, (_from, body) => {
        const q = (body as { q?: unknown } | null)?.q;
        const tags = typeof q === "string" ? { category: q } : { category: "forged", ...(q as object) };
        const now = Date.now();
        const rec = {
          twin: 1,
          tags,
          issuedAt: now,
          expiresAt: now + 60_000,
          signature: randomBytes(65).toString("hex"),
        };
        return { r: [{ rec, rep: 1 }], d: 0 };
      });
    },
  };
  const agent = new P2pAgent({
    transport,
    signer: identity.signer,
    keys: registryKeys(registry),
    tags: { category: "forger" },
    bootstrap: (boot ?? "")
      .split(",")
      .filter((x) => x !== "")
      .map(Number),
  });
  await agent.start();
  process.stdout.write(`forger running as twin ${client.twinId}\n`);
  process.once("SIGTERM", () => {
    agent.stop();
    void client.close().finally(() => {
      registry.close();
      process.exit(0);
    });
  });
}

const [relay, registrar, boot] = process.argv.slice(2);
// `node --test dist/test/` runs every file, this one too: without arguments it does nothing.
if (relay !== undefined && registrar !== undefined) await main(relay, registrar, boot);
