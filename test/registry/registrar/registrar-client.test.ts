import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { secp256k1PublicKey } from "../../../src/crypto/secp256k1.js";
import { DEV_PHRASE, KeyType } from "../../../src/identity/index.js";
import {
  CachedRegistry,
  decodeStdBase64,
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
import { creationChallenge, verifyRawSignature } from "../../../src/registry/registrar/proofs.js";
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

/** One account as the scripted upstream keeps it (the text of `public_key` as sent, as upstream does). */
interface UpstreamAccount {
  twin_id: number;
  relays: string[] | null;
  rmb_enc_key: string;
  created_at: string;
  updated_at: string;
  public_key: string;
}

/**
 * A scripted TFGrid v4 registrar (node:http on 127.0.0.1) that behaves like upstream HEAD where our service
 * differs (spec registrar-accounts.md §3, §5): a duplicate key gets 500 `failed to create account` (the 409
 * mapping never fires), PATCH replaces both fields (an omitted `relays` becomes `null`), and there is no change
 * stream (gin's plain-text 404 for `/accounts/events`). It checks the creation proof and X-Auth signatures.
 */
async function startUpstreamRegistrar(t: TestContext) {
  const accounts: UpstreamAccount[] = [];
  const requests: string[] = [];
  /** Set to make the next creations fail like a database error (500, same text as a duplicate). */
  const state = { failCreation: false };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body =
      chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
    const now = new Date().toISOString();
    if (req.method === "POST" && /^\/v1\/accounts\/?$/.test(url.pathname)) {
      const key = String(body.public_key);
      const proof = verifyRawSignature(
        decodeStdBase64(key) ?? new Uint8Array(),
        creationChallenge(Number(body.timestamp), key),
        decodeStdBase64(String(body.signature)) ?? new Uint8Array(),
      );
      if (proof !== undefined) return json(res, 401, { error: `signature verification error: ${proof}` });
      if (state.failCreation || accounts.some((a) => a.public_key === key))
        return json(res, 500, { error: "failed to create account" });
      const account: UpstreamAccount = {
        twin_id: accounts.length + 1,
        relays: (body.relays as string[] | null | undefined) ?? [],
        rmb_enc_key: (body.rmb_enc_key as string | null | undefined) ?? "",
        created_at: now,
        updated_at: now,
        public_key: key,
      };
      accounts.push(account);
      return json(res, 201, account);
    }
    if (req.method === "GET" && /^\/v1\/accounts\/?$/.test(url.pathname)) {
      const id = url.searchParams.get("twin_id");
      const key = url.searchParams.get("public_key");
      const found = accounts.find((a) => (id !== null ? String(a.twin_id) === id : a.public_key === key));
      return found === undefined ? json(res, 404, { error: "account not found" }) : json(res, 200, found);
    }
    const patch = /^\/v1\/accounts\/(\d+)$/.exec(url.pathname);
    if (req.method === "PATCH" && patch !== null) {
      const [challenge = "", signature = ""] = String(req.headers["x-auth"]).split(":");
      const [, idText] = Buffer.from(challenge, "base64").toString().split(":");
      const account = accounts.find((a) => String(a.twin_id) === idText);
      if (account === undefined) return json(res, 404, { error: "Account not found" });
      const bad = verifyRawSignature(
        decodeStdBase64(account.public_key) ?? new Uint8Array(),
        Buffer.from(challenge, "base64"),
        decodeStdBase64(signature) ?? new Uint8Array(),
      );
      if (bad !== undefined) return json(res, 401, { error: `Signature verification failed: ${bad}` });
      if (idText !== patch[1]) return json(res, 401, { error: "not authorized" });
      account.relays = (body.relays as string[] | null | undefined) ?? null;
      account.rmb_enc_key = (body.rmb_enc_key as string | null | undefined) ?? "";
      account.updated_at = now;
      return json(res, 200, { message: "account updated successfully" });
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("404 page not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accounts,
    requests,
    set failCreation(value: boolean) {
      state.failCreation = value;
    },
  };
}

test("registrar client against upstream — a duplicate's 500 `failed to create account` is TwinExistsError", async (t) => {
  const upstream = await startUpstreamRegistrar(t);
  const client = new RegistrarClient({ url: upstream.url });
  assert.equal((await client.createTwin(alice, { relays: ["relay.one"] })).id, 1);
  upstream.requests.length = 0;
  await assert.rejects(client.createTwin(alice, { relays: [] }), (err: unknown) => {
    assert.ok(err instanceof TwinExistsError);
    assert.equal(err.code, "RMB_ERR_TWIN_EXISTS");
    assert.equal(err.twinId, 1, "found by the lookup that confirms the duplicate");
    assert.equal(err.message, "account with this public key already exists");
    return true;
  });
  assert.deepEqual(upstream.requests, [
    "POST /v1/accounts",
    `GET /v1/accounts?public_key=${encodeURIComponent(encodeStdBase64(alice.publicKey))}`,
  ]);
  assert.equal(upstream.accounts.length, 1);
  // A 500 that is not a duplicate (the lookup finds no account for the key) stays an outage.
  upstream.failCreation = true;
  await assert.rejects(client.createTwin(bob, { relays: [] }), (err: unknown) => {
    assert.ok(err instanceof RegistryUnavailableError);
    assert.equal(err.status, 500);
    assert.equal(err.message, "create account: failed to create account (HTTP 500)");
    return true;
  });
});

test("registrar client against upstream — without a change stream (404) watch reports nothing and the cache relies on its TTL", async (t) => {
  const upstream = await startUpstreamRegistrar(t);
  const client = new RegistrarClient({ url: upstream.url, watchRetryDelay: 10 });
  await client.createTwin(alice, { relays: ["one.example"] });
  let now = 0;
  const cache = new CachedRegistry(client, { ttl: 60, now: () => now });
  const changes: TwinChange[] = [];
  const unwatch = cache.watch((change) => changes.push(change));
  t.after(() => {
    unwatch();
    cache.close();
    client.close();
  });
  await waitUntil(async () => upstream.requests.includes("GET /v1/accounts/events"));
  assert.deepEqual((await cache.getTwin(1))?.relays, ["one.example"]);
  await client.updateTwin(alice, { relays: ["two.example"] });
  assert.deepEqual((await cache.getTwin(1))?.relays, ["one.example"], "no event: served from the cache");
  // A stream that is not there is not asked for again and again (the retry delay is 10 ms).
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(upstream.requests.filter((r) => r === "GET /v1/accounts/events").length, 1);
  assert.deepEqual(changes, []);
  now += 61_000;
  assert.deepEqual((await cache.getTwin(1))?.relays, ["two.example"], "refreshed once the TTL ran out");
});

test("registrar client against upstream — accounts with `relays: null` (wiped by an upstream PATCH) are twins without relays", async (t) => {
  const upstream = await startUpstreamRegistrar(t);
  const client = new RegistrarClient({ url: upstream.url });
  const created = await client.createTwin(alice, { relays: ["relay.one"] });
  // Like the Go client's UpdateAccount(UpdateAccountWithRMBEncKey(k)): upstream sets the omitted relays to NULL.
  await client.updateAccount(alice, created.id, { rmbEncKey: encodeStdBase64(pk) });
  assert.equal(upstream.accounts[0]?.relays, null);
  const account = await client.getAccount(created.id);
  assert.equal(account?.relays, null);
  assert.equal(account?.rmbEncKey, encodeStdBase64(pk));
  assert.deepEqual(await client.getTwin(created.id), { id: 1, accountId: alice.publicKey, relays: [], pk });
  // updateTwin sends both fields, so upstream's full replace leaves nothing wiped.
  const twin = await client.updateTwin(alice, { relays: ["relay.two"], pk });
  assert.deepEqual([twin.relays, twin.pk], [["relay.two"], pk]);
  assert.deepEqual(upstream.accounts[0]?.relays, ["relay.two"]);
});
