import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { InvalidArgumentError, messageOf } from "../errors.js";
import {
  formatOutgoingRequest,
  formatOutgoingResponse,
  type JsonIncomingRequest,
  parseIncomingRequest,
  parseIncomingResponse,
} from "../peer/json-messages.js";
import { popBatch } from "../peer/list-pop.js";
import { PEER_DEFAULTS, PeerKeys } from "../peer/options.js";
import { FAIL_FAST_TAG, parseSessionId, WireErrorCode } from "../protocol/index.js";
import {
  type CallOptions,
  type CallResult,
  DEFAULT_CALL_TIMEOUT,
  type Destination,
  type Handler,
  type RmbCaller,
  RmbRequest,
  RmbResponse,
  toDestination,
} from "./api.js";
import { RmbCallError, RmbClientClosedError, RmbHandlerError, RmbTimeoutError } from "./errors.js";
import { type PayloadInput, toPayload } from "./payload.js";

/** Options of {@link PeerClient.connect}. */
export interface PeerClientOptions {
  /** The Redis of the rmb-peer (ours or rmb-rs's). @default "redis://localhost:6379" */
  redis?: string;
  /** Items popped at once from the reply queue and the command queues. @default 128 */
  batch?: number;
  /** Requests handled at once by `serve` handlers. @default 256 */
  maxConcurrentRequests?: number;
}

interface Pending {
  destination: Destination;
  resolve: (r: RmbResponse) => void;
  reject: (e: Error) => void;
}

/**
 * The same `call` / `callMany` / `serve` API as `RmbClient`, for applications behind an rmb-peer (ours or rmb-rs's):
 * requests go to `msgbus.system.local` with this client's own reply queue, answers are matched by `ref`; served
 * commands are popped from `msgbus.<cmd>` and answered on `msgbus.system.reply`. Sessions cannot be addressed
 * through rmb-peer (its `dst` is a list of twin ids).
 */
export class PeerClient implements RmbCaller {
  readonly #push: Redis;
  readonly #responses: Redis;
  readonly #requests: Redis;
  readonly #replyQueue = `rmb-ts.reply.${randomUUID()}`;
  readonly #pending = new Map<string, Pending>();
  readonly #handlers = new Map<string, Handler>();
  readonly #batch: number;
  readonly #maxConcurrent: number;
  #active = 0;
  #slotWaiters: (() => void)[] = [];
  #closed = false;
  #responseLoop: Promise<void> | undefined;
  #requestLoop: Promise<void> | undefined;
  #requestsClientId: number | undefined;
  /**
   * Counters: `unmatched` — items on this client's reply queue whose `ref` matched no pending call (an answer pushed
   * twice, or one that came after its call timed out or was aborted).
   */
  readonly stats = { unmatched: 0 };

