import { decodeEnvelope, type Envelope, isExpired } from "../../protocol/index.js";
import type { TwinRegistry } from "../../registry/twin-registry.js";
import type { FederationOutcome } from "./federation-queue.js";
import type { RelayRanker } from "./ranker.js";

/** Delivery to another relay failed for good; `message` becomes the sender's error envelope text. */
export class PermanentFederationError extends Error {}

/** Options of {@link Federator}. */
export interface FederatorOptions {
  registry: TwinRegistry;
  ranker: RelayRanker;
  /** Unix seconds. */
  clock: () => number;
  /** Base URL for a relay domain; `https://<domain>/` unless mapped (tests map domains to 127.0.0.1 ports). */
  urlFor: (domain: string) => string;
  /** Per-attempt timeout (rmb-rs: 3 s). */
  attemptTimeoutMs: number;
  /** Sends the relay's error envelope for a permanently failed request back to its sender. */
  onPermanentFailure: (env: Envelope, text: string) => Promise<void>;
  /** Counts outcomes for metrics (`federation_message_success{relay}` / `…_error{relay}`). */
  onResult?: (domain: string, ok: boolean) => void;
  /** Pause between passes over the domains, in ms (`pass` is 1 or 2). */
  pause?: (pass: number) => Promise<void>;
}

/** Passes over a twin's relay domains per attempt (rmb-rs `try_send`). */
const PASSES = 3;

/**
 * Delivers one queued envelope to the destination twin's relays (wire spec §4.8.1): ranked domains, up to three
 * passes, success only on `202`, any `4xx` is a permanent refusal; network errors and other statuses downvote the
 * domain and try the next. Transient failures are retried by the queue until the envelope's TTL runs out.
 */
export class Federator {
  readonly #o: FederatorOptions;

  constructor(options: FederatorOptions) {
    this.#o = options;
  }

  /** Never rejects: every failure is an outcome. */
  async process(data: Uint8Array): Promise<FederationOutcome> {
    let env: Envelope;
    try {
      env = decodeEnvelope(data);
    } catch {
      return "done"; // nothing to answer: unparsable entries are dropped (rmb-rs acks them)
    }
    if (isExpired(this.#o.clock(), env.timestamp ?? 0, env.expiration ?? 0))
      return this.#fail(env, "message expired before it reached the destination relay");
    try {
      await this.#deliver(env, data);
      return "done";
    } catch (err) {
      if (err instanceof PermanentFederationError) return this.#fail(env, err.message);
      return "retry";
    }
  }

  async #fail(env: Envelope, text: string): Promise<FederationOutcome> {
    await this.#o.onPermanentFailure(env, text).catch(() => undefined);
    return "done";
  }

  async #deliver(env: Envelope, data: Uint8Array): Promise<void> {
    const dst = env.destination?.twin ?? 0;
    const twin = await this.#o.registry.getTwin(dst); // a lookup error is transient
    if (twin === undefined) throw new PermanentFederationError("self twin not found!");
    if (twin.relays === undefined || twin.relays.length === 0) {
      throw new PermanentFederationError("relay is not set for this twin");
    }
    const domains = this.#o.ranker.order(twin.relays);
    for (let pass = 1; pass <= PASSES; pass++) {
      for (const domain of domains) {
        const outcome = await this.#post(domain, data);
        if (outcome === "accepted") {
          this.#o.onResult?.(domain, true);
          return;
        }
        if (typeof outcome === "object") {
          this.#o.onResult?.(domain, false);
          throw new PermanentFederationError(`remote relay rejected permanently: ${outcome.refused}`);
        }
        this.#o.ranker.downvote(domain);
        this.#o.onResult?.(domain, false);
      }
      if (pass < PASSES) await (this.#o.pause ?? defaultPause)(pass);
    }
    throw new Error(`relays '${JSON.stringify(domains)}' was not reachable in time`);
  }

  async #post(domain: string, data: Uint8Array): Promise<"accepted" | "failed" | { refused: string }> {
    try {
      const res = await fetch(this.#o.urlFor(domain), {
        method: "POST",
        body: data,
        signal: AbortSignal.timeout(this.#o.attemptTimeoutMs),
      });
      const text = await res.text();
      if (res.status === 202) return "accepted";
      if (res.status >= 400 && res.status < 500) return { refused: text || `status ${res.status}` };
      return "failed";
    } catch {
      return "failed";
    }
  }
}

function defaultPause(pass: number): Promise<void> {
  const ms = pass === 1 ? 100 + Math.random() * 50 : 200 + Math.random() * 100;
  return new Promise((r) => setTimeout(r, ms));
}
