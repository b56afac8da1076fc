/**
 * Relay benchmark: request/response round trips between pre-authenticated clients through our relay
 * (embedded and Redis mode), compared with a bare `ws` forwarder and NATS request/reply, plus the relay's
 * memory cost per idle connection. Run with `npm run bench:relay`; prints the machine and Markdown tables.
 *
 * Each "client" is a requester connection and an echoing responder connection (two relay twins). The
 * requester keeps a fixed window of requests outstanding (closed loop); the responder answers every request
 * with a pre-encoded response envelope. Every server runs in a child process of its own, so on a 2-core
 * machine the server and this load generator each get a core; the CPU columns show which one is saturated.
 *
 * Environment:
 * - `BENCH_SECONDS` measured seconds per scenario (default 3), `BENCH_WARMUP` seconds before it (0.5);
 * - `BENCH_SYSTEMS` comma list of `relay,relay-redis,ws-forwarder,nats` (default all);
 * - `BENCH_IDLE` idle connections for the memory test (default 20000; 0 skips it);
 * - `BENCH_LOADGEN_THREADS` worker threads of the load generator, each with a share of the clients (default 1: on
 *   two cores a second one mostly competes with the server for the same cores);
 * - `BENCH_NODE_FLAGS` extra node flags for the relay and forwarder processes, e.g.
 *   `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { connect as connectNats, type NatsConnection } from "nats";
import { createSigner, type Signer } from "../src/identity/index.js";
import { createEnvelope, createJwt, encodeEnvelope, signEnvelope, unixNow } from "../src/protocol/index.js";
import { freePort, type RedisServerHandle, startRedisServer } from "../test/support/redis-server.js";
import {
  cpuSeconds,
  NodeChild,
  onExit,
  openFilesLimit,
  rssKiB,
  stopProcess,
  track,
} from "./child-processes.js";
import { machineLine } from "./harness.js";
import { Loadgen, type PairSpec } from "./loadgen.js";
import type { ServerSpec } from "./relay-ipc.js";

/** A non-negative number from the environment, or `fallback` when unset. */
function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got ${text}`);
  return value;
}

const SECONDS = envNumber("BENCH_SECONDS", 3);
const WARMUP_SECONDS = envNumber("BENCH_WARMUP", 0.5);
const IDLE_CONNECTIONS = Math.floor(envNumber("BENCH_IDLE", 20_000));
/** Worker threads of the load generator (each runs a share of the clients). */
const LOADGEN_THREADS = Math.max(1, Math.floor(envNumber("BENCH_LOADGEN_THREADS", 1)));
const SYSTEM_NAMES = ["relay", "relay-redis", "ws-forwarder", "nats"] as const;
type SystemName = (typeof SYSTEM_NAMES)[number];
const SELECTED = new Set(
  (process.env.BENCH_SYSTEMS ?? SYSTEM_NAMES.join(",")).split(",").map((s) => s.trim()),
);
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f.length > 0);
const NATS_SERVER = "/usr/sbin/nats-server";
const CONNECT_TIMEOUT_MS = 10_000;
/** How long outstanding requests may take to come back after a scenario before they count as lost. */
const DRAIN_TIMEOUT_MS = 10_000;

/** A load shape: `clients` requester/responder pairs, each keeping `window` requests outstanding. */
interface Scenario {
  clients: number;
  window: number;
  payload: number;
}

const SCENARIOS: Scenario[] = [
  { clients: 4, window: 64, payload: 100 },
  { clients: 4, window: 64, payload: 1024 },
  { clients: 1, window: 1, payload: 100 },
  { clients: 1, window: 1, payload: 1024 },
];
const MAX_CLIENTS = Math.max(...SCENARIOS.map((s) => s.clients));

// ---------------------------------------------------------------------------------------------------------
// Identities and pre-encoded envelopes
// ---------------------------------------------------------------------------------------------------------

/** Twin `n` (1-based, the order the relay child registers them in) signs with `//RmbBench<n>`. */
const signers: Signer[] = Array.from({ length: 2 * MAX_CLIENTS }, (_, i) =>
  createSigner(`//RmbBench${i + 1}`, "ed25519"),
);
const accounts = signers.map((s) => Buffer.from(s.publicKey).toString("hex"));

/** Client `i` requests as twin 2i+1 and answers as twin 2i+2. */
const requesterTwin = (i: number): number => 2 * i + 1;
const responderTwin = (i: number): number => 2 * i + 2;
const jwtFor = (twin: number): string => createJwt(signers[twin - 1]!, { twin, ttl: 3600 });

