import { Redis } from "ioredis";
import { formatOutgoingRequest, PeerKeys, parseIncomingResponse } from "../../src/peer/index.js";
import type { Ledger } from "./ledger.js";

/**
 * An application of rmb-peer's Redis JSON API, as rmb-rs clients are written: requests are pushed to
 * `msgbus.system.local` with `ref` = our message id, answers popped from its own reply queue. Every item that
 * appears on the reply queue is booked, so an answer pushed twice is seen as a duplicate; a request without an
 * answer by its expiry (plus `graceMs`) is booked as a timeout, as an application would give up on it; an answer
 * that comes after that is counted as `late` (not booked again).
 */

/** Options of {@link startJsonStream}. */
export interface JsonStreamOptions {
  /** The peer's Redis (`redis://host:port/db`). */
  redis: string;
  destination: number;
  command: string;
  /** Requests to send. */
  count: number;
  /** Most requests outstanding at once. */
  window: number;
  /** Lifetime of each request (`exp`), in seconds. */
  exp: number;
  ledger: Ledger;
  /** Also told about every request sent (the service's books). */
  serviceLedger?: Ledger;
  /** Prefix of the message ids. @default "" */
  prefix?: string;
  /** Extra fields of the JSON payload (e.g. a delay for the service). */
  extra?: Record<string, unknown>;
  /** How long past its expiry an unanswered request is given up. @default 1000 */
  graceMs?: number;
}

/** A running stream; `stop()` closes its Redis connections. */
export interface JsonStream {
  readonly done: Promise<void>;
  readonly sent: number;
  /** Answers popped, including duplicates. */
  readonly popped: number;
  /** Answers that arrived after their request had been given up. */
  readonly late: number;
  stop(): Promise<void>;
}

export async function startJsonStream(o: JsonStreamOptions): Promise<JsonStream> {
  const push = new Redis(o.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const pop = new Redis(o.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  for (const c of [push, pop]) c.on("error", () => undefined);
  await Promise.all([push.connect(), pop.connect()]);
  const ret = `faults.ret.${Math.random().toString(36).slice(2)}`;
  const prefix = o.prefix ?? "";
  const grace = o.graceMs ?? 1000;
  const deadlines = new Map<string, number>();
  const slotWaiters: (() => void)[] = [];
  let next = 0;
  let outstanding = 0;
  let popped = 0;
  let late = 0;
  let stopping = false;

  const settle = (id: string): void => {
    if (!deadlines.delete(id)) return;
    outstanding -= 1;
    slotWaiters.shift()?.();
  };

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, deadline] of deadlines) {
      if (now <= deadline) continue;
      o.ledger.errored(id, "timeout");
      settle(id);
    }
  }, 100);

  const popLoop = (async () => {
    while (!stopping) {
      let got: [string, string] | null;
      try {
        got = await pop.blpop(ret, 0.5);
      } catch {
        if (stopping) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (got === null) continue;
      popped += 1;
      const res = parseIncomingResponse(got[1]);
      const id = res.ref ?? "";
      if (!deadlines.has(id) && o.ledger.settled(id)) {
        late += 1;
        // An answer after the application gave up on the call is late, not a second delivery: on a loaded machine
        // it can reach the reply queue a moment after the caller's deadline. Answers after an answer still count.
        if (o.ledger.errorOf(id) === "timeout") continue;
      }
      if (res.err !== null) {
        o.ledger.errored(id, res.src === "0" ? `relay: ${res.err.message}` : `code ${res.err.code}`);
      } else {
        const body = JSON.parse(new TextDecoder().decode(res.dat)) as { id?: string };
        if (body.id === id) o.ledger.delivered(id);
        else o.ledger.errored(id, "wrong answer");
      }
      settle(id);
    }
  })();

  const sendLoop = (async () => {
    while (next < o.count && !stopping) {
      while (outstanding >= o.window) await new Promise<void>((r) => slotWaiters.push(r));
      const id = `${prefix}${next++}`;
      const now = Math.floor(Date.now() / 1000);
      o.ledger.sent(id);
      o.serviceLedger?.sent(id);
      outstanding += 1;
      // The request lives until now + exp (whole seconds): give up a little after that.
      deadlines.set(id, (now + o.exp) * 1000 + grace);
      const dat = new TextEncoder().encode(JSON.stringify({ id, ...o.extra }));
      await push.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: id,
          cmd: o.command,
          exp: o.exp,
          dat,
          tag: null,
          dst: [o.destination],
          ret,
          shm: "application/json",
          now,
        }),
      );
    }
  })();

  const done = (async () => {
    await sendLoop;
    while (deadlines.size > 0) await new Promise((r) => setTimeout(r, 20));
  })();

  return {
    done,
    get sent() {
      return next;
    },
    get popped() {
      return popped;
    },
    get late() {
      return late;
    },
    async stop() {
      stopping = true;
      clearInterval(sweeper);
      for (const w of slotWaiters.splice(0)) w();
      await sendLoop.catch(() => undefined);
      await popLoop.catch(() => undefined);
      await push.del(ret).catch(() => undefined);
      push.disconnect();
      pop.disconnect();
    },
  };
}
