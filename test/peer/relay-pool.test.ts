import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { type TestContext, test } from "node:test";
import { type WebSocket, WebSocketServer } from "ws";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  RELAY_EXPIRED_MESSAGE,
  RELAY_POOL_DEFAULTS,
  RELAY_STOPPED_MESSAGE,
  RelayPool,
  type RelayPoolOptions,
  RelayUnavailableError,
} from "../../src/peer/relay-pool.js";
import {
  createEnvelope,
  createJwt,
  parseJwt,
  signEnvelope,
  unixNow,
  verifyEnvelope,
  verifyJwt,
} from "../../src/protocol/index.js";
import { freePort } from "../support/redis-server.js";
import { encode, RelayTestClient, requestEnvelope, tryUpgrade } from "../support/relay-client.js";
import { createTwins, startRelay, type TwinsFixture } from "../support/relay-fixture.js";
import { waitUntil } from "../support/wait.js";

const HOST = "127.0.0.1";

/** Cleanups run in reverse order of registration (pool before relay) after the test. */
function cleanup(t: TestContext): (fn: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of stack.reverse()) await fn();
  });
  return (fn) => {
    stack.push(fn);
  };
}

/** Small timers so that reconnects and keep-alives happen within milliseconds. */
const FAST = { reconnectDelay: 10, maxReconnectDelay: 40 } as const;

interface Harness {
  pool: RelayPool;
  frames: Uint8Array[];
  logs: string[];
}

function alicePool(
  defer: (fn: () => unknown) => void,
  fx: Pick<TwinsFixture, "alice" | "twins">,
  relays: string[],
  extra: Partial<RelayPoolOptions> = {},
): Harness {
  const frames: Uint8Array[] = [];
  const logs: string[] = [];
  const pool = new RelayPool({
    relays,
    signer: fx.alice,
    twin: fx.twins.alice.id,
    onFrame: (bytes) => frames.push(bytes),
    log: (level, message) => logs.push(`${level}: ${message}`),
    ...FAST,
    ...extra,
  });
  defer(() => pool.stop());
  return { pool, frames, logs };
}

/** A bare `ws` server on 127.0.0.1 standing in for a relay, for faults a real relay cannot produce on demand. */
async function rawServer(
  defer: (fn: () => unknown) => void,
  options: { autoPong?: boolean } = {},
): Promise<{ wss: WebSocketServer; port: number; sockets: WebSocket[]; urls: string[] }> {
  const wss = new WebSocketServer({ host: HOST, port: 0, autoPong: options.autoPong ?? true });
  await once(wss, "listening");
  const sockets: WebSocket[] = [];
  const urls: string[] = [];
  wss.on("connection", (ws: WebSocket, req: IncomingMessage) => {
    sockets.push(ws);
    urls.push(req.url ?? "");
    ws.on("error", () => undefined);
  });
  defer(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });
  return { wss, port: (wss.address() as { port: number }).port, sockets, urls };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function assertNoToken(logs: string[]): void {
  // Every token starts with base64url('{"alg"…') = "eyJ"; none may reach a log line.
  for (const line of logs) assert.ok(!line.includes("eyJ"), `token in log: ${line}`);
}

