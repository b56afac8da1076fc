import { cpus, totalmem } from "node:os";

/** One measured operation: ops per second over at least `minMs` of work after a warm-up. */
export interface BenchResult {
  name: string;
  opsPerSec: number;
  /** Optional target in ops/s; the table marks whether it was met. */
  target?: number;
}

/**
 * Runs `fn` in batches for `minMs`, three times after a warm-up of `warmupMs` (so the JIT has settled), and
 * returns the median ops/s of the three runs (this 2-core VM varies by ±15% from run to run).
 */
export function measure(fn: () => void, minMs = 1000, warmupMs = 1000): number {
  const run = (ms: number): [number, number] => {
    let ops = 0;
    let batch = 1;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let i = 0; i < batch; i++) fn();
      ops += batch;
      elapsed = performance.now() - start;
      if (elapsed < ms / 10) batch *= 2;
    }
    return [ops, elapsed];
  };
  run(warmupMs);
  const rates = [0, 1, 2].map(() => {
    const [ops, elapsed] = run(minMs);
    return (ops / elapsed) * 1000;
  });
  rates.sort((a, b) => a - b);
  return rates[1]!;
}

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? "unknown cpu"} × ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Prints a Markdown results table (what the README records). */
export function printTable(title: string, results: BenchResult[]): void {
  console.log(`\n### ${title}\n`);
  console.log(machineLine());
  console.log("");
  console.log("| operation | ops/s | target | met |");
  console.log("|---|---:|---:|:-:|");
  for (const r of results) {
    const target = r.target === undefined ? "" : `≥ ${fmt(r.target)}`;
    const met = r.target === undefined ? "" : r.opsPerSec >= r.target ? "yes" : "NO";
    console.log(`| ${r.name} | ${fmt(r.opsPerSec)} | ${target} | ${met} |`);
  }
}
