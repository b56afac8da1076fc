/**
 * Soak run (not in CI): mixed traffic for SOAK_MINUTES (default 30) through a relay (Redis mode) and two rmb-peer
 * gateways, SOAK_OUTSTANDING calls outstanding (default 32), each with a random payload (16 B – 64 KiB) and a random
 * lifetime (SOAK_MIN_TTL – SOAK_MAX_TTL s, default 10 – 120):
 *
 * - calls through rmb-peer A (`PeerClient`) to the `soak` service behind rmb-peer B (twin 2, a `PeerClient.serve`);
 * - calls from a direct SDK client (`RmbClient`, twin 3) to the same service;
 * - multi-destination JSON requests pushed to rmb-peer A with `dst: [2, 3]` (one request, one uid, fanned out by the
 *   peer; twin 3's SDK client serves `soak` too), whose answers are popped from their own reply queue.
 *
 * Every answer is checked against its call's payload. Each call has a deadline (its lifetime + SOAK_GRACE s, default
 * 10): a call without an outcome by then is counted lost and the script moves on. Duplicates are counted where the
 * application would see them: a request the services handle twice (they keep the call keys they served), an answer
 * popped twice for a fan-out request; and the redeliveries the peers and clients dropped themselves are read from
 * their counters (`rmb peer` logs them when it stops; `RmbClient.stats`, `PeerClient.stats`).
 *
 * Prints a line every SOAK_INTERVAL seconds (default 60): answers/s, errors, losses and RSS of relay and peers; at
 * the end RSS of every process at start and end and the counts. Exits 1 when a call was lost, duplicated or answered
 * wrongly, or when relay or peer RSS at the end exceeds SOAK_RSS_LIMIT_MIB (default 256: the bound docs/reliability.md
 * states for a 128 MiB heap limit). Node flags for the relay and peers come from BENCH_NODE_FLAGS:
 *
 *     npm run build && BENCH_NODE_FLAGS=--max-old-space-size=128 SOAK_MINUTES=30 node dist/bench/soak.js
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { KeyType, loadIdentity } from "../src/identity/index.js";
import { formatOutgoingRequest, PeerKeys, parseIncomingResponse } from "../src/peer/index.js";
import { popBatch } from "../src/peer/list-pop.js";
import { loadTwinsFile } from "../src/registry/index.js";
import { PeerClient, RmbCallError, RmbClient, type RmbRequest, RmbTimeoutError } from "../src/sdk/index.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { onExit, rssKiB } from "./child-processes.js";
import { machineLine } from "./harness.js";
import { type Spawned, spawnRmb, stop, waitFor } from "./rmb-processes.js";

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got ${text}`);
  return value;
}

const MINUTES = envNumber("SOAK_MINUTES", 30);
const INTERVAL = envNumber("SOAK_INTERVAL", 60);
const OUTSTANDING = Math.round(envNumber("SOAK_OUTSTANDING", 32));
const MIN_TTL = Math.round(envNumber("SOAK_MIN_TTL", 10));
const MAX_TTL = Math.max(MIN_TTL, Math.round(envNumber("SOAK_MAX_TTL", 120)));
const GRACE_MS = envNumber("SOAK_GRACE", 10) * 1000;
const RSS_LIMIT_MIB = envNumber("SOAK_RSS_LIMIT_MIB", 256);
const SIZES = [16, 256, 4096, 65536];
const SERVICE = 2;
const DIRECT = 3;

type Outcome = "answered" | "errored" | "bad";

/**
 * The books of the run. Memory stays bounded however long it runs: only calls in flight and the keys the services
 * served within the longest lifetime are kept (the fault tests' `Ledger` keeps every id, which a 30-minute run would
 * turn into a growing heap in the process being measured).
 */
