import { type RmbProcess, spawnRmb } from "./cli.js";
import { freePort } from "./redis-server.js";

/** How to run one `rmb relay` child process. */
export interface RelayProcessOptions {
  /** Its domain (`-m`). */
  domain: string;
  /** A twins file (`--twins`). */
  twinsFile: string;
  /** Redis URL (`--redis`); embedded mode without. */
  redis?: string;
  /** Port to listen on; a free one by default. It stays the same across restarts. */
  port?: number;
  /** More flags (`--federation-url`, `--queue-length`, …). */
  args?: string[];
}

/** An `rmb relay` child process that a test can kill (SIGKILL), stop (SIGTERM) and start again on its port. */
export interface RelayProcess {
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>/` (federation ingress, metrics) */
  readonly httpUrl: string;
  /** The process running now, if any. */
  readonly process: RmbProcess | undefined;
  /** Processes started so far. */
  readonly starts: number;
  /** `kill -9`: no drain, no goodbye; resolves once it exited. */
  kill(): Promise<void>;
  /** SIGTERM (drain, then stop); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Starts a new process on the same port (after `kill` or `stop`). */
  start(): Promise<void>;
  /** Everything the processes wrote to stderr. */
  stderr(): string;
}

/** Starts `rmb relay` on 127.0.0.1 and waits for its "listening" line. */
export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const port = options.port ?? (await freePort());
  let current: RmbProcess | undefined;
  let starts = 0;
  let stderr = "";
  const args = [
    "relay",
    "-m",
    options.domain,
    "-l",
    `127.0.0.1:${port}`,
    "--twins",
    options.twinsFile,
    ...(options.redis === undefined ? [] : ["--redis", options.redis]),
    ...(options.args ?? []),
  ];
  const collect = (proc: RmbProcess) => {
    stderr += proc.stderr();
  };
  const start = async (): Promise<void> => {
    if (current !== undefined) throw new Error("relay process already running");
    // The port was just released by a killed process; a bind can race with the kernel for a moment.
    for (let attempt = 1; ; attempt++) {
      const proc = spawnRmb(args);
      try {
        await proc.waitForStdout(/listening on http:\/\/127\.0\.0\.1:\d+/, 15_000);
        current = proc;
        starts += 1;
        return;
      } catch (err) {
        await proc.stop("SIGKILL");
        collect(proc);
        if (attempt >= 5 || !/EADDRINUSE/.test(proc.stderr())) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await start();
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}/`,
    get process() {
      return current;
    },
    get starts() {
      return starts;
    },
    async kill() {
      const proc = current;
      current = undefined;
      if (proc === undefined) return;
      await proc.stop("SIGKILL");
      collect(proc);
    },
    async stop() {
      const proc = current;
      current = undefined;
      if (proc === undefined) return null;
      const code = await proc.stop("SIGTERM");
      collect(proc);
      return code;
    },
    start,
    stderr: () => stderr + (current?.stderr() ?? ""),
  };
}