test("relay pool — sends a signed request to bob and delivers bob's frames to onFrame byte-identical", async (t) => {
  const defer = cleanup(t);
  const fx = await startRelay();
  defer(() => fx.relay.stop());
  const { pool, frames, logs } = alicePool(defer, fx, [`ws://${HOST}:${fx.port}`]);
  pool.start();
  await pool.waitConnected(2000);
  assert.equal(pool.connectedCount, 1);
  assert.equal(pool.links[0]!.state, "open");

  const bob = await RelayTestClient.connect(fx.port, fx.bob, { twin: fx.twins.bob.id });
  defer(() => bob.close());
  const request = signEnvelope(
    requestEnvelope({ twin: fx.twins.alice.id }, { twin: fx.twins.bob.id }),
    fx.alice,
  );
  const bytes = encode(request);
  await pool.send(bytes, Date.now() + 2000);
  const got = await bob.next();
  assert.deepEqual(Buffer.from(got.raw), Buffer.from(bytes));
  verifyEnvelope(got.env, fx.alice.publicKey);

  const response = encode(
    signEnvelope(
      createEnvelope({
        uid: request.uid,
        timestamp: unixNow(),
        expiration: 300,
        source: { twin: fx.twins.bob.id },
        destination: { twin: fx.twins.alice.id },
        message: { kind: "response" },
        payload: { kind: "plain", data: new TextEncoder().encode("pong") },
      }),
      fx.bob,
    ),
  );
  bob.send(response);
  await waitUntil(async () => frames.length === 1, 2000);
  assert.deepEqual(Buffer.from(frames[0]!), Buffer.from(response));

  const stats = pool.links[0]!.stats;
  assert.equal(stats.connects, 1);
  assert.equal(stats.framesOut, 1);
  assert.equal(stats.bytesOut, bytes.length);
  assert.equal(stats.framesIn, 1);
  assert.equal(stats.bytesIn, response.length);
  assert.equal(pool.links[0]!.url, `ws://${HOST}:${fx.port}/`);
  assertNoToken(logs);
});

test("relay link — connects with the query replaced by a fresh token (twin, no session) on every connect", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer);
  // Frames sent with the handshake: a text frame (dropped, counted) and a binary one (delivered).
  server.wss.on("connection", (ws: WebSocket) => {
    ws.send("text is not an envelope");
    ws.send(Buffer.from([1, 2, 3]));
  });
  let now = 1_700_000_000;
  const states: string[] = [];
  const { pool, frames, logs } = alicePool(defer, fx, [`ws://${HOST}:${server.port}/rmb?old=query#frag`], {
    clock: () => now,
    jwtTtl: 60,
    onStateChange: (_link, state) => states.push(state),
  });
  pool.start();
  await waitUntil(async () => frames.length === 1 && server.sockets.length === 1, 2000);
  assert.deepEqual(Buffer.from(frames[0]!), Buffer.from([1, 2, 3]));
  assert.equal(pool.links[0]!.stats.textFrames, 1);
  assert.equal(pool.links[0]!.url, `ws://${HOST}:${server.port}/rmb`);

  now += 7;
  server.sockets[0]!.close(1001, "going away");
  await waitUntil(async () => server.urls.length === 2 && pool.links[0]!.stats.connects === 2, 2000);

  const tokens = server.urls.map((url) => {
    const [path, token] = url.split("?") as [string, string];
    assert.equal(path, "/rmb");
    return token;
  });
  assert.notEqual(tokens[0], tokens[1]);
  for (const [i, token] of tokens.entries()) {
    const claims = verifyJwt(token, { accountId: fx.alice.publicKey, now: 1_700_000_000 + 7 * i });
    assert.equal(claims.sub, fx.twins.alice.id);
    assert.equal(claims.sid, undefined);
    assert.equal(claims.iat, 1_700_000_000 + 7 * i);
    assert.equal(claims.exp - claims.iat, 60);
    assert.match(Buffer.from(token.split(".")[1]!, "base64url").toString(), /"sid":null/);
  }
  assert.deepEqual(parseJwt(tokens[1]!).header, { alg: "RS512" });
  assert.equal(pool.links[0]!.stats.disconnects, 1);
  assert.deepEqual(states.slice(0, 5), ["connecting", "open", "closed", "connecting", "open"]);
  assertNoToken(logs);
});

