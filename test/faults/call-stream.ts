import type { RmbCaller } from "../../src/sdk/index.js";
import { RmbCallError, RmbClientClosedError, RmbTimeoutError } from "../../src/sdk/index.js";
import type { Ledger } from "./ledger.js";

/**
 * Traffic for fault tests through the SDK: a closed-loop stream of calls (at most `window` outstanding) whose
 * outcomes go to a ledger, and a service whose handler books every request it is handed.
 */

/** Options of {@link startCallStream}. */
export interface CallStreamOptions {
  caller: RmbCaller;
  destination: number;
  command: string;
  /** Calls to make. */
  count: number;
  /** Most calls outstanding at once. */
  window: number;
  /** Timeout (and lifetime) of each call, in ms. */
  timeoutMs: number;
  /** The caller's books: every call is sent here, its answer or error recorded. */
  ledger: Ledger;
  /** The service's books: every call is also sent here (the service records what reaches it). */
  serviceLedger?: Ledger;
  /** Prefix of the message ids (unique per stream). @default "" */
  prefix?: string;
  /** Extra payload bytes per call (to fill buffers). @default 0 */
  padding?: number;
  /** Extra fields for the handler (e.g. a delay). */
  extra?: Record<string, unknown>;
}

/** A running stream. */
export interface CallStream {
  /** Resolves once every call has settled. */
  readonly done: Promise<void>;
  /** Calls sent so far. */
  readonly sent: number;
}

/** The reason recorded for a failed call: `timeout`, `relay: <text>`, `code <n>`, or the error's name. */
export function errorReason(err: unknown): string {
  if (err instanceof RmbTimeoutError) return "timeout";
  if (err instanceof RmbClientClosedError) return "client closed";
  if (err instanceof RmbCallError) return err.source === 0 ? `relay: ${err.message}` : `code ${err.wireCode}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export function startCallStream(o: CallStreamOptions): CallStream {
  let next = 0;
  const prefix = o.prefix ?? "";
  const padding = o.padding === undefined || o.padding === 0 ? undefined : "x".repeat(o.padding);
  const one = async (): Promise<void> => {
    while (next < o.count) {
      const id = `${prefix}${next++}`;
      o.ledger.sent(id);
      o.serviceLedger?.sent(id);
      try {
        const res = await o.caller.call(
          o.destination,
          o.command,
          { id, ...(padding === undefined ? {} : { padding }), ...o.extra },
          { timeout: o.timeoutMs },
        );
        const answer = res.json<{ id?: string }>();
        if (answer?.id === id) o.ledger.delivered(id);
        else o.ledger.errored(id, "wrong answer");
      } catch (err) {
        o.ledger.errored(id, errorReason(err));
      }
    }
  };
  const workers = Array.from({ length: Math.min(o.window, o.count) }, one);
  return {
    done: Promise.all(workers).then(() => undefined),
    get sent() {
      return next;
    },
  };
}

/** Options of {@link serveBooked}. */
export interface BookedServiceOptions {
  /** Milliseconds each request takes (`delayMs` in the payload overrides it). @default 0 */
  delayMs?: number;
}

/**
 * Serves `command` on `server` with an echo of `{ id }` that records each request's id in `ledger` as delivered
 * (a second delivery of an id is a duplicate at the application).
 */
export function serveBooked(
  server: RmbCaller,
  command: string,
  ledger: Ledger,
  options: BookedServiceOptions = {},
): void {
  server.serve(command, async (req) => {
    const body = req.json<{ id: string; delayMs?: number }>();
    ledger.delivered(body.id);
    const delay = body.delayMs ?? options.delayMs ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return { id: body.id };
  });
}
