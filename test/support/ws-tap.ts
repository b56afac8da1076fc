import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { type RawData, WebSocket, WebSocketServer } from "ws";

/** A websocket man-in-the-middle on 127.0.0.1 that forwards every frame to a relay and records the binary ones. */
export interface WsTap {
  port: number;
  /** Binary frames client → relay, in order. */
  up: Uint8Array[];
  /** Binary frames relay → client, in order. */
  down: Uint8Array[];
  stop(): Promise<void>;
}

const toBytes = (data: RawData): Uint8Array =>
  new Uint8Array(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));

/** Close codes a peer may send on (1005/1006 and others are reserved for the library). */
const closeCode = (code: number) => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);

/**
 * Starts a tap in front of the relay on `relayPort`: a client connects to the tap as it would to the relay (the
 * path and its login token are passed through unchanged) and the tap opens the same URL on the relay.
 */
export async function startWsTap(relayPort: number): Promise<WsTap> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  const up: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  const upstreams = new Set<WebSocket>();
  wss.on("connection", (client: WebSocket, req: IncomingMessage) => {
    client.on("error", () => undefined);
    const relay = new WebSocket(`ws://127.0.0.1:${relayPort}${req.url ?? "/"}`);
    upstreams.add(relay);
    relay.on("error", () => undefined);
    const early: Uint8Array[] = [];
    client.on("message", (data: RawData, isBinary: boolean) => {
      const bytes = toBytes(data);
      if (isBinary) up.push(bytes);
      if (relay.readyState === WebSocket.OPEN) relay.send(bytes, { binary: isBinary });
      else early.push(bytes);
    });
    relay.on("open", () => {
      for (const bytes of early.splice(0)) relay.send(bytes, { binary: true });
    });
    relay.on("message", (data: RawData, isBinary: boolean) => {
      const bytes = toBytes(data);
      if (isBinary) down.push(bytes);
      if (client.readyState === WebSocket.OPEN) client.send(bytes, { binary: isBinary });
    });
    relay.on("close", (code, reason) => {
      upstreams.delete(relay);
      if (client.readyState === WebSocket.OPEN) client.close(closeCode(code), reason);
      else client.terminate();
    });
    client.on("close", () => relay.terminate());
  });
  return {
    port: (wss.address() as { port: number }).port,
    up,
    down,
    async stop() {
      for (const ws of wss.clients) ws.terminate();
      for (const ws of upstreams) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
