import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./redis-server.js";

/** A PostgreSQL server started by a test on 127.0.0.1, with trust authentication and a database `rmb`. */
export interface PostgresServerHandle {
  url: string;
  port: number;
  /** Stops the server (fast shutdown) and removes its data directory. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and data. */
  restart(): Promise<void>;
}

/**
 * The directory of PostgreSQL's server programs (`initdb`, `postgres`): `RMB_TEST_POSTGRES_BIN`, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout; `.ci/run` installs the `postgresql` package).
 */
export function postgresBinDir(): string {
  const fromEnv = process.env.RMB_TEST_POSTGRES_BIN;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      "PostgreSQL server programs not found: install Debian's `postgresql` package or set RMB_TEST_POSTGRES_BIN",
    );
  return join(root, versions[0] as string, "bin");
}

function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0] ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user. */
function asServerUser(program: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
}

/** `initdb` into a fresh temporary directory and start `postgres` on a free port; waits until it accepts queries. */
export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "rmb-pg-"));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const [initProgram, initArgs] = asServerUser(join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  execFileSync(initProgram, initArgs, { stdio: "pipe" });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const [program, args] = asServerUser(join(bin, "postgres"), [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
    ]);
    child = spawn(program, args, { stdio: "ignore" });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
      try {
        await client.connect();
        await client.query("SELECT 1");
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => {});
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`postgres did not start: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    // SIGINT is a fast shutdown; send it to the postmaster itself (runuser does not forward signals).
    const pid = postmasterPid(data) ?? running.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (pid !== undefined) process.kill(pid, sig);
      } catch {
        // already gone
      }
    };
    signal("SIGINT");
    const timer = setTimeout(() => signal("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await start();
    const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await admin.connect();
    await admin.query("CREATE DATABASE rmb");
    await admin.end();
  } catch (err) {
    await halt();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/rmb`,
    port,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await halt();
      await start();
    },
  };
}
