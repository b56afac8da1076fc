import type { E2eCipher } from "../crypto/index.js";
import { messageOf } from "../errors.js";
import {
  DEFAULT_MAX_CLOCK_SKEW,
  type Envelope,
  isFarFuture,
  remainingTtl,
  verifyEnvelope,
  WireErrorCode,
} from "../protocol/index.js";
import type { Twin, TwinRegistry } from "../registry/index.js";
import { lookupTwin } from "./envelope-sealer.js";
import { PeerProtocolError } from "./errors.js";

/** What a receiver answers (code 102) to an envelope dated more than its `maxClockSkew` ahead. */
export const FAR_FUTURE_TEXT = "envelope validation error: message timestamp is too far in the future";

/**
 * Checks an incoming envelope as rmb-peer does (rmb-rs `Protocol::read`), in rmb-rs's order: lifetime (102), source
 * twin known (103, or 500 when the registry fails), signature (104), and when the payload is a cipher: the source
 * has a key (105) and it decrypts (106). On success a `cipher` payload has been replaced by the `plain` one.
 * Beyond rmb-rs, an envelope dated more than `maxClockSkew` seconds ahead is refused with 102 too (it would stretch
 * its own lifetime). Envelopes from twin 0 (relay error reports) are taken without the checks after the times.
 */
export class EnvelopeOpener {
  readonly #e2e: E2eCipher | undefined;
  readonly #registry: TwinRegistry;
  readonly #refresh: ((id: number) => void) | undefined;
  readonly #refreshInterval: number;
  readonly #refreshed = new Map<number, number>();
  readonly #maxClockSkew: number;

  /**
   * @param refresh - drops a cached twin: when a signature or cipher fails against the cached record, the twin is
   *   looked up again once (at most every `refreshInterval` ms per twin), so a changed key is picked up at once
   * @param maxClockSkew - seconds an envelope's timestamp may lie ahead of `now` (`DEFAULT_MAX_CLOCK_SKEW`, 300)
   */
  constructor(
    e2e: E2eCipher | undefined,
    registry: TwinRegistry,
    refresh?: (id: number) => void,
    refreshInterval = 10_000,
    maxClockSkew = DEFAULT_MAX_CLOCK_SKEW,
  ) {
    this.#e2e = e2e;
    this.#registry = registry;
    this.#refresh = refresh;
    this.#refreshInterval = refreshInterval;
    this.#maxClockSkew = maxClockSkew;
  }

  /** Verifies and decrypts `env` in place; throws `PeerProtocolError`. `now` is unix seconds. */
  async open(env: Envelope, now: number): Promise<void> {
    if (remainingTtl(now, env.timestamp, env.expiration) === undefined) {
      throw new PeerProtocolError(WireErrorCode.Expired, "envelope validation error: message has expired");
    }
    if (isFarFuture(now, env.timestamp, this.#maxClockSkew)) {
      throw new PeerProtocolError(WireErrorCode.Expired, FAR_FUTURE_TEXT);
    }
    const source = env.source?.twin ?? 0;
    if (source === 0) return;
    const twin = await lookupTwin(this.#registry, source);
    try {
      this.#check(env, twin);
    } catch (err) {
      if (!this.#mayRefresh(source)) throw err;
      this.#refresh?.(source);
      this.#check(env, await lookupTwin(this.#registry, source));
    }
  }

  #mayRefresh(id: number): boolean {
    if (this.#refresh === undefined) return false;
    const now = Date.now();
    const last = this.#refreshed.get(id);
    if (last !== undefined && now - last < this.#refreshInterval) return false;
    if (this.#refreshed.size >= 10_000) this.#refreshed.clear();
    this.#refreshed.set(id, now);
    return true;
  }

  #check(env: Envelope, twin: Twin): void {
    try {
      verifyEnvelope(env, twin.accountId);
    } catch (cause) {
      throw new PeerProtocolError(
        WireErrorCode.InvalidSignature,
        `invalid envelope signature: ${messageOf(cause)}`,
        { cause },
      );
    }
    if (env.payload?.kind !== "cipher") return;
    if (twin.pk === undefined) {
      throw new PeerProtocolError(WireErrorCode.NoPublicKey, "sender twin has no public key");
    }
    if (this.#e2e === undefined) {
      throw new PeerProtocolError(WireErrorCode.E2e, "e2e error: this twin has no encryption key");
    }
    try {
      env.payload = { kind: "plain", data: this.#e2e.decryptFrom(twin.pk, env.payload.data) };
    } catch (cause) {
      throw new PeerProtocolError(WireErrorCode.E2e, `e2e error: ${messageOf(cause)}`, { cause });
    }
  }
}
