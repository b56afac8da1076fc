/**
 * `rmb` child processes for the benchmarks and the soak run: spawned with the built CLI (flags from
 * BENCH_NODE_FLAGS, e.g. "--cpu-prof"), their output collected, killed when the benchmark exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { track } from "./child-processes.js";

const RMB = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

export interface Spawned {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
}

export function spawnRmb(args: string[]): Spawned {
  const flags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");
  const proc = track(
    spawn(process.execPath, [...flags, RMB, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RMB_SECRET: "" },
    }),
  );
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  return { proc, out: () => out, err: () => err };
}

export async function waitFor(
  check: () => RegExpMatchArray | null,
  what: string,
  ms = 60_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = check();
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function stop(s: Spawned): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once("exit", r));
  s.proc.kill("SIGTERM");
  await exited;
}