test("relay pool — the relay accepts the reconnect although the first token has gone stale", async (t) => {
  const defer = cleanup(t);
  const shared = createTwins();
  const port = await freePort();
  let now = unixNow();
  const t0 = now;
  let fx = await startRelay({ port, clock: () => now }, shared);
  defer(() => fx.relay.stop());
  const { pool } = alicePool(defer, shared, [`ws://${HOST}:${port}`], { clock: () => now, jwtTtl: 60 });
  pool.start();
  await pool.waitConnected(2000);

  await fx.relay.stop();
  await waitUntil(async () => pool.links[0]!.state !== "open", 2000);
  now += 3600;
  fx = await startRelay({ port, clock: () => now }, shared);
  await waitUntil(async () => pool.connectedCount === 1, 2000);
  assert.equal(pool.links[0]!.stats.connects, 2);

  // ed25519 tokens are deterministic: this is the token of the first connection, refused by now.
  const first = createJwt(shared.alice, { twin: shared.twins.alice.id, iat: t0, ttl: 60 });
  const refused = await tryUpgrade(port, first);
  assert.equal(refused.status, 401);
  assert.match(refused.body, /expired/);

  const bob = await RelayTestClient.connect(port, shared.bob, { twin: shared.twins.bob.id, iat: now });
  defer(() => bob.close());
  const bytes = encode(requestEnvelope({ twin: 1 }, { twin: 2 }, { timestamp: now }));
  await pool.send(bytes, Date.now() + 2000);
  assert.deepEqual(Buffer.from((await bob.next()).raw), Buffer.from(bytes));
});

test("relay pool — reconnects after the relay restarts on the same port; a send made meanwhile waits and is delivered", async (t) => {
  const defer = cleanup(t);
  const shared = createTwins();
  const port = await freePort();
  let fx = await startRelay({ port }, shared);
  defer(() => fx.relay.stop());
  const { pool } = alicePool(defer, shared, [`ws://${HOST}:${port}`]);
  pool.start();
  await pool.waitConnected(2000);

  await fx.relay.stop();
  await waitUntil(async () => pool.connectedCount === 0, 2000);
  const whileDown = encode(requestEnvelope({ twin: 1 }, { twin: 2 }));
  const pending = pool.send(whileDown, Date.now() + 3000);
  await waitUntil(async () => pool.links[0]!.stats.connectFailures >= 1, 2000);
  assert.equal(pool.pendingSends, 1);

  fx = await startRelay({ port }, shared);
  await pending;
  await waitUntil(async () => pool.connectedCount === 1, 2000);
  const bob = await RelayTestClient.connect(port, shared.bob, { twin: 2 });
  defer(() => bob.close());
  assert.deepEqual(Buffer.from((await bob.next()).raw), Buffer.from(whileDown));
  const after = encode(requestEnvelope({ twin: 1 }, { twin: 2 }));
  await pool.send(after, Date.now() + 2000);
  assert.deepEqual(Buffer.from((await bob.next()).raw), Buffer.from(after));
  assert.equal(pool.links[0]!.stats.connects, 2);
  assert.equal(pool.links[0]!.stats.disconnects, 1);
});

test("relay pool — fails over to the second relay and keeps the relay that last worked first", async (t) => {
  const defer = cleanup(t);
  const shared = createTwins();
  const port1 = await freePort();
  let r1 = await startRelay({ port: port1 }, shared);
  defer(() => r1.relay.stop());
  const r2 = await startRelay({}, shared);
  defer(() => r2.relay.stop());
  const { pool } = alicePool(defer, shared, [`ws://${HOST}:${port1}`, `ws://${HOST}:${r2.port}`]);
  pool.start();
  await waitUntil(async () => pool.connectedCount === 2, 2000);
  const bob = await RelayTestClient.connect(r2.port, shared.bob, { twin: 2 });
  defer(() => bob.close());
  const [link1, link2] = pool.links as [(typeof pool.links)[0], (typeof pool.links)[0]];

  await pool.send(encode(requestEnvelope({ twin: 1 }, { twin: 2 })), Date.now() + 2000);
  assert.equal(link1.stats.framesOut, 1, "the first relay is tried first");

  await r1.relay.stop();
  await waitUntil(async () => link1.state !== "open", 2000);
  const viaSecond = encode(requestEnvelope({ twin: 1 }, { twin: 2 }));
  await pool.send(viaSecond, Date.now() + 2000);
  assert.deepEqual(Buffer.from((await bob.next()).raw), Buffer.from(viaSecond));
  assert.equal(link2.stats.framesOut, 1);

  // The first relay comes back, but the second one took the last frame and stays first.
  r1 = await startRelay({ port: port1 }, shared);
  await waitUntil(async () => pool.connectedCount === 2, 2000);
  const again = encode(requestEnvelope({ twin: 1 }, { twin: 2 }));
  await pool.send(again, Date.now() + 2000);
  assert.deepEqual(Buffer.from((await bob.next()).raw), Buffer.from(again));
  assert.equal(link1.stats.framesOut, 1);
  assert.equal(link2.stats.framesOut, 2);
});

