import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import {
  createWebSocketTransport,
  type StandardWebSocket,
  type WebSocketConstructor,
  type WebSocketLinkInfo,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from "../../src/browser/websocket-transport.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { type Identity, KeyType, loadIdentity } from "../../src/identity/index.js";
import {
  RELAY_EXPIRED_MESSAGE,
  RELAY_STOPPED_MESSAGE,
  RelayUnavailableError,
} from "../../src/peer/relay-pool.js";
import { decodeEnvelope, type Envelope, verifyJwt } from "../../src/protocol/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { RmbClient } from "../../src/sdk/index.js";
import { randomSeed } from "../support/peer-net.js";
import { freePort } from "../support/redis-server.js";
import { waitUntil } from "../support/wait.js";

/**
 * The browser transport, run in Node: with the `ws` package as its standard `WebSocket` against a real relay and a
 * silent fake one, and with a scriptable fake socket for what no server produces on demand (a full send buffer,
 * frames while paused, a handshake that never ends).
 */

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;
const DOMAIN = "relay.test";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A standard-API socket driven by the test: `open()`, `receive()`, `bufferedAmount`, `sent`. */
class FakeSocket implements StandardWebSocket {
  static all: FakeSocket[] = [];
  readonly url: string;
  binaryType = "blob";
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: Uint8Array[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;

  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(data: unknown): void {
    this.onmessage?.({ data });
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(data.slice());
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
}

const frame = (n: number): ArrayBuffer => new Uint8Array([n, n, n]).buffer;

describe("browser WebSocketTransport", () => {
  const registry = new MemoryRegistry();
  let relay: RelayServer;
  let relayUrl: string;
  let alice: Identity;
  let aliceTwin: number;
  let bob: Identity;
  let bobTwin: number;
  const stoppers: (() => Promise<unknown>)[] = [];

  const transport = (
    options: Partial<WebSocketTransportOptions> & Pick<WebSocketTransportOptions, "relays">,
  ) => {
    const t = new WebSocketTransport({
      signer: alice.signer,
      twin: aliceTwin,
      onFrame: () => {},
      WebSocket: NodeWebSocket,
      reconnectDelay: 20,
      maxReconnectDelay: 100,
      ...options,
    });
    stoppers.push(() => t.stop());
    return t;
  };

  before(async () => {
    alice = loadIdentity(randomSeed(), KeyType.Ed25519);
    bob = loadIdentity(randomSeed(), KeyType.Sr25519);
    aliceTwin = registry.register({
      accountId: alice.publicKey,
      relays: [DOMAIN],
      pk: alice.e2e!.publicKey,
    }).id;
    bobTwin = registry.register({ accountId: bob.publicKey, relays: [DOMAIN], pk: bob.e2e!.publicKey }).id;
    relay = new RelayServer({ domains: [DOMAIN], registry, host: "127.0.0.1" });
    relayUrl = `ws://127.0.0.1:${(await relay.start()).port}`;
  });

  after(async () => {
    for (const stop of stoppers.reverse()) await stop();
    await relay.stop();
  });

  /** A websocket server that accepts every login and never says anything; records tokens and frames. */
  const silentRelay = async () => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const tokens: string[] = [];
    const frames: Uint8Array[] = [];
    server.on("connection", (socket, req) => {
      tokens.push((req.url ?? "").replace(/^\/\?/, ""));
      socket.on("message", (data: Buffer) => frames.push(new Uint8Array(data)));
    });
    stoppers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const c of server.clients) c.terminate();
          server.close(() => resolve());
        }),
    );
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, tokens, frames };
  };

  test("RmbClients over it call and serve each other through a real relay, end-to-end encrypted", async () => {
    const connect = async (identity: Identity) => {
      const client = await RmbClient.connect({
        identity,
        registry,
        relays: [relayUrl],
        transport: createWebSocketTransport({ WebSocket: NodeWebSocket }),
      });
      stoppers.push(() => client.close());
      return client;
    };
    const a = await connect(alice);
    const b = await connect(bob);
    b.serve("calc.add", (req) => {
      const { x, y } = req.json<{ x: number; y: number }>();
      return x + y;
    });
    a.serve("whoami", (req) => ({ caller: req.source.twin }));
    assert.equal((await a.call(bobTwin, "calc.add", { x: 40, y: 2 }, { timeout: 5000 })).json(), 42);
    assert.deepEqual((await b.call(aliceTwin, "whoami", null, { timeout: 5000 })).json(), {
      caller: bobTwin,
    });
    assert.equal(a.connectedRelays, 1);
  });

  test("keep-alive: an idle link sends ping envelopes, swallows their pongs and stays up", async () => {
    const frames: Uint8Array[] = [];
    const t = transport({
      relays: [relayUrl],
      session: "keepalive",
      pingAfterIdle: 50,
      silenceTimeout: 400,
      onFrame: (bytes) => frames.push(bytes),
    });
    t.start();
    await t.waitConnected(5000);
    await sleep(600);
    const link = t.links[0] as WebSocketLinkInfo;
    assert.equal(link.state, "open");
    assert.equal(link.stats.connects, 1);
    assert.equal(link.stats.disconnects, 0);
    assert.ok(link.stats.pings >= 5, `pings: ${link.stats.pings}`);
    assert.ok(link.stats.pongs >= link.stats.pings - 2, `pongs ${link.stats.pongs} of ${link.stats.pings}`);
    assert.equal(frames.length, 0, "pongs are not passed on");
  });

  test("a silent relay is dropped after silenceTimeout and reconnected with a fresh valid token; pings are §4.5 envelopes", async () => {
    const silent = await silentRelay();
    const t = transport({ relays: [silent.url], session: "s1", pingAfterIdle: 40, silenceTimeout: 150 });
    t.start();
    await waitUntil(async () => silent.tokens.length >= 2, 5000);
    const link = t.links[0] as WebSocketLinkInfo;
    await waitUntil(async () => link.stats.disconnects >= 1);
    for (const token of silent.tokens) {
      const claims = verifyJwt(token, { accountId: alice.publicKey });
      assert.equal(claims.sub, aliceTwin);
      assert.equal(claims.sid, "s1");
    }
    // A loaded machine can run the keep-alive timer late enough that a link is dropped before it pinged: wait.
    await waitUntil(async () => silent.frames.length >= 2, 5000);
    const ping: Envelope = decodeEnvelope(silent.frames[0]!);
    assert.equal(ping.message?.kind, "ping");
    assert.deepEqual(ping.source, { twin: aliceTwin, connection: "s1" });
    assert.deepEqual(ping.destination, { twin: 0 });
    assert.ok(ping.expiration >= 1);
  });

  test("send goes through the open link when another relay is down (failover)", async () => {
    const silent = await silentRelay();
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const t = transport({ relays: [dead, silent.url] });
    t.start();
    await t.waitConnected(5000);
    await t.send(new Uint8Array([1, 2, 3]), Date.now() + 5000);
    await waitUntil(async () => silent.frames.length === 1);
    assert.deepEqual([...silent.frames[0]!], [1, 2, 3]);
    assert.equal(t.connectedCount, 1);
    await waitUntil(async () => (t.links[0]?.stats.connectFailures ?? 0) >= 2);
  });

  test("send waits for a link until its deadline (RelayUnavailableError); stop() rejects the sends still waiting", async () => {
    const t = transport({ relays: [`ws://127.0.0.1:${await freePort()}`] });
    t.start();
    const started = Date.now();
    await assert.rejects(t.send(new Uint8Array([1]), Date.now() + 200), (err: unknown) => {
      assert.ok(err instanceof RelayUnavailableError);
      assert.equal(err.message, RELAY_EXPIRED_MESSAGE);
      return true;
    });
    assert.ok(Date.now() - started >= 190);
    const waiting = t.send(new Uint8Array([2]), Date.now() + 60_000);
    await assert.rejects(t.waitConnected(50), { name: "RelayUnavailableError" });
    await t.stop();
    await assert.rejects(waiting, { name: "RelayUnavailableError", message: RELAY_STOPPED_MESSAGE });
  });

  test("backpressure: frames wait in order while bufferedAmount exceeds maxBufferedBytes, until their deadline", async () => {
    FakeSocket.all = [];
    const t = transport({
      relays: ["ws://fake.invalid"],
      WebSocket: FakeSocket,
      maxBufferedBytes: 100,
      drainInterval: 5,
    });
    t.start();
    const ws = FakeSocket.all[0]!;
    assert.equal(ws.binaryType, "arraybuffer");
    assert.match(ws.url, /^ws:\/\/fake\.invalid\/\?[\w-]+\.[\w-]+\.[\w-]+$/);
    ws.open();
    await t.send(new Uint8Array([1]), Date.now() + 1000);
    ws.bufferedAmount = 101;
    const second = t.send(new Uint8Array([2]), Date.now() + 5000);
    const third = t.send(new Uint8Array([3]), Date.now() + 5000);
    const late = t.send(new Uint8Array([4]), Date.now() + 50);
    await assert.rejects(late, /did not drain its send buffer before the message expired|message expired/);
    assert.equal(ws.sent.length, 1);
    ws.bufferedAmount = 0;
    await Promise.all([second, third]);
    assert.deepEqual(
      ws.sent.map((b) => b[0]),
      [1, 2, 3],
    );
  });

  test("pauseReading queues frames in order up to maxPausedFrames, drops and counts the rest, delivers on resume", async () => {
    FakeSocket.all = [];
    const got: number[] = [];
    let repauseAt = 3;
    const t: WebSocketTransport = transport({
      relays: ["ws://fake.invalid"],
      WebSocket: FakeSocket,
      maxPausedFrames: 3,
      onFrame: (bytes) => {
        got.push(bytes[0]!);
        if (bytes[0] === repauseAt) t.pauseReading(true); // a saturated receiver pauses again while draining
      },
    });
    t.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(frame(1));
    t.pauseReading(true);
    for (let n = 2; n <= 6; n++) ws.receive(frame(n));
    assert.deepEqual(got, [1]);
    assert.equal(t.pausedFrames, 3);
    assert.equal(t.links[0]?.stats.droppedFrames, 2);
    t.pauseReading(false);
    assert.deepEqual(got, [1, 2, 3], "delivery stops when the receiver pauses again");
    assert.equal(t.pausedFrames, 1);
    ws.receive(frame(7));
    repauseAt = -1;
    t.pauseReading(false);
    assert.deepEqual(got, [1, 2, 3, 4, 7]);
    ws.receive(frame(8));
    assert.deepEqual(got, [1, 2, 3, 4, 7, 8]);
  });

  test("text frames and frames over maxPayload are dropped and counted; the link stays up", () => {
    FakeSocket.all = [];
    const got: Uint8Array[] = [];
    const t = transport({
      relays: ["ws://fake.invalid"],
      WebSocket: FakeSocket,
      maxPayload: 8,
      onFrame: (bytes) => got.push(bytes),
    });
    t.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive("hello");
    ws.receive(new ArrayBuffer(9));
    ws.receive(new ArrayBuffer(8));
    assert.equal(got.length, 1);
    const stats = t.links[0]!.stats;
    assert.equal(stats.textFrames, 1);
    assert.equal(stats.droppedFrames, 1);
    assert.equal(t.connectedCount, 1);
  });

  test("a handshake that does not finish within connectTimeout is abandoned and retried", async () => {
    FakeSocket.all = [];
    const t = transport({ relays: ["ws://fake.invalid"], WebSocket: FakeSocket, connectTimeout: 50 });
    t.start();
    await waitUntil(async () => FakeSocket.all.length >= 3, 3000);
    assert.equal(FakeSocket.all[0]?.readyState, 3, "the abandoned socket was closed");
    assert.ok((t.links[0]?.stats.connectFailures ?? 0) >= 2);
    FakeSocket.all.at(-1)?.open();
    await t.waitConnected(1000);
  });

  test("options are validated, naming the option", () => {
    const base = { relays: [relayUrl], signer: alice.signer, twin: aliceTwin, onFrame: () => {} };
    const saved = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
    Object.defineProperty(globalThis, "WebSocket", { value: undefined, configurable: true, writable: true });
    try {
      assert.throws(
        () => new WebSocketTransport(base),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError);
          assert.match(err.message, /^invalid argument 'WebSocket': no WebSocket implementation/);
          return true;
        },
      );
    } finally {
      if (saved === undefined) Reflect.deleteProperty(globalThis, "WebSocket");
      else Object.defineProperty(globalThis, "WebSocket", saved);
    }
    const withWs = { ...base, WebSocket: NodeWebSocket };
    assert.throws(() => new WebSocketTransport({ ...withWs, pingAfterIdle: 100, silenceTimeout: 100 }), {
      message: "invalid argument 'silenceTimeout': must be greater than pingAfterIdle (100)",
    });
    assert.throws(() => new WebSocketTransport({ ...withWs, relays: [relayUrl, `${relayUrl}/`] }), {
      message: "invalid argument 'relays[1]': duplicate of relays[0]",
    });
    assert.throws(() => new WebSocketTransport({ ...withWs, relays: ["http://x"] }), /relays\[0\]/);
    assert.throws(() => new WebSocketTransport({ ...withWs, maxPausedFrames: 0 }), /'maxPausedFrames'/);
    assert.throws(() => new WebSocketTransport({ ...withWs, relays: [] }), /at least one relay URL/);
  });
});
