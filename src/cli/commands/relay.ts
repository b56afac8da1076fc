import { parseArgs } from "node:util";
import {
  type AccountStore,
  AccountStoreRegistry,
  FileAccountStore,
  MemoryRegistry,
  RegistrarService,
} from "../../registry/index.js";
import { RELAY_DEFAULTS, type RelayOptions, RelayServer } from "../../relay/index.js";
import { UsageError } from "../cli-error.js";
import type { CliIo } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { type OpenedRegistry, openRegistry, reloadTwinsFile } from "../registry-source.js";

export const RELAY_HELP = `Usage: rmb relay [options]

Runs an RMB relay, a drop-in for rmb-rs's rmb-relay (same flags), in embedded mode (queues in memory) unless
--redis is given.

Options (rmb-relay's):
  -m, --domain <D>              a domain of this relay (repeat); twins whose relays list it are local. Required
  -r, --redis <URL>             Redis for queues shared by relay processes (redis://host:port). Default: embedded
  -s, --substrate <URL>         tfchain RPC (repeat: failover); twins read from the chain
  -l, --listen <ADDR>           listen address [default: [::]:8080]
  -w, --workers <N>             with -u, sets the most sessions (workers × users) [default: 500]
  -u, --user-per-worker <N>     [default: 1000]
      --limit <COUNT> <SIZE>    per-twin rate limit: messages and bytes per 60 s (off by default)
  -p, --ranker-period <SECS>    window of the relay ranker [default: 3600]
      --catchup-threshold <N>   most tfchain blocks whose twin events are replayed after missing some (a
                                reconnect); a longer gap clears the twin cache instead [default: 600]
  -d, --debug                   more logs (repeat for trace)

Options (rmb-ts):
      --registrar <URL>         twins from a registrar accounts API (TFGrid v4 registrar or 'rmb registry')
      --registry-data <DIR>     host the registry on this relay's port (/v1/accounts), accounts kept in DIR
      --twins <FILE>            twins registry file: JSON [{"id", "account", "relays", "pk"}]; SIGHUP reloads it
      --redis-cluster <A,B,…>   Redis Cluster seed nodes (host:port,…) instead of --redis
      --federation-url <D=URL>  federate to URL for domain D instead of https://D/ (repeat)
      --max-message-size <B>    largest frame and federation body [default: ${RELAY_DEFAULTS.maxMessageSize}]
      --queue-length <N>        messages kept per offline session [default: ${RELAY_DEFAULTS.sessionQueueLength}]
      --queue-age <SECS>        how long a queued message waits [default: ${RELAY_DEFAULTS.sessionQueueAge}]
      --federation-queue-length <N>  envelopes waiting for other relays at most [default: ${RELAY_DEFAULTS.federationQueueLength}]
      --insecure-federation     accept federated envelopes without checking their signature
      --max-clock-skew <SECS>   refuse federated envelopes dated further ahead [default: ${RELAY_DEFAULTS.maxClockSkew}]
`;

/** `--limit <count> <size>` takes two values; parseArgs takes one, so the pair is joined first. */
function joinLimit(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--limit") {
      const count = argv[i + 1];
      const size = argv[i + 2];
      if (count === undefined || size === undefined)
        throw new UsageError("--limit takes two values: <count> <size>");
      out.push(`--limit=${count} ${size}`);
      i += 2;
    } else {
      out.push(argv[i]!);
    }
  }
  return out;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`invalid ${name} '${value}': expected an integer > 0`);
  return n;
}

