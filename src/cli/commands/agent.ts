import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../errors.js";
import { loadIdentity } from "../../identity/index.js";
import {
  P2P_DEFAULTS,
  P2pAgent,
  type P2pEvent,
  type P2pOptions,
  RmbAgentTransport,
  registryBootstrap,
  registryKeys,
  resolveOptions,
  type ServiceTags,
  TAG_FIELDS,
  type TagQuery,
} from "../../p2p/index.js";
import { CachedRegistry } from "../../registry/index.js";
import { RmbClient } from "../../sdk/index.js";
import { UsageError } from "../cli-error.js";
import { type CliIo, printJson } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { openRegistry } from "../registry-source.js";
import { untilSignal } from "../signals.js";
import { parseKeyType, resolveSecret } from "./keys.js";

const CONNECTION_HELP = `Connection (direct over relays; agents authenticate each other through RMB):
      --relay <URL>         relay websocket URL (repeat for failover)
  -m, --mnemonic <S>        the twin's mnemonic or 0x seed ('-' reads stdin; default $RMB_SECRET)
  -k, --key-type <T>        sr25519 (default) or ed25519
      --registrar <URL> | -s, --substrate <URL> | --twins <FILE>
                            where twins and their keys are looked up (default $RMB_REGISTRAR)
  -b, --bootstrap <IDS>     agents to join first, comma separated twin ids; without it, the agent
                            looks for agents among the twins of the registry (newest first);
                            --bootstrap '' starts alone (waits to be joined)
  -o, --option <NAME=VALUE> a P2P option (repeatable), e.g. -o periodMs=500 -o homeReplicas=0
  -d, --debug               more logs
`;

export const AGENT_HELP = `Usage: rmb agent [--tags <FIELD=VALUE,…>] [--bootstrap <IDS>] [options]

Runs a P2P agent as the twin of the secret until SIGINT/SIGTERM: it joins the agents given with
--bootstrap (none: agents found in the twin registry, else it waits to be joined), keeps a membership
list with imAlive heartbeats (SWIM failure detection), advertises a service record signed by its twin
key when --tags is given, answers and forwards searches, and keeps reputation scores. Member changes,
misbehaviour and reports are printed as they happen.

Options:
      --tags <T>            e.g. category=barber,location=ghent,name=joe,adjective=trusted
                            (fields: ${TAG_FIELDS.join(", ")}; category is required)
      --json                print events as JSON lines

${CONNECTION_HELP}`;

export const SEARCH_HELP = `Usage: rmb search <tag | FIELD=VALUE,…> [--bootstrap <IDS>] [options]

Finds agents offering a service: joins the network through the bootstrap agents (none: agents found in
the twin registry) for a moment, asks with a hop limit, prints the twins found (with their tags and
reputation) and leaves.

Options:
      --max-hops <N>        hops the query may travel [default: 4]
      --min-reputation <R>  drop results scoring below R (0…1)
  -t, --timeout <SECS>      give up after this long [default: 10]
      --json                print the results as JSON

${CONNECTION_HELP}`;

const OPTIONS = {
  relay: { type: "string", multiple: true },
  registrar: { type: "string" },
  substrate: { type: "string", short: "s", multiple: true },
  twins: { type: "string" },
  mnemonic: { type: "string", short: "m" },
  "key-type": { type: "string", short: "k" },
  bootstrap: { type: "string", short: "b" },
  option: { type: "string", short: "o", multiple: true },
  json: { type: "boolean" },
  debug: { type: "boolean", short: "d", multiple: true },
} as const;

type ConnectionValues = {
  relay?: string[] | undefined;
  registrar?: string | undefined;
  substrate?: string[] | undefined;
  twins?: string | undefined;
  mnemonic?: string | undefined;
  "key-type"?: string | undefined;
  bootstrap?: string | undefined;
  option?: string[] | undefined;
};

