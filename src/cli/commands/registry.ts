import { parseArgs } from "node:util";
import {
  type AccountStore,
  FileAccountStore,
  PostgresAccountStore,
  REGISTRAR_DEFAULTS,
  RegistrarService,
} from "../../registry/index.js";
import { UsageError } from "../cli-error.js";
import type { CliIo } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { untilSignal } from "../signals.js";
import { parseListen, redact } from "./relay.js";

export const REGISTRY_HELP = `Usage: rmb registry [options]

Runs the twin registry service: the TFGrid v4 node-registrar accounts API (POST/GET /v1/accounts,
PATCH /v1/accounts/<id> with X-Auth; also under /api/v1), so TFGrid v4 tools, rmb relays and peers
(--registrar URL) can register and look up twins. Differences from upstream: docs/registry.md.

Options:
  -l, --listen <ADDR>       listen address [default: 127.0.0.1:8090]
      --data <DIR>          embedded store directory (created if missing) [default: ./rmb-registry-data]
      --postgres <URL>      keep accounts in PostgreSQL instead (postgres://user@host:port/db)
      --max-relays <N>      most relay entries per account [default: ${REGISTRAR_DEFAULTS.maxRelays}]
      --no-fsync            do not flush the embedded store on every write (faster, loses the last writes on a crash)
  -d, --debug               more logs
`;

/** Opens the account store a command asked for: PostgreSQL when `postgres` is given, else the embedded one in `dir`. */
export async function openAccountStore(dir: string, postgres?: string, fsync = true): Promise<AccountStore> {
  return postgres !== undefined ? PostgresAccountStore.open(postgres) : FileAccountStore.open(dir, { fsync });
}

export async function registryCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(REGISTRY_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      listen: { type: "string", short: "l" },
      data: { type: "string" },
      postgres: { type: "string" },
      "max-relays": { type: "string" },
      "no-fsync": { type: "boolean" },
      debug: { type: "boolean", short: "d", multiple: true },
    },
  });
  if (values.data !== undefined && values.postgres !== undefined)
    throw new UsageError("give --data or --postgres, not both");
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const { host, port } = parseListen(values.listen ?? "127.0.0.1:8090");
  const maxRelays = values["max-relays"] === undefined ? undefined : Number(values["max-relays"]);
  if (maxRelays !== undefined && (!Number.isInteger(maxRelays) || maxRelays < 1))
    throw new UsageError(`invalid --max-relays '${values["max-relays"]}': expected an integer > 0`);
  const dir = values.data ?? "rmb-registry-data";
  const store = await openAccountStore(dir, values.postgres, values["no-fsync"] !== true);
  const service = new RegistrarService({
    store,
    host,
    port,
    ...(maxRelays === undefined ? {} : { maxRelays }),
  });
  try {
    await service.start();
  } catch (err) {
    await store.close();
    throw new UsageError(`cannot listen on ${values.listen ?? "127.0.0.1:8090"}: ${(err as Error).message}`);
  }
  const where = values.postgres !== undefined ? `postgres ${redact(values.postgres)}` : `file ${dir}`;
  const stopSignal = untilSignal(); // before the start-up line: a supervisor may signal as soon as it reads it
  io.stdout.write(`rmb-registry listening on ${service.url}/v1/accounts (store: ${where})\n`);
  const signal = await stopSignal;
  log.info(`${signal}: stopping`);
  await service.stop();
  await store.close();
  log.info("stopped");
  return 0;
}
