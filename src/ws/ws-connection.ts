import type { Socket } from "node:net";
import { WsStateError } from "./errors.js";
import { CloseCode, closePayload, headerSize, Opcode, writeHeader } from "./frame.js";
import { FrameParser } from "./frame-parser.js";

/** `readyState` values, as in the browser `WebSocket`. */
export const WsState = { Open: 1, Closing: 2, Closed: 3 } as const;
export type WsState = (typeof WsState)[keyof typeof WsState];

/** Options of a {@link WsConnection}. */
export interface WsConnectionOptions {
  /** Largest message accepted, in bytes; a larger one closes the connection with 1009. */
  maxPayload: number;
  /**
   * How long to wait for the peer's close frame (and the socket's end) after sending ours, in ms.
   * @default 10000
   */
  closeTimeout?: number;
}

/** Completion of a {@link WsConnection.send}: no argument once the frame was handed to the kernel. */
export type SendCallback = (err?: Error) => void;

/** A batch bigger than this is written as separate chunks (corked) instead of being copied into one buffer. */
const COPY_LIMIT = 256 * 1024;

/**
 * The server side of one websocket over an upgraded socket (RFC 6455, no extensions), built for a relay: messages
 * are handed over as they are parsed, without events or copies, and everything sent during one turn of the event
 * loop leaves in a single socket write. `send` reports completion per frame, so a caller can remove a message from
 * its queue only once it was written.
 */
export class WsConnection {
  /** Called for every complete message (`data` is only valid during the call). */
  onMessage: (data: Buffer, binary: boolean) => void = () => undefined;
  /** Called once when the socket is gone, with the close code (1006 without a close frame) and reason. */
  onClose: (code: number, reason: string) => void = () => undefined;
  /**
   * Called for the frames sent with {@link sendTracked}, once per socket write: their tokens in send order, their
   * payload bytes, and an error when they could not be written (the connection closed first).
   */
  onWritten: (tokens: string[], bytes: number, err?: Error) => void = () => undefined;
  readonly #socket: Socket;
  readonly #parser: FrameParser;
  readonly #closeTimeout: number;
  #state: WsState = WsState.Open;
  #outData: Uint8Array[] = [];
  #outOpcode: number[] = [];
  #outBytes = 0;
  #callbacks: SendCallback[] = [];
  #tokens: string[] = [];
  #tokenBytes = 0;
  #flushScheduled = false;
  #closeSent = false;
  #closeReceived = false;
  #closeCode: number = CloseCode.Abnormal;
  #closeReason = "";
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #flush = (): void => {
    if (!this.#flushScheduled) return; // already written by #flushNow
    this.#flushScheduled = false;
    this.#write();
  };