/** `category=barber,location=ghent` → tags (or a plain tag for a search). */
function parseFields(text: string, what: string): Partial<ServiceTags> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const field = part.slice(0, eq).trim();
    if (eq <= 0 || !(TAG_FIELDS as readonly string[]).includes(field)) {
      throw new UsageError(
        `invalid ${what} '${part}': expected FIELD=VALUE with FIELD one of ${TAG_FIELDS.join(", ")}`,
      );
    }
    out[field] = part.slice(eq + 1).trim();
  }
  return out as Partial<ServiceTags>;
}

function parseIds(text: string | undefined): number[] {
  if (text === undefined || text === "") return [];
  return text.split(",").map((t) => {
    const n = Number(t.trim());
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError(`invalid --bootstrap '${text}': expected twin ids`);
    return n;
  });
}

/** `-o periodMs=500` → `{ periodMs: 500 }` (checked by the agent, which names a bad option). */
function parseOptions(list: string[] | undefined): Partial<P2pOptions> {
  const out: Record<string, number> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    const name = item.slice(0, eq).trim();
    const value = Number(item.slice(eq + 1).trim());
    if (eq <= 0 || item.slice(eq + 1).trim() === "" || !Number.isFinite(value)) {
      throw new UsageError(`invalid --option '${item}': expected NAME=NUMBER (see P2P_DEFAULTS)`);
    }
    if (!(name in P2P_DEFAULTS)) throw new UsageError(`invalid --option '${item}': no option '${name}'`);
    out[name] = value;
  }
  try {
    resolveOptions(out as Partial<P2pOptions>);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(`invalid --option: ${err.message}`);
    throw err;
  }
  return out as Partial<P2pOptions>;
}

async function startAgent(values: ConnectionValues, io: CliIo, log: Logger, tags: ServiceTags | undefined) {
  if (values.relay === undefined) throw new UsageError("give --relay <URL>");
  const registrar =
    values.registrar ??
    (values.substrate === undefined && values.twins === undefined ? io.env.RMB_REGISTRAR : undefined);
  if ([registrar, values.substrate, values.twins].filter((v) => v !== undefined && v !== "").length !== 1) {
    throw new UsageError(
      "give one twin registry: --registrar <URL> (or $RMB_REGISTRAR), --substrate <URL> or --twins <FILE>",
    );
  }
  const bootstrap = parseIds(values.bootstrap);
  const options = parseOptions(values.option);
  const identity = loadIdentity(await resolveSecret(io, values.mnemonic), parseKeyType(values["key-type"]));
  const opened = await openRegistry({ registrar, substrate: values.substrate, twins: values.twins });
  const registry = new CachedRegistry(opened.registry);
  let client: RmbClient;
  try {
    client = await RmbClient.connect({
      identity,
      registry,
      relays: values.relay,
      log: (level, message) => log.log(level, message),
    });
  } catch (err) {
    await opened.close();
    throw err;
  }
  let agent: P2pAgent;
  try {
    agent = new P2pAgent({
      transport: new RmbAgentTransport(client, client.twinId),
      signer: identity.signer,
      keys: registryKeys(registry),
      ...(tags === undefined ? {} : { tags }),
      bootstrap,
      // No --bootstrap: look for agents among the twins of the registry (`--bootstrap ''`: wait to be joined).
      ...(values.bootstrap === undefined ? { discover: registryBootstrap(registry) } : {}),
      options,
    });
  } catch (err) {
    await client.close();
    registry.close();
    await opened.close();
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
    throw err;
  }
  return {
    agent,
    client,
    async stop() {
      agent.stop();
      await client.close();
      registry.close();
      await opened.close();
    },
  };
}

