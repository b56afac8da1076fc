import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  bytes,
  type CallResult,
  type Payload,
  RmbCallError,
  type RmbResponse,
  text,
} from "../../sdk/index.js";
import { JSON_SCHEMA } from "../../sdk/payload.js";
import { UsageError } from "../cli-error.js";
import { CLIENT_HELP, CLIENT_OPTIONS, openClient } from "../client-flags.js";
import { type CliIo, printJson } from "../io.js";
import { Logger, levelForDebugFlags } from "../log.js";

export const CALL_HELP = `Usage: rmb call <twin>[,<twin>…] <command> [<data>] [options]

Sends a request and prints the answer. <data> is JSON (schema application/json) unless --text;
--data-file sends a file's bytes ('-' for standard input). Exit status 0 when every destination
answered without an error.

Options:
  -t, --timeout <SECS>     how long to wait for the answers [default: 30]
      --text               send <data> as text/plain
      --data-file <FILE>   send the bytes of FILE
      --schema <S>         set the payload schema
      --fail-fast          let the relay answer at once when a destination is offline
      --json               print the answers as JSON

${CLIENT_HELP}`;

function parseTwins(text: string): number[] {
  const twins = text.split(",").map((t) => Number(t.trim()));
  if (twins.length === 0 || twins.some((t) => !Number.isSafeInteger(t) || t < 1 || t > 0xffffffff)) {
    throw new UsageError(`invalid twin list '${text}': expected ids such as 7 or 7,8`);
  }
  return twins;
}

/** An answer for `--json`: JSON payloads parsed, text as a string, other bytes in base64. */
function view(response: RmbResponse): Record<string, unknown> {
  const out: Record<string, unknown> = { source: response.source, schema: response.schema ?? null };
  try {
    out.data = response.schema === JSON_SCHEMA ? response.json() : response.text();
  } catch {
    out.base64 = Buffer.from(response.data).toString("base64");
  }
  return out;
}

function show(response: RmbResponse): string {
  try {
    if (response.schema === JSON_SCHEMA && response.data.length > 0) {
      return JSON.stringify(response.json(), null, 2);
    }
    return response.text();
  } catch {
    return `<${response.data.length} bytes> ${Buffer.from(response.data).toString("base64")}`;
  }
}

function describeError(err: Error): string {
  if (err instanceof RmbCallError) {
    const who =
      err.source === undefined ? "" : err.source === 0 ? " (from the relay)" : ` (from twin ${err.source})`;
    return `error ${err.wireCode}${who}: ${err.message}`;
  }
  return err.message;
}

export async function callCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(CALL_HELP);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      timeout: { type: "string", short: "t" },
      text: { type: "boolean" },
      "data-file": { type: "string" },
      schema: { type: "string" },
      "fail-fast": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const [twinsText, command, data, ...extra] = positionals;
  if (twinsText === undefined || command === undefined)
    throw new UsageError(`missing <twin> and <command>\n\n${CALL_HELP}`);
  if (extra.length > 0) throw new UsageError("too many arguments (quote the data)");
  const twins = parseTwins(twinsText);
  const timeout = Number(values.timeout ?? 30);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError(`invalid --timeout '${values.timeout}'`);

  let payload: Payload | unknown;
  if (values["data-file"] !== undefined) {
    if (data !== undefined) throw new UsageError("give <data> or --data-file, not both");
    const file = values["data-file"];
    const content = file === "-" ? await readStdin(io) : new Uint8Array(await readFile(file));
    payload = bytes(content, values.schema);
  } else if (data === undefined) {
    payload = undefined;
  } else if (values.text === true) {
    payload = text(data, values.schema ?? "text/plain");
  } else {
    try {
      payload = JSON.parse(data) as unknown;
    } catch {
      throw new UsageError(`<data> is not JSON: ${data} (use --text to send text)`);
    }
  }

  const log = new Logger(io.stderr, levelForDebugFlags(values.debug?.length ?? 0));
  const client = await openClient(values, io, log);
  let results: CallResult[];
  try {
    results = await client.caller.callMany(twins, command, payload, {
      timeout: timeout * 1000,
      ...(values.schema === undefined ? {} : { schema: values.schema }),
      failFast: values["fail-fast"] === true,
    });
  } finally {
    await client.close();
  }
  const ok = results.every((r) => r.ok);
  if (values.json === true) {
    const out = results.map((r) =>
      r.ok
        ? { twin: r.destination.twin, ok: true, ...view(r.response) }
        : {
            twin: r.destination.twin,
            ok: false,
            error: {
              code: r.error instanceof RmbCallError ? r.error.wireCode : null,
              message: r.error.message,
              kind: r.error.name,
            },
          },
    );
    printJson(io, twins.length === 1 ? out[0] : out);
    return ok ? 0 : 1;
  }
  for (const r of results) {
    const prefix = twins.length > 1 ? `twin ${r.destination.twin}: ` : "";
    if (r.ok) io.stdout.write(`${prefix}${show(r.response)}\n`);
    else io.stderr.write(`rmb: ${prefix || `twin ${r.destination.twin}: `}${describeError(r.error)}\n`);
  }
  return ok ? 0 : 1;
}

async function readStdin(io: CliIo): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}
