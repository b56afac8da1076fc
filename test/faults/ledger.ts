/**
 * The books of a fault test: every message id that was sent, and what became of it. An id gets one outcome,
 * `delivered` or `errored` (with a reason); a second outcome for the same id counts as a duplicate (the
 * application saw it twice); ids that never got one are `lost`. Each fault test keeps one ledger per observer
 * (the caller's answers, the service's requests), asserts on `counts()` and prints `summary()` with
 * `t.diagnostic`.
 *
 * @example
 * const calls = new Ledger("calls");
 * calls.sent("7");
 * calls.delivered("7");
 * calls.counts(); // { sent: 1, delivered: 1, duplicated: 0, lost: 0, errored: 0, unexpected: 0 }
 */

/** What a ledger counted. */
export interface LedgerCounts {
  sent: number;
  /** Ids whose first outcome was a delivery. */
  delivered: number;
  /** Outcomes beyond the first of an id (a message seen twice by the application). */
  duplicated: number;
  /** Sent ids without any outcome. */
  lost: number;
  /** Ids whose first outcome was an error. */
  errored: number;
  /** Outcomes for ids that were never sent (should not happen). */
  unexpected: number;
}

type Outcome = { kind: "delivered" } | { kind: "errored"; reason: string };

export class Ledger {
  readonly name: string;
  readonly #outcomes = new Map<string, Outcome | undefined>();
  readonly #errorReasons = new Map<string, number>();
  readonly #notes = new Map<string, number | string>();
  readonly #waiters = new Set<() => void>();
  #delivered = 0;
  #errored = 0;
  #duplicated = 0;
  #unexpected = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Records a new message id; an id may be sent once. */
  sent(id: string): void {
    if (this.#outcomes.has(id)) throw new Error(`${this.name}: id ${id} sent twice`);
    this.#outcomes.set(id, undefined);
  }

  /** The application got the message (or the answer to it). */
  delivered(id: string): void {
    this.#record(id, { kind: "delivered" });
  }

  /** The application was told the message failed; `reason` groups errors in the summary. */
  errored(id: string, reason: string): void {
    this.#record(id, { kind: "errored", reason });
  }

  /** The reason `id` errored with, if its first outcome was an error. */
  errorOf(id: string): string | undefined {
    const o = this.#outcomes.get(id);
    return o?.kind === "errored" ? o.reason : undefined;
  }

  /** Whether `id` has an outcome yet. */
  settled(id: string): boolean {
    return this.#outcomes.get(id) !== undefined;
  }

  /** A free-form figure shown in the summary (reconnects, duplicates dropped on the wire, …). */
  note(key: string, value: number | string): void {
    this.#notes.set(key, value);
  }

  counts(): LedgerCounts {
    let lost = 0;
    for (const outcome of this.#outcomes.values()) if (outcome === undefined) lost++;
    return {
      sent: this.#outcomes.size,
      delivered: this.#delivered,
      duplicated: this.#duplicated,
      lost,
      errored: this.#errored,
      unexpected: this.#unexpected,
    };
  }

  /** Errors by reason. */
  errorReasons(): Record<string, number> {
    return Object.fromEntries(this.#errorReasons);
  }

  /** Ids whose first outcome was a delivery. */
  deliveredIds(): string[] {
    return [...this.#outcomes].filter(([, o]) => o?.kind === "delivered").map(([id]) => id);
  }

  /** Ids whose first outcome was an error. */
  erroredIds(): string[] {
    return [...this.#outcomes].filter(([, o]) => o?.kind === "errored").map(([id]) => id);
  }

  /** Ids still without an outcome. */
  pending(): string[] {
    return [...this.#outcomes].filter(([, o]) => o === undefined).map(([id]) => id);
  }

  /** Resolves once `predicate(counts())` holds; rejects after `timeoutMs` with the summary. */
  async until(predicate: (c: LedgerCounts) => boolean, timeoutMs = 30_000): Promise<void> {
    if (predicate(this.counts())) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate(this.counts())) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.name}: condition not reached within ${timeoutMs} ms (${this.summary()})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** One line: `calls: sent 600 · delivered 590 · duplicated 0 · lost 0 · errored 10 (timeout 10) · notes`. */
  summary(): string {
    const c = this.counts();
    const reasons = [...this.#errorReasons].map(([r, n]) => `${r} ${n}`).join(", ");
    const notes = [...this.#notes].map(([k, v]) => `${k} ${v}`).join(" · ");
    return (
      `${this.name}: sent ${c.sent} · delivered ${c.delivered} · duplicated ${c.duplicated} · lost ${c.lost} · ` +
      `errored ${c.errored}${reasons === "" ? "" : ` (${reasons})`}` +
      (c.unexpected > 0 ? ` · unexpected ${c.unexpected}` : "") +
      (notes === "" ? "" : ` · ${notes}`)
    );
  }

  #record(id: string, outcome: Outcome): void {
    if (!this.#outcomes.has(id)) {
      this.#unexpected++;
    } else if (this.#outcomes.get(id) !== undefined) {
      this.#duplicated++;
    } else {
      this.#outcomes.set(id, outcome);
      if (outcome.kind === "delivered") this.#delivered++;
      else {
        this.#errored++;
        this.#errorReasons.set(outcome.reason, (this.#errorReasons.get(outcome.reason) ?? 0) + 1);
      }
    }
    for (const w of [...this.#waiters]) w();
  }
}
