#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RmbError } from "../errors.js";
import { UsageError } from "./cli-error.js";
import { agentCommand, searchCommand } from "./commands/agent.js";
import { callCommand } from "./commands/call.js";
import { devnetCommand } from "./commands/devnet.js";
import { keysCommand } from "./commands/keys.js";
import { peerCommand } from "./commands/peer.js";
import { registryCommand } from "./commands/registry.js";
import { relayCommand } from "./commands/relay.js";
import { serveCommand } from "./commands/serve.js";
import { testerCommand } from "./commands/tester.js";
import { twinCommand } from "./commands/twin.js";
import type { CliIo } from "./io.js";

const HELP = `rmb — Reliable Message Bus tools (rmb-ts)

Usage: rmb <command> [options]

Commands:
  devnet          run a local network (relay, registry, demo twins, a service) in one command
  call            send a request to twins and print the answers
  serve           answer requests for commands (echo, or a shell command)
  agent           run a P2P agent: membership, service record by tags, search, reputation
  search          find agents offering a service by tag
  keys inspect    show the account key, SS58 address and encryption key of a secret
  keys generate   create a new mnemonic
  relay           run a relay (drop-in for rmb-rs's rmb-relay)
  peer            run a peer gateway with the Redis JSON API (drop-in for rmb-rs's rmb-peer)
  registry        run the twin registry service (TFGrid v4 registrar accounts API)
  tester          send requests through a peer's Redis API and count the responses
  twin create     register a twin (account key, relays, encryption key) in a registrar
  twin show       show a twin
  twin update     set a twin's relays and encryption key
  help            this text

Run 'rmb <command> --help' for the options of a command.
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  agent: agentCommand,
  search: searchCommand,
  call: callCommand,
  devnet: devnetCommand,
  serve: serveCommand,
  keys: keysCommand,
  peer: peerCommand,
  relay: relayCommand,
  registry: registryCommand,
  tester: testerCommand,
  twin: twinCommand,
};

/** Runs the CLI with the given arguments; returns the exit status instead of exiting. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write(`${await version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command '${name}'\n\n${HELP}`);
    return await command(rest, io);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      io.stderr.write(`rmb: ${e.message}\n`);
      return 2;
    }
    if (e instanceof RmbError) {
      io.stderr.write(`rmb: ${e.message} (${e.code})\n`);
      return 1;
    }
    throw e;
  }
}

async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(
        `rmb: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
