/**
 * A minimal websocket client for the load generator: the handshake, masked binary frames built once and written
 * as they are, everything sent in one event-loop turn in one socket write, and the server's frames parsed by our
 * own frame parser. The relay under test still unmasks every frame: the mask is random (per connection), just not
 * renewed per frame, which only the client's cost sees.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { FrameParser } from "../src/ws/frame-parser.js";
import { acceptKey } from "../src/ws/server-handshake.js";

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A connected lean client. */
export interface LeanWs {
  /** Sends a frame made by {@link LeanWs.frame} (the same bytes may be sent any number of times). */
  sendFrame(frame: Buffer): void;
  /** A masked binary frame carrying `payload`, with this connection's mask. */
  frame(payload: Uint8Array): Buffer;
  close(): Promise<void>;
}

/** Connects to `url` (`ws://host:port/path?query`) and calls `onMessage` for every binary message. */
export function connectLeanWs(url: string, onMessage: (data: Buffer) => void): Promise<LeanWs> {
  const u = new URL(url);
  const key = randomBytes(16).toString("base64");
  const mask = randomBytes(4);
  if ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0) mask[0] = 1;
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: u.hostname, port: Number(u.port) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`websocket handshake with ${u.host} timed out`));
    }, HANDSHAKE_TIMEOUT_MS);
    let head = Buffer.alloc(0);
    let parser: FrameParser | undefined;
    let pending: Buffer[] = [];
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      socket.write(out);
    };
    const client: LeanWs = {
      frame(payload) {
        const size = payload.length;
        const header = size < 126 ? 2 : size < 0x10000 ? 4 : 10;
        const out = Buffer.allocUnsafe(header + 4 + size);
        out[0] = 0x82;
        if (size < 126) out[1] = 0x80 | size;
        else if (size < 0x10000) {
          out[1] = 0x80 | 126;
          out.writeUInt16BE(size, 2);
        } else {
          out[1] = 0x80 | 127;
          out.writeUInt32BE(0, 2);
          out.writeUInt32BE(size, 6);
        }
        mask.copy(out, header);
        for (let i = 0; i < size; i++) out[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
        return out;
      },
      sendFrame(frame) {
        pending.push(frame);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      },
      close() {
        return new Promise((done) => {
          if (socket.destroyed) return done();
          socket.once("close", () => done());
          // Close frame (code 1000), masked with an all-zero mask.
          socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
          setTimeout(() => socket.destroy(), 2000).unref();
        });
      },
    };
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk: Buffer) => {
      if (parser !== undefined) {
        parser.push(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const response = head.subarray(0, end).toString("latin1");
      const expected = `sec-websocket-accept: ${acceptKey(key)}`;
      if (!response.startsWith("HTTP/1.1 101") || !response.toLowerCase().includes(expected.toLowerCase())) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`websocket upgrade refused: ${response.split("\r\n")[0]}`));
        return;
      }
      clearTimeout(timer);
      parser = new FrameParser(
        {
          message: (data) => onMessage(data),
          ping: () => undefined,
          pong: () => undefined,
          close: () => socket.end(),
          error: () => socket.destroy(),
        },
        { role: "client", maxPayload: 64 * 1024 * 1024 },
      );
      socket.on("error", () => undefined);
      resolve(client);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) parser.push(Buffer.from(rest));
    });
    socket.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\n` +
        `Host: ${u.host}\r\n` +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${key}\r\n` +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    );
  });
}
