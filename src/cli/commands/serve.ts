import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { messageOf } from "../../errors.js";
import { WireErrorCode } from "../../protocol/index.js";
import { bytes, type Handler, RmbHandlerError } from "../../sdk/index.js";
import { JSON_SCHEMA, toPayload } from "../../sdk/payload.js";
import { UsageError } from "../cli-error.js";
import { CLIENT_HELP, CLIENT_OPTIONS, openClient } from "../client-flags.js";
import type { CliIo } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";
import { untilSignal } from "../signals.js";

export const SERVE_HELP = `Usage: rmb serve <command>… [--exec <SHELL COMMAND>] [options]

Answers requests for the given commands until SIGINT/SIGTERM. By default each request is answered
with its own payload (echo). With --exec, each request runs the shell command with the payload on
standard input and RMB_SOURCE (caller twin[:session]), RMB_COMMAND and RMB_UID in the environment;
its standard output is the answer (schema application/json when it is JSON, else text/plain) and a
non-zero exit answers error 255 with its standard error.

Options:
      --exec <CMD>         run CMD (/bin/sh -c) for every request
      --exec-timeout <S>   kill CMD after S seconds [default: 30]
      --json               print JSON lines: one when ready, one per request handled, one when stopped

${CLIENT_HELP}`;

function echo(): Handler {
  return (req) => bytes(req.data, req.schema);
}

function exec(command: string, timeoutMs: number): Handler {
  return (req) =>
    new Promise((resolve, reject) => {
      const source =
        req.source.session === undefined ? `${req.source.twin}` : `${req.source.twin}:${req.source.session}`;
      const child = spawn("/bin/sh", ["-c", command], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, RMB_SOURCE: source, RMB_COMMAND: req.command, RMB_UID: req.uid },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new RmbHandlerError(255, `cannot run the handler: ${e.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) {
          const why =
            Buffer.concat(err).toString("utf8").trim() ||
            (signal !== null ? `killed by ${signal}` : `exit status ${code}`);
          reject(new RmbHandlerError(255, why));
          return;
        }
        const output = new Uint8Array(Buffer.concat(out));
        const asText = Buffer.from(output).toString("utf8");
        let schema = "text/plain";
        try {
          JSON.parse(asText);
          schema = JSON_SCHEMA;
        } catch {
          // not JSON: text
        }
        resolve(bytes(output, schema));
      });
      child.stdin.on("error", () => {}); // the command may not read its input
      child.stdin.end(Buffer.from(req.data));
    });
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      exec: { type: "string" },
      "exec-timeout": { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (positionals.length === 0) throw new UsageError(`give at least one command to serve\n\n${SERVE_HELP}`);
  const execTimeout = Number(values["exec-timeout"] ?? 30);
  if (!Number.isFinite(execTimeout) || execTimeout <= 0)
    throw new UsageError(`invalid --exec-timeout '${values["exec-timeout"]}'`);
  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const client = await openClient(values, io, log);
  const handler = values.exec === undefined ? echo() : exec(values.exec, execTimeout * 1000);
  const json = values.json === true;
  const line = (value: Record<string, unknown>) => io.stdout.write(`${JSON.stringify(value)}\n`);
  let served = 0;
  for (const command of positionals) {
    client.caller.serve(command, async (req) => {
      served++;
      log.debug(
        `${command} from ${req.source.twin}${req.source.session === undefined ? "" : `:${req.source.session}`}`,
      );
      if (!json) return handler(req);
      const started = performance.now();
      const report = {
        type: "request",
        command,
        source: { twin: req.source.twin, session: req.source.session ?? null },
        uid: req.uid,
      };
      const ms = () => Number((performance.now() - started).toFixed(2));
      try {
        const answer = toPayload(await handler(req));
        line({ ...report, ok: true, schema: answer.schema ?? null, bytes: answer.data.length, ms: ms() });
        return answer;
      } catch (err) {
        const code = err instanceof RmbHandlerError ? err.wireCode : WireErrorCode.Handler;
        line({ ...report, ok: false, error: { code, message: messageOf(err) }, ms: ms() });
        throw err;
      }
    });
  }
  const stopSignal = untilSignal(); // before "serving …": a supervisor may signal as soon as it reads it
  const mode = values.exec === undefined ? "echo" : `exec: ${values.exec}`;
  if (json) {
    line({
      type: "ready",
      commands: positionals,
      mode: values.exec === undefined ? "echo" : "exec",
      exec: values.exec ?? null,
      via: client.via,
      twin: client.twin ?? null,
      connection: client.description,
    });
  } else {
    io.stdout.write(`serving ${positionals.join(", ")} (${mode}) ${client.description}; Ctrl-C stops\n`);
  }
  const signal = await stopSignal;
  log.info(`${signal}: stopping after ${served} request(s)`);
  await client.close();
  if (json) line({ type: "stopped", signal, served });
  return 0;
}