export async function agentCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(AGENT_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: { ...OPTIONS, tags: { type: "string" } },
  });
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  let tags: ServiceTags | undefined;
  if (values.tags !== undefined) {
    const fields = parseFields(values.tags, "--tags");
    if (fields.category === undefined || fields.category === "")
      throw new UsageError("--tags needs category=…");
    tags = fields as ServiceTags;
  }
  const running = await startAgent(values, io, log, tags);
  const json = values.json === true;
  running.agent.on((event: P2pEvent) => {
    if (json) {
      io.stdout.write(`${JSON.stringify(event)}\n`);
    } else if (event.type === "member") {
      io.stdout.write(
        `member ${event.twin}: ${event.previous ?? "unknown"} → ${event.state} (${event.cause})\n`,
      );
    } else if (event.type === "misbehaviour") {
      io.stdout.write(`twin ${event.twin} misbehaved: ${event.outcome} (${event.reason})\n`);
    } else if (event.type === "report") {
      const how =
        event.reporter === running.client.twinId ? "filed" : event.accepted ? "accepted" : "ignored";
      io.stdout.write(`report by ${event.reporter} about ${event.subject}: ${event.reason} (${how})\n`);
    } else {
      io.stdout.write(
        event.joined.length > 0
          ? `discovery: joined through twin ${event.joined.join(", ")} (${event.candidates} candidates from the registry)\n`
          : `discovery: no agent among ${event.candidates} candidates from the registry\n`,
      );
    }
  });
  const stopSignal = untilSignal();
  await running.agent.start();
  const what =
    tags === undefined
      ? "no service"
      : Object.entries(tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(",");
  io.stdout.write(
    `agent running as twin ${running.client.twinId} (${what}); ${running.agent.members().length} members known\n`,
  );
  const signal = await stopSignal;
  log.info(`${signal}: stopping`);
  await running.stop();
  return 0;
}

export async function searchCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(SEARCH_HELP);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...OPTIONS,
      "max-hops": { type: "string" },
      "min-reputation": { type: "string" },
      timeout: { type: "string", short: "t" },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`give one tag to search for\n\n${SEARCH_HELP}`);
  const text = positionals[0] as string;
  const query: TagQuery = text.includes("=") ? parseFields(text, "query") : text;
  const maxHops = Number(values["max-hops"] ?? 4);
  const minReputation = Number(values["min-reputation"] ?? 0);
  const timeout = Number(values.timeout ?? 10);
  if (!Number.isInteger(maxHops) || maxHops < 0)
    throw new UsageError(`invalid --max-hops '${values["max-hops"]}'`);
  if (!(minReputation >= 0 && minReputation <= 1))
    throw new UsageError(`invalid --min-reputation '${values["min-reputation"]}'`);
  if (!(timeout > 0)) throw new UsageError(`invalid --timeout '${values.timeout}'`);
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const running = await startAgent(values, io, log, undefined);
  try {
    await running.agent.start();
    if (running.agent.members().length === 0) {
      io.stderr.write(
        values.bootstrap === undefined
          ? "rmb: found no agent to ask among the twins of the registry; give --bootstrap <IDS>\n"
          : `rmb: none of the bootstrap agents (${values.bootstrap}) answered\n`,
      );
      return 1;
    }
    const response = await running.agent.search(query, { maxHops, minReputation, timeoutMs: timeout * 1000 });
    if (values.json === true) {
      printJson(io, {
        hops: response.hops ?? null,
        fromCache: response.fromCache,
        results: response.results.map((r) => ({ twin: r.twin, tags: r.tags, reputation: r.reputation })),
      });
    } else if (response.results.length === 0) {
      io.stderr.write(`rmb: nothing found for '${text}'\n`);
    } else {
      for (const r of response.results) {
        const tags = Object.entries(r.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(",");
        io.stdout.write(`twin ${r.twin}  ${tags}  reputation ${r.reputation.toFixed(2)}\n`);
      }
      io.stdout.write(
        `(${response.results.length} found in ${response.hops} hop(s)${response.fromCache ? ", from a cache" : ""})\n`,
      );
    }
    return response.results.length > 0 ? 0 : 1;
  } finally {
    await running.stop();
  }
}