test("relay link — pings when idle; drops and reconnects a relay that stays silent for silenceTimeout", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer, { autoPong: false });
  const conns: { opened: number; closed: number | undefined; pings: number }[] = [];
  server.wss.on("connection", (ws: WebSocket) => {
    const c = { opened: Date.now(), closed: undefined as number | undefined, pings: 0 };
    conns.push(c);
    ws.on("ping", () => {
      c.pings += 1;
    });
    ws.on("close", () => {
      c.closed = Date.now();
    });
  });
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${server.port}`], {
    pingAfterIdle: 100,
    silenceTimeout: 300,
  });
  pool.start();
  await waitUntil(
    async () => conns.length >= 2 && conns[0]!.closed !== undefined && pool.links[0]!.stats.connects >= 2,
    3000,
  );
  const first = conns[0]!;
  assert.ok(first.pings >= 1, `pings: ${first.pings}`);
  assert.ok(first.closed! - first.opened >= 250, `dropped after ${first.closed! - first.opened} ms`);
  const stats = pool.links[0]!.stats;
  assert.ok(stats.pings >= first.pings);
  assert.ok(stats.connects >= 2);
  assert.ok(stats.disconnects >= 1);
  assert.ok(
    logs.some((l) => /nothing received for \d+ ms/.test(l)),
    logs.join("\n"),
  );
});

test("relay link — pongs keep an idle connection up", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer); // answers pings
  const { pool } = alicePool(defer, fx, [`ws://${HOST}:${server.port}`], {
    pingAfterIdle: 40,
    silenceTimeout: 200,
  });
  pool.start();
  await pool.waitConnected(2000);
  // 10 pings take > 400 ms, more than twice the silence timeout.
  await waitUntil(async () => pool.links[0]!.stats.pings >= 10, 3000);
  assert.equal(server.sockets.length, 1);
  assert.equal(pool.links[0]!.stats.disconnects, 0);
});

test("relay link — a frame above maxPayload drops the connection and is not delivered", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer);
  server.wss.on("connection", (ws: WebSocket) => {
    if (server.sockets.length === 1) ws.send(Buffer.alloc(2048));
    else ws.send(Buffer.alloc(1024, 7));
  });
  const { pool, frames } = alicePool(defer, fx, [`ws://${HOST}:${server.port}`], { maxPayload: 1024 });
  pool.start();
  await waitUntil(async () => frames.length === 1, 2000);
  assert.deepEqual(Buffer.from(frames[0]!), Buffer.alloc(1024, 7));
  assert.equal(pool.links[0]!.stats.disconnects, 1);
});

test("relay link — a handshake that gets no answer is abandoned after connectTimeout and retried", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const sockets: Socket[] = [];
  const tcp = createTcpServer((socket) => sockets.push(socket)); // accepts, never answers
  tcp.listen(0, HOST);
  await once(tcp, "listening");
  defer(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => tcp.close(resolve));
  });
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${(tcp.address() as { port: number }).port}`], {
    connectTimeout: 50,
  });
  pool.start();
  await waitUntil(async () => sockets.length >= 2, 2000);
  assert.ok(pool.links[0]!.stats.connectFailures >= 1);
  assert.ok(
    logs.some((l) => l.includes("Opening handshake has timed out")),
    logs.join("\n"),
  );
});

test("relay pool — send rejects with RelayUnavailableError at the deadline when no relay is reachable", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const port = await freePort(); // nothing listens there
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${port}`]);
  pool.start();
  const started = Date.now();
  await assert.rejects(pool.send(new Uint8Array([1]), started + 200), (err: unknown) => {
    assert.ok(err instanceof RelayUnavailableError);
    assert.equal(err.code, "RMB_ERR_RELAY_UNAVAILABLE");
    assert.equal(err.message, RELAY_EXPIRED_MESSAGE);
    return true;
  });
  assert.ok(Date.now() - started >= 195, `rejected after ${Date.now() - started} ms`);
  assert.ok(pool.links[0]!.stats.connectFailures >= 1);
  assert.ok(
    logs.some((l) => l.startsWith("warn: cannot connect to")),
    logs.join("\n"),
  );
  assert.equal(pool.pendingSends, 0);
});