class Books {
  sent = 0;
  answered = 0;
  errored = 0;
  bad = 0;
  lost = 0;
  /** Requests a service handled more than once (the application saw them twice). */
  duplicatedRequests = 0;
  /** Answers a caller got twice (fan-out answers popped twice for one destination). */
  duplicatedAnswers = 0;
  /** Outcomes that came after their call's deadline (the call was counted lost). */
  late = 0;
  readonly errors = new Map<string, number>();
  /** Answers in the current interval. */
  interval = 0;
  /** Call keys served, until they cannot come again (their lifetime is over): key → unix ms. */
  readonly #served = new Map<string, number>();

  settle(outcome: Outcome, reason?: string): void {
    if (outcome === "answered") {
      this.answered++;
      this.interval++;
    } else if (outcome === "bad") this.bad++;
    else {
      this.errored++;
      const r = reason ?? "error";
      this.errors.set(r, (this.errors.get(r) ?? 0) + 1);
    }
  }

  /** A service handled the request `key` (unique per call and destination), valid until `until` (unix ms). */
  served(key: string, until: number): void {
    if (this.#served.has(key)) this.duplicatedRequests++;
    this.#served.set(key, until);
  }

  sweep(now: number): void {
    for (const [key, until] of this.#served) if (until < now) this.#served.delete(key);
  }

  get duplicated(): number {
    return this.duplicatedRequests + this.duplicatedAnswers;
  }
}

function errorReason(err: unknown): string {
  if (err instanceof RmbTimeoutError) return "timeout";
  if (err instanceof RmbCallError) return err.source === 0 ? `relay: ${err.message}` : `code ${err.wireCode}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Resolves with `value`'s outcome, or with `"lost"` after `ms`. */
function withDeadline<T>(value: Promise<T>, ms: number): Promise<{ ok: T } | { err: unknown } | "lost"> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"lost">((resolve) => {
    timer = setTimeout(() => resolve("lost"), ms);
  });
  return Promise.race([
    value.then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    ),
    deadline,
  ]).finally(() => clearTimeout(timer));
}

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

async function main(): Promise<void> {
  const flags = process.env.BENCH_NODE_FLAGS ?? "";
  console.log(`soak run: ${MINUTES} min, ${machineLine()}`);
  console.log(
    `${OUTSTANDING} calls outstanding, lifetimes ${MIN_TTL}–${MAX_TTL} s, relay and peer flags: ${flags === "" ? "(none)" : flags}`,
  );
  if (!/--max-old-space-size=\d+/.test(flags)) {
    console.log(
      `note: no heap limit (BENCH_NODE_FLAGS=--max-old-space-size=128): V8 may grow past the ${RSS_LIMIT_MIB} MiB bound before it collects`,
    );
  }
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
  for (const p of peers) {
    try {
      await waitFor(() => /now connected/.exec(p.err()), "peer connection");
    } catch (err) {
      console.error(`peer output:\n${p.out()}${p.err()}`);
      throw err;
    }
  }

  const books = new Books();
  const serve = (twin: number) => (req: RmbRequest) => {
    const body = req.json<{ k: string; blob: string }>();
    books.served(`${body.k}@${twin}`, req.expiresAt * 1000 + GRACE_MS);
    return body;
  };
  // The service behind peer B (twin 2), and twin 3's direct client, which calls it and serves fan-out requests.
  const service = await PeerClient.connect({ redis: `${redis.url}/2` });
  service.serve("soak", serve(SERVICE));
  const behindA = await PeerClient.connect({ redis: `${redis.url}/1` });
  const direct = await RmbClient.connect({
    identity: ids[2]!,
    registry: await loadTwinsFile(twinsFile),
    relays: [url],
  });
  direct.serve("soak", serve(DIRECT));

  // Multi-destination requests: raw JSON to peer A, answers popped from our own reply queue.
  const fanPush = new Redis(`${redis.url}/1`);
  const fanPop = new Redis(`${redis.url}/1`);
  const fanRet = "soak.fanout";
  interface FanOut {
    blob: string;
    waiting: Set<string>;
    done: () => void;
  }
  const fanPending = new Map<string, FanOut>();
  /** Settled fan-out requests, kept for their lifetime: a later answer is a duplicate or late. */
  const fanSettled = new Map<string, { seen: Set<string>; until: number }>();
  let stopping = false;
  const fanLoop = (async () => {
    while (!stopping) {
      let got: [string, string[]] | null;
      try {
        got = await popBatch(fanPop, [fanRet], 128, 1);
      } catch {
        if (stopping) return;
        continue;
      }
      for (const text of got?.[1] ?? []) {
        const res = parseIncomingResponse(text);
        const ref = res.ref ?? "";
        const pending = fanPending.get(ref);
        if (pending === undefined || !pending.waiting.has(res.src)) {
          const settled = fanSettled.get(ref);
          if (pending !== undefined || settled?.seen.has(res.src) === true) books.duplicatedAnswers++;
          else books.late++;
          settled?.seen.add(res.src);
          continue;
        }
        pending.waiting.delete(res.src);
        if (res.err !== null) books.settle("errored", `code ${res.err.code}: ${res.err.message}`);
        else {
          const back = JSON.parse(new TextDecoder().decode(res.dat)) as { k: string; blob: string };
          books.settle(back.k === ref && back.blob === pending.blob ? "answered" : "bad");
        }
        if (pending.waiting.size === 0) pending.done();
      }
    }
  })();

  const end = Date.now() + MINUTES * 60_000;
  const one = async (n: number): Promise<void> => {
    const blob = randomBytes(SIZES[randomInt(0, SIZES.length - 1)]!).toString("base64");
    const ttl = randomInt(MIN_TTL, MAX_TTL);
    const kind = n % 4;
    if (kind === 3) {
      const k = `f${n}`;
      books.sent += 2;
      const waiting = new Set([String(SERVICE), String(DIRECT)]);
      const answered = new Promise<void>((resolve) => {
        fanPending.set(k, { blob, waiting, done: resolve });
      });
      await fanPush.lpush(
        PeerKeys.local,
        formatOutgoingRequest({
          ver: 1,
          ref: k,
          cmd: "soak",
          exp: ttl,
          dat: new TextEncoder().encode(JSON.stringify({ k, blob })),
          tag: null,
          dst: [SERVICE, DIRECT],
          ret: fanRet,
          shm: "application/json",
          now: Math.floor(Date.now() / 1000),
        }),
      );
      await withDeadline(answered, ttl * 1000 + GRACE_MS);
      fanPending.delete(k);
      books.lost += waiting.size;
      fanSettled.set(k, {
        seen: new Set([String(SERVICE), String(DIRECT)].filter((s) => !waiting.has(s))),
        until: Date.now() + ttl * 1000 + GRACE_MS,
      });
      return;
    }
    const k = `c${n}`;
    books.sent++;
    const caller = kind === 2 ? direct : behindA;
    const outcome = await withDeadline(
      caller.call(SERVICE, "soak", { k, blob }, { timeout: ttl * 1000 }),
      ttl * 1000 + GRACE_MS,
    );
    if (outcome === "lost") {
      books.lost++;
      return;
    }
    if ("err" in outcome) {
      books.settle("errored", errorReason(outcome.err));
      return;
    }
    const back = outcome.ok.json<{ k: string; blob: string }>();
    books.settle(back.k === k && back.blob === blob ? "answered" : "bad");
  };
  let next = 0;
  const workers = Array.from({ length: OUTSTANDING }, async () => {
    while (!stopping && Date.now() < end) await one(next++);
  });
  const named: [string, Spawned | undefined][] = [
    ["relay", relay],
    ["peer A", peers[0]],
    ["peer B", peers[1]],
    ["soak (clients + services)", undefined],
  ];
  const pids = named.map(([, s]) => s?.proc.pid ?? process.pid);
  const rssStart = pids.map(rssKiB);
  const start = Date.now();
  console.log(
    "\n| minute | answers/s | answered | errored | lost | duplicated | RSS relay / peer A / peer B (MiB) |\n|---:|---:|---:|---:|---:|---:|---|",
  );
  const timer = setInterval(() => {
    const now = Date.now();
    books.sweep(now);
    for (const [ref, s] of fanSettled) if (s.until < now) fanSettled.delete(ref);
    const rss = pids.slice(0, 3).map((pid) => mib(rssKiB(pid)));
    console.log(
      `| ${((now - start) / 60_000).toFixed(1)} | ${(books.interval / INTERVAL).toFixed(0)} | ${books.answered} | ${books.errored} | ${books.lost} | ${books.duplicated} | ${rss.join(" / ")} |`,
    );
    books.interval = 0;
  }, INTERVAL * 1000);
  await Promise.all(workers);
  clearInterval(timer);
  const seconds = (Date.now() - start) / 1000;
  const rssEnd = pids.map(rssKiB);
  stopping = true;

  await service.close();
  await behindA.close();
  await direct.close();
  await fanLoop;
  fanPush.disconnect();
  fanPop.disconnect();
  const peerStats: Record<string, number>[] = [];
  for (const p of peers) {
    await stop(p);
    const line = /INFO +stats (\{.*\})$/m.exec(p.err());
    peerStats.push(line === null ? {} : (JSON.parse(line[1]!) as Record<string, number>));
  }
  await stop(relay);
  await redis.stop();

  console.log("\n| process | RSS start (MiB) | RSS end (MiB) |\n|---|---:|---:|");
  named.forEach(([name], i) => {
    console.log(`| ${name} | ${mib(rssStart[i]!)} | ${mib(rssEnd[i]!)} |`);
  });
  const counts = {
    calls: books.sent,
    answered: books.answered,
    errored: books.errored,
    lost: books.lost,
    duplicated: books.duplicated,
    "wrong payload": books.bad,
  };
  console.log(
    `\ncounts: ${JSON.stringify(counts)} in ${seconds.toFixed(0)} s (${(books.answered / seconds).toFixed(0)} answers/s)`,
  );
  console.log(
    `duplicates: requests served twice ${books.duplicatedRequests}, fan-out answers popped twice ${books.duplicatedAnswers}; late answers ${books.late}`,
  );
  if (books.errors.size > 0) console.log(`errors: ${JSON.stringify(Object.fromEntries(books.errors))}`);
  console.log(
    `redeliveries dropped: peer A ${peerStats[0]?.duplicates ?? "?"}, peer B ${peerStats[1]?.duplicates ?? "?"}, ` +
      `SDK client ${direct.stats.duplicates}; unmatched answers: SDK client ${direct.stats.unmatched}, ` +
      `PeerClient ${behindA.stats.unmatched}; late responses at the peers: ${peerStats.map((s) => s.lateResponses ?? "?").join(", ")}`,
  );

  const failures: string[] = [];
  if (books.lost > 0) failures.push(`${books.lost} calls lost`);
  if (books.duplicated > 0) failures.push(`${books.duplicated} duplicates reached the application`);
  if (books.bad > 0) failures.push(`${books.bad} wrong payloads`);
  for (let i = 0; i < 3; i++) {
    if (rssEnd[i]! / 1024 > RSS_LIMIT_MIB) {
      failures.push(
        `${named[i]![0]} RSS ${mib(rssEnd[i]!)} MiB at the end, above the ${RSS_LIMIT_MIB} MiB bound`,
      );
    }
  }
  if (failures.length > 0) {
    console.log(`\nFAILED: ${failures.join("; ")}`);
    process.exitCode = 1;
  } else {
    console.log(`\nOK: nothing lost or duplicated; relay and peer RSS within ${RSS_LIMIT_MIB} MiB`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
