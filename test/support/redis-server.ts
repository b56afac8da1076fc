import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A `redis-server` child process on 127.0.0.1, owned by a test. */
export interface RedisServerHandle {
  port: number;
  url: string;
  /** Data directory (append-only file, cluster config). */
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
  /** Stops and starts the server on the same port and directory (data survives when `appendonly`). */
  restart(): Promise<void>;
  /** Kills the process with SIGKILL (no shutdown save). */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  /** Turn on the append-only file with fsync on every write. @default false */
  appendonly?: boolean;
  /** Start as a cluster node (`cluster-enabled yes`). @default false */
  clusterNode?: boolean;
  /** Port to use; a free one is picked by default. */
  port?: number;
  /** Data directory; a fresh temporary one by default. */
  dir?: string;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (and, when `plus` is given, so was `port + plus`). */
export async function freePort(plus?: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (plus === undefined) return port;
    if (port + plus > 65535) continue;
    try {
      await listenOnce(port + plus);
      return port;
    } catch {
      // the companion port is taken; try another
    }
  }
  throw new Error("no free port pair found");
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort(options.clusterNode ? 10000 : undefined));
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "rmb-redis-"));
  let child: ChildProcess | undefined;

  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.appendonly ? "yes" : "no",
    "--appendfsync",
    "always",
    "--protected-mode",
    "no",
  ];
  if (options.clusterNode) {
    args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"));
  }

  const launch = async (): Promise<void> => {
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let output = "";
    proc.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      proc.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPing(port), exited]);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      await halt("SIGTERM");
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt("SIGTERM");
      await launch();
    },
    async kill() {
      await halt("SIGKILL");
    },
  };
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const { stdout } = await execFileAsync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"]);
      if (stdout.trim() === "PONG") return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Redis Cluster of `masters` nodes (no replicas) on 127.0.0.1, created with `redis-cli --cluster create`. */
export interface RedisClusterHandle {
  nodes: RedisServerHandle[];
  /** `127.0.0.1:<port>` of every node. */
  addresses: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const nodes: RedisServerHandle[] = [];
  try {
    for (let i = 0; i < masters; i++) nodes.push(await startRedisServer({ clusterNode: true }));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await execFileAsync("redis-cli", [
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        nodes.map(async (n) => {
          const { stdout } = await execFileAsync("redis-cli", ["-p", String(n.port), "cluster", "info"]);
          return /cluster_state:ok/.test(stdout);
        }),
      );
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error("redis cluster did not reach cluster_state:ok");
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      nodes,
      addresses,
      async stop() {
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}