/** The delays a link scheduled, from its "…; reconnecting in N ms" lines, in order. */
function scheduledDelays(logs: string[]): number[] {
  return logs.flatMap((l) => {
    const m = /reconnecting in (\d+) ms$/.exec(l);
    return m === null ? [] : [Number(m[1])];
  });
}

test("relay link — reconnects back off from 250 ms, doubling (with jitter), against a refusing port", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const port = await freePort(); // nothing listens: every attempt is refused
  const attempts: number[] = []; // when each connection attempt started
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${port}`], {
    reconnectDelay: RELAY_POOL_DEFAULTS.reconnectDelay,
    maxReconnectDelay: RELAY_POOL_DEFAULTS.maxReconnectDelay,
    onStateChange: (_link, state) => {
      if (state === "connecting") attempts.push(performance.now());
    },
  });
  pool.start();
  // Five attempts: four delays of at most 250 + 500 + 1000 + 2000 ms.
  await waitUntil(async () => attempts.length >= 5, 30_000);
  await pool.stop();
  const delays = scheduledDelays(logs);
  assert.ok(delays.length >= 4, logs.join("\n"));
  for (let k = 0; k < 4; k++) {
    const ceiling = 250 * 2 ** k; // 250, 500, 1000, 2000: still below the 5 s cap
    const delay = delays[k]!;
    assert.ok(
      delay >= ceiling / 2 && delay <= ceiling,
      `delay ${k} is ${delay} ms, expected ${ceiling / 2}…${ceiling}`,
    );
    // The measured gap between two attempts is at least the delay scheduled (a loaded machine only adds to it).
    const gap = attempts[k + 1]! - attempts[k]!;
    assert.ok(
      gap >= delay - 5,
      `attempt ${k + 1} came ${gap.toFixed(0)} ms after attempt ${k}, delay was ${delay}`,
    );
  }
  // The ranges [c/2, c] of successive delays do not overlap: every delay is at least the one before.
  for (let k = 1; k < 4; k++) assert.ok(delays[k]! >= delays[k - 1]!, delays.join(", "));
  assert.ok(pool.links[0]!.stats.connectFailures >= 4);
});

test("relay link — the reconnect delay stops growing at maxReconnectDelay and stays jittered there", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const port = await freePort();
  // The defaults scaled down 25×: 10 ms doubling up to 200 ms (as 250 ms up to 5 s).
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${port}`], {
    reconnectDelay: 10,
    maxReconnectDelay: 200,
  });
  pool.start();
  await waitUntil(async () => scheduledDelays(logs).length >= 10, 30_000);
  await pool.stop();
  const delays = scheduledDelays(logs).slice(0, 10);
  delays.forEach((delay, k) => {
    const ceiling = Math.min(200, 10 * 2 ** k);
    assert.ok(
      delay >= ceiling / 2 && delay <= ceiling,
      `delay ${k} is ${delay} ms, expected ${ceiling / 2}…${ceiling}`,
    );
  });
  const capped = delays.slice(5); // ceilings 320, 640, … all capped at 200
  assert.ok(
    capped.every((d) => d <= 200),
    capped.join(", "),
  );
  assert.ok(new Set(capped).size > 1, `jitter: capped delays ${capped.join(", ")} are not all equal`);
});

