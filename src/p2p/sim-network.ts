import { InvalidArgumentError } from "../errors.js";
import type { Clock, TimerHandle } from "./clock.js";
import { P2pRequestError, P2pTimeoutError } from "./errors.js";
import { type Random, seededRandom } from "./random.js";
import type { AgentHandler, AgentTransport } from "./transport.js";

/** Options of a {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of every random choice of the network (loss, latency) and of {@link SimNetwork.random}. @default 1 */
  seed?: number;
  /** Probability that any one message (request or answer) is lost. @default 0 */
  loss?: number;
  /**
   * One-way latency of a message in ms, drawn per message.
   * @default 10 ms + an exponential of mean 20 ms, capped at 1000 ms
   */
  latency?: (random: Random) => number;
  /**
   * Events closer than this (virtual ms) run in one batch before promise continuations run: continuations see the
   * clock of the batch's last event. Smaller is more exact, larger is faster. @default 1
   */
  quantumMs?: number;
  /** Pass every body through `JSON.stringify`/`JSON.parse` (as a real transport would) and count bytes. @default true */
  serialize?: boolean;
}

/** Message counters of a {@link SimNetwork}. */
export interface SimStats {
  /** Requests sent (including lost ones). */
  requests: number;
  /** Answers sent (including lost ones). */
  responses: number;
  /** Messages lost at random. */
  lost: number;
  /** Messages dropped because an end was killed or partitioned away. */
  dropped: number;
  /** Bytes of JSON bodies sent (when `serialize`). */
  bytes: number;
  /** Requests sent per command. */
  byCommand: Map<string, number>;
  /** Bytes of JSON bodies sent per command, requests and their answers (when `serialize`). */
  bytesByCommand: Map<string, number>;
}

interface SimEvent {
  time: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A binary min-heap of events by (time, seq). */
class EventQueue {
  readonly #heap: SimEvent[] = [];

  get size(): number {
    return this.#heap.length;
  }

  peek(): SimEvent | undefined {
    return this.#heap[0];
  }

  push(ev: SimEvent): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): SimEvent | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

const yieldToMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * An in-memory network of agents on a virtual clock (a discrete-event scheduler): messages take a random latency,
 * are lost with a probability, and never reach killed or partitioned agents. Time only moves in {@link run}, so a
 * thousand agents run in one process, fast and — for a given seed — the same way every time.
 *
 * @example
 * const net = new SimNetwork({ seed: 7, loss: 0.05 });
 * const agent = new P2pAgent({ transport: net.transport(1), clock: net.clock, random: net.random, … });
 * await agent.start();
 * await net.run(10_000); // ten virtual seconds
 */
export class SimNetwork {
  /** The virtual clock: give it to every agent of this network. */
  readonly clock: Clock;
  /** The network's seeded generator (agents may share it, or derive their own). */
  readonly random: Random;
  readonly stats: SimStats = {
    requests: 0,
    responses: 0,
    lost: 0,
    dropped: 0,
    bytes: 0,
    byCommand: new Map(),
    bytesByCommand: new Map(),
  };
  /** Messages (requests and answers) sent per twin. */
  readonly sentBy = new Map<number, number>();
  readonly #queue = new EventQueue();
  readonly #handlers = new Map<number, Map<string, AgentHandler>>();
  readonly #killed = new Set<number>();
  readonly #group = new Map<number, number>();
  readonly #latency: (random: Random) => number;
  readonly #quantum: number;
  readonly #serialize: boolean;
  #loss: number;
  #now = 0;
  #seq = 0;

  constructor(options: SimNetworkOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.#loss = checkLoss(options.loss ?? 0);
    this.#latency = options.latency ?? ((r) => Math.min(1000, 10 - 20 * Math.log(1 - r())));
    this.#quantum = options.quantumMs ?? 1;
    this.#serialize = options.serialize ?? true;
    this.clock = {
      now: () => this.#now,
      setTimeout: (fn, ms) => this.#schedule(Math.max(0, ms), fn),
      clearTimeout: (handle: TimerHandle) => {
        (handle as SimEvent).cancelled = true;
      },
    };
  }

  /** Virtual milliseconds since the network was made. */
  get now(): number {
    return this.#now;
  }

  get loss(): number {
    return this.#loss;
  }

  /** Changes the message loss probability. */
  set loss(p: number) {
    this.#loss = checkLoss(p);
  }

