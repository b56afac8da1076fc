/**
 * The relay benchmark's closed-loop load generator, run in worker threads so that it is not the bottleneck: each
 * worker connects its share of the clients (a requester and an echoing responder each), keeps `window` requests
 * outstanding per client and records the latency of every reply while the main thread says it measures. The main
 * thread drives the phases and merges the results; CPU time of the workers counts as the load generator's.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { connect as connectNats } from "nats";
import { connectLeanWs } from "./lean-ws.js";

const CONNECT_TIMEOUT_MS = 10_000;

/** How one client (requester + echoing responder) connects: serializable, built by the main thread. */
export type PairSpec =
  | { kind: "ws"; requesterUrl: string; responderUrl: string; request: Uint8Array; reply: Uint8Array }
  | { kind: "nats"; servers: string; subject: string; request: Uint8Array; reply: Uint8Array };

interface Task {
  pairs: PairSpec[];
  window: number;
  drainTimeoutMs: number;
}

type ToWorker = { cmd: "start" } | { cmd: "measure" } | { cmd: "drain" } | { cmd: "close" };
type FromWorker =
  | { type: "ready" }
  | { type: "measuring"; seen: number }
  | { type: "result"; latencies: Float64Array; bad: number; lost: number }
  | { type: "closed" }
  | { type: "error"; message: string };

/** What the whole load generator measured. */
export interface LoadResult {
  latencies: Float64Array;
  bad: number;
  lost: number;
}