  constructor(socket: Socket, head: Buffer | undefined, options: WsConnectionOptions) {
    this.#socket = socket;
    this.#closeTimeout = options.closeTimeout ?? 10_000;
    this.#parser = new FrameParser(
      {
        message: (data, binary) => {
          if (!this.#closeReceived) this.onMessage(data, binary);
        },
        ping: (data) => {
          if (this.#state === WsState.Open) this.#queue(Opcode.Pong, Buffer.from(data), undefined);
        },
        pong: () => undefined,
        close: (code, reason) => this.#onCloseFrame(code, reason),
        error: (code, reason) => this.#onProtocolError(code, reason),
      },
      { role: "server", maxPayload: options.maxPayload },
    );
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on("data", (chunk: Buffer) => this.#parser.push(chunk));
    socket.on("error", () => undefined);
    socket.on("end", () => {
      if (!socket.destroyed) socket.end();
    });
    socket.on("close", () => this.#onSocketClose());
    if (head !== undefined && head.length > 0) this.#parser.push(Buffer.from(head));
  }

  get readyState(): WsState {
    return this.#state;
  }

  /** Bytes written but not yet handed to the kernel, plus frames waiting for this turn's write. */
  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#outBytes;
  }

  get isPaused(): boolean {
    return this.#socket.isPaused();
  }

  /** Stops reading from the socket (the peer's writes back up). */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (this.#state !== WsState.Closed) this.#socket.resume();
  }

  /**
   * Sends a binary message. `cb` is called once the frame was written to the socket (no argument) or could not be
   * (an error: the connection closed first).
   */
  send(data: Uint8Array, cb?: SendCallback): void {
    if (this.#state !== WsState.Open) {
      if (cb !== undefined) {
        const err = new WsStateError(this.#state);
        queueMicrotask(() => cb(err));
      }
      return;
    }
    this.#queue(Opcode.Binary, data, cb);
  }

  /**
   * Sends a binary message and reports it through {@link onWritten} with `token` (no closure per message: the
   * relay's delivery path uses this).
   */
  sendTracked(data: Uint8Array, token: string): void {
    if (this.#state !== WsState.Open) {
      const err = new WsStateError(this.#state);
      queueMicrotask(() => this.onWritten([token], data.length, err));
      return;
    }
    this.#tokens.push(token);
    this.#tokenBytes += data.length;
    this.#queue(Opcode.Binary, data, undefined);
  }

  /** Sends a ping control frame (at most 125 bytes of data). */
  ping(data: Uint8Array = new Uint8Array(0)): void {
    if (this.#state === WsState.Open) this.#queue(Opcode.Ping, data.subarray(0, 125), undefined);
  }

  /**
   * Starts the closing handshake: sends a close frame, keeps handing over messages the peer sent before it saw it,
   * and ends the socket when the peer's close frame arrives (or after `closeTimeout`).
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.#state !== WsState.Open) return;
    this.#state = WsState.Closing;
    this.#sendClose(code, reason);
    if (this.#closeReceived) {
      this.#endSocket();
      return;
    }
    // Written now, with whatever this turn queued before it: a `terminate()` right after must not lose it.
    this.#flushNow();
    this.#armCloseTimer();
  }

  #flushNow(): void {
    if (!this.#flushScheduled) return;
    this.#flushScheduled = false;
    this.#write();
  }

  /** Destroys the socket at once (no closing handshake). */
  terminate(): void {
    if (this.#state === WsState.Closed) return;
    this.#state = WsState.Closing;
    this.#socket.destroy();
  }

  #queue(opcode: number, data: Uint8Array, cb: SendCallback | undefined): void {
    this.#outData.push(data);
    this.#outOpcode.push(opcode);
    this.#outBytes += headerSize(data.length) + data.length;
    if (cb !== undefined) this.#callbacks.push(cb);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Empties the outgoing queue (the caller holds on to what it took); no new token array when there were none. */
  #clearOutgoing(): void {
    this.#outData = [];
    this.#outOpcode = [];
    this.#outBytes = 0;
    this.#callbacks = [];
    if (this.#tokens.length > 0) {
      this.#tokens = [];
      this.#tokenBytes = 0;
    }
  }

  /** Writes every queued frame: one buffer (or one corked batch for big ones), one completion for all. */
  #write(): void {
    const count = this.#outData.length;
    if (count === 0) return;
    const data = this.#outData;
    const opcodes = this.#outOpcode;
    const total = this.#outBytes;
    const callbacks = this.#callbacks;
    const tokens = this.#tokens;
    const tokenBytes = this.#tokenBytes;
    this.#clearOutgoing();
    const done =
      callbacks.length === 0 && tokens.length === 0
        ? undefined
        : (err?: Error | null) => {
            const e = err ?? undefined;
            for (const cb of callbacks) cb(e);
            if (tokens.length > 0) this.onWritten(tokens, tokenBytes, e);
          };
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) {
      if (done !== undefined) queueMicrotask(() => done(new WsStateError(WsState.Closed)));
      return;
    }
    if (total <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(total);
      let at = 0;
      for (let i = 0; i < count; i++) {
        const d = data[i]!;
        at = writeHeader(out, at, opcodes[i]!, d.length);
        out.set(d, at);
        at += d.length;
      }
      socket.write(out, done);
      return;
    }
    socket.cork();
    for (let i = 0; i < count; i++) {
      const d = data[i]!;
      const header = Buffer.allocUnsafe(headerSize(d.length));
      writeHeader(header, 0, opcodes[i]!, d.length);
      socket.write(header);
      socket.write(d, i === count - 1 ? done : undefined);
    }
    socket.uncork();
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const payload = code === CloseCode.NoStatus ? Buffer.alloc(0) : closePayload(code, reason);
    this.#queue(Opcode.Close, payload, undefined);
  }

  #onCloseFrame(code: number, reason: string): void {
    this.#closeReceived = true;
    this.#closeCode = code;
    this.#closeReason = reason;
    if (this.#state === WsState.Open) {
      this.#state = WsState.Closing;
      this.#sendClose(code, "");
    }
    this.#endSocket();
  }

  #onProtocolError(code: number, reason: string): void {
    this.#closeCode = code;
    this.#closeReason = reason;
    if (this.#state === WsState.Open) {
      this.#state = WsState.Closing;
      this.#sendClose(code, "");
    }
    this.#endSocket();
  }

  /** Ends the socket after the queued frames (the close frame among them) are written. */
  #endSocket(): void {
    this.#armCloseTimer();
    this.#flushNow();
    if (!this.#socket.destroyed) this.#socket.end();
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), this.#closeTimeout);
    this.#closeTimer.unref();
  }

  #onSocketClose(): void {
    if (this.#state === WsState.Closed) return;
    this.#state = WsState.Closed;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    const callbacks = this.#callbacks;
    const tokens = this.#tokens;
    const tokenBytes = this.#tokenBytes;
    this.#clearOutgoing();
    if (callbacks.length > 0 || tokens.length > 0) {
      const err = new WsStateError(WsState.Closed);
      for (const cb of callbacks) cb(err);
      if (tokens.length > 0) this.onWritten(tokens, tokenBytes, err);
    }
    const code = this.#closeReceived || this.#parser.failed ? this.#closeCode : CloseCode.Abnormal;
    this.onClose(code, this.#closeReason);
  }
}
