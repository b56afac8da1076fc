/**
 * Benchmark of our direct SDK client (`RmbClient`) against the official TypeScript client
 * (`@threefold/rmb_direct_client`, a devDependency), in one run, on one relay, calling one echo service: round
 * trips per second and latency of sequential calls (one at a time), and ours with many calls outstanding for
 * context. Target (SDK issue): ours ≥ 100× the official client's sequential call rate.
 *
 * Processes: our relay (embedded mode) and the echo service (our `RmbClient` serving one command) each run in a
 * child process on 127.0.0.1; both callers run here. Twins 1 (echo), 2 (ours) and 3 (official) use the same key
 * type; every request and answer is signed and end-to-end encrypted (all three twins publish a secp256k1 key).
 *
 * The official client looks twins up on tfchain; its chain client is replaced by a stub answering from the same
 * registry as our relay (`official-client/chain-stub.ts`), so the run needs no chain and no network beyond
 * 127.0.0.1. Behaviours of the official client (2.9.2, `node_modules/@threefold/rmb_direct_client/dist/node/`)
 * that shape this benchmark:
 * - `read()` (client.js `read`) checks for the answer once, then sleeps 1 s between checks: a sequential call
 *   takes at least one second however fast the answer arrives. The table also shows when the answer reached its
 *   socket, to separate the wire from the polling.
 * - Every received envelope gets `schema = "application/json"` (envelope.js, `ClientEnvelope` constructor) before
 *   its signature is checked, so an answer with another schema, or none, fails with "invalid signature,
 *   discarding response": the echo answers with the request's schema, which the official client always sets to
 *   `application/json`.
 * - `connect()` installs SIGTERM/SIGINT/SIGUSR1/SIGUSR2 handlers that call `process.removeAllListeners()` and
 *   `process.exit(0)`; they are removed here so that our exit hooks (which kill the children) keep working.
 * - `connect()` asks the chain to rewrite the twin's relay whenever it differs from the relay URL minus `wss://`
 *   and its first `/` (for `ws://127.0.0.1:PORT` that is `ws:/127.0.0.1:PORT`); the stub records it.
 * - Its package cannot be `import`ed from Node ESM, and it needs an undeclared `@noble/hashes` v1: see
 *   `official-client/load-official-client.ts`.
 *
 * Usage: `npm run bench:official` (env BENCH_SECONDS for our client's runs, default 5; BENCH_OUTSTANDING, default
 * 64; BENCH_OFFICIAL_CALLS, default 15, and BENCH_OFFICIAL_SECONDS, default 20, whichever ends first;
 * BENCH_KEYS=sr25519|ed25519, default sr25519, the key type of tfchain twins).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { generateMnemonic, type Identity, loadIdentity, parseKeyType } from "../src/identity/index.js";
import { decodeEnvelope } from "../src/protocol/index.js";
import { RmbClient } from "../src/sdk/index.js";
import { stopProcess, track } from "./child-processes.js";
import { machineLine } from "./harness.js";
import { installChainStub } from "./official-client/chain-stub.js";
import { loadOfficialClient } from "./official-client/load-official-client.js";
import {
  type BenchTwin,
  benchRegistry,
  type ServiceMessage,
  type ServiceSpec,
} from "./official-client/twins.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const OUTSTANDING = Number(process.env.BENCH_OUTSTANDING ?? 64);
const OFFICIAL_CALLS = Number(process.env.BENCH_OFFICIAL_CALLS ?? 15);
const OFFICIAL_SECONDS = Number(process.env.BENCH_OFFICIAL_SECONDS ?? 20);
const KEY_TYPE = parseKeyType(process.env.BENCH_KEYS ?? "sr25519");
const TARGET = 100;
const COMMAND = "bench.echo";
const ECHO_TWIN = 1;
/** Session of the official client (it always logs in with one). */
const OFFICIAL_SESSION = "bench-official";
/** Never contacted (the chain client is stubbed); a loopback address, so that a missed call fails locally. */
const UNUSED_CHAIN_URL = "ws://127.0.0.1:9";
/** The request body: ~90 bytes of JSON, the same for both clients. */
const FILLER = "x".repeat(64);
const SERVICE = fileURLToPath(new URL("./official-client/service-process.js", import.meta.url));
const { Client: OfficialClient, version: OFFICIAL_VERSION } = loadOfficialClient();

interface Service {
  proc: ChildProcess;
  port: number;
}

