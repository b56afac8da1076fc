import assert from "node:assert/strict";
import { test } from "node:test";
import { secp256k1PublicKey } from "../../../src/crypto/secp256k1.js";
import { DEV_PHRASE, KeyType } from "../../../src/identity/index.js";
import {
  CachedRegistry,
  encodeStdBase64,
  PostgresAccountStore,
  RegistrarClient,
  RegistryRejectedError,
  RegistryUnavailableError,
  registrarBaseUrl,
  type TwinChange,
  TwinExistsError,
  TwinNotFoundError,
} from "../../../src/registry/index.js";
import { startPostgresServer } from "../../support/postgres-server.js";
import { signerFor, startRegistrar } from "../../support/registrar-fixture.js";
import { waitUntil } from "../../support/wait.js";

const alice = signerFor(DEV_PHRASE);
const bob = signerFor(`${DEV_PHRASE}//bob`, KeyType.Sr25519);
const pk = secp256k1PublicKey(new Uint8Array(32).fill(9));

test("registrar client — base URLs get /v1 unless they name a version", () => {
  assert.equal(registrarBaseUrl("https://registrar.dev4.grid.tf"), "https://registrar.dev4.grid.tf/v1");
  assert.equal(registrarBaseUrl("https://registrar.dev4.grid.tf/v1/"), "https://registrar.dev4.grid.tf/v1");
  assert.equal(registrarBaseUrl("http://127.0.0.1:8090/api/v1"), "http://127.0.0.1:8090/api/v1");
});

test("registrar client — creates, reads and updates twins (ed25519 and sr25519)", async (t) => {
  const r = await startRegistrar(t, { now: Date.now });
  const client = new RegistrarClient({ url: r.url });
  const a = await client.createTwin(alice, { relays: ["relay.one", "relay.two"], pk });
  assert.equal(a.id, 1);
  assert.deepEqual(a.accountId, alice.publicKey);
  assert.deepEqual(a.relays, ["relay.one", "relay.two"]);
  assert.deepEqual(a.pk, pk);
  const b = await client.createTwin(bob, { relays: [] });
  assert.equal(b.id, 2);
  assert.equal(b.pk, undefined);
  assert.equal(await client.getTwinIdByAccount(bob.publicKey), 2);
  assert.equal(await client.getTwinIdByAccount(new Uint8Array(32)), undefined);
  assert.equal(await client.getTwin(3), undefined);
  await assert.rejects(client.createTwin(alice, { relays: [] }), TwinExistsError);
  const updated = await client.updateTwin(alice, { relays: ["relay.three"] });
  assert.deepEqual(updated.relays, ["relay.three"]);
  assert.equal(updated.pk, undefined, "updateTwin replaces both fields");
  // two updates in one second repeat an ed25519 X-Auth header: the client waits for the next second
  await client.updateTwin(alice, { relays: ["relay.four"], pk });
  assert.deepEqual((await client.getTwin(1))?.relays, ["relay.four"]);
  assert.deepEqual((await client.updateTwin(bob, { relays: ["relay.b"], pk })).pk, pk);
  await assert.rejects(
    client.updateTwin(signerFor(`${DEV_PHRASE}//nobody`), { relays: [] }),
    TwinNotFoundError,
  );
});

test("registrar client — twins from upstream-style records: URLs, `_`-joined entries, null relays, hex keys", async (t) => {
  const r = await startRegistrar(t, { now: Date.now });
  const client = new RegistrarClient({ url: `${r.url}/api/v1` });
  const created = await client.createAccount(alice, {
    relays: ["wss://Relay.Example:443/ws", "relay.example", "b.example"],
  });
  assert.equal(created.twinId, 1);
  assert.deepEqual((await client.getTwin(1))?.relays, ["relay.example", "b.example"]);
  await r.store.update(1, {
    relays: ["x.example_y.example"],
    rmbEncKey: `0x${Buffer.from(pk).toString("hex")}`,
  });
  const twin = await client.getTwin(1);
  assert.deepEqual(twin?.relays, ["x.example", "y.example"]);
  assert.deepEqual(twin?.pk, pk);
});

test("registrar client — clock skew is corrected once from server_time", async (t) => {
  const r = await startRegistrar(t);
  const client = new RegistrarClient({ url: r.url, now: () => r.clock.ms - 3_600_000 });
  const twin = await client.createTwin(alice, { relays: [] });
  assert.equal(twin.id, 1);
});

