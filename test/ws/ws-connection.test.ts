import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { WsStateError } from "../../src/ws/errors.js";
import { acceptWebSocket } from "../../src/ws/server-handshake.js";
import { type WsConnection, WsState } from "../../src/ws/ws-connection.js";
import { httpRequest } from "../support/relay-client.js";

/** An HTTP server that upgrades every request to our WsConnection and hands it to the current test. */
let server: Server;
let port: number;
let onConnection: (ws: WsConnection) => void = () => undefined;

before(async () => {
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req, socket, head) => {
    const ws = acceptWebSocket(req, socket, head, { maxPayload: 1024 * 1024, closeTimeout: 2000 });
    if (ws !== undefined) onConnection(ws);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** Connects a standard `ws` client and resolves with both ends. */
async function pair(): Promise<{ client: WebSocket; conn: WsConnection }> {
  const conn = new Promise<WsConnection>((resolve) => {
    onConnection = resolve;
  });
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  client.on("error", () => undefined);
  await new Promise((r, j) => {
    client.once("open", r);
    client.once("error", j);
  });
  return { client, conn: await conn };
}

function closed(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((r) => client.once("close", (code, reason) => r({ code, reason: reason.toString() })));
}

describe("ws — WsConnection against a standard client", () => {
  test("messages both ways, in order; a turn's sends leave in one write and report their tokens", async () => {
    const { client, conn } = await pair();
    const got: string[] = [];
    conn.onMessage = (data, binary) => {
      got.push(`${binary ? "b" : "t"}:${data.toString()}`);
      if (got.length === 3) {
        conn.sendTracked(Buffer.from("one"), "1");
        conn.sendTracked(Buffer.from("two"), "2");
        conn.send(Buffer.alloc(200_000, 7));
        conn.sendTracked(Buffer.from("three"), "3");
      }
    };
    const written = new Promise<[string[], number, Error | undefined]>((r) => {
      conn.onWritten = (tokens, bytes, err) => r([tokens, bytes, err]);
    });
    const received: Buffer[] = [];
    const four = new Promise<void>((r) =>
      client.on("message", (data: Buffer) => {
        received.push(data);
        if (received.length === 4) r();
      }),
    );
    client.send(Buffer.from("a"));
    client.send("b");
    client.send(Buffer.from("c"));
    await four;
    assert.deepEqual(got, ["b:a", "t:b", "b:c"]);
    assert.deepEqual(
      received.map((b) => (b.length > 100 ? `${b.length}` : b.toString())),
      ["one", "two", "200000", "three"],
    );
    assert.deepEqual(await written, [["1", "2", "3"], 11, undefined]);
    client.close();
  });

  test("a message bigger than the copy limit and a 1 MiB one arrive intact", async () => {
    const { client, conn } = await pair();
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    conn.onMessage = (data) => conn.send(data);
    const echoed = new Promise<Buffer>((r) => client.once("message", (d: Buffer) => r(d)));
    client.send(big);
    assert.ok((await echoed).equals(big));
    client.close();
  });

  test("pings are answered with pongs carrying the same data", async () => {
    const { client } = await pair();
    const pong = new Promise<string>((r) => client.once("pong", (d: Buffer) => r(d.toString())));
    client.ping("are you there");
    assert.equal(await pong, "are you there");
    client.close();
  });

  test("closing: the server's code and reason reach the client; the client's close reaches onClose", async () => {
    const a = await pair();
    const seen = closed(a.client);
    a.conn.close(4000, "session replaced");
    assert.equal(a.conn.readyState, WsState.Closing);
    assert.deepEqual(await seen, { code: 4000, reason: "session replaced" });

    const b = await pair();
    const onClose = new Promise<[number, string]>((r) => {
      b.conn.onClose = (code, reason) => r([code, reason]);
    });
    b.client.close(1000, "bye");
    assert.deepEqual(await onClose, [1000, "bye"]);
    assert.equal(b.conn.readyState, WsState.Closed);
  });

  test("messages the client sent before it saw the server's close frame are still handed over", async () => {
    const { client, conn } = await pair();
    const got: string[] = [];
    const first = new Promise<void>((r) => {
      conn.onMessage = (d) => {
        got.push(d.toString());
        if (got.length === 1) {
          conn.close(4000, "evicted");
          r();
        }
      };
    });
    client.send("1");
    client.send("2");
    await first;
    await closed(client);
    assert.deepEqual(got, ["1", "2"]);
  });

  test("a close right before terminate() still sends its frame", async () => {
    const { client, conn } = await pair();
    const seen = closed(client);
    conn.close(1001, "relay shutting down");
    conn.terminate();
    assert.equal((await seen).code, 1001);
  });

  test("protocol errors close with their code: 1009 over maxPayload", async () => {
    const { client, conn } = await pair();
    const onClose = new Promise<number>((r) => {
      conn.onClose = (code) => r(code);
    });
    const seen = closed(client);
    client.send(Buffer.alloc(1024 * 1024 + 1));
    assert.equal((await seen).code, 1009);
    assert.equal(await onClose, 1009);
  });

  test("a peer that vanishes gives 1006; sends after that fail with WsStateError", async () => {
    const { client, conn } = await pair();
    const onClose = new Promise<number>((r) => {
      conn.onClose = (code) => r(code);
    });
    client.terminate();
    assert.equal(await onClose, 1006);
    const err = await new Promise<Error | undefined>((r) => conn.send(Buffer.from("late"), r));
    assert.ok(err instanceof WsStateError);
    assert.equal(err.code, "RMB_ERR_WS_STATE");
    const tracked = new Promise<[string[], Error | undefined]>((r) => {
      conn.onWritten = (tokens, _bytes, e) => r([tokens, e]);
    });
    conn.sendTracked(Buffer.from("late"), "9");
    const [tokens, e] = await tracked;
    assert.deepEqual(tokens, ["9"]);
    assert.ok(e instanceof WsStateError);
  });

  test("bad opening handshakes get HTTP errors", async () => {
    const upgrade = { connection: "Upgrade", upgrade: "websocket" };
    const noKey = await httpRequest(port, "GET", "/", undefined, {
      ...upgrade,
      "sec-websocket-version": "13",
    });
    assert.deepEqual(noKey, { status: 400, body: "Missing or invalid Sec-WebSocket-Key header" });
    const badVersion = await httpRequest(port, "GET", "/", undefined, {
      ...upgrade,
      "sec-websocket-version": "12",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    });
    assert.deepEqual(badVersion, { status: 400, body: "Missing or invalid Sec-WebSocket-Version header" });
    const post = await httpRequest(port, "POST", "/", undefined, {
      ...upgrade,
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    });
    assert.deepEqual(post, { status: 405, body: "Invalid HTTP method" });
  });
});