test("relay pool — stop() rejects pending sends and no connection attempt follows", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  let attempts = 0;
  const http = createHttpServer();
  http.on("upgrade", (_req, socket) => {
    attempts += 1;
    socket.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\n\r\nmax number of users");
  });
  http.listen(0, HOST);
  await once(http, "listening");
  defer(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  let started = 0; // connection attempts as the pool sees them
  const { pool, logs } = alicePool(defer, fx, [`ws://${HOST}:${(http.address() as { port: number }).port}`], {
    onStateChange: (_link, state) => {
      if (state === "connecting") started += 1;
    },
  });
  pool.start();
  await waitUntil(async () => attempts >= 2, 2000);
  assert.ok(
    logs.some((l) => l.includes("HTTP 503 max number of users")),
    logs.join("\n"),
  );
  await assert.rejects(pool.waitConnected(30), {
    name: "RelayUnavailableError",
    message: "no relay connection within 30 ms",
  });

  const pending = pool.send(new Uint8Array([1]), Date.now() + 10_000);
  const rejected = assert.rejects(pending, { name: "RelayUnavailableError", message: RELAY_STOPPED_MESSAGE });
  await pool.stop();
  await rejected;
  const count = started;
  // Proving that nothing happens takes some waiting: several times the largest reconnect delay (40 ms).
  await sleep(150);
  assert.equal(started, count, "no attempt after stop()");
  // The server may still see an attempt that stop() aborted, but none beyond those.
  assert.ok(attempts <= count, `server saw ${attempts} attempts, the pool made ${count}`);
  assert.equal(pool.links[0]!.state, "closed");
  await assert.rejects(pool.send(new Uint8Array([1]), Date.now() + 1000), { message: RELAY_STOPPED_MESSAGE });
  assertNoToken(logs);
});

test("relay pool — stop() gives up the close handshake after closeTimeout", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer);
  server.wss.on("connection", (ws: WebSocket) => ws.pause()); // never reads the close frame
  const { pool } = alicePool(defer, fx, [`ws://${HOST}:${server.port}`], { closeTimeout: 50 });
  pool.start();
  await pool.waitConnected(2000);
  const started = Date.now();
  await pool.stop();
  const took = Date.now() - started;
  assert.ok(took >= 45 && took < 1000, `stop took ${took} ms`);
  assert.equal(pool.links[0]!.state, "closed");
});

test("relay pool — send waits while more than maxBufferedBytes are buffered, in order, within the deadline", async (t) => {
  const defer = cleanup(t);
  const fx = createTwins();
  const server = await rawServer(defer);
  const received: number[] = [];
  server.wss.on("connection", (ws: WebSocket) => {
    ws.pause(); // a relay that does not read: the kernel buffers fill up, then ws buffers
    ws.on("message", (data: Buffer) => received.push(data.readUInt32BE(0)));
  });
  const maxBufferedBytes = 512 * 1024;
  const frameSize = 256 * 1024;
  const { pool } = alicePool(defer, fx, [`ws://${HOST}:${server.port}`], { maxBufferedBytes });
  pool.start();
  await pool.waitConnected(2000);
  await waitUntil(async () => server.sockets.length === 1, 2000);

  const count = 64; // 16 MiB: several times what loopback socket buffers hold (about 4 MiB)
  let settled = 0;
  const sends = Array.from({ length: count }, (_, i) => {
    const frame = Buffer.alloc(frameSize);
    frame.writeUInt32BE(i, 0);
    return pool.send(frame, Date.now() + 20_000).then(() => {
      settled += 1;
    });
  });
  // Wait until the writes have stalled (no progress over 5 polls) and check the bound on the buffer meanwhile.
  let last = -1;
  let stable = 0;
  let maxSeen = 0;
  await waitUntil(async () => {
    maxSeen = Math.max(maxSeen, pool.links[0]!.bufferedAmount);
    stable = settled === last ? stable + 1 : 0;
    last = settled;
    return stable >= 5;
  }, 3000);
  assert.ok(settled < count, "some sends wait");
  assert.equal(pool.pendingSends, count - settled);
  assert.ok(
    maxSeen <= maxBufferedBytes + frameSize + 64,
    `buffered ${maxSeen} bytes, limit ${maxBufferedBytes} + one frame`,
  );

  await assert.rejects(pool.send(Buffer.alloc(8), Date.now() + 50), (err: unknown) => {
    assert.ok(err instanceof RelayUnavailableError);
    assert.equal(err.message, RELAY_EXPIRED_MESSAGE);
    return true;
  });

  server.sockets[0]!.resume();
  await Promise.all(sends);
  await waitUntil(async () => received.length === count, 3000);
  assert.deepEqual(
    received,
    Array.from({ length: count }, (_, i) => i),
  );
});

