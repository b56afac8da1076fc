import { addressOfSession, type Envelope, encodeEnvelope, parseSessionId } from "../protocol/index.js";
import { buildDropReport, isReportableDrop } from "./error-envelope.js";
import type { DroppedKind, RelayMetrics } from "./metrics.js";
import type { ResolvedRelayOptions } from "./options.js";
import type { DropReason } from "./queue-store.js";

/** How often waiting reports are offered to their queues and drops are logged, in ms. */
export const DROP_REPORT_INTERVAL_MS = 1000;
/** Most sessions named in the drop log of one interval; the others are counted in one more line. */
const MAX_LOG_LINES = 20;
/** Most reports put in one session's queue per interval. */
const MAX_REPORTS_PER_ROUND = 1000;

interface WaitingReport {
  dropped: Envelope;
  /** Unix seconds after which the dropped answer's call has timed out anyway. */
  deadline: number;
}

interface SessionDrops {
  /** Dropped since the last log line, by reason and kind. */
  counts: Record<DropReason, Record<DroppedKind, number>>;
  logged: boolean;
  waiting: WaitingReport[];
}

/** What the reporter needs from its relay process. */
export interface DropReporterParts {
  options: ResolvedRelayOptions;
  metrics: RelayMetrics;
  /** Entries held in a session's queue (`QueueStore.length`). */
  queueLength(session: string): Promise<number>;
  /** Queues bytes for a session and wakes its connection (`Router.deliver`). */
  deliver(session: string, data: Uint8Array): Promise<void>;
}

/**
 * Accounts for messages that session queues dropped (`sessionQueueLength` overflow, `sessionQueueAge` expiry):
 * counts each in `relay_queue_dropped_total{reason,kind}`, logs once per session per interval, and reports each
 * response or error dropped from a full queue to the session it was queued for (the caller), so that its pending
 * call fails with the relay's text instead of timing out; a dropped error envelope of the relay itself is queued
 * again. (The sender of a dropped request is told by the router, with an error queued for it.)
 *
 * A report cannot go into the queue that just overflowed: the cap would drop another message for it (and that drop
 * would need a report in turn). So the answer's uid is kept, and every interval the reports of a session are queued
 * as far as its queue has room — which it has again once the caller reads. A report whose answer's lifetime ended
 * first is given up (the call has timed out by then); at most `maxDropReports` wait. Nothing here runs on the routing
 * path: the store's drop callback only records, and a timer that runs while reports or log lines wait does the rest.
 */