/** The frames of one client: the request it sends and the reply its responder sends back. */
interface Frames {
  request: Buffer;
  reply: Buffer;
}

const framesCache = new Map<string, Frames>();

/**
 * A signed request envelope from the requester twin to the responder twin, and a signed response envelope back,
 * both carrying `payload` random bytes. Built once: the relay decodes frames and checks `source`, but does not
 * verify envelope signatures, so the same bytes can be sent over and over.
 */
function framesFor(client: number, payload: number): Frames {
  const key = `${client}/${payload}`;
  const cached = framesCache.get(key);
  if (cached !== undefined) return cached;
  const req = requesterTwin(client);
  const res = responderTwin(client);
  const uid = randomUUID();
  const data = randomBytes(payload);
  const common = { uid, timestamp: unixNow(), expiration: 3600, schema: "application/octet-stream" };
  const request = createEnvelope({
    ...common,
    source: { twin: req },
    destination: { twin: res },
    message: { kind: "request", command: "bench.echo" },
    payload: { kind: "plain", data },
  });
  const reply = createEnvelope({
    ...common,
    source: { twin: res },
    destination: { twin: req },
    message: { kind: "response" },
    payload: { kind: "plain", data },
  });
  const frames = {
    request: Buffer.from(encodeEnvelope(signEnvelope(request, signers[req - 1]!))),
    reply: Buffer.from(encodeEnvelope(signEnvelope(reply, signers[res - 1]!))),
  };
  framesCache.set(key, frames);
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// Systems under test
// ---------------------------------------------------------------------------------------------------------

/** A started server (in its own process) and how to connect clients to it. */
interface RunningSystem {
  /** Processes whose CPU time is the server's (the relay, plus redis-server in Redis mode). */
  processes: { name: string; pid: number }[];
  /** How client `client` connects (built here, connected by a load-generator thread). */
  pairSpec(client: number, payload: number): PairSpec;
  /** Throws when the run did not exercise what it claims to (Redis mode that never touched Redis). */
  verify?(roundTrips: number): Promise<void>;
  stop(): Promise<void>;
}

interface SystemDef {
  name: SystemName;
  label: string;
  /** Ours (a row of the ratio table) or a baseline. */
  ours: boolean;
  start(): Promise<RunningSystem>;
  /** Text of a row that could not run. */
  unavailable(err: unknown): string;
}

/** Starts `server-process.js` and waits until it listens. */
async function startServerChild(
  spec: ServerSpec,
  nodeFlags: string[] = [],
): Promise<{ child: NodeChild; port: number }> {
  const child = NodeChild.spawn("server-process", spec, [...NODE_FLAGS, ...nodeFlags]);
  try {
    const { port } = await child.next("ready", 30_000);
    return { child, port };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/** Our relay; `redis` switches it to Redis mode. */
async function startRelay(redis?: RedisServerHandle): Promise<RunningSystem> {
  const spec: ServerSpec = { kind: "relay", accounts };
  if (redis !== undefined) spec.redis = redis.url;
  if (redis !== undefined) await redisCli(redis, "flushall");
  const { child, port } = await startServerChild(spec);
  const processes = [{ name: "relay", pid: child.pid }];
  let addsBefore = 0;
  if (redis !== undefined) {
    try {
      processes.push({ name: "redis", pid: await redisPid(redis) });
      addsBefore = await redisStreamAdds(redis);
    } catch (err) {
      await child.stop();
      throw err;
    }
  }
  const system: RunningSystem = {
    processes,
    pairSpec(client, payload) {
      const { request, reply } = framesFor(client, payload);
      const url = (twin: number): string => `ws://127.0.0.1:${port}/?${jwtFor(twin)}`;
      return {
        kind: "ws",
        requesterUrl: url(requesterTwin(client)),
        responderUrl: url(responderTwin(client)),
        request,
        reply,
      };
    },
    stop: () => child.stop(),
  };
  if (redis !== undefined) {
    // The relay accepts the option whether or not a Redis store stands behind it: make sure Redis did the work.
    // Every message of a round trip (request and reply) must have gone through a Redis stream.
    system.verify = async (roundTrips) => {
      const adds = (await redisStreamAdds(redis)) - addsBefore;
      if (adds < 2 * roundTrips) {
        throw new Error(
          `only ${adds} XADDs for ${roundTrips} round trips: messages bypassed the Redis queues`,
        );
      }
    };
  }
  return system;
}

/** The bare `ws` forwarder: frames are `<uint32 destination id> ‖ envelope`. */
async function startWsForwarder(): Promise<RunningSystem> {
  const { child, port } = await startServerChild({ kind: "forwarder" });
  const withHeader = (destination: number, envelope: Buffer): Buffer => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(destination);
    return Buffer.concat([header, envelope]);
  };
  return {
    processes: [{ name: "forwarder", pid: child.pid }],
    pairSpec(client, payload) {
      const frames = framesFor(client, payload);
      const url = (id: number): string => `ws://127.0.0.1:${port}/?id=${id}`;
      return {
        kind: "ws",
        requesterUrl: url(requesterTwin(client)),
        responderUrl: url(responderTwin(client)),
        request: withHeader(responderTwin(client), frames.request),
        reply: withHeader(requesterTwin(client), frames.reply),
      };
    },
    stop: () => child.stop(),
  };
}

/** A private `nats-server` on a free loopback port (never the system one on 4222), with NATS request/reply. */
async function startNats(): Promise<RunningSystem> {
  const port = await freePort();
  const proc = track(spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" }));
  const failed = new Promise<never>((_, reject) => {
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`nats-server exited (${code})`)));
  });
  failed.catch(() => undefined);
  const natsConnect = (): Promise<NatsConnection> =>
    connectNats({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: CONNECT_TIMEOUT_MS });
  try {
    // Wait until it accepts clients.
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      try {
        await (await Promise.race([natsConnect(), failed])).close();
        break;
      } catch (err) {
        if (proc.exitCode !== null || Date.now() > deadline) throw err;
        await sleep(50);
      }
    }
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return {
    processes: [{ name: "nats-server", pid: proc.pid ?? -1 }],
    pairSpec(client, payload) {
      const { request, reply } = framesFor(client, payload);
      return { kind: "nats", servers: `127.0.0.1:${port}`, subject: `rmb.bench.${client}`, request, reply };
    },
    stop: () => stopProcess(proc),
  };
}

