import {
  type FederationHandler,
  type FederationQueue,
  FederationQueueFullError,
} from "./federation-queue.js";

/**
 * In-process {@link FederationQueue} (embedded mode): a FIFO with a concurrency limit; `retry` puts the entry
 * back after `retryDelayMs`. Lost when the process ends.
 */
export class MemoryFederationQueue implements FederationQueue {
  readonly #retryDelayMs: number;
  readonly #waiting: Uint8Array[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #handler: FederationHandler | undefined;
  #concurrency = 1;
  #running = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  readonly #maxLength: number;

  constructor(retryDelayMs = 3000, maxLength = 100_000) {
    this.#retryDelayMs = retryDelayMs;
    this.#maxLength = maxLength;
  }

  async push(data: Uint8Array): Promise<void> {
    if (this.#waiting.length + this.#running + this.#timers.size >= this.#maxLength) {
      throw new FederationQueueFullError(this.#maxLength);
    }
    this.#waiting.push(data);
    this.#drain();
  }

  async start(handler: FederationHandler, concurrency: number): Promise<void> {
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#drain();
  }

  async length(): Promise<number> {
    return this.#waiting.length + this.#running + this.#timers.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #drain(): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    while (!this.#closed && this.#running < this.#concurrency && this.#waiting.length > 0) {
      const data = this.#waiting.shift()!;
      this.#running += 1;
      handler(data)
        .catch(() => "retry" as const)
        .then((outcome) => {
          this.#running -= 1;
          if (outcome === "retry" && !this.#closed) {
            const t = setTimeout(() => {
              this.#timers.delete(t);
              this.#waiting.push(data);
              this.#drain();
            }, this.#retryDelayMs);
            t.unref();
            this.#timers.add(t);
          }
          if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
          this.#drain();
        });
    }
  }
}