export class DropReporter {
  readonly #parts: DropReporterParts;
  readonly #sessions = new Map<string, SessionDrops>();
  #waiting = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(parts: DropReporterParts) {
    this.#parts = parts;
  }

  /** Reports waiting for room, across sessions. */
  get waiting(): number {
    return this.#waiting;
  }

  /** A store dropped `env` (undefined: bytes that do not decode) from `session`'s queue. */
  dropped(session: string, env: Envelope | undefined, reason: DropReason): void {
    const kind = kindOf(env);
    this.#parts.metrics.countDrop(reason, kind);
    const entry = this.#entry(session);
    entry.counts[reason][kind] += 1;
    entry.logged = false;
    if (reason === "queue_full" && env !== undefined && isReportableDrop(env)) {
      const now = this.#parts.options.clock();
      const deadline = Math.min(env.timestamp + env.expiration, now + this.#parts.options.sessionQueueAge);
      if (deadline <= now) {
        this.#parts.metrics.dropReports.expired += 1;
      } else if (this.#waiting >= this.#parts.options.maxDropReports) {
        this.#parts.metrics.dropReports.overflow += 1;
      } else {
        entry.waiting.push({ dropped: env, deadline });
        this.#waiting += 1;
      }
    }
    this.#schedule();
  }

  #entry(session: string): SessionDrops {
    let entry = this.#sessions.get(session);
    if (entry === undefined) {
      entry = { counts: emptyCounts(), logged: true, waiting: [] };
      this.#sessions.set(session, entry);
    }
    return entry;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      void this.#round().finally(() => {
        this.#timer = undefined;
        if (this.#sessions.size > 0) this.#schedule();
      });
    }, DROP_REPORT_INTERVAL_MS);
    this.#timer.unref();
  }

  /** One interval: log what was dropped, queue the reports that fit, forget sessions with nothing left. */
  async #round(): Promise<void> {
    this.#log();
    for (const [session, entry] of [...this.#sessions]) {
      if (entry.waiting.length > 0) await this.#offer(session, entry);
      if (entry.waiting.length === 0 && entry.logged) this.#sessions.delete(session);
    }
  }

  #log(): void {
    const log = this.#parts.options.log;
    let lines = 0;
    let unnamed = 0;
    for (const [session, entry] of this.#sessions) {
      if (entry.logged) continue;
      entry.logged = true;
      const summary = describe(entry.counts);
      entry.counts = emptyCounts();
      if (log === undefined) continue;
      if (lines >= MAX_LOG_LINES) {
        unnamed += 1;
        continue;
      }
      lines += 1;
      const waiting =
        entry.waiting.length === 0
          ? ""
          : `; drop reports waiting for room in its queue: ${entry.waiting.length}`;
      log("warn", `session ${session}: relay queue dropped ${summary}${waiting}`);
    }
    if (log !== undefined && unnamed > 0) {
      log(
        "warn",
        `relay queues of ${unnamed} more sessions dropped messages (see relay_queue_dropped_total)`,
      );
    }
  }

  async #offer(session: string, entry: SessionDrops): Promise<void> {
    const { options, metrics } = this.#parts;
    const now = options.clock();
    const live = entry.waiting.filter((r) => r.deadline > now);
    metrics.dropReports.expired += entry.waiting.length - live.length;
    this.#waiting -= entry.waiting.length - live.length;
    entry.waiting = live;
    if (live.length === 0) return;
    let room: number;
    try {
      room = options.sessionQueueLength - (await this.#parts.queueLength(session));
    } catch (err) {
      this.#giveUp(session, entry, err);
      return;
    }
    const count = Math.min(room, live.length, MAX_REPORTS_PER_ROUND);
    if (count <= 0) return;
    const destination = addressOfSession(parseSessionId(session));
    const batch = entry.waiting.splice(0, count);
    this.#waiting -= batch.length;
    for (let i = 0; i < batch.length; i++) {
      const report = buildDropReport((batch[i] as WaitingReport).dropped, options.clock(), destination);
      if (report === undefined) continue;
      try {
        await this.#parts.deliver(session, encodeEnvelope(report));
      } catch (err) {
        const unsent = batch.slice(i);
        entry.waiting.unshift(...unsent);
        this.#waiting += unsent.length;
        this.#giveUp(session, entry, err);
        return;
      }
      metrics.dropReports.sent += 1;
      metrics.errorsSent += 1;
    }
  }

  /** The store failed (or was closed): the session's waiting reports are counted as failed and forgotten. */
  #giveUp(session: string, entry: SessionDrops, err: unknown): void {
    const { metrics, options } = this.#parts;
    metrics.dropReports.failed += entry.waiting.length;
    this.#waiting -= entry.waiting.length;
    const reason = err instanceof Error ? err.message : String(err);
    options.log?.("warn", `session ${session}: drop reports not sent (${entry.waiting.length}): ${reason}`);
    entry.waiting = [];
  }
}

function kindOf(env: Envelope | undefined): DroppedKind {
  const kind = env?.message?.kind;
  return kind === "request" || kind === "response" || kind === "error" ? kind : "other";
}

function emptyCounts(): Record<DropReason, Record<DroppedKind, number>> {
  return {
    queue_full: { request: 0, response: 0, error: 0, other: 0 },
    expired: { request: 0, response: 0, error: 0, other: 0 },
  };
}

/** `12 responses, 1 request (queue full); 3 errors (expired)`. */
function describe(counts: Record<DropReason, Record<DroppedKind, number>>): string {
  const parts: string[] = [];
  for (const [reason, label] of [
    ["queue_full", "queue full"],
    ["expired", "waited too long"],
  ] as const) {
    const kinds = Object.entries(counts[reason])
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind === "other" ? "other message" : kind}${n === 1 ? "" : "s"}`);
    if (kinds.length > 0) parts.push(`${kinds.join(", ")} (${label})`);
  }
  return parts.join("; ");
}
