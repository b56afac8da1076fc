import { loadIdentity } from "../identity/index.js";
import { PeerClient, type RmbCaller, RmbClient } from "../sdk/index.js";
import { UsageError } from "./cli-error.js";
import { parseKeyType, resolveSecret } from "./commands/keys.js";
import type { CliIo } from "./io.js";
import type { Logger } from "./log.js";
import { openRegistry } from "./registry-source.js";

/** parseArgs options shared by `rmb call` and `rmb serve`. */
export const CLIENT_OPTIONS = {
  peer: { type: "string" },
  relay: { type: "string", multiple: true },
  registrar: { type: "string" },
  substrate: { type: "string", short: "s", multiple: true },
  twins: { type: "string" },
  mnemonic: { type: "string", short: "m" },
  "key-type": { type: "string", short: "k" },
  session: { type: "string" },
  debug: { type: "boolean", short: "d", multiple: true },
} as const;

export const CLIENT_HELP = `Connection (one of):
      --peer <REDIS_URL>    through an rmb-peer (ours or rmb-rs's) listening on this Redis
      --relay <URL>         directly over a relay (repeat for failover), as the twin of the secret:
        -m, --mnemonic <S>  its mnemonic or 0x seed ('-' reads stdin; default $RMB_SECRET)
        -k, --key-type <T>  sr25519 (default) or ed25519
        --registrar <URL> | -s, --substrate <URL> | --twins <FILE>
                            where twins are looked up (default $RMB_REGISTRAR)
        --session <ID>      log in as this session of the twin ('random' picks one)
`;

export interface ClientFlags {
  peer?: string | undefined;
  relay?: string[] | undefined;
  registrar?: string | undefined;
  substrate?: string[] | undefined;
  twins?: string | undefined;
  mnemonic?: string | undefined;
  "key-type"?: string | undefined;
  session?: string | undefined;
}

/** A connected caller and what to say about it. */
export interface OpenedClient {
  caller: RmbCaller;
  /** `twin 7 over ws://…` or `rmb-peer at redis://…`. */
  description: string;
  /** How it is connected. */
  via: "relay" | "peer";
  /** This client's twin (known over a relay; through rmb-peer the peer holds it). */
  twin: number | undefined;
  close(): Promise<void>;
}

/** Connects the client the flags describe (a `PeerClient` with `--peer`, else an `RmbClient`). */
export async function openClient(flags: ClientFlags, io: CliIo, log: Logger): Promise<OpenedClient> {
  if (flags.peer !== undefined) {
    if (flags.relay !== undefined) throw new UsageError("give --peer or --relay, not both");
    const caller = await PeerClient.connect({ redis: flags.peer });
    return {
      caller,
      description: `through rmb-peer at ${flags.peer}`,
      via: "peer",
      twin: undefined,
      close: () => caller.close(),
    };
  }
  if (flags.relay === undefined)
    throw new UsageError("give --peer <REDIS_URL> or --relay <URL> (see --help)");
  const registrar =
    flags.registrar ??
    (flags.substrate === undefined && flags.twins === undefined ? io.env.RMB_REGISTRAR : undefined);
  const given = [registrar, flags.substrate, flags.twins].filter((v) => v !== undefined && v !== "");
  if (given.length !== 1) {
    throw new UsageError(
      "give one twin registry: --registrar <URL> (or $RMB_REGISTRAR), --substrate <URL> or --twins <FILE>",
    );
  }
  const identity = loadIdentity(await resolveSecret(io, flags.mnemonic), parseKeyType(flags["key-type"]));
  const opened = await openRegistry({ registrar, substrate: flags.substrate, twins: flags.twins });
  let client: RmbClient;
  try {
    client = await RmbClient.connect({
      identity,
      registry: opened.registry,
      relays: flags.relay,
      ...(flags.session === undefined ? {} : { session: flags.session }),
      log: (level, message) => log.log(level, message),
    });
  } catch (err) {
    await opened.close();
    throw err;
  }
  const session = client.session === undefined ? "" : ` session '${client.session}'`;
  return {
    caller: client,
    description: `as twin ${client.twinId}${session} over ${flags.relay.join(", ")}`,
    via: "relay",
    twin: client.twinId,
    close: async () => {
      await client.close();
      await opened.close();
    },
  };
}
