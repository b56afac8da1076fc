import { createHash } from "node:crypto";
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WsConnection, type WsConnectionOptions } from "./ws-connection.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;

/** The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

/** Why an upgrade request is not a valid websocket opening handshake, or `undefined` when it is. */
export function handshakeProblem(req: IncomingMessage): { status: number; body: string } | undefined {
  if (req.method !== "GET") return { status: 405, body: "Invalid HTTP method" };
  if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    return { status: 400, body: "Invalid Upgrade header" };
  }
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !KEY_RE.test(key.trim())) {
    return { status: 400, body: "Missing or invalid Sec-WebSocket-Key header" };
  }
  const version = req.headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") {
    return { status: 400, body: "Missing or invalid Sec-WebSocket-Version header" };
  }
  return undefined;
}

/** Writes a plain-text HTTP error on a socket that asked for an upgrade, then ends it. */
export function rejectUpgrade(socket: Duplex, status: number, body: string, extraHeaders = ""): void {
  if (socket.destroyed) return;
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    extraHeaders +
    "Connection: close\r\n\r\n";
  socket.end(head + body);
}

/**
 * Completes a websocket opening handshake on an HTTP `upgrade` (no subprotocol, no extensions) and returns the
 * connection; an invalid handshake is answered with an HTTP error and gives `undefined`.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: WsConnectionOptions,
): WsConnection | undefined {
  const problem = handshakeProblem(req);
  if (problem !== undefined) {
    const versionHint = problem.body.includes("Version") ? "Sec-WebSocket-Version: 13\r\n" : "";
    rejectUpgrade(socket, problem.status, problem.body, versionHint);
    return undefined;
  }
  if (socket.destroyed || !socket.writable) return undefined;
  const key = (req.headers["sec-websocket-key"] as string).trim();
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  return new WsConnection(socket as Socket, head, options);
}
