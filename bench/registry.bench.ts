/**
 * Benchmark of twin lookups: through the relay's cache (hit, and miss to an in-process store or an HTTP registrar)
 * and of the registry service itself (`GET /v1/accounts?twin_id=N` per second, service in its own process).
 * Run with `npm run bench:registry`. Prints the machine and a Markdown table for the README.
 * Env: BENCH_MS (per measurement, default 2000), BENCH_TWINS (accounts registered, default 1000),
 * BENCH_CONCURRENCY (parallel HTTP requests, default 32).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSigner } from "../src/identity/index.js";
import {
  AccountStoreRegistry,
  CachedRegistry,
  FileAccountStore,
  RegistrarClient,
} from "../src/registry/index.js";
import { machineLine } from "./harness.js";

const ms = Number(process.env.BENCH_MS ?? 2000);
const twins = Number(process.env.BENCH_TWINS ?? 1000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const main = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Runs `op` in `parallel` loops for `ms` after a 500 ms warm-up; returns ops/s and the p50/p99 latency in ms. */
async function measureAsync(op: (i: number) => Promise<unknown>, parallel = 1) {
  const run = async (duration: number) => {
    const latencies: number[] = [];
    let count = 0;
    const end = performance.now() + duration;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (performance.now() < end) {
          const start = performance.now();
          await op(count++);
          latencies.push(performance.now() - start);
        }
      }),
    );
    return { latencies, count };
  };
  await run(500);
  const started = performance.now();
  const { latencies, count } = await run(ms);
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { opsPerSec: (count / elapsed) * 1000, p50: at(0.5), p99: at(0.99) };
}

const dir = mkdtempSync(join(tmpdir(), "rmb-bench-registry-"));
const child = spawn(process.execPath, [main, "registry", "-l", "127.0.0.1:0", "--data", dir, "--no-fsync"], {
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /listening on (http:\/\/[^/\s]+)/.exec(out);
      if (m !== null) resolve(m[1] as string);
    });
    child.once("exit", () => reject(new Error("registry exited")));
  });
  const client = new RegistrarClient({ url });
  process.stderr.write(`registering ${twins} twins…\n`);
  for (let i = 0; i < twins; i += 1) {
    await client.createTwin(createSigner(`//bench${i}`, "ed25519"), { relays: ["relay.bench"] });
  }

  const rows: [string, Awaited<ReturnType<typeof measureAsync>>][] = [];
  const add = async (name: string, op: (i: number) => Promise<unknown>, parallel = 1) => {
    const r = await measureAsync(op, parallel);
    rows.push([name, r]);
    process.stderr.write(`${name}: ${Math.round(r.opsPerSec)} ops/s\n`);
  };
  const id = (i: number) => (i % twins) + 1;

  // The relay's cache in front of the in-process store (what `rmb relay --registry-data` does).
  const localDir = mkdtempSync(join(tmpdir(), "rmb-bench-store-"));
  const store = await FileAccountStore.open(localDir, { fsync: false });
  for (let i = 0; i < twins; i += 1)
    await store.create({
      publicKey: Buffer.alloc(32, i % 256).toString("base64") + i,
      relays: ["r"],
      rmbEncKey: "",
    });
  const warm = new CachedRegistry(new AccountStoreRegistry(store));
  for (let i = 1; i <= twins; i += 1) await warm.getTwin(i);
  await add("cache hit (getTwin)", (i) => warm.getTwin(id(i)));
  const cold = new CachedRegistry(new AccountStoreRegistry(store), { ttl: 0, negativeTtl: 0 });
  await add("cache miss → in-process store", (i) => cold.getTwin(id(i)));
  const remote = new CachedRegistry(client, { ttl: 0, negativeTtl: 0, followChanges: false });
  await add("cache miss → registrar over HTTP (1 at a time)", (i) => remote.getTwin(id(i)));
  // The service's own rate, measured with a lean keep-alive HTTP client (fetch costs more than the service).
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(url);
  const get = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ agent, hostname, port, path: `/v1/accounts?twin_id=${id(i)}` }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.resume().on("end", resolve);
      });
      req.on("error", reject).end();
    });
  await add(`registry service GET ?twin_id (${concurrency} parallel)`, get, concurrency);
  agent.destroy();
  await store.close();
  rmSync(localDir, { recursive: true, force: true });

  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log("\n### Twin lookups and the registry service\n");
  console.log(machineLine());
  console.log(`\n${twins} twins registered; service in its own process (embedded store).\n`);
  console.log("| operation | ops/s | p50 ms | p99 ms |");
  console.log("|---|---:|---:|---:|");
  for (const [name, r] of rows)
    console.log(`| ${name} | ${fmt(r.opsPerSec)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} |`);
} finally {
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
