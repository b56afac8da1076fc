/**
 * Orders a twin's relay domains by recent failures (wire spec §4.9): each failed delivery to a domain is
 * remembered for `periodSeconds`; the rank is failures per hour of the window; lower ranks go first and equal
 * ranks are shuffled. Local to one relay process, like rmb-rs's.
 */
export class RelayRanker {
  readonly #period: number;
  readonly #clock: () => number;
  readonly #failures = new Map<string, number[]>();

  /** `clock` is unix seconds. */
  constructor(periodSeconds: number, clock: () => number = () => Date.now() / 1000) {
    this.#period = periodSeconds;
    this.#clock = clock;
  }

  /** Records a failed delivery to `domain`. */
  downvote(domain: string): void {
    const now = this.#clock();
    const list = this.#prune(domain, now) ?? [];
    list.push(now);
    this.#failures.set(domain, list);
  }

  /** Failures per hour of the window, counting only those inside it. */
  rank(domain: string): number {
    const list = this.#prune(domain, this.#clock());
    return list === undefined ? 0 : list.length / (this.#period / 3600);
  }

  /** A new array with `domains` ordered best first. */
  order(domains: readonly string[]): string[] {
    const shuffled = [...domains];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const ranks = new Map(shuffled.map((d) => [d, this.rank(d)]));
    return shuffled.sort((a, b) => ranks.get(a)! - ranks.get(b)!); // stable: ties keep the shuffle
  }

  #prune(domain: string, now: number): number[] | undefined {
    const list = this.#failures.get(domain);
    if (list === undefined) return undefined;
    const cutoff = now - this.#period;
    let i = 0;
    while (i < list.length && list[i]! <= cutoff) i++;
    if (i > 0) list.splice(0, i);
    if (list.length === 0) {
      this.#failures.delete(domain);
      return undefined;
    }
    return list;
  }
}