/** `[::]:8080`, `0.0.0.0:80`, `127.0.0.1:0`, `:8080` → host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535)
    throw new UsageError(`invalid --listen '${text}': expected HOST:PORT or [IPv6]:PORT`);
  const host = m[1] ?? (m[2] === "" ? "::" : m[2]!);
  return { host, port };
}

export async function relayCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(RELAY_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: joinLimit(argv),
    allowPositionals: false,
    options: {
      domain: { type: "string", short: "m", multiple: true },
      redis: { type: "string", short: "r" },
      "redis-cluster": { type: "string" },
      substrate: { type: "string", short: "s", multiple: true },
      listen: { type: "string", short: "l" },
      workers: { type: "string", short: "w" },
      "user-per-worker": { type: "string", short: "u" },
      limit: { type: "string" },
      "ranker-period": { type: "string", short: "p" },
      "catchup-threshold": { type: "string" },
      debug: { type: "boolean", short: "d", multiple: true },
      twins: { type: "string" },
      registrar: { type: "string" },
      "registry-data": { type: "string" },
      "federation-url": { type: "string", multiple: true },
      "max-message-size": { type: "string" },
      "queue-length": { type: "string" },
      "queue-age": { type: "string" },
      "federation-queue-length": { type: "string" },
      "insecure-federation": { type: "boolean" },
      "max-clock-skew": { type: "string" },
    },
  });
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const domains = values.domain ?? [];
  if (domains.length === 0) throw new UsageError("at least one --domain is required");
  const sources = [values.twins, values.registrar, values["registry-data"], values.substrate].filter(
    (v) => v !== undefined,
  );
  if (sources.length !== 1) {
    throw new UsageError(
      "give one twin registry: --registry-data DIR (hosted here), --registrar URL, --substrate URL or --twins FILE",
    );
  }
  const workers = positive("--workers", values.workers, 500);
  const perWorker = positive("--user-per-worker", values["user-per-worker"], 1000);
  const catchupThreshold = positive("--catchup-threshold", values["catchup-threshold"], 600);
  const { host, port } = parseListen(values.listen ?? "[::]:8080");

  const options: RelayOptions = {
    domains,
    registry: new MemoryRegistry(),
    host,
    port,
    maxSessions: workers * perWorker,
    rankerPeriod: positive("--ranker-period", values["ranker-period"], RELAY_DEFAULTS.rankerPeriod),
    maxMessageSize: positive("--max-message-size", values["max-message-size"], RELAY_DEFAULTS.maxMessageSize),
    sessionQueueLength: positive("--queue-length", values["queue-length"], RELAY_DEFAULTS.sessionQueueLength),
    sessionQueueAge: positive("--queue-age", values["queue-age"], RELAY_DEFAULTS.sessionQueueAge),
    federationQueueLength: positive(
      "--federation-queue-length",
      values["federation-queue-length"],
      RELAY_DEFAULTS.federationQueueLength,
    ),
    verifyFederatedSignatures: values["insecure-federation"] !== true,
    maxClockSkew: positive("--max-clock-skew", values["max-clock-skew"], RELAY_DEFAULTS.maxClockSkew),
    log: (level, message) => log.log(level, message),
  };
  if (values.limit !== undefined) {
    const [count, size] = values.limit.split(" ");
    options.rateLimit = {
      count: positive("--limit count", count, 0),
      size: positive("--limit size", size, 0),
    };
  }
  if (values.redis !== undefined && values["redis-cluster"] !== undefined) {
    throw new UsageError("give --redis or --redis-cluster, not both");
  }
  if (values.redis !== undefined) options.redis = values.redis;
  if (values["redis-cluster"] !== undefined) options.redis = { cluster: values["redis-cluster"].split(",") };
  const urls: Record<string, string> = {};
  for (const pair of values["federation-url"] ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --federation-url '${pair}': expected DOMAIN=URL`);
    urls[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  options.federationUrls = urls;

  let opened: OpenedRegistry | undefined;
  let store: AccountStore | undefined;
  let registryNote: string;
  if (values["registry-data"] === undefined) {
    opened = await openRegistry({ ...values, catchupThreshold });
    options.registry = opened.registry;
    registryNote = opened.note;
  } else {
    const dir = values["registry-data"];
    const fileStore = await FileAccountStore.open(dir);
    store = fileStore;
    const service = new RegistrarService({ store: fileStore });
    options.registry = new AccountStoreRegistry(fileStore);
    options.httpRoutes = (req, res) => service.handle(req, res, false);
    registryNote = `registry: hosted here at /v1/accounts, data in ${dir}`;
  }
  const relay = new RelayServer(options);
  let bound: number;
  try {
    ({ port: bound } = await relay.start());
  } catch (err) {
    await store?.close();
    await opened?.close();
    throw err;
  }
  const shown = host.includes(":") ? `[${host}]` : host;
  const mode =
    options.redis === undefined
      ? "embedded (queues in memory)"
      : `redis ${typeof options.redis === "string" ? redact(options.redis) : options.redis.cluster.join(",")}`;
  const twinsFile = opened?.twinsFile;
  if (twinsFile !== undefined) log.info(`${twinsFile.registry.size} twins loaded from ${twinsFile.path}`);
  const closeRegistry = async () => {
    await store?.close();
    await opened?.close();
  };

  return new Promise<number>((resolve) => {
    let stopping = false;
    const reload = () => {
      if (opened !== undefined) reloadTwinsFile(opened, log);
    };
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: draining and stopping`);
      relay
        .stop()
        .then(closeRegistry)
        .then(
          () => {
            process.off("SIGINT", onInt);
            process.off("SIGTERM", onTerm);
            process.off("SIGHUP", reload);
            log.info("stopped");
            resolve(0);
          },
          (err: unknown) => {
            log.error(`stop failed: ${err instanceof Error ? err.message : String(err)}`);
            resolve(1);
          },
        );
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", reload);
    // Said once the signal handlers are in place: a supervisor may signal as soon as it reads this line.
    io.stdout.write(
      `rmb-relay listening on http://${shown}:${bound} (domains: ${domains.join(", ")}; queues: ${mode}; ${registryNote})\n`,
    );
  });
}

/** Hides a password in a Redis URL for logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}
