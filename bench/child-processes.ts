/**
 * Child processes of the relay benchmark: spawning with a raised file-descriptor limit, IPC request/answer,
 * CPU and RSS readings from /proc, and killing every child when the benchmark exits (also on error or ^C).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentCommand } from "./relay-ipc.js";

const live = new Set<ChildProcess>();
const exitHooks: (() => void)[] = [];
let hooked = false;

/** Kills every tracked child (SIGKILL) and runs the exit hooks when this process exits, however it exits. */
function installExitHandlers(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
    for (const hook of exitHooks) hook();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => process.exit(130));
  }
}

/** Registers a process (spawned by someone else) to be killed if the benchmark exits early. */
export function track(child: ChildProcess): ChildProcess {
  installExitHandlers();
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** Runs `hook` (synchronous) when the benchmark process exits. */
export function onExit(hook: () => void): void {
  installExitHandlers();
  exitHooks.push(hook);
}

/** A Node child with an IPC channel running one of the compiled bench scripts. */
export class NodeChild {
  readonly proc: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    this.#exited = new Promise((resolve) => proc.once("exit", () => resolve()));
  }

  /**
   * Spawns `node <script>.js '<json>'` from dist/bench. The shell raises the soft (and, as root, hard)
   * file-descriptor limit first so that tens of thousands of sockets fit, then `exec`s node so that the pid
   * is node's own (its /proc entries are what we read).
   */
  static spawn(script: string, arg: unknown, nodeFlags: string[] = []): NodeChild {
    const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
    const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
    const proc = spawn(
      "/bin/sh",
      ["-c", raise, "sh", process.execPath, ...nodeFlags, path, JSON.stringify(arg)],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    return new NodeChild(track(proc));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** The next message of `type`; rejects on an `error` message, on exit, or after `timeoutMs`. */
  next<T extends ChildMessage["type"]>(
    type: T,
    timeoutMs = 60_000,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.proc.off("message", onMessage);
        this.proc.off("exit", onExit);
      };
      const onMessage = (message: ChildMessage): void => {
        if (message.type === type) {
          done();
          resolve(message as Extract<ChildMessage, { type: T }>);
        } else if (message.type === "error") {
          done();
          reject(new Error(message.message));
        }
      };
      const onExit = (code: number | null, signal: string | null): void => {
        done();
        reject(new Error(`child exited (${signal ?? code}) before sending "${type}"`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no "${type}" from child within ${timeoutMs} ms`));
      }, timeoutMs);
      this.proc.on("message", onMessage);
      this.proc.once("exit", onExit);
    });
  }

  /** Sends a command and waits for the answer of `type`. */
  async request<T extends ChildMessage["type"]>(
    command: ParentCommand,
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    const answer = this.next(type, timeoutMs);
    this.proc.send(command);
    return answer;
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
  async stop(): Promise<void> {
    await stopProcess(this.proc, this.#exited);
  }
}

/** Stops a child process (SIGTERM, SIGKILL after 3 s) and waits for its exit. */
export async function stopProcess(proc: ChildProcess, exited?: Promise<void>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = exited ?? new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await gone;
  clearTimeout(timer);
}

let clockTicks: number | undefined;

/** CPU time (user + system, seconds) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm) ": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Resident set size of a process in KiB (`VmRSS` of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** Soft limit on open files of a process (`Max open files` of /proc/<pid>/limits). */
export function openFilesLimit(pid: number): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return match === null || match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
}