/** Forks `service-process.js` and waits for its `ready`. */
function startService(spec: ServiceSpec): Promise<Service> {
  const proc = track(
    fork(SERVICE, [JSON.stringify(spec)], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.kind}: not ready within 30 s`)), 30_000);
    proc.once("exit", (code, signal) => reject(new Error(`${spec.kind} exited (${signal ?? code})`)));
    proc.on("message", (m: ServiceMessage) => {
      clearTimeout(timer);
      if (m.type === "ready") resolve({ proc, port: m.port });
      else reject(new Error(`${spec.kind}: ${m.message}`));
    });
  });
}

interface Stats {
  calls: number;
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/**
 * `window` workers each making one call at a time until `seconds` after a `warmupMs` warm-up (or `maxCalls`
 * measured calls). Calls started during the warm-up are not counted; the rate is measured calls over the time from
 * the end of the warm-up to the last measured answer.
 */
async function closedLoop(
  call: (seq: number) => Promise<void>,
  options: { window: number; warmupMs: number; seconds: number; maxCalls?: number },
): Promise<Stats> {
  const warmEnd = performance.now() + options.warmupMs;
  const end = warmEnd + options.seconds * 1000;
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  let started = 0;
  let last = warmEnd;
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end || started >= maxCalls) return;
      const measured = t0 >= warmEnd;
      if (measured) started++;
      try {
        await call(seq++);
        const t1 = performance.now();
        if (measured) {
          latencies.push(t1 - t0);
          last = Math.max(last, t1);
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: options.window }, worker));
  latencies.sort((a, b) => a - b);
  const stats: Stats = {
    calls: latencies.length,
    perSec: latencies.length / ((last - warmEnd) / 1000),
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    errors,
  };
  if (firstError !== undefined) stats.firstError = firstError;
  return stats;
}

const body = (seq: number): string => JSON.stringify({ seq, data: FILLER });

function twinOf(id: number, identity: Identity): BenchTwin {
  return {
    id,
    account: Buffer.from(identity.publicKey).toString("hex"),
    pk: Buffer.from(identity.e2e!.publicKey).toString("hex"),
  };
}

async function main(): Promise<void> {
  console.log(
    `direct client benchmark: rmb-ts RmbClient vs @threefold/rmb_direct_client ${OFFICIAL_VERSION}`,
  );
  console.log(machineLine());
  const secrets = [generateMnemonic(), generateMnemonic(), generateMnemonic()] as const;
  const [echoId, oursId, officialId] = secrets.map((s) => loadIdentity(s, KEY_TYPE)) as [
    Identity,
    Identity,
    Identity,
  ];
  const twins = [twinOf(ECHO_TWIN, echoId), twinOf(2, oursId), twinOf(3, officialId)];
  // `track` (in startService) kills them if this process exits early; they also exit when the IPC channel closes.
  const children: ChildProcess[] = [];
  const relay = await startService({ kind: "relay", twins });
  children.push(relay.proc);
  const echo = await startService({
    kind: "echo",
    twins,
    port: relay.port,
    secret: secrets[0],
    keyType: KEY_TYPE,
    command: COMMAND,
  });
  children.push(echo.proc);
  const relayUrl = `ws://127.0.0.1:${relay.port}`;
  const registry = benchRegistry(twins);

  // Ours.
  const ours = await RmbClient.connect({ identity: oursId, registry, relays: [relayUrl] });
  const callOurs = async (seq: number): Promise<void> => {
    const sent = body(seq);
    const res = await ours.call(ECHO_TWIN, COMMAND, JSON.parse(sent), { timeout: 10_000 });
    if (res.text() !== sent || res.schema !== "application/json") throw new Error(`bad echo for call ${seq}`);
  };
  const oursSeq = await closedLoop(callOurs, { window: 1, warmupMs: 1000, seconds: SECONDS });
  const oursPar = await closedLoop(callOurs, { window: OUTSTANDING, warmupMs: 1000, seconds: SECONDS });
  await ours.close();

  // Official.
  const official = new OfficialClient(UNUSED_CHAIN_URL, relayUrl, secrets[2], OFFICIAL_SESSION, KEY_TYPE, 1);
  const stub = installChainStub(official, registry);
  await official.connect();
  for (const signal of ["SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2"] as const) {
    process.off(signal, official.disconnectAndExit);
  }
  // When each answer reached the socket (before `read()`'s polling saw it), and whether it came encrypted.
  const arrivals = new Map<string, number>();
  let cipherAnswers = 0;
  const con = official.con as unknown as { onmessage: (event: { data: Uint8Array }) => unknown };
  const onmessage = con.onmessage;
  con.onmessage = (event) => {
    try {
      const env = decodeEnvelope(event.data);
      arrivals.set(env.uid, performance.now());
      if (env.message?.kind === "response" && env.payload?.kind === "cipher") cipherAnswers++;
    } catch {
      // not ours to judge: the official handler sees it anyway
    }
    return onmessage(event);
  };
  const wire: number[] = [];
  const sending: number[] = [];
  const callOfficial = async (seq: number): Promise<void> => {
    const sent = body(seq);
    const t0 = performance.now();
    const uid = await official.send(COMMAND, sent, ECHO_TWIN, 1);
    sending.push(performance.now() - t0);
    const got = await official.read(uid);
    const arrived = arrivals.get(uid);
    arrivals.delete(uid);
    if (JSON.stringify(got) !== sent) throw new Error(`bad echo for call ${seq}: ${JSON.stringify(got)}`);
    if (arrived !== undefined) wire.push(arrived - t0);
  };
  await callOfficial(-1); // warm-up: first look-ups, key set-up
  wire.length = 0;
  sending.length = 0;
  const officialSeq = await closedLoop(callOfficial, {
    window: 1,
    warmupMs: 0,
    seconds: OFFICIAL_SECONDS,
    maxCalls: OFFICIAL_CALLS,
  });
  await Promise.race([official.disconnect(), new Promise((r) => setTimeout(r, 3000))]);
  wire.sort((a, b) => a - b);
  sending.sort((a, b) => a - b);

  for (const c of children) await stopProcess(c);

  const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
  const rate = (v: number): string =>
    v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? 1 : 2);
  const row = (client: string, mode: string, s: Stats): string =>
    `| ${client} | ${mode} | ${s.calls} | ${rate(s.perSec)} | ${ms(s.p50)} | ${ms(s.p99)} | ${s.errors} |`;
  console.log(`\n### Direct clients: rmb-ts RmbClient vs @threefold/rmb_direct_client ${OFFICIAL_VERSION}\n`);
  console.log(machineLine());
  console.log(
    `\nSame relay (rmb-ts, embedded, own process) and echo service (RmbClient, own process); ${KEY_TYPE} twins, every request and answer signed and encrypted; ~90-byte JSON payload.\n`,
  );
  console.log("| client | mode | calls measured | calls/s | p50 ms | p99 ms | errors |");
  console.log("|---|---|---:|---:|---:|---:|---:|");
  console.log(row("rmb-ts `RmbClient`", "sequential", oursSeq));
  console.log(row("rmb-ts `RmbClient`", `${OUTSTANDING} outstanding`, oursPar));
  console.log(
    row(`\`@threefold/rmb_direct_client\` ${OFFICIAL_VERSION}`, "sequential (send + read)", officialSeq),
  );
  console.log(
    `| ↳ same calls, answer on its socket | (before \`read()\` polls) | ${wire.length} | | ${ms(pct(wire, 0.5))} | ${ms(pct(wire, 0.99))} | |`,
  );
  console.log(
    `| ↳ same calls, \`send()\` alone | (look-up, encrypt, sign) | ${sending.length} | | ${ms(pct(sending, 0.5))} | ${ms(pct(sending, 0.99))} | |`,
  );
  console.log(
    `\nOfficial client: ${officialSeq.calls} calls after one warm-up call (p99 = the slowest of them); its \`read()\` checks for the answer, then every 1 s. Ours: calls over ${SECONDS} s after a 1 s warm-up.`,
  );
  const ratio = oursSeq.perSec / officialSeq.perSec;
  console.log(
    `ours ÷ official (sequential): ${ratio.toFixed(0)}× (target ≥ ${TARGET}×: ${ratio >= TARGET ? "met" : "NOT met"})`,
  );
  console.log(
    `official client: ${cipherAnswers} encrypted answers; chain stub calls ${JSON.stringify(stub.calls)}; relay updates asked for: ${JSON.stringify(stub.updates.map((u) => u.relay))}`,
  );
  for (const [name, s] of [
    ["ours sequential", oursSeq],
    ["ours parallel", oursPar],
    ["official", officialSeq],
  ] as const) {
    if (s.firstError !== undefined) console.log(`${name}: first error: ${s.firstError}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
