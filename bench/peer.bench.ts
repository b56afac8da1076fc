import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { E2eCipher } from "../src/crypto/index.js";
import { KeyType, loadIdentity } from "../src/identity/index.js";
import { formatOutgoingRequest, PeerKeys, parseIncomingResponse, startJsonEcho } from "../src/peer/index.js";
import { popBatch } from "../src/peer/list-pop.js";
import {
  createEnvelope,
  type Envelope,
  signEnvelope,
  unixNow,
  verifyEnvelope,
} from "../src/protocol/index.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { cpuSeconds, onExit } from "./child-processes.js";
import { machineLine, measure } from "./harness.js";
import { spawnRmb, stop, waitFor } from "./rmb-processes.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const OUTSTANDING = Number(process.env.BENCH_OUTSTANDING ?? 64);
const PAYLOAD = 56; // rmb_tester's payload size

/** Crypto of one message as the two peers do it: encrypt + sign at the sender, verify + decrypt at the receiver. */
function cryptoPerMessage(keyType: KeyType): number {
  const a = loadIdentity(`0x${randomBytes(32).toString("hex")}`, keyType);
  const b = loadIdentity(`0x${randomBytes(32).toString("hex")}`, keyType);
  const ea = new E2eCipher(a.e2e!.secret);
  const eb = new E2eCipher(b.e2e!.secret);
  const payload = randomBytes(PAYLOAD);
  return measure(() => {
    const env: Envelope = createEnvelope({
      uid: "0b3c8b2e-7d9f-4b7e-9a53-5e1f2d7c6a10",
      timestamp: unixNow(),
      expiration: 120,
      source: { twin: 1 },
      destination: { twin: 2 },
      message: { kind: "request", command: "testme" },
      payload: { kind: "cipher", data: ea.encryptFor(b.e2e!.publicKey, payload) },
      schema: "application/json",
    });
    signEnvelope(env, a.signer);
    verifyEnvelope(env, a.publicKey);
    if (env.payload?.kind === "cipher") eb.decryptFrom(a.e2e!.publicKey, env.payload.data);
  });
}

interface RoundTrips {
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
}

/**
 * A client keeping `window` requests outstanding: requests are pushed on one connection (auto-pipelined), the
 * responses popped in batches from one reply queue on another; each response triggers the next request. Latency is
 * measured per request (matched by `ref`).
 */
async function roundTrips(
  redisUrl: string,
  dst: number,
  window: number,
  seconds: number,
): Promise<RoundTrips> {
  const push = new Redis(redisUrl, { enableAutoPipelining: true });
  const pop = new Redis(redisUrl);
  const ret = randomUUID();
  const dat = randomBytes(PAYLOAD);
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  let measuring = false;
  let sending = true;
  const send = () => {
    const ref = String(seq++);
    started.set(ref, performance.now());
    void push.lpush(
      PeerKeys.local,
      formatOutgoingRequest({
        ver: 1,
        ref,
        cmd: "testme",
        exp: 60,
        dat,
        tag: null,
        dst: [dst],
        ret,
        shm: "application/json",
        now: 0,
      }),
    );
  };
  for (let i = 0; i < window; i++) send();
  const warmupEnd = Date.now() + 1000;
  const end = warmupEnd + seconds * 1000;
  let t0 = 0;
  let tEnd = 0;
  while (started.size > 0) {
    const got = await popBatch(pop, [ret], 256, 10);
    if (got === null) break;
    const now = performance.now();
    if (!measuring && Date.now() >= warmupEnd) {
      measuring = true;
      t0 = now;
    }
    if (sending && Date.now() >= end) {
      sending = false;
      tEnd = now;
    }
    for (const text of got[1]) {
      const res = parseIncomingResponse(text);
      const ref = res.ref ?? "";
      const t = started.get(ref);
      started.delete(ref);
      if (res.err !== null) errors++;
      else if (measuring && sending && t !== undefined) latencies.push(now - t);
      if (sending) send();
    }
  }
  const elapsed = ((tEnd || performance.now()) - t0) / 1000;
  push.disconnect();
  pop.disconnect();
  latencies.sort((x, y) => x - y);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return { perSec: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), errors };
}