  /** The transport of twin `twin` on this network. */
  transport(twin: number): AgentTransport {
    return {
      self: twin,
      request: (to, command, body, timeoutMs) => this.#request(twin, to, command, body, timeoutMs),
      serve: (command, handler) => {
        let map = this.#handlers.get(twin);
        if (map === undefined) {
          map = new Map();
          this.#handlers.set(twin, map);
        }
        map.set(command, handler);
        return () => {
          if (this.#handlers.get(twin)?.get(command) === handler) this.#handlers.get(twin)?.delete(command);
        };
      },
    };
  }

  /** Cuts `twin` off: nothing it sends or is sent arrives (a crashed host). */
  kill(twin: number): void {
    this.#killed.add(twin);
  }

  /** Undoes {@link kill}. */
  revive(twin: number): void {
    this.#killed.delete(twin);
  }

  isKilled(twin: number): boolean {
    return this.#killed.has(twin);
  }

  /** Puts `twins` in a partition of their own: they only reach each other until {@link heal}. */
  partition(twins: Iterable<number>): void {
    const id = this.#group.size === 0 ? 1 : Math.max(...this.#group.values()) + 1;
    for (const t of twins) this.#group.set(t, id);
  }

  /** Removes every partition. */
  heal(): void {
    this.#group.clear();
  }

  /** Runs the events of the next `ms` virtual milliseconds (and the promise continuations they cause). */
  async run(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const first = this.#queue.peek();
      if (first === undefined || first.time > end) break;
      const windowEnd = Math.min(end, first.time + this.#quantum);
      for (;;) {
        const ev = this.#queue.peek();
        if (ev === undefined || ev.time > windowEnd) break;
        this.#queue.pop();
        if (ev.cancelled) continue;
        this.#now = ev.time;
        ev.fn();
      }
      await yieldToMicrotasks();
    }
    this.#now = end;
    await yieldToMicrotasks();
  }

  /** Runs until `condition()` holds (checked every `stepMs`) or `maxMs` passed; returns whether it held. */
  async runUntil(condition: () => boolean, maxMs: number, stepMs = 100): Promise<boolean> {
    const end = this.#now + maxMs;
    while (!condition()) {
      if (this.#now >= end) return false;
      await this.run(Math.min(stepMs, end - this.#now));
    }
    return true;
  }

  #schedule(delay: number, fn: () => void): SimEvent {
    const ev: SimEvent = { time: this.#now + delay, seq: this.#seq++, fn, cancelled: false };
    this.#queue.push(ev);
    return ev;
  }

  #reachable(from: number, to: number): boolean {
    if (this.#killed.has(from) || this.#killed.has(to)) return false;
    return (this.#group.get(from) ?? 0) === (this.#group.get(to) ?? 0);
  }

  /** Sends one message; `deliver` runs at the far end unless it is lost or unreachable. */
  #send(from: number, to: number, command: string, body: unknown, deliver: (body: unknown) => void): void {
    this.sentBy.set(from, (this.sentBy.get(from) ?? 0) + 1);
    let copy = body;
    if (this.#serialize) {
      const text = JSON.stringify(body ?? null);
      this.stats.bytes += text.length;
      const by = this.stats.bytesByCommand;
      by.set(command, (by.get(command) ?? 0) + text.length);
      copy = JSON.parse(text);
    }
    if (this.#loss > 0 && this.random() < this.#loss) {
      this.stats.lost++;
      return;
    }
    this.#schedule(this.#latency(this.random), () => {
      if (!this.#reachable(from, to)) {
        this.stats.dropped++;
        return;
      }
      deliver(copy);
    });
  }

  #request(from: number, to: number, command: string, body: unknown, timeoutMs: number): Promise<unknown> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new InvalidArgumentError("timeoutMs", "expected a positive number"));
    }
    this.stats.requests++;
    this.stats.byCommand.set(command, (this.stats.byCommand.get(command) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = this.#schedule(timeoutMs, () => {
        if (done) return;
        done = true;
        reject(new P2pTimeoutError(`twin ${to} did not answer ${command} within ${timeoutMs} ms`));
      });
      const answer = (ok: boolean, value: unknown): void => {
        if (done) return;
        done = true;
        timer.cancelled = true;
        if (ok) resolve(value);
        else reject(new P2pRequestError(`${command} to twin ${to} failed: ${String(value)}`));
      };
      this.#send(from, to, command, body, (received) => {
        const reply = (ok: boolean, value: unknown): void => {
          this.stats.responses++;
          this.#send(to, from, command, ok ? value : String(value), (v) => answer(ok, v));
        };
        const handler = this.#handlers.get(to)?.get(command);
        if (handler === undefined) {
          reply(false, `no handler for ${command}`);
          return;
        }
        let result: unknown;
        try {
          result = handler(from, received);
        } catch (err) {
          reply(false, (err as Error).message);
          return;
        }
        if (result instanceof Promise) {
          result.then(
            (v) => reply(true, v),
            (err: unknown) => reply(false, (err as Error)?.message),
          );
        } else {
          reply(true, result);
        }
      });
    });
  }
}

function checkLoss(p: number): number {
  if (typeof p !== "number" || !(p >= 0 && p <= 1))
    throw new InvalidArgumentError("loss", "expected a number in [0, 1]");
  return p;
}
