import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isValidSignature } from "../../src/identity/index.js";
import { ExpiringSet } from "../../src/p2p/expiring-set.js";
import { Gossip, type GossipMessage, gossipSigningBytes } from "../../src/p2p/gossip.js";
import { resolveOptions, SimNetwork, seededRandom } from "../../src/p2p/index.js";
import { toHex } from "../../src/p2p/wire.js";
import { signerFor } from "./sim-agents.js";

interface Node {
  gossip: Gossip;
  got: GossipMessage[];
  invalidFrom: number[];
}

function network(n: number, options: { fanout: number; maxHops: number; loss?: number }) {
  const net = new SimNetwork({ seed: 3, loss: options.loss ?? 0 });
  const o = resolveOptions({
    gossipFanout: options.fanout,
    gossipMaxHops: options.maxHops,
    reportMaxHops: options.maxHops,
  });
  const twins = Array.from({ length: n }, (_, i) => i + 1);
  const nodes = new Map<number, Node>();
  for (const twin of twins) {
    const node: Node = { gossip: undefined as unknown as Gossip, got: [], invalidFrom: [] };
    node.gossip = new Gossip({
      transport: net.transport(twin),
      clock: net.clock,
      random: seededRandom(twin),
      options: o,
      peers: () => twins,
      signer: signerFor(twin),
      verify: async (t, m, s) => isValidSignature(signerFor(t).publicKey, m, s),
      onInvalid: (from) => node.invalidFrom.push(from),
    });
    for (const kind of ["news", "claim"]) {
      node.gossip.on(
        kind,
        (m) => {
          node.got.push(m);
          return true;
        },
        { signed: kind === "claim" },
      );
    }
    node.gossip.start();
    nodes.set(twin, node);
  }
  return { net, nodes };
}

describe("p2p gossip", () => {
  test("gossip — a message reaches (nearly) everyone, each agent handles it once, and pushes are bounded by the fan-out", async () => {
    const { net, nodes } = network(200, { fanout: 5, maxHops: 10 });
    nodes.get(1)!.gossip.publish("news", { x: 1 });
    await net.run(2000);
    const reached = [...nodes.values()].filter((n) => n.got.length > 0).length;
    assert.ok(reached >= 195, `reached ${reached} of 199`);
    for (const n of nodes.values()) assert.ok(n.got.length <= 1, "duplicates suppressed");
    let sent = 0;
    let dups = 0;
    for (const n of nodes.values()) {
      assert.ok(n.gossip.stats.sent <= 5, "an agent pushes a message to at most `fanout` others");
      sent += n.gossip.stats.sent;
      dups += n.gossip.stats.duplicates;
    }
    assert.ok(sent <= 5 * (reached + 1));
    assert.equal(sent, reached + dups, "every push was either new to its receiver or a duplicate");
  });

  test("gossip — the hop limit bounds how far a message goes", async () => {
    const one = network(100, { fanout: 3, maxHops: 1 });
    one.nodes.get(1)!.gossip.publish("news", "hi");
    await one.net.run(2000);
    assert.equal(
      [...one.nodes.values()].filter((n) => n.got.length > 0).length,
      3,
      "only the origin's 3 pushes",
    );
    const two = network(100, { fanout: 3, maxHops: 2 });
    two.nodes.get(1)!.gossip.publish("news", "hi");
    await two.net.run(2000);
    const reached = [...two.nodes.values()].filter((n) => n.got.length > 0);
    assert.ok(reached.length > 3 && reached.length <= 3 + 3 * 3, `${reached.length} reached`);
    assert.ok(reached.every((n) => n.got[0]!.hops <= 1));
    const capped = network(20, { fanout: 3, maxHops: 2 });
    capped.nodes.get(1)!.gossip.publish("news", "far", { maxHops: 50 });
    await capped.net.run(2000);
    assert.ok(
      [...capped.nodes.values()].every((n) => n.got.every((m) => m.maxHops === 2)),
      "maxHops capped",
    );
  });

  test("gossip — signed kinds carry the origin's signature; a forged one is refused, not passed on, and blamed on the sender", async () => {
    const { net, nodes } = network(30, { fanout: 3, maxHops: 6 });
    nodes.get(1)!.gossip.publish("claim", { subject: 9 });
    await net.run(2000);
    const reached = [...nodes.values()].filter((n) => n.got.length > 0);
    assert.ok(reached.length >= 25);
    assert.ok(reached.every((n) => n.got[0]!.sig !== undefined && n.got[0]!.origin === 1));
    // Twin 2 forwards a "claim" in the name of twin 3, signed with its own key.
    const forged: GossipMessage = {
      id: "forged-1",
      origin: 3,
      kind: "claim",
      body: { subject: 1 },
      hops: 0,
      maxHops: 6,
    };
    forged.sig = toHex(signerFor(2).sign(gossipSigningBytes(forged)));
    const reply = net.transport(2).request(4, "p2p.gossip", forged, 1000);
    await net.run(500);
    assert.deepEqual(await reply, { ok: 0 });
    assert.deepEqual(nodes.get(4)!.invalidFrom, [2]);
    assert.ok(![...nodes.values()].some((n) => n.got.some((m) => m.id === "forged-1")), "nobody handled it");
    // The real message with that id is not shadowed by the forgery.
    const real = { ...forged, sig: toHex(signerFor(3).sign(gossipSigningBytes(forged))) };
    const ok = net.transport(2).request(4, "p2p.gossip", real, 1000);
    await net.run(500);
    assert.deepEqual(await ok, { ok: 1 });
    assert.equal(nodes.get(4)!.got.filter((m) => m.id === "forged-1").length, 1);
  });

  test("gossip — a malformed message is refused with RMB_ERR_P2P_INVALID_DATA", async () => {
    const { net, nodes } = network(3, { fanout: 2, maxHops: 3 });
    const reply = assert.rejects(
      net.transport(2).request(1, "p2p.gossip", { id: 5 }, 1000),
      /malformed gossip/,
    );
    await net.run(500);
    await reply;
    assert.deepEqual(nodes.get(1)!.invalidFrom, [2]);
  });

  test("gossip — the duplicate filter is bounded in size and time", () => {
    const seen = new ExpiringSet(3, 1000);
    assert.equal(seen.add("a", 0), true);
    assert.equal(seen.add("a", 10), false);
    seen.add("b", 20);
    seen.add("c", 30);
    seen.add("d", 40);
    assert.equal(seen.size, 3);
    assert.equal(seen.has("a", 50), false, "the oldest id went first");
    assert.equal(seen.has("b", 1019), true);
    assert.equal(seen.has("b", 1020), false, "expired after the TTL");
    assert.equal(seen.add("b", 1020), true);
  });
});
