/**
 * Soak run (not in CI): mixed traffic for SOAK_MINUTES (default 30) through a relay (Redis mode) and two rmb-peer
 * gateways — JSON requests with random payload sizes and lifetimes, multi-destination requests, and direct SDK
 * clients calling a service behind a peer — reporting throughput per interval, RSS of every process at the start and
 * the end, and the counts of sent / answered / errored / duplicated / lost.
 *
 * Usage: `npm run build && SOAK_MINUTES=30 node dist/bench/soak.js` (SOAK_INTERVAL seconds per line, default 60).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyType, loadIdentity } from "../src/identity/index.js";
import { startJsonEcho } from "../src/peer/index.js";
import { loadTwinsFile } from "../src/registry/index.js";
import { PeerClient, RmbClient } from "../src/sdk/index.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { onExit } from "./child-processes.js";
import { machineLine } from "./harness.js";
import { spawnRmb, stop, waitFor } from "./rmb-processes.js";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const INTERVAL = Number(process.env.SOAK_INTERVAL ?? 60);
const OUTSTANDING = 32;

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}

async function main(): Promise<void> {
  console.log(`soak run: ${MINUTES} min, ${machineLine()}`);
  const dir = mkdtempSync(join(tmpdir(), "rmb-soak-"));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedisServer();
  const seeds = [0, 1, 2].map(() => `0x${randomBytes(32).toString("hex")}`);
  const ids = seeds.map((s) => loadIdentity(s, KeyType.Sr25519));
  const twinsFile = join(dir, "twins.json");
  writeFileSync(
    twinsFile,
    JSON.stringify(
      ids.map((id, i) => ({
        id: i + 1,
        account: Buffer.from(id.publicKey).toString("hex"),
        relays: ["soak.relay"],
        pk: Buffer.from(id.e2e!.publicKey).toString("hex"),
      })),
    ),
  );
  const relay = spawnRmb([
    "relay",
    "-m",
    "soak.relay",
    "-l",
    "127.0.0.1:0",
    "--twins",
    twinsFile,
    "-r",
    redis.url,
  ]);
  const port = Number(
    (await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(relay.out()), "relay"))[1],
  );
  const url = `ws://127.0.0.1:${port}`;
  const peers = [0, 1].map((i) =>
    spawnRmb(["peer", "-m", seeds[i]!, "--twins", twinsFile, "--relay", url, "-r", `${redis.url}/${i + 1}`]),
  );
  for (const p of peers) await waitFor(() => /now connected/.exec(p.err()), "peer connection");
  const echo = await startJsonEcho(`${redis.url}/2`, "soak");
  const behindA = await PeerClient.connect({ redis: `${redis.url}/1` });
  const direct = await RmbClient.connect({
    identity: ids[2]!,
    registry: await loadTwinsFile(twinsFile),
    relays: [url],
    session: "soak",
  });

  const counts = { sent: 0, answered: 0, errored: 0, duplicated: 0, lost: 0, bad: 0 };
  const seen = new Set<string>();
  let interval = 0;
  let stopping = false;
  const end = Date.now() + MINUTES * 60_000;
  const one = async (n: number) => {
    const size = [16, 256, 4096, 65536][n % 4]!;
    const payload = { n, blob: randomBytes(size).toString("base64") };
    counts.sent++;
    const key = `${n}`;
    try {
      const res =
        n % 3 === 2
          ? await direct.call(2, "soak", payload, { timeout: 30_000 })
          : await behindA.call(2, "soak", payload, { timeout: 30_000 });
      if (seen.has(key)) counts.duplicated++;
      seen.add(key);
      const back = res.json<{ n: number; blob: string }>();
      if (back.n !== n || back.blob !== payload.blob) counts.bad++;
      counts.answered++;
      interval++;
    } catch {
      counts.errored++;
    }
  };
  let next = 0;
  const workers = Array.from({ length: OUTSTANDING }, async () => {
    while (!stopping && Date.now() < end) await one(next++);
  });
  const pids: [string, number][] = [
    ["relay", relay.proc.pid!],
    ["peer A", peers[0]!.proc.pid!],
    ["peer B", peers[1]!.proc.pid!],
    ["soak (clients + echo)", process.pid],
  ];
  const rssStart = pids.map(([, pid]) => rssKiB(pid));
  console.log("\n| minute | round trips/s | answered | errored |\n|---:|---:|---:|---:|");
  const timer = setInterval(() => {
    const minute = ((MINUTES * 60_000 - (end - Date.now())) / 60_000).toFixed(1);
    console.log(
      `| ${minute} | ${(interval / INTERVAL).toFixed(0)} | ${counts.answered} | ${counts.errored} |`,
    );
    interval = 0;
  }, INTERVAL * 1000);
  process.once("SIGINT", () => {
    stopping = true;
  });
  await Promise.all(workers);
  clearInterval(timer);
  const rssEnd = pids.map(([, pid]) => rssKiB(pid));
  counts.lost = counts.sent - counts.answered - counts.errored;
  console.log("\n| process | RSS start (MiB) | RSS end (MiB) |\n|---|---:|---:|");
  pids.forEach(([name], i) => {
    console.log(`| ${name} | ${(rssStart[i]! / 1024).toFixed(1)} | ${(rssEnd[i]! / 1024).toFixed(1)} |`);
  });
  console.log(`\ncounts: ${JSON.stringify(counts)}`);
  await echo.stop();
  await behindA.close();
  await direct.close();
  for (const p of peers) await stop(p);
  await stop(relay);
  await redis.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