// Redis helpers (redis-cli, like test/support/redis-server.ts).

function redisCli(redis: RedisServerHandle, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("redis-cli", ["-h", "127.0.0.1", "-p", String(redis.port), ...args]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args[0]} failed`)),
    );
  });
}

/** XADD calls so far (commands run by scripts count too). */
async function redisStreamAdds(redis: RedisServerHandle): Promise<number> {
  const match = /cmdstat_xadd:calls=(\d+)/.exec(await redisCli(redis, "info", "commandstats"));
  return Number(match?.[1] ?? 0);
}

async function redisPid(redis: RedisServerHandle): Promise<number> {
  const match = /process_id:(\d+)/.exec(await redisCli(redis, "info", "server"));
  if (match === null) throw new Error("redis-server did not report its process_id");
  return Number(match[1]);
}

// ---------------------------------------------------------------------------------------------------------
// The closed-loop load generator
// ---------------------------------------------------------------------------------------------------------

interface ScenarioResult {
  roundTripsPerSec: number;
  roundTrips: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU used during the measurement, in cores (1 = one core busy all the time). */
  serverCpu: number;
  /** `serverCpu` per server process, e.g. `relay 0.98 + redis 0.37`. */
  serverCpuParts: string;
  loadgenCpu: number;
  /** Replies that were not the expected echo. */
  bad: number;
  /** Requests still outstanding when the drain timed out. */
  lost: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runScenario(system: RunningSystem, scenario: Scenario): Promise<ScenarioResult> {
  const specs = Array.from({ length: scenario.clients }, (_, i) => system.pairSpec(i, scenario.payload));
  const load = await Loadgen.start(specs, scenario.window, LOADGEN_THREADS, DRAIN_TIMEOUT_MS);
  try {
    load.start();
    await sleep(WARMUP_SECONDS * 1000);
    const cpu0 = system.processes.map((p) => cpuSeconds(p.pid));
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    if ((await load.measure()) === 0) throw new Error("no reply during the warm-up");
    await sleep(SECONDS * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const cpu = system.processes.map((p, k) => (cpuSeconds(p.pid) - cpu0[k]!) / elapsed);
    const { latencies, bad, lost } = await load.drain();
    if (latencies.length === 0) throw new Error("no round trip completed during the measurement");
    const sorted = latencies.sort();
    const pct = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
    return {
      roundTripsPerSec: latencies.length / elapsed,
      roundTrips: latencies.length,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      serverCpu: cpu.reduce((a, b) => a + b, 0),
      serverCpuParts: system.processes.map((p, k) => `${p.name} ${cpu[k]!.toFixed(2)}`).join(" + "),
      loadgenCpu: (own.user + own.system) / 1e6 / elapsed,
      bad,
      lost,
    };
  } finally {
    await load.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Idle connection cost
// ---------------------------------------------------------------------------------------------------------

interface IdleResult {
  connections: number;
  /** Set when `connections` is below the requested count because of the relay's file-descriptor limit. */
  clampedFrom?: number;
  fdLimit: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  heapBeforeKiB: number;
  heapAfterKiB: number;
  gc: boolean;
  connectSeconds: number;
}

const IDLE_SECRET = "//RmbBenchIdle";
const IDLE_PER_PROCESS = 5000;
/** File descriptors of the relay process that are not client connections. */
const FD_RESERVE = 100;

/** Opens idle sessions from one `idle-clients.js` child; resolves once every attempt finished. */
async function openIdleClients(
  port: number,
  sidPrefix: string,
  from: number,
  count: number,
  localAddress: string,
): Promise<NodeChild> {
  const child = NodeChild.spawn("idle-clients", {
    port,
    secret: IDLE_SECRET,
    twin: 1,
    sidPrefix,
    from,
    count,
    localAddress,
    concurrency: 64,
  });
  const ready = await child.next("idle-ready", 300_000);
  if (ready.failed > 0) {
    throw new Error(`${ready.failed}/${count} idle connections failed: ${ready.firstError ?? "?"}`);
  }
  return child;
}

/** Polls the relay until it has exactly `sessions` live sessions. */
async function waitForSessions(relay: NodeChild, sessions: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stats = await relay.request({ cmd: "stats", gc: false }, "stats");
    if (stats.sessions === sessions) return;
    if (Date.now() > deadline) throw new Error(`relay has ${stats.sessions} sessions, expected ${sessions}`);
    await sleep(100);
  }
}

/** RSS (from /proc) and JS heap of the relay after two full GCs and a moment for the allocator to settle. */
async function relayMemory(relay: NodeChild): Promise<{ rssKiB: number; heapKiB: number; gc: boolean }> {
  const stats = await relay.request({ cmd: "stats", gc: true }, "stats");
  await sleep(500);
  return { rssKiB: rssKiB(relay.pid), heapKiB: stats.heapUsed / 1024, gc: stats.gc };
}

async function measureIdle(requested: number): Promise<IdleResult> {
  const signer = createSigner(IDLE_SECRET, "ed25519");
  const { child: relay, port: relayPort } = await startServerChild(
    { kind: "relay", accounts: [Buffer.from(signer.publicKey).toString("hex")] },
    ["--expose-gc"],
  );
  const clients: NodeChild[] = [];
  try {
    // One fd per connection: stay below the relay's limit (the shell could raise it only if we may raise the
    // hard limit), leaving room for the listener, stdio, IPC and the event loop's own descriptors.
    const fdLimit = openFilesLimit(relay.pid);
    const connections = Math.min(requested, fdLimit - FD_RESERVE);
    // Warm-up: open and close some sessions so that lazily compiled code and pools are in the baseline.
    const warm = await openIdleClients(relayPort, "warm", 0, 500, "127.0.0.2");
    await warm.stop();
    await waitForSessions(relay, 0);
    const before = await relayMemory(relay);

    // Several client processes, each from its own loopback address (own ephemeral port range).
    const t0 = performance.now();
    const groups = Math.ceil(connections / IDLE_PER_PROCESS);
    const opened = await Promise.allSettled(
      Array.from({ length: groups }, (_, g) => {
        const from = g * IDLE_PER_PROCESS;
        const count = Math.min(IDLE_PER_PROCESS, connections - from);
        return openIdleClients(relayPort, "idle", from, count, `127.0.0.${3 + g}`);
      }),
    );
    for (const r of opened) if (r.status === "fulfilled") clients.push(r.value);
    const failure = opened.find((r) => r.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    await waitForSessions(relay, connections);
    const connectSeconds = (performance.now() - t0) / 1000;
    const after = await relayMemory(relay);
    return {
      connections,
      ...(connections < requested ? { clampedFrom: requested } : {}),
      fdLimit,
      rssBeforeKiB: before.rssKiB,
      rssAfterKiB: after.rssKiB,
      heapBeforeKiB: before.heapKiB,
      heapAfterKiB: after.heapKiB,
      gc: after.gc,
      connectSeconds,
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await relay.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Main: run every system × scenario, then the idle test, then print the tables
// ---------------------------------------------------------------------------------------------------------

interface Row {
  system: SystemDef;
  scenario: Scenario;
  result: ScenarioResult | string;
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number): string => (n < 1 ? n.toFixed(3) : n.toFixed(2));
const fmtRatio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a");
const scenarioLabel = (s: Scenario): string => `${s.clients} × ${s.window}`;
const payloadLabel = (s: Scenario): string =>
  s.payload >= 1024 ? `${s.payload / 1024} KiB` : `${s.payload} B`;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function toolVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).trim().split("\n")[0] ?? "?";
  } catch {
    return "not installed";
  }
}

async function main(): Promise<void> {
  let redis: RedisServerHandle | undefined;
  let redisError = "";
  if (SELECTED.has("relay-redis")) {
    try {
      const handle = await startRedisServer();
      redis = handle;
      onExit(() => {
        void handle.kill();
        rmSync(handle.dir, { recursive: true, force: true });
      });
    } catch (err) {
      redisError = errorText(err);
    }
  }
  const natsInstalled = toolVersion(NATS_SERVER, ["--version"]) !== "not installed";

  const all: SystemDef[] = [
    {
      name: "relay",
      label: "rmb-ts relay (embedded)",
      ours: true,
      start: () => startRelay(),
      unavailable: (err) => `n/a (${errorText(err)})`,
    },
    {
      name: "relay-redis",
      label: "rmb-ts relay (Redis)",
      ours: true,
      start: () => {
        if (redis === undefined) throw new Error(`redis-server did not start: ${redisError}`);
        return startRelay(redis);
      },
      unavailable: () => "n/a (redis store not available)",
    },
    {
      name: "ws-forwarder",
      label: "bare ws forwarder",
      ours: false,
      start: startWsForwarder,
      unavailable: (err) => `n/a (${errorText(err)})`,
    },
    {
      name: "nats",
      label: "NATS request/reply",
      ours: false,
      start: () => {
        if (!natsInstalled) throw new Error(`${NATS_SERVER} not found`);
        return startNats();
      },
      unavailable: (err) => (natsInstalled ? `n/a (${errorText(err)})` : "n/a (nats-server not installed)"),
    },
  ];
  const systems = all.filter((s) => SELECTED.has(s.name));

  const rows: Row[] = [];
  for (const system of systems) {
    for (const scenario of SCENARIOS) {
      const what = `${system.label}, ${scenarioLabel(scenario)}, ${payloadLabel(scenario)}`;
      let running: RunningSystem | undefined;
      let result: ScenarioResult | string;
      try {
        running = await system.start();
        const measured = await runScenario(running, scenario);
        await running.verify?.(measured.roundTrips);
        result = measured;
        process.stderr.write(
          `${what}: ${fmtInt(measured.roundTripsPerSec)} rt/s, p50 ${fmtMs(measured.p50Ms)} ms, p99 ${fmtMs(measured.p99Ms)} ms\n`,
        );
      } catch (err) {
        result = system.unavailable(err);
        process.stderr.write(`${what}: ${result} — ${errorText(err)}\n`);
      } finally {
        await running?.stop();
      }
      rows.push({ system, scenario, result });
    }
  }

  let idle: IdleResult | string | undefined;
  if (IDLE_CONNECTIONS > 0) {
    try {
      idle = await measureIdle(IDLE_CONNECTIONS);
    } catch (err) {
      idle = `n/a (${errorText(err)})`;
      process.stderr.write(`idle connections: ${errorText(err)}\n`);
    }
  }
  await redis?.stop();

  printResults(rows, idle);
}

function printResults(rows: Row[], idle: IdleResult | string | undefined): void {
  if (rows.length > 0) printRoundTrips(rows);
  if (idle !== undefined) printIdle(idle);
}

function printRoundTrips(rows: Row[]): void {
  console.log("\n### Relay round trips (request → echo → response, pre-authenticated clients)\n");
  console.log(machineLine());
  console.log(
    `${toolVersion(NATS_SERVER, ["--version"])}; ${toolVersion("redis-server", ["--version"])}; ` +
      `${SECONDS} s measured after ${WARMUP_SECONDS} s warm-up per row; each server in its own process.`,
  );
  console.log(
    "Clients × outstanding: requester/responder pairs × requests each keeps in flight (closed loop).",
  );
  console.log("CPU: cores busy during the measurement (server includes redis-server in Redis mode).\n");
  console.log(
    "| system | clients × outstanding | payload | round trips/s | p50 ms | p99 ms | server CPU | load-gen CPU |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const { system, scenario, result } of rows) {
    const head = `| ${system.label} | ${scenarioLabel(scenario)} | ${payloadLabel(scenario)} |`;
    if (typeof result === "string") {
      console.log(`${head} ${result} | | | | |`);
      continue;
    }
    const notes: string[] = [];
    if (result.bad > 0) notes.push(`${result.bad} bad replies`);
    if (result.lost > 0) notes.push(`${result.lost} lost`);
    const note = notes.length === 0 ? "" : ` (${notes.join(", ")})`;
    console.log(
      `${head} ${fmtInt(result.roundTripsPerSec)}${note} | ${fmtMs(result.p50Ms)} | ${fmtMs(result.p99Ms)} | ` +
        `${result.serverCpu.toFixed(2)}${result.serverCpuParts.includes("+") ? ` (${result.serverCpuParts})` : ""} | ` +
        `${result.loadgenCpu.toFixed(2)} |`,
    );
  }

  // Our figures relative to the baselines: > 1× throughput / < 1× latency means we are ahead.
  const find = (name: SystemName, scenario: Scenario): ScenarioResult | undefined => {
    const row = rows.find((r) => r.system.name === name && r.scenario === scenario);
    return row === undefined || typeof row.result === "string" ? undefined : row.result;
  };
  const ours = rows.filter((r) => r.system.ours);
  if (ours.length > 0) {
    console.log("\n### Relay vs baselines (ratios: round trips/s and p99 latency of ours ÷ theirs)\n");
    console.log(
      "| system | clients × outstanding | payload | rt/s ÷ ws forwarder | rt/s ÷ NATS | p99 ÷ ws forwarder | p99 ÷ NATS |",
    );
    console.log("|---|---|---:|---:|---:|---:|---:|");
    for (const { system, scenario, result } of ours) {
      const head = `| ${system.label} | ${scenarioLabel(scenario)} | ${payloadLabel(scenario)} |`;
      if (typeof result === "string") {
        console.log(`${head} ${result} | | | |`);
        continue;
      }
      const ws = find("ws-forwarder", scenario);
      const nats = find("nats", scenario);
      const ratio = (a: number, b: number | undefined): string => fmtRatio(b === undefined ? NaN : a / b);
      console.log(
        `${head} ${ratio(result.roundTripsPerSec, ws?.roundTripsPerSec)} | ${ratio(result.roundTripsPerSec, nats?.roundTripsPerSec)} | ` +
          `${ratio(result.p99Ms, ws?.p99Ms)} | ${ratio(result.p99Ms, nats?.p99Ms)} |`,
      );
    }
  }
}

function printIdle(idle: IdleResult | string): void {
  console.log("\n### Relay idle connections (embedded mode, authenticated websocket sessions)\n");
  console.log(machineLine());
  console.log(
    "Relay RSS from /proc/<pid>/status after two full GCs; sockets' kernel buffers are not in RSS.\n",
  );
  console.log(
    "| idle connections | relay RSS before | relay RSS after | RSS per connection | JS heap per connection | connect time |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  if (typeof idle === "string") {
    console.log(`| ${fmtInt(IDLE_CONNECTIONS)} | ${idle} | | | | |`);
  } else {
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    const per = (delta: number): string => `${(delta / idle.connections).toFixed(2)} KiB`;
    console.log(
      `| ${fmtInt(idle.connections)} | ${mib(idle.rssBeforeKiB)} | ${mib(idle.rssAfterKiB)} | ` +
        `${per(idle.rssAfterKiB - idle.rssBeforeKiB)} | ${per(idle.heapAfterKiB - idle.heapBeforeKiB)} | ` +
        `${idle.connectSeconds.toFixed(1)} s |`,
    );
    if (idle.clampedFrom !== undefined) {
      console.log(
        `\n(${fmtInt(idle.clampedFrom)} requested; limited by the relay process's open-files limit of ` +
          `${fmtInt(idle.fdLimit)}, which could not be raised here)`,
      );
    }
    if (!idle.gc) console.log("\n(no GC was exposed in the relay process: RSS may include garbage)");
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
