/** A membership update as it travels: `[twin, state (0 alive, 1 suspect, 2 dead), incarnation]`. */
export type MemberUpdate = readonly [twin: number, state: 0 | 1 | 2, incarnation: number];

interface Slot {
  twin: number;
  u: MemberUpdate;
  seq: number;
}

/**
 * The updates an agent piggybacks on its pings and acks: at most one per member (a newer one replaces it), deaths
 * and comebacks before everything else and the newest first, each sent `limit` times and then dropped; beyond `maxSize` the
 * oldest go, and so do updates queued more than `maxAgeMs` ago (after a burst — a thousand joins — the backlog
 * would otherwise fill every message for minutes with news everybody has by then). The order matters: with least-sent-first (SWIM's usual order) a backlog — say, a thousand joins —
 * holds fresh news back after its first transmission until the whole backlog has been sent once more, and a death
 * buried under later suspicions may never reach the few agents the push gossip missed.
 *
 * Two stacks of slots (urgent, the rest) with lazy deletion: a replaced or dropped update leaves a stale slot
 * behind, skipped when met and cleared by compaction.
 */
export class PiggybackQueue {
  readonly #maxSize: number;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<number, { seq: number; sent: number; at: number }>();
  /** `#stacks[0]`: deaths and comebacks; `#stacks[1]`: the rest. */
  readonly #stacks = [new SlotStack(), new SlotStack()] as const;
  #seq = 0;

  constructor(maxSize: number, maxAgeMs = Number.POSITIVE_INFINITY) {
    this.#maxSize = maxSize;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Updates waiting to be sent. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Queues `u` (replacing the queued update about the same member) as the newest; urgent ones (by default deaths;
   * the caller adds comebacks) go before all others. `now` is the time it is queued at.
   */
  enqueue(u: MemberUpdate, urgent = u[1] === 2, now = 0): void {
    const seq = ++this.#seq;
    this.#entries.set(u[0], { seq, sent: 0, at: now });
    this.#stacks[urgent ? 0 : 1].push({ twin: u[0], u, seq });
    const valid = (slot: Slot): boolean => this.#valid(slot);
    while (this.#entries.size > this.#maxSize) {
      // The oldest of the rest go first, then the oldest deaths.
      const slot = this.#stacks[1].shiftValid(valid) ?? this.#stacks[0].shiftValid(valid);
      if (slot === undefined) break;
      this.#entries.delete(slot.twin);
    }
    for (const stack of this.#stacks) stack.compact(4 * this.#maxSize + 64, valid);
  }

  /**
   * Up to `k` updates, deaths first, newest first; each counts one transmission and is dropped after `limit` (or
   * once older than `maxAgeMs` at `now`).
   */
  take(k: number, limit: number, now = 0): MemberUpdate[] {
    const out: MemberUpdate[] = [];
    for (const stack of this.#stacks) {
      const picked: Slot[] = [];
      while (out.length + picked.length < k) {
        const slot = stack.popValid((s) => this.#valid(s));
        if (slot === undefined) break;
        if (now - this.#entries.get(slot.twin)!.at > this.#maxAgeMs) {
          this.#entries.delete(slot.twin);
          continue;
        }
        picked.push(slot);
      }
      // Put back the oldest picked first, so that the newest stays on top.
      for (let i = picked.length - 1; i >= 0; i--) {
        const slot = picked[i]!;
        const e = this.#entries.get(slot.twin)!;
        if (++e.sent >= limit) this.#entries.delete(slot.twin);
        else stack.push(slot);
      }
      for (const slot of picked) out.push(slot.u);
      if (out.length >= k) break;
    }
    return out;
  }

  #valid(slot: Slot): boolean {
    return this.#entries.get(slot.twin)?.seq === slot.seq;
  }
}

/** A stack of slots that can also drop from the bottom (amortised O(1)). */
class SlotStack {
  #slots: Slot[] = [];
  #head = 0;

  push(slot: Slot): void {
    this.#slots.push(slot);
  }

  popValid(valid: (s: Slot) => boolean): Slot | undefined {
    while (this.#slots.length > this.#head) {
      const slot = this.#slots.pop()!;
      if (valid(slot)) return slot;
    }
    return undefined;
  }

  shiftValid(valid: (s: Slot) => boolean): Slot | undefined {
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head++]!;
      if (valid(slot)) return slot;
    }
    return undefined;
  }

  /** Drops consumed and (when more than `max` slots) stale slots. */
  compact(max: number, valid: (s: Slot) => boolean): void {
    if (this.#head > 64 && this.#head > this.#slots.length / 2) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
    if (this.#slots.length - this.#head > max) {
      this.#slots = this.#slots.slice(this.#head).filter(valid);
      this.#head = 0;
    }
  }
}
