import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyType, loadIdentity } from "../../src/identity/index.js";
import { P2pAgent, RmbAgentTransport, registryKeys, type ServiceTags } from "../../src/p2p/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { RmbClient } from "../../src/sdk/index.js";
import { randomSeed } from "../support/peer-net.js";
import { teardown } from "../support/teardown.js";
import { waitUntil } from "../support/wait.js";

const DOMAIN = "relay.test";

test("p2p over a real relay — agents find each other's service by tag and notice a stopped agent", async (t) => {
  const undo = teardown(t);
  const registry = new MemoryRegistry();
  const relay = new RelayServer({ domains: [DOMAIN], registry, host: "127.0.0.1" });
  const { port } = await relay.start();
  undo(() => relay.stop());

  const services: ServiceTags[] = [
    { category: "directory" },
    { category: "barber", name: "snip", location: "ghent" },
    { category: "compute", subcategory: "gpu", location: "ghent" },
    { category: "barber", name: "trim", location: "paris", adjective: "cheap" },
  ];
  const agents: P2pAgent[] = [];
  const clients: RmbClient[] = [];
  for (const [i, tags] of services.entries()) {
    const identity = loadIdentity(randomSeed(), i % 2 === 0 ? KeyType.Ed25519 : KeyType.Sr25519);
    const pk = identity.e2e?.publicKey;
    registry.register({
      accountId: identity.publicKey,
      relays: [DOMAIN],
      ...(pk === undefined ? {} : { pk }),
    });
    const client = await RmbClient.connect({
      identity,
      registry,
      relays: [`ws://127.0.0.1:${port}`],
      relay: { reconnectDelay: 50, maxReconnectDelay: 300 },
    });
    clients.push(client);
    undo(() => client.close());
    const agent = new P2pAgent({
      transport: new RmbAgentTransport(client, client.twinId),
      signer: identity.signer,
      keys: registryKeys(registry),
      tags,
      bootstrap: agents.length === 0 ? [] : [agents[0]!.twin],
      options: { periodMs: 400, pingTimeoutMs: 150, suspicionPeriods: 2, syncPeriods: 5, announcePeriods: 2 },
    });
    agents.push(agent);
    undo(() => agent.stop());
  }
  for (const a of agents) await a.start();
  await waitUntil(async () => agents.every((a) => a.members().length === 3), 10_000);

  const [dir, snip, gpu, trim] = agents as [P2pAgent, P2pAgent, P2pAgent, P2pAgent];
  await waitUntil(async () => (await dir.search("snip")).results.length === 1, 10_000);
  const bySnip = await dir.search("SNIP");
  assert.deepEqual(
    bySnip.results.map((r) => r.twin),
    [snip.twin],
  );
  assert.deepEqual(bySnip.results[0]!.tags, services[1]);
  assert.ok(bySnip.hops !== undefined && bySnip.hops <= 4);
  const barbers = await gpu.search({ category: "barber", location: "paris" });
  assert.deepEqual(
    barbers.results.map((r) => r.twin),
    [trim.twin],
  );
  await waitUntil(async () => (await trim.search("ghent")).results.length === 2, 10_000);
  const inGhent = await trim.search("ghent");
  assert.deepEqual(inGhent.results.map((r) => r.twin).sort(), [snip.twin, gpu.twin].sort());

  // The gpu agent stops (and its client disconnects): the others notice and drop it.
  const gone = gpu.twin;
  gpu.stop();
  await clients[2]!.close();
  const t0 = Date.now();
  await waitUntil(
    async () =>
      [dir, snip, trim].every(
        (a) => a.member(gone)?.state === "dead" && !a.members().some((m) => m.twin === gone),
      ),
    15_000,
  );
  assert.ok(Date.now() - t0 < 15_000);
  assert.deepEqual((await dir.search("gpu")).results, [], "its record went with it");
});