test("registrar client — refusals and outages are typed errors", async (t) => {
  const r = await startRegistrar(t, { now: Date.now });
  const client = new RegistrarClient({ url: r.url });
  await assert.rejects(client.createTwin(alice, { relays: ["not a relay"] }), (err: unknown) => {
    assert.ok(err instanceof RegistryRejectedError);
    assert.equal(err.status, 400);
    assert.match(err.message, /invalid relays/);
    return true;
  });
  const down = new RegistrarClient({ url: "http://127.0.0.1:1", timeout: 2000 });
  await assert.rejects(down.getTwin(1), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.match(err.message, /unreachable/);
    return true;
  });
});

test("registrar client — watch follows the change stream, and a CachedRegistry stays fresh", async (t) => {
  const r = await startRegistrar(t, { now: Date.now });
  const writer = new RegistrarClient({ url: r.url });
  const reader = new RegistrarClient({ url: r.url, watchRetryDelay: 50 });
  const cache = new CachedRegistry(reader, { ttl: 3600 });
  t.after(() => {
    cache.close();
    reader.close();
  });
  const changes: TwinChange[] = [];
  cache.watch((change) => changes.push(change));
  await new Promise((resolve) => setTimeout(resolve, 100)); // the stream is open
  await writer.createTwin(alice, { relays: ["one.example"] });
  assert.deepEqual((await cache.getTwin(1))?.relays, ["one.example"]);
  const misses = cache.stats.misses;
  await writer.updateTwin(alice, { relays: ["two.example"] });
  await waitUntil(async () => changes.some((c) => c.kind === "twin" && c.twin.relays?.[0] === "two.example"));
  assert.deepEqual(
    (await cache.getTwin(1))?.relays,
    ["two.example"],
    "refreshed by the event, not by the TTL",
  );
  assert.equal(cache.stats.misses, misses, "served from the cache");
  // the stream drops (service restarted on the same port): the cache is told to reset once it reconnects
  const port = Number(new URL(r.url).port);
  await r.service.stop();
  const { RegistrarService } = await import("../../../src/registry/index.js");
  const again = new RegistrarService({ store: r.store, port });
  await again.start();
  t.after(() => again.stop());
  await waitUntil(async () => changes.some((c) => c.kind === "reset"));
  assert.equal(cache.stats.entries, 0);
});

test("registrar service over PostgreSQL — the same API through the client", async (t) => {
  const server = await startPostgresServer();
  t.after(() => server.stop());
  const store = await PostgresAccountStore.open(server.url);
  const r = await startRegistrar(t, { store, now: Date.now });
  const client = new RegistrarClient({ url: r.url });
  const twin = await client.createTwin(bob, { relays: ["relay.pg"], pk });
  assert.equal(twin.id, 1);
  await assert.rejects(client.createTwin(bob, { relays: [] }), TwinExistsError);
  await client.updateAccount(bob, 1, { relays: ["relay.pg2"] });
  const account = await client.getAccount(1);
  assert.deepEqual(account?.relays, ["relay.pg2"]);
  assert.equal(account?.rmbEncKey, encodeStdBase64(pk), "kept");
  const replayed = await r.call(
    "GET",
    `/v1/accounts?public_key=${encodeURIComponent(encodeStdBase64(bob.publicKey))}`,
  );
  assert.equal(replayed.json.twin_id, 1);
});

test("registrar client — a GET whose connection is dropped is repeated once; a write is not", async (t) => {
  const { createServer } = await import("node:http");
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    if (requests % 2 === 1) {
      req.socket.destroy(); // what a server closing a kept-alive connection looks like to the client
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        twin_id: 7,
        relays: ["r.example"],
        rmb_enc_key: "",
        created_at: "2025-03-01T10:00:00Z",
        updated_at: "2025-03-01T10:00:00Z",
        public_key: encodeStdBase64(alice.publicKey),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const client = new RegistrarClient({ url: `http://127.0.0.1:${port}` });
  assert.deepEqual((await client.getTwin(7))?.relays, ["r.example"]);
  assert.equal(requests, 2);
  await assert.rejects(client.updateAccount(alice, 7, { relays: [] }), RegistryUnavailableError);
  assert.equal(requests, 3, "the PATCH was sent once");
});
