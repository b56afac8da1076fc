import { parseArgs } from "node:util";
import { generateMnemonic, KeyType, loadIdentity } from "../../identity/index.js";
import { UsageError } from "../cli-error.js";
import { type CliIo, printJson, readAll } from "../io.js";

export const KEYS_HELP = `Usage:
  rmb keys inspect [--key-type sr25519|ed25519] [--json] <secret uri | ->
  rmb keys generate [--words 12|15|18|21|24] [--key-type sr25519|ed25519] [--json]

inspect   shows which twin account a secret is: the account public key (hex), its SS58 address
          (prefix 42) and the secp256k1 public key used for end-to-end encryption.
          The secret is a BIP-39 mnemonic, a 0x hex seed, or a Substrate URI such as //Alice.
          Give '-' to read it from standard input, or leave it out to use $RMB_SECRET
          (a secret on the command line is visible to other users of the machine).
generate  creates a new random mnemonic and inspects it.
`;

export function parseKeyType(value: string | undefined): KeyType {
  const v = (value ?? KeyType.Sr25519).toLowerCase();
  if (v !== KeyType.Ed25519 && v !== KeyType.Sr25519) {
    throw new UsageError(`invalid --key-type '${value}': expected ed25519 or sr25519`);
  }
  return v;
}

export async function resolveSecret(io: CliIo, given: string | undefined): Promise<string> {
  if (given === "-") return (await readAll(io.stdin)).trim();
  if (given !== undefined) return given;
  const env = io.env.RMB_SECRET;
  if (env !== undefined && env !== "") return env;
  throw new UsageError(
    "missing secret: give a mnemonic, a 0x seed, '-' for standard input, or set RMB_SECRET",
  );
}

function describe(secret: string, keyType: KeyType) {
  const id = loadIdentity(secret, keyType);
  return {
    keyType,
    publicKey: Buffer.from(id.publicKey).toString("hex"),
    ss58: id.ss58,
    secp256k1PublicKey: id.e2e === undefined ? null : Buffer.from(id.e2e.publicKey).toString("hex"),
  };
}

function printHuman(io: CliIo, info: ReturnType<typeof describe>, mnemonic?: string): void {
  if (mnemonic !== undefined) io.stdout.write(`mnemonic:           ${mnemonic}\n`);
  io.stdout.write(`key type:           ${info.keyType}\n`);
  io.stdout.write(`public key (hex):   ${info.publicKey}\n`);
  io.stdout.write(`ss58 address:       ${info.ss58}\n`);
  io.stdout.write(
    `secp256k1 key:      ${info.secp256k1PublicKey ?? "(none: derivation paths give no encryption key, as in rmb-peer)"}\n`,
  );
}

export async function keysCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
    io.stdout.write(KEYS_HELP);
    return sub === undefined ? 2 : 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      "key-type": { type: "string", short: "k" },
      json: { type: "boolean", default: false },
      words: { type: "string" },
    },
  });
  const keyType = parseKeyType(values["key-type"]);
  if (sub === "inspect") {
    if (positionals.length > 1) throw new UsageError("inspect takes one secret (quote a mnemonic)");
    const info = describe(await resolveSecret(io, positionals[0]), keyType);
    if (values.json) printJson(io, info);
    else printHuman(io, info);
    return 0;
  }
  if (sub === "generate") {
    const words = Number(values.words ?? 12);
    if (![12, 15, 18, 21, 24].includes(words)) throw new UsageError("--words must be 12, 15, 18, 21 or 24");
    const mnemonic = generateMnemonic(words);
    const info = describe(mnemonic, keyType);
    if (values.json) printJson(io, { mnemonic, ...info });
    else printHuman(io, info, mnemonic);
    return 0;
  }
  throw new UsageError(`unknown keys command '${sub}'\n\n${KEYS_HELP}`);
}