async function main(): Promise<void> {
  console.log("peer gateway benchmark");
  console.log(machineLine());
  const dir = mkdtempSync(join(tmpdir(), "rmb-peer-bench-"));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedisServer();
  const rows: string[] = [];
  const cpuRows: string[] = [];
  try {
    const only = process.env.BENCH_KEYS;
    for (const keyType of [KeyType.Ed25519, KeyType.Sr25519].filter(
      (k) => only === undefined || k === only,
    )) {
      const seeds = [1, 2].map(() => `0x${randomBytes(32).toString("hex")}`);
      const ids = seeds.map((s) => loadIdentity(s, keyType));
      const twinsFile = join(dir, `twins-${keyType}.json`);
      writeFileSync(
        twinsFile,
        JSON.stringify(
          ids.map((id, i) => ({
            id: i + 1,
            account: Buffer.from(id.publicKey).toString("hex"),
            relays: ["bench.relay"],
            pk: Buffer.from(id.e2e!.publicKey).toString("hex"),
          })),
        ),
      );
      const relay = spawnRmb(["relay", "-m", "bench.relay", "-l", "127.0.0.1:0", "--twins", twinsFile]);
      const port = Number(
        (await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(relay.out()), "relay"))[1],
      );
      const peers = seeds.map((seed, i) =>
        spawnRmb([
          "peer",
          "-m",
          seed,
          "-k",
          keyType,
          "--twins",
          twinsFile,
          "--relay",
          `ws://127.0.0.1:${port}`,
          "-r",
          `${redis.url}/${i + 1}`,
        ]),
      );
      for (const p of peers) await waitFor(() => /now connected/.exec(p.err()), "peer connection");
      const echo = await startJsonEcho(`${redis.url}/2`, "testme");
      const sequential = await roundTrips(`${redis.url}/1`, 2, 1, SECONDS);
      const info = new Redis(redis.url);
      const redisPid = Number(/process_id:(\d+)/.exec(await info.info("server"))?.[1]);
      info.disconnect();
      const pids: [string, number][] = [
        ["relay", relay.proc.pid!],
        ["peer A", peers[0]!.proc.pid!],
        ["peer B", peers[1]!.proc.pid!],
        ["redis", redisPid],
      ];
      const cpuBefore = pids.map(([, pid]) => cpuSeconds(pid));
      const selfBefore = process.cpuUsage();
      const parallel = await roundTrips(`${redis.url}/1`, 2, OUTSTANDING, SECONDS);
      const self = process.cpuUsage(selfBefore);
      const total = parallel.perSec * (SECONDS + 0.0);
      const shares = pids.map(
        ([name, pid], i) => `${name} ${(((cpuSeconds(pid) - cpuBefore[i]!) / total) * 1e6).toFixed(0)}`,
      );
      shares.push(`client+echo ${(((self.user + self.system) / 1e6 / total) * 1e6).toFixed(0)}`);
      cpuRows.push(`| ${keyType} | ${shares.join(" · ")} |`);
      await echo.stop();
      for (const p of peers) await stop(p);
      await stop(relay);
      const perMessage = cryptoPerMessage(keyType);
      const ceiling = perMessage / 2;
      const share = (parallel.perSec / ceiling) * 100;
      rows.push(
        `| ${keyType} | ${OUTSTANDING} | ${Math.round(parallel.perSec).toLocaleString("en-US")} | ${parallel.p50.toFixed(2)} | ${parallel.p99.toFixed(2)} | ${sequential.p50.toFixed(2)} | ${Math.round(perMessage).toLocaleString("en-US")} | ${Math.round(ceiling).toLocaleString("en-US")} | ${share.toFixed(0)}% ${share >= 50 ? "(met)" : "(NOT met)"} | ${parallel.errors + sequential.errors} |`,
      );
    }
  } finally {
    await redis.stop();
  }
  console.log(
    "\n### Peer gateway round trips (signed + encrypted both ways, target ≥ 50% of the crypto ceiling)\n",
  );
  console.log(machineLine());
  console.log("");
  console.log(
    "| keys | outstanding | round trips/s | p50 ms | p99 ms | sequential p50 ms | crypto msgs/s (1 core) | ceiling rt/s | share | errors |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) console.log(r);
  console.log("\nCPU µs per round trip during the parallel run (includes the warm-up second):\n");
  console.log("| keys | per process |");
  console.log("|---|---|");
  for (const r of cpuRows) console.log(r);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