test("relay pool — refuses bad options with InvalidArgumentError naming the option", async () => {
  const fx = createTwins();
  const base: RelayPoolOptions = {
    relays: ["wss://relay.example"],
    signer: fx.alice,
    twin: 1,
    onFrame: () => undefined,
  };
  const cases: [Partial<RelayPoolOptions> | Record<string, unknown>, RegExp][] = [
    [{ relays: [] }, /'relays': at least one relay URL is required/],
    [
      { relays: ["ws://a", "ws://b", "ws://c", "ws://d", "ws://e"] },
      /'relays': at most 4 relay URLs are allowed, got 5/,
    ],
    [{ relays: ["ws://a", "ws://b"], maxRelays: 1 }, /'relays': at most 1 relay URLs are allowed, got 2/],
    [
      { relays: ["https://relay.example"] },
      /'relays\[0\]': expected a ws:\/\/ or wss:\/\/ URL, got 'https:\/\/'/,
    ],
    [{ relays: ["wss://ok", "not a url"] }, /'relays\[1\]': not a valid URL/],
    [{ relays: ["wss://r.example/?a", "wss://r.example/?b"] }, /'relays\[1\]': duplicate of relays\[0\]/],
    [{ relays: "wss://relay.example" }, /'relays': expected an array/],
    [{ twin: 0 }, /'twin': expected an integer in \[1, 4294967295\]/],
    [{ signer: undefined }, /'signer': expected a Signer/],
    [{ onFrame: undefined }, /'onFrame': expected a function/],
    [{ log: "yes" }, /'log': expected a function/],
    [{ pingAfterIdle: 0 }, /'pingAfterIdle': expected an integer/],
    [{ reconnectDelay: 1.5 }, /'reconnectDelay': expected an integer/],
    [
      { reconnectDelay: 100, maxReconnectDelay: 50 },
      /'maxReconnectDelay': must be >= reconnectDelay \(100\)/,
    ],
    [{ pingAfterIdle: 100, silenceTimeout: 100 }, /'silenceTimeout': must be greater than pingAfterIdle/],
    [{ maxBufferedBytes: -1 }, /'maxBufferedBytes': expected an integer/],
    [{ jwtTtl: 0 }, /'jwtTtl': expected an integer/],
  ];
  for (const [patch, message] of cases) {
    assert.throws(
      () => new RelayPool({ ...base, ...patch } as RelayPoolOptions),
      (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
      `${JSON.stringify(patch)} → ${message}`,
    );
  }
  const pool = new RelayPool(base);
  assert.equal(pool.links.length, 1);
  assert.equal(pool.links[0]!.state, "closed");
  assert.equal(RELAY_POOL_DEFAULTS.maxRelays, 4);
  assert.equal(RELAY_POOL_DEFAULTS.pingAfterIdle, 20_000);
  assert.equal(RELAY_POOL_DEFAULTS.silenceTimeout, 40_000);
  await assert.rejects(
    pool.send("bytes" as unknown as Uint8Array, Date.now()),
    /'bytes': expected a Uint8Array/,
  );
  await assert.rejects(pool.send(new Uint8Array(1), Number.NaN), /'deadline'/);
  await assert.rejects(pool.waitConnected(-1), /'timeoutMs'/);
});
