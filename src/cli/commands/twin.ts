import { parseArgs } from "node:util";
import { loadIdentity } from "../../identity/index.js";
import { parseAccountId, RegistrarClient, type Twin } from "../../registry/index.js";
import { UsageError } from "../cli-error.js";
import { type CliIo, printJson } from "../io.js";
import { parseKeyType, resolveSecret } from "./keys.js";

export const TWIN_HELP = `Usage:
  rmb twin create --registrar <URL> [-m <secret>] [-k sr25519|ed25519] [--relay <domain>]... [--json]
  rmb twin show   --registrar <URL> (<twin id> | --account <hex|ss58> | -m <secret>) [-k …] [--json]
  rmb twin update --registrar <URL> [-m <secret>] [-k …] [--relay <domain>]... [--json]

create   registers a twin for the secret's account key, with its relays and the secp256k1 key rmb-peer
         derives from the same secret (none for secrets with derivation paths such as //Alice).
show     prints a twin: account key, SS58 address, relays, encryption key.
update   sets the twin's relays and encryption key (both, like rmb-peer does at start).

--registrar (or $RMB_REGISTRAR) is a TFGrid v4 registrar (https://registrar.dev4.grid.tf) or an
'rmb registry' / 'rmb relay --registry-data' URL. The secret is a mnemonic, a 0x seed or a Substrate
URI; give '-' to read it from standard input, or leave it out to use $RMB_SECRET. Key type: sr25519
by default (rmb-peer's default).
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
      mnemonic: { type: "string", short: "m" },
      "key-type": { type: "string", short: "k" },
      relay: { type: "string", multiple: true },
      account: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const url = values.registrar ?? io.env.RMB_REGISTRAR;
  if (url === undefined || url === "") throw new UsageError("missing --registrar <URL> (or $RMB_REGISTRAR)");
  const client = new RegistrarClient({ url });
  const keyType = parseKeyType(values["key-type"]);

  if (sub === "show") {
    let twin: Twin | undefined;
    if (positionals.length > 1) throw new UsageError("give one twin id");
    if (positionals[0] !== undefined) {
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`invalid twin id '${positionals[0]}'`);
      twin = await client.getTwin(id);
    } else {
      const accountId =
        values.account !== undefined
          ? parseAccount(values.account)
          : loadIdentity(await resolveSecret(io, values.mnemonic), keyType).publicKey;
      const id = await client.getTwinIdByAccount(accountId);
      twin = id === undefined ? undefined : await client.getTwin(id);
    }
    if (twin === undefined) {
      if (values.json === true) printJson(io, null);
      else io.stderr.write("rmb: no such twin\n");
      return 1;
    }
    print(io, twin, values.json === true);
    return 0;
  }

  const identity = loadIdentity(await resolveSecret(io, values.mnemonic), keyType);
  const fields = { relays: values.relay ?? [], pk: identity.e2e?.publicKey };
  const twin =
    sub === "create"
      ? await client.createTwin(identity.signer, fields)
      : await client.updateTwin(identity.signer, fields);
  if (values.json !== true) io.stdout.write(`twin ${twin.id} ${sub === "create" ? "created" : "updated"}\n`);
  print(io, twin, values.json === true);
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
