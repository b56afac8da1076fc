/**
 * Child process of the relay benchmark: runs one server on 127.0.0.1 in a process (and so on a core) of its
 * own, like a real deployment, while the load generator runs in the parent.
 *
 * Usage: `node [--expose-gc] dist/bench/server-process.js '<ServerSpec JSON>'` with an IPC channel. Sends
 * `{type:"ready", port}` once listening or `{type:"error"}` and exits; answers `{cmd:"stats"}`; exits when the
 * parent goes away.
 */
import { MemoryRegistry } from "../src/registry/index.js";
import { type RelayOptions, RelayServer } from "../src/relay/index.js";
import { BENCH_DOMAIN, type ChildMessage, type ParentCommand, type ServerSpec } from "./relay-ipc.js";
import { startForwarder } from "./ws-forwarder.js";

const HOST = "127.0.0.1";

function send(message: ChildMessage): void {
  process.send?.(message);
}

function fail(err: unknown): never {
  send({ type: "error", message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as ServerSpec;
  // The parent died or dropped us: nothing to serve any more.
  process.on("disconnect", () => process.exit(0));
  // Exit normally on SIGTERM so that `--cpu-prof` and similar flags (BENCH_NODE_FLAGS) write their output.
  process.on("SIGTERM", () => process.exit(0));
  // A store that fails after start-up (e.g. a Redis connection error) must not leave a half-working relay.
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);

  let sessions = (): number => 0;
  let port: number;
  if (spec.kind === "relay") {
    const registry = new MemoryRegistry();
    for (const hex of spec.accounts) {
      registry.register({ accountId: Buffer.from(hex, "hex"), relays: [BENCH_DOMAIN] });
    }
    const options: RelayOptions = { domains: [BENCH_DOMAIN], registry, host: HOST };
    if (spec.redis !== undefined) options.redis = spec.redis;
    const relay = new RelayServer(options);
    port = (await relay.start()).port;
    sessions = () => relay.sessionCount;
  } else {
    port = (await startForwarder(HOST)).port;
  }

  const gc = (globalThis as { gc?: () => void }).gc;
  process.on("message", (command: ParentCommand) => {
    if (command.cmd !== "stats") return;
    if (command.gc && gc !== undefined) {
      gc();
      gc();
    }
    const mem = process.memoryUsage();
    send({
      type: "stats",
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      sessions: sessions(),
      gc: command.gc && gc !== undefined,
    });
  });
  send({ type: "ready", port });
}

main().catch(fail);
