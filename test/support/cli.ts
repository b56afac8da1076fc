import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Path of the built `rmb` entry point (dist/src/cli/main.js). */
export const RMB_BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `rmb` command as a user would, in a child process, with optional stdin and environment. */
export function runRmb(
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RMB_BIN, ...args], {
      env: { ...process.env, RMB_SECRET: "", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** A long-running `rmb` process (relay, devnet…) owned by a test. */
export interface RmbProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (rejects after `timeoutMs` or if the process exits). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves with the exit code; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/** Root of the repository (where package.json is). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function spawnRmb(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): RmbProcess {
  return spawnNodeScript(RMB_BIN, args, env, cwd);
}

/** Like {@link spawnRmb}, for another built script (a test helper process). */
export function spawnNodeScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = REPO_ROOT,
): RmbProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, RMB_SECRET: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStdout(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m === null) return false;
          done();
          resolve(m);
          return true;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(
            new Error(`rmb exited (${child.exitCode}) before ${pattern}; stdout: ${out}; stderr: ${err}`),
          );
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(listener);
          child.off("exit", onExit);
        };
        const listener = () => void check();
        if (check()) return;
        listeners.add(listener);
        child.once("exit", onExit);
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