/** A running set of worker threads, one per share of the clients. */
export class Loadgen {
  readonly #workers: Worker[];
  readonly #inbox = new Map<Worker, FromWorker[]>();
  readonly #waiters = new Map<Worker, (m: FromWorker) => void>();

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    for (const w of workers) {
      this.#inbox.set(w, []);
      w.on("message", (m: FromWorker) => this.#deliver(w, m));
      w.on("error", (err) => this.#deliver(w, { type: "error", message: err.message }));
    }
  }

  /** Starts `threads` workers for `pairs` (dealt round-robin) and waits until every pair is connected. */
  static async start(
    pairs: PairSpec[],
    window: number,
    threads: number,
    drainTimeoutMs: number,
  ): Promise<Loadgen> {
    const n = Math.max(1, Math.min(threads, pairs.length));
    const shares: PairSpec[][] = Array.from({ length: n }, () => []);
    for (const [i, p] of pairs.entries()) shares[i % n]!.push(p);
    const workers = shares.map(
      (share) =>
        new Worker(new URL(import.meta.url), {
          workerData: { pairs: share, window, drainTimeoutMs } as Task,
        }),
    );
    const gen = new Loadgen(workers);
    try {
      await gen.#all("ready");
    } catch (err) {
      await gen.close();
      throw err;
    }
    return gen;
  }

  /** Every client sends its first `window` requests. */
  start(): void {
    this.#post({ cmd: "start" });
  }

  /** From now on latencies count; resolves with the replies seen so far (the warm-up). */
  async measure(): Promise<number> {
    this.#post({ cmd: "measure" });
    const answers = await this.#all("measuring");
    return answers.reduce((n, m) => n + (m.type === "measuring" ? m.seen : 0), 0);
  }

  /** Stops sending, waits for the outstanding replies (or the drain timeout) and merges the results. */
  async drain(): Promise<LoadResult> {
    this.#post({ cmd: "drain" });
    const results = await this.#all("result");
    let total = 0;
    for (const r of results) if (r.type === "result") total += r.latencies.length;
    const latencies = new Float64Array(total);
    let at = 0;
    let bad = 0;
    let lost = 0;
    for (const r of results) {
      if (r.type !== "result") continue;
      latencies.set(r.latencies, at);
      at += r.latencies.length;
      bad += r.bad;
      lost += r.lost;
    }
    return { latencies, bad, lost };
  }

  async close(): Promise<void> {
    this.#post({ cmd: "close" });
    await Promise.race([this.#all("closed").catch(() => undefined), sleep(5000)]);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #post(m: ToWorker): void {
    for (const w of this.#workers) w.postMessage(m);
  }

  #deliver(w: Worker, m: FromWorker): void {
    const waiter = this.#waiters.get(w);
    if (waiter !== undefined) {
      this.#waiters.delete(w);
      waiter(m);
    } else this.#inbox.get(w)!.push(m);
  }

  #next(w: Worker): Promise<FromWorker> {
    const queued = this.#inbox.get(w)!.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiters.set(w, resolve));
  }

  /** The next message of every worker, which must be of `type` (an error message rejects). */
  async #all(type: FromWorker["type"]): Promise<FromWorker[]> {
    const answers = await Promise.all(this.#workers.map((w) => this.#next(w)));
    for (const a of answers) {
      if (a.type === "error") throw new Error(`load generator: ${a.message}`);
      if (a.type !== type) throw new Error(`load generator: expected ${type}, got ${a.type}`);
    }
    return answers;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------------------

interface Pair {
  send(): void;
  close(): Promise<void>;
}

/** One client's closed loop: send times in a ring (replies come back in send order). */
class ClientLoop {
  readonly #sentAt: Float64Array;
  #head = 0;
  #tail = 0;
  pair: Pair | undefined;

  constructor(window: number) {
    this.#sentAt = new Float64Array(window);
  }

  get outstanding(): number {
    return this.#head - this.#tail;
  }

  send(): void {
    this.#sentAt[this.#head++ % this.#sentAt.length] = performance.now();
    this.pair!.send();
  }

  answered(now: number): number {
    return now - this.#sentAt[this.#tail++ % this.#sentAt.length]!;
  }
}

async function connectPair(spec: PairSpec, onReply: (ok: boolean) => void): Promise<Pair> {
  const replyLength = spec.reply.length;
  if (spec.kind === "ws") {
    let replyFrame: Buffer | undefined;
    const responder = await connectLeanWs(spec.responderUrl, () => responder.sendFrame(replyFrame!));
    replyFrame = responder.frame(spec.reply);
    const requester = await connectLeanWs(spec.requesterUrl, (data) => onReply(data.length === replyLength));
    const requestFrame = requester.frame(spec.request);
    return {
      send: () => requester.sendFrame(requestFrame),
      close: async () => {
        await Promise.all([requester.close(), responder.close()]);
      },
    };
  }
  const natsConnect = () =>
    connectNats({ servers: spec.servers, reconnect: false, timeout: CONNECT_TIMEOUT_MS });
  const responder = await natsConnect();
  const reply = spec.reply;
  responder.subscribe(spec.subject, {
    callback: (err, msg) => {
      if (err === null) msg.respond(reply);
    },
  });
  await responder.flush();
  const requester = await natsConnect();
  return {
    send: () => {
      requester.request(spec.subject, spec.request, { timeout: 60_000 }).then(
        (msg) => onReply(msg.data.length === replyLength),
        () => onReply(false),
      );
    },
    close: async () => {
      await requester.close();
      await responder.close();
    },
  };
}

async function runWorker(task: Task): Promise<void> {
  const port = parentPort!;
  const post = (m: FromWorker): void => port.postMessage(m);
  let phase: "idle" | "warmup" | "measure" | "drain" = "idle";
  const latencies: number[] = [];
  let bad = 0;
  let seen = 0;
  const loops = task.pairs.map(() => new ClientLoop(task.window));
  for (const [i, loop] of loops.entries()) {
    loop.pair = await connectPair(task.pairs[i]!, (ok) => {
      if (loop.outstanding === 0) {
        bad += 1; // a frame nobody asked for (e.g. an error envelope): not a round trip
        return;
      }
      const latency = loop.answered(performance.now());
      seen += 1;
      if (phase === "measure") {
        latencies.push(latency);
        if (!ok) bad += 1;
      }
      if (phase === "warmup" || phase === "measure") loop.send();
    });
  }
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "start") {
      phase = "warmup";
      for (const loop of loops) for (let k = 0; k < task.window; k++) loop.send();
    } else if (m.cmd === "measure") {
      phase = "measure";
      post({ type: "measuring", seen });
    } else if (m.cmd === "drain") {
      phase = "drain";
      void (async () => {
        const deadline = Date.now() + task.drainTimeoutMs;
        while (loops.some((l) => l.outstanding > 0) && Date.now() < deadline) await sleep(5);
        const lost = loops.reduce((n, l) => n + l.outstanding, 0);
        const result = Float64Array.from(latencies);
        port.postMessage({ type: "result", latencies: result, bad, lost } satisfies FromWorker, [
          result.buffer,
        ]);
      })();
    } else if (m.cmd === "close") {
      void Promise.all(loops.map((l) => l.pair?.close())).finally(() => {
        post({ type: "closed" });
      });
    }
  });
  post({ type: "ready" });
}

if (!isMainThread && parentPort !== null && (workerData as Task | undefined)?.pairs !== undefined) {
  runWorker(workerData as Task).catch((err: unknown) =>
    parentPort!.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) }),
  );
}
