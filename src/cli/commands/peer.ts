import { parseArgs } from "node:util";
import { loadIdentity } from "../../identity/index.js";
import { PEER_DEFAULTS, RmbPeer } from "../../peer/index.js";
import { UsageError } from "../cli-error.js";
import type { CliIo } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { openRegistry, reloadTwinsFile } from "../registry-source.js";
import { untilSignal } from "../signals.js";
import { parseKeyType, resolveSecret } from "./keys.js";
import { redact } from "./relay.js";

export const DEFAULT_SUBSTRATE = "wss://tfchain.grid.tf:443";
export const DEFAULT_RELAY = "wss://relay.grid.tf:443";

export const PEER_HELP = `Usage: rmb peer [options]

Runs an RMB peer gateway, a drop-in for rmb-rs's rmb-peer (same flags and Redis API): local clients
push requests to msgbus.system.local and pop responses from their reply queue; local services pop
requests from msgbus.<cmd> and push responses to msgbus.system.reply.

Options (rmb-peer's):
  -m, --mnemonic <S>        the twin's secret: a mnemonic or a 0x seed ('-' reads standard input;
                            default $RMB_SECRET)
      --mnemonics <S>       deprecated alias of --mnemonic
      --seed <S>            deprecated alias of --mnemonic
  -k, --key-type <T>        sr25519 or ed25519 [default: sr25519]
  -r, --redis <URL>         local Redis [default: ${PEER_DEFAULTS.redis}]
  -s, --substrate <URL>     tfchain RPC (repeat: failover) [default: ${DEFAULT_SUBSTRATE}]
      --relay <URL>         relay websocket URL (repeat, at most ${PEER_DEFAULTS.maxRelays}) [default: ${DEFAULT_RELAY}]
      --no-update           leave the twin's registry record (relays, encryption key) alone
  -u, --uploads <PATH>      accepted for compatibility; uploads are disabled, as in rmb-peer
  -d, --debug               more logs

Options (rmb-ts):
      --registrar <URL>     twins from a registrar accounts API instead of tfchain (TFGrid v4
                            registrar, 'rmb registry', or a relay started with --registry-data)
      --twins <FILE>        twins from a JSON file instead of tfchain (implies nothing is updated)
      --twin-id <ID>        this twin's id (skips the lookup by account key)
      --max-clock-skew <S>  refuse envelopes dated more than S seconds ahead (code 102)
                            [default: ${PEER_DEFAULTS.maxClockSkew}]
`;

export async function peerCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(PEER_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      mnemonic: { type: "string", short: "m" },
      mnemonics: { type: "string" },
      seed: { type: "string" },
      "key-type": { type: "string", short: "k" },
      redis: { type: "string", short: "r" },
      substrate: { type: "string", short: "s", multiple: true },
      relay: { type: "string", multiple: true },
      "no-update": { type: "boolean" },
      uploads: { type: "string", short: "u" },
      debug: { type: "boolean", short: "d", multiple: true },
      registrar: { type: "string" },
      twins: { type: "string" },
      "twin-id": { type: "string" },
      "max-clock-skew": { type: "string" },
    },
  });
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const secrets = [values.mnemonic, values.mnemonics, values.seed].filter((v) => v !== undefined);
  if (secrets.length > 1) throw new UsageError("give one of --mnemonic, --mnemonics, --seed");
  const keyType = parseKeyType(values["key-type"]);
  const identity = loadIdentity(await resolveSecret(io, secrets[0]), keyType);
  const relays = values.relay ?? [DEFAULT_RELAY];
  if (relays.length > PEER_DEFAULTS.maxRelays) {
    throw new UsageError(`at most ${PEER_DEFAULTS.maxRelays} --relay URLs (${relays.length} given)`);
  }
  for (const url of relays) {
    if (!/^wss?:\/\//.test(url))
      throw new UsageError(`invalid --relay '${url}': expected ws:// or wss:// URL`);
  }
  const registryFlags = [values.registrar, values.twins, values.substrate].filter((v) => v !== undefined);
  if (registryFlags.length > 1)
    throw new UsageError("give one twin registry: --substrate, --registrar or --twins");
  let twinId: number | undefined;
  if (values["twin-id"] !== undefined) {
    twinId = Number(values["twin-id"]);
    if (!Number.isSafeInteger(twinId) || twinId < 1 || twinId > 0xffffffff) {
      throw new UsageError(`invalid --twin-id '${values["twin-id"]}'`);
    }
  }
  let maxClockSkew: number = PEER_DEFAULTS.maxClockSkew;
  if (values["max-clock-skew"] !== undefined) {
    maxClockSkew = Number(values["max-clock-skew"]);
    if (!Number.isSafeInteger(maxClockSkew) || maxClockSkew < 0) {
      throw new UsageError(`invalid --max-clock-skew '${values["max-clock-skew"]}': expected seconds >= 0`);
    }
  }
  const opened = await openRegistry({
    registrar: values.registrar,
    twins: values.twins,
    substrate:
      values.registrar === undefined && values.twins === undefined
        ? (values.substrate ?? [DEFAULT_SUBSTRATE])
        : undefined,
  });
  const redis = values.redis ?? PEER_DEFAULTS.redis;
  const peer = new RmbPeer({
    identity,
    registry: opened.registry,
    relays,
    redis,
    update: values["no-update"] !== true && opened.twinsFile === undefined,
    ...(twinId === undefined ? {} : { twinId }),
    maxClockSkew,
    log: (level, message) => log.log(level, message),
  });
  try {
    await peer.start();
  } catch (err) {
    await opened.close();
    throw err;
  }
  const stopSignal = untilSignal(); // before the start-up line: a supervisor may signal as soon as it reads it
  io.stdout.write(
    `rmb-peer running as twin ${peer.twinId} (${identity.ss58}, ${keyType}); redis ${redact(redis)}; relays ${relays.join(", ")}; ${opened.note}\n`,
  );
  const onHup = () => reloadTwinsFile(opened, log);
  process.on("SIGHUP", onHup);
  const signal = await stopSignal;
  process.off("SIGHUP", onHup);
  log.info(`${signal}: stopping`);
  await peer.stop();
  log.info(`stats ${JSON.stringify(peer.stats)}`);
  await opened.close();
  log.info("stopped");
  return 0;
}
