import { randomBytes } from "node:crypto";
import { request } from "node:http";
import WebSocket from "ws";
import type { Signer } from "../../src/identity/index.js";
import {
  type Address,
  type CreateJwtOptions,
  createEnvelope,
  createJwt,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  unixNow,
} from "../../src/protocol/index.js";

/** One frame received from the relay: the raw bytes and their decoding. */
export interface Received {
  raw: Uint8Array;
  env: Envelope;
}

/** A websocket connected to a relay as a twin, collecting decoded envelopes. */
export class RelayTestClient {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  readonly #waiters: (() => void)[] = [];
  #read = 0;
  #closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      const raw = new Uint8Array(data);
      this.received.push({ raw, env: decodeEnvelope(raw) });
      for (const w of this.#waiters.splice(0)) w();
    });
    this.#closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.#waiters.splice(0)) w();
      }),
    );
  }

  /** Connects `ws://127.0.0.1:<port>/?<jwt>` with a token for `twin` (and `sid`) signed by `signer`. */
  static async connect(
    port: number,
    signer: Signer,
    jwt: Omit<CreateJwtOptions, "twin"> & { twin: number },
  ): Promise<RelayTestClient> {
    return RelayTestClient.connectToken(port, createJwt(signer, jwt));
  }

  /** Connects with a ready token (the whole query string). */
  static async connectToken(port: number, token: string): Promise<RelayTestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?${token}`);
    // Listen before "open": queued frames may arrive in the same chunk as the 101 response.
    const client = new RelayTestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** Resolves when `count` frames in total have been received (rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 3000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed with ${this.received.length} frames`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${this.received.length}/${count} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  /** The next frame not yet returned by `next` (frames arriving early are kept). */
  async next(timeoutMs = 3000): Promise<Received> {
    const all = await this.waitFor(this.#read + 1, timeoutMs);
    return all[this.#read++]!;
  }

  /** Resolves with the close code once the socket is closed. */
  closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.#closed;
  }
}

/** Builds a request envelope (unsigned: relays do not check envelope signatures). */
export function requestEnvelope(
  source: Address,
  destination: Address | undefined,
  extra: Partial<Envelope> = {},
): Envelope {
  const env = createEnvelope({
    uid: randomBytes(8).toString("hex"),
    timestamp: unixNow(),
    expiration: 300,
    source,
    message: { kind: "request", command: "test.echo" },
    payload: { kind: "plain", data: new TextEncoder().encode("payload") },
    ...extra,
  });
  if (destination !== undefined) env.destination = destination;
  return env;
}

export function encode(env: Envelope): Uint8Array {
  return encodeEnvelope(env);
}

/** Tries a websocket upgrade with a raw query string; resolves with the HTTP status and body when refused. */
export function tryUpgrade(
  port: number,
  query: string | undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: query === undefined ? "/" : `/?${query}`,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Version": "13",
      },
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: "" });
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Plain HTTP request to the relay (with extra `headers`); resolves with status and body. */
export function httpRequest(
  port: number,
  method: string,
  path: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/**
 * Connects `from` and `to` to the relay on `port` as the given twins, sends one request from the first to the second
 * and asserts that it arrives; closes both connections.
 */
export async function assertDelivers(
  port: number,
  from: [Signer, number],
  to: [Signer, number],
): Promise<void> {
  const a = await RelayTestClient.connect(port, from[0], { twin: from[1] });
  const b = await RelayTestClient.connect(port, to[0], { twin: to[1] });
  const req = requestEnvelope({ twin: from[1] }, { twin: to[1] });
  a.send(encode(req));
  const got = (await b.next()).env.uid;
  await a.close();
  await b.close();
  if (got !== req.uid) throw new Error(`expected request ${req.uid}, received ${got}`);
}
