import { parseArgs } from "node:util";
import { loadIdentity } from "../../identity/index.js";
import {
  parseAccountId,
  RegistrarClient,
  TfchainRegistry,
  type Twin,
  type WritableTwinRegistry,
} from "../../registry/index.js";
import { UsageError } from "../cli-error.js";
import { type CliIo, printJson } from "../io.js";
import { parseKeyType, resolveSecret } from "./keys.js";

export const TWIN_HELP = `Usage:
  rmb twin create (--registrar <URL> | -s <URL>...) [-m <secret>] [-k sr25519|ed25519] [--relay <domain>]... [--json]
  rmb twin show   (--registrar <URL> | -s <URL>...) (<twin id> | --account <hex|ss58> | -m <secret>) [-k …] [--json]
  rmb twin update (--registrar <URL> | -s <URL>...) [-m <secret>] [-k …] [--relay <domain>]... [--json]

create   registers a twin for the secret's account key, with its relays and the secp256k1 key rmb-peer
         derives from the same secret (none for secrets with derivation paths such as //Alice).
show     prints a twin: account key, SS58 address, relays, encryption key.
update   sets the twin's relays and encryption key (both, like rmb-peer does at start).

--registrar (or $RMB_REGISTRAR) is a TFGrid v4 registrar (https://registrar.dev4.grid.tf) or an
'rmb registry' / 'rmb relay --registry-data' URL. -s/--substrate is a tfchain node's RPC URL
(wss://tfchain.grid.tf:443; repeat for failover): create and update submit signed createTwin/updateTwin
extrinsics (the account needs tokens for the fee, and must have accepted the terms and conditions to
create). The secret is a mnemonic, a 0x seed or a Substrate URI; give '-' to read it from standard
input, or leave it out to use $RMB_SECRET. Key type: sr25519 by default (rmb-peer's default).
`;

export async function twinCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
    io.stdout.write(TWIN_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "create" && sub !== "show" && sub !== "update")
    throw new UsageError(`unknown 'twin' command '${sub}'\n\n${TWIN_HELP}`);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(TWIN_HELP);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: sub === "show",
    options: {
      registrar: { type: "string" },
      substrate: { type: "string", short: "s", multiple: true },
      mnemonic: { type: "string", short: "m" },
      "key-type": { type: "string", short: "k" },
      relay: { type: "string", multiple: true },
      account: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const url = values.registrar ?? (values.substrate === undefined ? io.env.RMB_REGISTRAR : undefined);
  if (url !== undefined && values.substrate !== undefined)
    throw new UsageError("give --registrar <URL> or --substrate <URL>, not both");
  if ((url === undefined || url === "") && values.substrate === undefined)
    throw new UsageError("missing --registrar <URL> (or $RMB_REGISTRAR) or --substrate <URL>");
  const keyType = parseKeyType(values["key-type"]);
  const secret =
    sub === "show" && values.mnemonic === undefined ? undefined : await resolveSecret(io, values.mnemonic);
  if (sub === "show") {
    if (positionals.length > 1) throw new UsageError("give one twin id");
    if (positionals[0] !== undefined) {
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`invalid twin id '${positionals[0]}'`);
    }
  }
  let registry: WritableTwinRegistry;
  let close: () => Promise<void> = async () => {};
  if (values.substrate !== undefined) {
    const chain = new TfchainRegistry({ urls: values.substrate, followEvents: false });
    await chain.start();
    registry = chain;
    close = () => chain.close();
  } else {
    registry = new RegistrarClient({ url: url as string });
  }
  try {
    return await run(sub, registry, io, {
      positional: positionals[0],
      account: values.account,
      secret,
      keyType,
      relays: values.relay ?? [],
      json: values.json === true,
    });
  } finally {
    await close();
  }
}

async function run(
  sub: "create" | "show" | "update",
  registry: WritableTwinRegistry,
  io: CliIo,
  args: {
    positional: string | undefined;
    account: string | undefined;
    secret: string | undefined;
    keyType: ReturnType<typeof parseKeyType>;
    relays: string[];
    json: boolean;
  },
): Promise<number> {
  if (sub === "show") {
    let twin: Twin | undefined;
    if (args.positional !== undefined) {
      twin = await registry.getTwin(Number(args.positional));
    } else {
      const accountId =
        args.account !== undefined
          ? parseAccount(args.account)
          : loadIdentity(args.secret ?? (await resolveSecret(io, undefined)), args.keyType).publicKey;
      const id = await registry.getTwinIdByAccount(accountId);
      twin = id === undefined ? undefined : await registry.getTwin(id);
    }
    if (twin === undefined) {
      if (args.json) printJson(io, null);
      else io.stderr.write("rmb: no such twin\n");
      return 1;
    }
    print(io, twin, args.json);
    return 0;
  }

  const identity = loadIdentity(args.secret as string, args.keyType);
  const fields = { relays: args.relays, pk: identity.e2e?.publicKey };
  const twin =
    sub === "create"
      ? await registry.createTwin(identity.signer, fields)
      : await registry.updateTwin(identity.signer, fields);
  if (!args.json) io.stdout.write(`twin ${twin.id} ${sub === "create" ? "created" : "updated"}\n`);
  print(io, twin, args.json);
  return 0;
}

function parseAccount(text: string): Uint8Array {
  try {
    return parseAccountId(text);
  } catch {
    throw new UsageError(`invalid --account '${text}': expected 32 bytes of hex or an SS58 address`);
  }
}

function print(io: CliIo, twin: Twin, json: boolean): void {
  const view = {
    id: twin.id,
    account: Buffer.from(twin.accountId).toString("hex"),
    relays: twin.relays ?? [],
    pk: twin.pk === undefined ? null : Buffer.from(twin.pk).toString("hex"),
  };
  if (json) {
    printJson(io, view);
    return;
  }
  io.stdout.write(`id:       ${view.id}\n`);
  io.stdout.write(`account:  ${view.account}\n`);
  io.stdout.write(`relays:   ${view.relays.length === 0 ? "(none)" : view.relays.join(", ")}\n`);
  io.stdout.write(`e2e key:  ${view.pk ?? "(none)"}\n`);
}
