import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateMnemonic, type KeyType, loadIdentity } from "../../identity/index.js";
import { syncOwnTwin } from "../../peer/twin-sync.js";
import {
  AccountStoreRegistry,
  FileAccountStore,
  RegistrarClient,
  RegistrarService,
  TwinExistsError,
} from "../../registry/index.js";
import { RelayServer } from "../../relay/index.js";
import { bytes, RmbClient } from "../../sdk/index.js";
import { UsageError } from "../cli-error.js";
import type { CliIo } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { untilSignal } from "../signals.js";
import { parseListen, redact } from "./relay.js";

export const DEVNET_HELP = `Usage: rmb devnet [options]

Runs a complete local RMB network in one process: a relay (domain localhost) with the twin
registry on its port, three demo twins (alice, bob, carol) registered with encryption keys, and
bob serving 'echo' and 'time'. Shows a first round trip alice → bob, prints what to try, and keeps
serving until Ctrl-C. The twins' secrets are kept in the data directory and reused next time.

Options:
  -l, --listen <ADDR>   where the relay listens [default: 127.0.0.1:8080]
      --data <DIR>      registry data and twin secrets [default: .rmb/devnet]
  -r, --redis <URL>     keep the relay's queues in Redis instead of memory
      --json            print one JSON line with the URLs, twins and secrets when ready
  -d, --debug           more logs
`;

interface DemoTwin {
  mnemonic: string;
  keyType: KeyType;
}

const DEMO: Record<string, KeyType> = {
  alice: "sr25519" as KeyType,
  bob: "ed25519" as KeyType,
  carol: "sr25519" as KeyType,
};

async function loadSecrets(path: string): Promise<Record<string, DemoTwin>> {
  let saved: Record<string, DemoTwin> = {};
  try {
    saved = JSON.parse(await readFile(path, "utf8")) as Record<string, DemoTwin>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new UsageError(`cannot read ${path}: ${(err as Error).message} (delete it to start over)`);
    }
  }
  let changed = false;
  for (const [name, keyType] of Object.entries(DEMO)) {
    if (saved[name] === undefined) {
      saved[name] = { mnemonic: generateMnemonic(12), keyType };
      changed = true;
    }
  }
  if (changed) {
    await writeFile(path, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
  }
  return saved;
}

export async function devnetCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(DEVNET_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      listen: { type: "string", short: "l" },
      data: { type: "string" },
      redis: { type: "string", short: "r" },
      json: { type: "boolean" },
      debug: { type: "boolean", short: "d", multiple: true },
    },
  });
  const json = values.json === true;
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const step = (line: string) => {
    if (!json) io.stdout.write(`  ✓ ${line}\n`);
  };
  const { host, port } = parseListen(values.listen ?? "127.0.0.1:8080");
  const dir = values.data ?? join(".rmb", "devnet");
  await mkdir(dir, { recursive: true });
  if (!json) io.stdout.write("rmb devnet: starting\n");
  // Listen for signals before saying "ready": a supervisor may signal as soon as it reads it.
  const stopSignal = untilSignal();

  const store = await FileAccountStore.open(join(dir, "registry"));
  const service = new RegistrarService({ store });
  const relay = new RelayServer({
    domains: ["localhost"],
    registry: new AccountStoreRegistry(store),
    host,
    port,
    httpRoutes: (req, res) => service.handle(req, res, false),
    ...(values.redis === undefined ? {} : { redis: values.redis }),
  });
  let bound: number;
  try {
    ({ port: bound } = await relay.start());
  } catch (err) {
    await store.close();
    throw err;
  }
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const http = `http://${shownHost}:${bound}`;
  const relayUrl = `ws://localhost:${bound}`;
  const clients: RmbClient[] = [];
  const registrar = new RegistrarClient({ url: http });
  const shutdown = async () => {
    for (const c of clients) await c.close();
    registrar.close();
    await relay.stop();
    await store.close();
  };

  try {
    step(
      `relay and registry on ${http} (queues: ${values.redis === undefined ? "in memory" : `redis ${redact(values.redis)}`})`,
    );
    const secretsPath = join(dir, "twins.json");
    const secrets = await loadSecrets(secretsPath);
    const twins: Record<string, { id: number; keyType: KeyType; mnemonic: string }> = {};
    for (const [name, demo] of Object.entries(secrets)) {
      const identity = loadIdentity(demo.mnemonic, demo.keyType);
      let id: number;
      try {
        id = (
          await registrar.createTwin(identity.signer, { relays: ["localhost"], pk: identity.e2e?.publicKey })
        ).id;
      } catch (err) {
        if (!(err instanceof TwinExistsError)) throw err;
        const known = await registrar.getTwinIdByAccount(identity.publicKey);
        if (known === undefined) throw err;
        id = known;
        await syncOwnTwin(registrar, identity, id, [relayUrl]);
      }
      twins[name] = { id, keyType: demo.keyType, mnemonic: demo.mnemonic };
    }
    const list = Object.entries(twins)
      .map(([name, t]) => `${name} = ${t.id} (${t.keyType})`)
      .join(", ");
    step(`twins ${list}; secrets in ${secretsPath}`);

    const connect = async (name: string, session?: string) => {
      const t = twins[name]!;
      const client = await RmbClient.connect({
        identity: loadIdentity(t.mnemonic, t.keyType),
        registry: registrar,
        relays: [relayUrl],
        twinId: t.id,
        ...(session === undefined ? {} : { session }),
        log: (level, message) => log.log(level, message),
      });
      clients.push(client);
      return client;
    };
    const bob = await connect("bob");
    bob.serve("echo", (req) => bytes(req.data, req.schema));
    bob.serve("time", () => new Date().toISOString());
    step("bob serves echo and time");

    const alice = await connect("alice", "devnet");
    const started = performance.now();
    const answer = await alice.call(twins.bob!.id, "echo", { hello: "world" }, { timeout: 10_000 });
    const ms = performance.now() - started;
    if (JSON.stringify(answer.json()) !== '{"hello":"world"}')
      throw new Error("the echo answer does not match");
    step(`round trip alice → bob 'echo' in ${ms.toFixed(1)} ms, encrypted and signed`);

    const registry = `${http}/v1/accounts`;
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ relay: relayUrl, registrar: http, registry, metrics: `${http}/metrics`, twins, roundTripMs: Number(ms.toFixed(2)) })}\n`,
      );
    } else {
      const a = twins.alice!;
      const c = twins.carol!;
      const conn = `--relay ${relayUrl} --registrar ${http}`;
      io.stdout.write(
        [
          "",
          `relay:     ${relayUrl}`,
          `registry:  ${registry}`,
          `metrics:   ${http}/metrics`,
          "",
          "Try, in another terminal:",
          `  export RMB_SECRET="${a.mnemonic}"   # alice (${a.keyType})`,
          `  npx rmb call ${twins.bob!.id} echo '{"hello":"world"}' ${conn} -k ${a.keyType}`,
          `  npx rmb call ${twins.bob!.id} time ${conn} -k ${a.keyType}`,
          "Serve your own command as carol, then call it as alice:",
          `  RMB_SECRET="${c.mnemonic}" npx rmb serve my.upper --exec 'tr a-z A-Z' ${conn} -k ${c.keyType}`,
          `  npx rmb call ${c.id} my.upper --text 'hello' ${conn} -k ${a.keyType}`,
          "",
          "Ctrl-C stops the devnet.",
          "",
        ].join("\n"),
      );
    }
  } catch (err) {
    await shutdown();
    throw err;
  }
  const signal = await stopSignal;
  log.info(`${signal}: stopping`);
  await shutdown();
  return 0;
}
