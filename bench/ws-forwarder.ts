import type { AddressInfo } from "node:net";
import { type RawData, type WebSocket, WebSocketServer } from "ws";

/** A running forwarder. */
export interface Forwarder {
  port: number;
  close(): Promise<void>;
}

/**
 * The baseline of the relay benchmark: a bare `ws` forwarder with no authentication, no envelope decoding and
 * no queues. Clients connect with `?id=<n>`; the first 4 bytes (big-endian `uint32`) of each binary frame name
 * the destination id and the whole frame is passed on unchanged. Frames for an id that is not connected are
 * dropped. Whatever our relay costs above this is the price of JWT sessions, routing and store-and-forward.
 */
export async function startForwarder(host: string, port = 0): Promise<Forwarder> {
  const sockets = new Map<number, WebSocket>();
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  wss.on("connection", (ws, req) => {
    const id = Number(new URL(req.url ?? "/", "http://forwarder").searchParams.get("id"));
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      ws.close(1008, "expected ?id=<uint32>");
      return;
    }
    sockets.set(id, ws);
    ws.on("message", (data: RawData, isBinary: boolean) => {
      // binaryType is "nodebuffer", so a binary message is a single Buffer.
      if (!isBinary || !Buffer.isBuffer(data) || data.length < 4) return;
      sockets.get(data.readUInt32BE(0))?.send(data, { binary: true });
    });
    ws.on("close", () => {
      if (sockets.get(id) === ws) sockets.delete(id);
    });
    ws.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  return {
    port: (wss.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
