import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A websocket spoken by hand over TCP, for what a well-behaved client library refuses to send: unframed bytes, frames
 * whose header declares more than is sent, unmasked frames. Reads the server's frames (unmasked, as servers send).
 */
export class RawWebSocket {
  readonly socket: Socket;
  /** Frames received from the server, as `{ opcode, payload }`. */
  readonly frames: { opcode: number; payload: Buffer }[] = [];
  #buffer = Buffer.alloc(0);
  readonly #ended: Promise<void>;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket, rest: Buffer) {
    this.socket = socket;
    this.#ended = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("close", () => this.#notify());
    if (rest.length > 0) this.#onData(rest);
  }

  /** Upgrades `ws://127.0.0.1:<port>/?<query>`; rejects with the status line when the server refuses. */
  static open(port: number, query: string): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        socket.off("error", reject);
        const status = head.subarray(0, head.indexOf("\r\n")).toString();
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(status));
          return;
        }
        resolve(new RawWebSocket(socket, head.subarray(end + 4)));
      };
      socket.on("data", onData);
      socket.once("error", reject);
      socket.write(
        `GET /?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n\r\n`,
      );
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The close frame's code and reason once the server sent one (`undefined` if the socket ended without one). */
  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const close = this.frames.find((f) => f.opcode === 8);
      if (close !== undefined) {
        return {
          code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005,
          reason: close.payload.subarray(2).toString(),
        };
      }
      if (this.socket.destroyed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("the server did not close the connection in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Ends the TCP connection and waits until it is closed. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.#ended;
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) break;
      this.frames.push({ opcode: (b[0] as number) & 0x0f, payload: b.subarray(offset, offset + length) });
      this.#buffer = b.subarray(offset + length);
    }
    this.#notify();
  }
}

/**
 * A masked client frame. `declaredLength` (when given) is written in the header instead of the payload's length, so
 * a header can announce far more bytes than follow.
 */
export function clientFrame(opcode: number, payload: Uint8Array, declaredLength = payload.length): Buffer {
  let header: Buffer;
  if (declaredLength < 126) header = Buffer.from([0x80 | opcode, 0x80 | declaredLength]);
  else if (declaredLength < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(declaredLength, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([header, mask, masked]);
}