  private constructor(options: PeerClientOptions) {
    const url = options.redis ?? PEER_DEFAULTS.redis;
    const common = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.#push = new Redis(url, { ...common, enableAutoPipelining: true, connectionName: "rmb-ts-client" });
    this.#responses = new Redis(url, { ...common, connectionName: "rmb-ts-client-replies" });
    this.#requests = new Redis(url, { ...common, connectionName: "rmb-ts-client-requests" });
    for (const c of [this.#push, this.#responses, this.#requests]) c.on("error", () => {});
    this.#batch = options.batch ?? 128;
    this.#maxConcurrent = options.maxConcurrentRequests ?? 256;
  }

  /** Connects to the peer's Redis. */
  static async connect(options: PeerClientOptions = {}): Promise<PeerClient> {
    const client = new PeerClient(options);
    try {
      await Promise.all([client.#push.connect(), client.#responses.connect(), client.#requests.connect()]);
      client.#requestsClientId = Number(await client.#requests.client("ID"));
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  async call(
    destination: number | Destination,
    command: string,
    payload?: PayloadInput,
    options: CallOptions = {},
  ): Promise<RmbResponse> {
    const [result] = await this.#send([toDestination(destination)], command, payload, options);
    if (result === undefined) throw new Error("no result");
    if (!result.ok) throw result.error;
    return result.response;
  }

  callMany(
    destinations: readonly (number | Destination)[],
    command: string,
    payload?: PayloadInput,
    options: CallOptions = {},
  ): Promise<CallResult[]> {
    return this.#send(destinations.map(toDestination), command, payload, options);
  }

  /** One JSON request (fan-out by rmb-peer with one uid); one `ref` per destination keeps the answers apart. */
  async #send(
    destinations: Destination[],
    command: string,
    payload: PayloadInput,
    options: CallOptions,
  ): Promise<CallResult[]> {
    if (this.#closed) throw new RmbClientClosedError();
    if (typeof command !== "string" || command === "")
      throw new InvalidArgumentError("command", "expected a name");
    for (const d of destinations) {
      if (d.session !== undefined) {
        throw new InvalidArgumentError("destination", "rmb-peer cannot address a session; give a twin id");
      }
    }
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT;
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new InvalidArgumentError("timeout", "expected ms > 0");
    options.signal?.throwIfAborted();
    this.#startResponseLoop();
    const body = toPayload(payload);
    // rmb-peer answers every destination of one request with the same `ref`: a request per destination keeps the
    // answers of duplicate destinations apart and lets each one time out on its own.
    const results = destinations.map((destination) => {
      const ref = randomUUID();
      return new Promise<CallResult>((resolve) => {
        const done = (r: CallResult) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          this.#pending.delete(ref);
          resolve(r);
        };
        const timer = setTimeout(
          () =>
            done({
              destination,
              ok: false,
              error: new RmbTimeoutError(
                `no answer from twin ${destination.twin} to '${command}' within ${timeout} ms`,
              ),
            }),
          timeout,
        );
        const onAbort = () =>
          done({
            destination,
            ok: false,
            error: options.signal?.reason ?? new DOMException("the call was aborted", "AbortError"),
          });
        options.signal?.addEventListener("abort", onAbort, { once: true });
        this.#pending.set(ref, {
          destination,
          resolve: (response) => done({ destination, ok: true, response }),
          reject: (error) => done({ destination, ok: false, error }),
        });
        this.#push
          .lpush(
            PeerKeys.local,
            formatOutgoingRequest({
              ver: 1,
              ref,
              cmd: command,
              exp: Math.ceil(timeout / 1000),
              dat: body.data,
              tag: options.failFast === true ? FAIL_FAST_TAG : null,
              dst: [destination.twin],
              ret: this.#replyQueue,
              shm: options.schema ?? body.schema ?? null,
              now: Math.floor(Date.now() / 1000),
            }),
          )
          .catch((err: unknown) =>
            this.#pending.get(ref)?.reject(err instanceof Error ? err : new Error(String(err))),
          );
      });
    });
    return Promise.all(results);
  }

  #startResponseLoop(): void {
    if (this.#responseLoop !== undefined) return;
    this.#responseLoop = (async () => {
      while (!this.#closed) {
        let items: string[];
        try {
          const got = await popBatch(this.#responses, [this.#replyQueue], this.#batch, 0);
          if (got === null) continue;
          items = got[1];
        } catch {
          if (this.#closed) return;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        for (const text of items) this.#onResponse(text);
      }
    })();
  }

  #onResponse(text: string): void {
    let res: ReturnType<typeof parseIncomingResponse>;
    try {
      res = parseIncomingResponse(text);
    } catch {
      return;
    }
    const pending = res.ref === null ? undefined : this.#pending.get(res.ref);
    if (pending === undefined) {
      this.stats.unmatched++;
      return;
    }
    if (res.err !== null) {
      const source = res.src === "" ? undefined : Number(res.src.split(":")[0]);
      pending.reject(new RmbCallError(res.err.code, res.err.message, source));
      return;
    }
    let from: Destination;
    try {
      const s = parseSessionId(res.src);
      from = s.sid === undefined ? { twin: s.twin } : { twin: s.twin, session: s.sid };
    } catch {
      from = pending.destination;
    }
    pending.resolve(new RmbResponse(from, res.dat, res.shm ?? undefined));
  }

  serve(command: string, handler: Handler): () => void {
    if (typeof command !== "string" || command === "")
      throw new InvalidArgumentError("command", "expected a name");
    if (typeof handler !== "function") throw new InvalidArgumentError("handler", "expected a function");
    if (this.#closed) throw new RmbClientClosedError();
    this.#handlers.set(command, handler);
    this.#restartRequestLoop();
    return () => {
      if (this.#handlers.get(command) !== handler) return;
      this.#handlers.delete(command);
      this.#restartRequestLoop();
    };
  }

  /** The blocking pop covers the served commands' queues: wake it so that it picks up the new set. */
  #restartRequestLoop(): void {
    if (this.#requestLoop === undefined) {
      this.#requestLoop = this.#runRequestLoop();
      return;
    }
    if (this.#requestsClientId !== undefined) {
      this.#push.client("UNBLOCK", this.#requestsClientId).catch(() => {});
    }
  }

  async #runRequestLoop(): Promise<void> {
    while (!this.#closed) {
      const keys = [...this.#handlers.keys()].map(PeerKeys.command);
      if (keys.length === 0) {
        this.#requestLoop = undefined;
        return;
      }
      let got: [string, string[]] | null;
      try {
        got = await popBatch(this.#requests, keys, this.#batch, 0);
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (got === null) continue; // unblocked: the set of commands changed
      for (const text of got[1]) {
        await this.#acquire();
        this.#handleRequest(text).finally(() => this.#release());
      }
    }
  }

  async #acquire(): Promise<void> {
    while (this.#active >= this.#maxConcurrent) await new Promise<void>((r) => this.#slotWaiters.push(r));
    this.#active++;
  }

  #release(): void {
    this.#active--;
    this.#slotWaiters.shift()?.();
  }

  async #handleRequest(text: string): Promise<void> {
    let req: JsonIncomingRequest;
    try {
      req = parseIncomingRequest(text);
    } catch {
      return;
    }
    const handler = this.#handlers.get(req.cmd);
    const reply = (fields: {
      dat: Uint8Array;
      shm: string | null;
      err: { code: number; message: string } | null;
    }) =>
      this.#push
        .lpush(
          req.ret,
          formatOutgoingResponse({
            ver: 1,
            ref: req.ref,
            dst: req.src,
            now: Math.floor(Date.now() / 1000),
            ...fields,
          }),
        )
        .catch(() => {});
    if (handler === undefined) {
      await reply({
        dat: new Uint8Array(0),
        shm: null,
        err: { code: WireErrorCode.Other, message: `other: unknown command '${req.cmd}'` },
      });
      return;
    }
    let source: Destination;
    try {
      const s = parseSessionId(req.src);
      source = s.sid === undefined ? { twin: s.twin } : { twin: s.twin, session: s.sid };
    } catch {
      return;
    }
    const request = new RmbRequest(
      { uid: req.ref, command: req.cmd, source, expiresAt: req.now + req.exp },
      req.dat,
      req.shm ?? undefined,
    );
    try {
      const answer = toPayload(await handler(request));
      await reply({ dat: answer.data, shm: answer.schema ?? null, err: null });
    } catch (err) {
      const code = err instanceof RmbHandlerError ? err.wireCode : WireErrorCode.Handler;
      await reply({ dat: new Uint8Array(0), shm: null, err: { code, message: messageOf(err) } });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#pending.values()]) p.reject(new RmbClientClosedError());
    this.#responses.disconnect();
    this.#requests.disconnect();
    await Promise.allSettled([this.#responseLoop, this.#requestLoop]);
    await this.#push.del(this.#replyQueue).catch(() => {});
    this.#push.disconnect();
  }
}
