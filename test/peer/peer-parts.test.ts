import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { KeyType, loadIdentity } from "../../src/identity/index.js";
import {
  type Backlog,
  decodeBacklog,
  encodeBacklog,
  PeerStartError,
  relayDomainsOf,
  SeenMessages,
  syncOwnTwin,
} from "../../src/peer/index.js";
import { MemoryRegistry, type TwinChange } from "../../src/registry/index.js";
import { randomSeed } from "../support/peer-net.js";

describe("backlog codec", () => {
  test("round trips, keeping an absent reference apart from an empty one", () => {
    const a: Backlog = { uid: "u1", replyTo: "ret", module: "", ttl: 300 };
    assert.deepEqual(decodeBacklog(encodeBacklog(a)), a);
    const b: Backlog = { ...a, reference: "" };
    assert.deepEqual(decodeBacklog(encodeBacklog(b)), b);
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        fc.string(),
        fc.string(),
        fc.nat(),
        (uid, reference, replyTo, module, ttl) => {
          const x: Backlog = { uid, replyTo, module, ttl };
          if (reference !== undefined) x.reference = reference;
          assert.deepEqual(decodeBacklog(encodeBacklog(x)), x);
        },
      ),
    );
  });

  test("encodes proto3 fields 1–5 as rmb-rs does", () => {
    const bytes = encodeBacklog({ uid: "a", reference: "b", replyTo: "c", module: "", ttl: 300 });
    assert.deepEqual([...bytes], [0x0a, 1, 0x61, 0x12, 1, 0x62, 0x1a, 1, 0x63, 0x28, 0xac, 0x02]);
  });
});

describe("SeenMessages", () => {
  test("a key is new once, repeats are counted until it expires, then it is new again", () => {
    const seen = new SeenMessages(100);
    assert.equal(seen.firstTime("k", 110, 100), true);
    assert.equal(seen.firstTime("k", 110, 105), false);
    assert.equal(seen.duplicates, 1);
    assert.equal(seen.expiresAt("k"), 110);
    assert.equal(seen.firstTime("k", 130, 111), true);
    assert.equal(seen.size, 1);
  });

  test("expired entries are forgotten and the size stays within its bound", () => {
    const seen = new SeenMessages(3);
    for (let i = 0; i < 10; i++) seen.firstTime(`k${i}`, 1000, 1);
    assert.equal(seen.size, 3);
    assert.equal(seen.firstTime("k9", 1000, 2), false);
    assert.equal(seen.firstTime("k0", 1000, 2), true, "the oldest were forgotten first");
    seen.firstTime("short", 5, 2);
    seen.firstTime("other", 2000, 6);
    assert.equal(seen.expiresAt("short"), undefined);
  });
});

describe("twin record sync at start", () => {
  const identity = loadIdentity(randomSeed(), KeyType.Sr25519);

  test("relay URLs give host names; IP addresses are refused", () => {
    assert.deepEqual(relayDomainsOf(["wss://r1.grid.tf:443", "ws://localhost:8080/", "wss://r1.grid.tf"]), [
      "r1.grid.tf",
      "localhost",
    ]);
    assert.throws(() => relayDomainsOf(["ws://127.0.0.1:8080"]), PeerStartError);
    assert.throws(() => relayDomainsOf(["ws://[::1]:8080"]), /must name its relay by domain/);
    assert.throws(() => relayDomainsOf(["not a url"]), /invalid relay URL/);
  });

  test("a stale record gets the relays' domains and the e2e key", async () => {
    const registry = new MemoryRegistry();
    const twin = registry.register({ accountId: identity.publicKey, relays: ["old.relay"] });
    const line = await syncOwnTwin(registry, identity, twin.id, ["wss://r1.example:443", "wss://r2.example"]);
    assert.match(line, /updated/);
    const now = await registry.getTwin(twin.id);
    assert.deepEqual(now?.relays, ["r1.example", "r2.example"]);
    assert.deepEqual(now?.pk, identity.e2e?.publicKey);
  });

  test("the same relays in another order are left alone (compared as sets)", async () => {
    const registry = new MemoryRegistry();
    const twin = registry.register({
      accountId: identity.publicKey,
      relays: ["r2.example", "r1.example"],
      pk: identity.e2e!.publicKey,
    });
    const changes: TwinChange[] = [];
    registry.watch((c) => changes.push(c));
    const line = await syncOwnTwin(registry, identity, twin.id, ["wss://r1.example", "wss://r2.example"]);
    assert.match(line, /up to date/);
    assert.equal(changes.length, 0);
  });

  test("a read-only registry that needs an update is a start error naming --no-update", async () => {
    const backing = new MemoryRegistry();
    const twin = backing.register({ accountId: identity.publicKey });
    const readOnly = {
      getTwin: (id: number) => backing.getTwin(id),
      getTwinIdByAccount: (a: Uint8Array) => backing.getTwinIdByAccount(a),
    };
    await assert.rejects(syncOwnTwin(readOnly, identity, twin.id, ["wss://r.example"]), /--no-update/);
  });
});
