import assert from "node:assert/strict";
import type { AddressInfo, Socket } from "node:net";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  type JsonValue,
  SubstrateRpcClient,
  SubstrateRpcError,
  type SubstrateRpcStatus,
} from "../../../src/registry/tfchain/index.js";
import { deadUrl, FakeSubstrate } from "../../support/fake-substrate.js";
import { waitUntil } from "../../support/wait.js";

function isRpcError(reason: SubstrateRpcError["reason"], code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SubstrateRpcError, `expected SubstrateRpcError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.code, code);
    return true;
  };
}

test("substrate rpc — calls a method and maps a JSON-RPC error", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url] });
  t.after(() => rpc.close());
  await rpc.start();
  assert.equal(rpc.url, fake.url);
  assert.equal(
    await rpc.request("chain_getBlockHash", [0]),
    `0x${Buffer.from(fake.genesisHash).toString("hex")}`,
  );
  await assert.rejects(rpc.request("no_such_method", []), (err: unknown) => {
    isRpcError("rpc", "RMB_ERR_SUBSTRATE_RPC")(err);
    assert.equal((err as SubstrateRpcError).rpcCode, -32601);
    assert.equal((err as SubstrateRpcError).method, "no_such_method");
    assert.match((err as Error).message, /no_such_method failed \(-32601\): Method not found/);
    return true;
  });
});

test("substrate rpc — fails over from a dead URL to a live one", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [await deadUrl(), fake.url], startRounds: 1 });
  t.after(() => rpc.close());
  await rpc.start();
  assert.equal(rpc.url, fake.url);
  assert.equal(typeof (await rpc.request("state_getRuntimeVersion", [])), "object");
});

test("substrate rpc — start rejects when no URL answers", async (t) => {
  const rpc = new SubstrateRpcClient({
    urls: [await deadUrl(), await deadUrl()],
    startRounds: 2,
    reconnectDelay: 10,
  });
  t.after(() => rpc.close());
  await assert.rejects(rpc.start(), (err: unknown) => {
    isRpcError("connection", "RMB_ERR_SUBSTRATE_CONNECTION")(err);
    assert.match((err as Error).message, /cannot connect to any substrate node/);
    return true;
  });
  await assert.rejects(rpc.request("chain_getHeader"), /not started/);
});

test("substrate rpc — an unanswered request times out", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url], requestTimeout: 100 });
  t.after(() => rpc.close());
  await rpc.start();
  fake.hang("chain_getHeader");
  const started = Date.now();
  await assert.rejects(rpc.request("chain_getHeader"), isRpcError("timeout", "RMB_ERR_SUBSTRATE_TIMEOUT"));
  assert.ok(Date.now() - started >= 90);
  assert.equal(rpc.pendingRequests, 0);
  await assert.rejects(rpc.request("chain_getHeader", [], { timeout: 30 }), /timed out after 30 ms/);
});

test("substrate rpc — maxPendingRequests bounds the requests waiting for answers", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url], maxPendingRequests: 2, requestTimeout: 200 });
  t.after(() => rpc.close());
  await rpc.start();
  fake.hang("chain_getHeader");
  const first = rpc.request("chain_getHeader");
  const second = rpc.request("chain_getHeader");
  await assert.rejects(rpc.request("chain_getHeader"), isRpcError("overload", "RMB_ERR_SUBSTRATE_OVERLOAD"));
  await assert.rejects(first, /timed out/);
  await assert.rejects(second, /timed out/);
  fake.unhang("chain_getHeader");
  assert.equal(typeof (await rpc.request("chain_getHeader")), "object");
});

test("substrate rpc — reconnects after the server restarts and renews subscriptions", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url], reconnectDelay: 20, maxReconnectDelay: 50 });
  t.after(() => rpc.close());
  const statuses: SubstrateRpcStatus[] = [];
  rpc.onStatus((s) => statuses.push(s));
  await rpc.start();
  const heads: JsonValue[] = [];
  const sub = await rpc.subscribe(
    {
      method: "chain_subscribeNewHeads",
      params: [],
      unsubscribeMethod: "chain_unsubscribeNewHeads",
      resubscribe: true,
    },
    (head) => heads.push(head),
  );
  const numbers = () => heads.map((head) => (head as { number: string }).number);
  await waitUntil(async () => numbers().includes("0x0")); // like substrate, the current head comes at once
  fake.produceBlock();
  await waitUntil(async () => numbers().includes("0x1"));

  await fake.restart();
  await waitUntil(async () => rpc.connected && fake.subscriptionCount("heads") === 1);
  fake.produceBlock();
  await waitUntil(async () => numbers().includes("0x2"));
  assert.ok(sub.active);
  assert.deepEqual(
    statuses.map((s) => s.kind),
    ["connected", "disconnected", "connected"],
  );
  assert.deepEqual(statuses[2], { kind: "connected", url: fake.url, reconnected: true });
  await sub.unsubscribe();
  assert.equal(sub.active, false);
  await waitUntil(async () => fake.subscriptionCount("heads") === 0);
});

test("substrate rpc — a request made while disconnected waits for the reconnect", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url], reconnectDelay: 20, maxReconnectDelay: 50 });
  t.after(() => rpc.close());
  await rpc.start();
  await fake.stop();
  await waitUntil(async () => !rpc.connected);
  const pending = rpc.request("chain_getBlockHash", [0]);
  await new Promise((r) => setTimeout(r, 100));
  await fake.restart();
  assert.equal(typeof (await pending), "string");
});

test("substrate rpc — a subscription without resubscribe ends with an error when the connection drops", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url], reconnectDelay: 20 });
  t.after(() => rpc.close());
  await rpc.start();
  const errors: SubstrateRpcError[] = [];
  const sub = await rpc.subscribe(
    {
      method: "chain_subscribeNewHeads",
      params: [],
      unsubscribeMethod: "chain_unsubscribeNewHeads",
      resubscribe: false,
    },
    () => {},
    (err) => errors.push(err),
  );
  fake.dropConnections();
  await waitUntil(async () => errors.length === 1);
  assert.equal(errors[0]?.reason, "connection");
  assert.equal(sub.active, false);
});

test("substrate rpc — close fails pending requests and refuses new ones", async (t) => {
  const fake = await FakeSubstrate.start();
  t.after(() => fake.stop());
  const rpc = new SubstrateRpcClient({ urls: [fake.url] });
  await rpc.start();
  fake.hang("chain_getHeader");
  const pending = assert.rejects(
    rpc.request("chain_getHeader"),
    isRpcError("connection", "RMB_ERR_SUBSTRATE_CONNECTION"),
  );
  await rpc.close();
  await pending;
  await assert.rejects(rpc.request("chain_getHeader"), /closed/);
  await assert.rejects(rpc.start(), /closed/);
  await waitUntil(async () => fake.connections === 0);
});

test("substrate rpc — options are validated", () => {
  assert.throws(() => new SubstrateRpcClient({ urls: [] }), InvalidArgumentError);
  assert.throws(() => new SubstrateRpcClient({ urls: ["http://node"] }), /options\.urls\[0\]/);
  assert.throws(() => new SubstrateRpcClient({ urls: ["not a url"] }), InvalidArgumentError);
  assert.throws(
    () => new SubstrateRpcClient({ urls: ["ws://a"], requestTimeout: 0 }),
    /options\.requestTimeout/,
  );
  assert.throws(
    () => new SubstrateRpcClient({ urls: ["ws://a"], maxPendingRequests: 1.5 }),
    /maxPendingRequests/,
  );
});

test("substrate rpc — a notification sent in the same read as its subscription id is not lost", async (t) => {
  // A node may send the first notification right after the id (substrate does for heads and storage). Written in
  // one piece (corked), both frames reach the client in one read and are handled in the same tick.
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  server.on("connection", (socket) => {
    socket.on("message", (data) => {
      const request = JSON.parse(String(data)) as { id: number; method: string };
      const raw = (socket as unknown as { _socket: Socket })._socket;
      raw.cork();
      socket.send(JSON.stringify({ jsonrpc: "2.0", id: request.id, result: `s${request.id}` }));
      for (const n of [1, 2]) {
        socket.send(
          JSON.stringify({
            jsonrpc: "2.0",
            method: "test_notification",
            params: { subscription: `s${request.id}`, result: n },
          }),
        );
      }
      raw.uncork();
    });
  });
  const { port } = server.address() as AddressInfo;
  const rpc = new SubstrateRpcClient({ urls: [`ws://127.0.0.1:${port}`] });
  t.after(() => rpc.close());
  await rpc.start();
  const seen: JsonValue[] = [];
  await rpc.subscribe(
    { method: "test_subscribe", params: [], unsubscribeMethod: "test_unsubscribe", resubscribe: false },
    (result) => seen.push(result),
  );
  await waitUntil(async () => seen.length === 2);
  assert.deepEqual(seen, [1, 2]);
});
