import { parseArgs } from "node:util";
import { PEER_DEFAULTS, runJsonTester } from "../../peer/index.js";
import { UsageError } from "../cli-error.js";
import { type CliIo, printJson } from "../io.js";

export const TESTER_HELP = `Usage: rmb tester --dst <TWIN>[,<TWIN>…] [options]

Sends requests through an rmb-peer's Redis JSON API and counts the responses, like rmb-rs's
tools/rmb_tester: LPUSH to msgbus.system.local, BLPOP on the reply queue. Exit status 0 when every
destination answered every request without an error.

Options:
  -r, --redis <URL>      the peer's Redis [default: ${PEER_DEFAULTS.redis}]
      --dst <IDS>        destination twin ids, comma separated (required)
  -c, --cmd <CMD>        command [default: testme]
  -n, --count <N>        requests [default: 1]
  -e, --exp <SECS>       request lifetime [default: 120]
  -t, --timeout <SECS>   how long to wait for responses [default: the lifetime]
      --size <BYTES>     payload size [default: 56]
      --json             print the report as JSON
`;

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`invalid ${name} '${value}'`);
  return n;
}

export async function testerCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(TESTER_HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      redis: { type: "string", short: "r" },
      dst: { type: "string" },
      cmd: { type: "string", short: "c" },
      count: { type: "string", short: "n" },
      exp: { type: "string", short: "e" },
      timeout: { type: "string", short: "t" },
      size: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (values.dst === undefined) throw new UsageError("missing --dst <TWIN>[,<TWIN>…]");
  const dst = values.dst.split(",").map((d) => integer("--dst", d.trim(), 0));
  if (dst.some((d) => d < 1)) throw new UsageError(`invalid --dst '${values.dst}'`);
  const exp = integer("--exp", values.exp, 120);
  const report = await runJsonTester({
    redis: values.redis ?? PEER_DEFAULTS.redis,
    dst,
    cmd: values.cmd ?? "testme",
    count: Math.max(1, integer("--count", values.count, 1)),
    exp,
    timeout: integer("--timeout", values.timeout, exp),
    size: integer("--size", values.size, 56),
  });
  const ok = report.errors === 0 && report.received === report.expected;
  if (values.json === true) {
    printJson(io, report);
    return ok ? 0 : 1;
  }
  const seconds = report.elapsedMs / 1000;
  io.stdout.write(`sent:       ${report.sent} request(s) to ${dst.join(", ")}\n`);
  io.stdout.write(`received:   ${report.received} of ${report.expected} in ${seconds.toFixed(2)} s\n`);
  io.stdout.write(
    `errors:     ${report.errors} (relay: ${report.relayErrors}, malformed: ${report.malformed})\n`,
  );
  for (const sample of report.errorSamples) io.stdout.write(`  ${sample}\n`);
  if (report.missingTwins.length > 0)
    io.stdout.write(`no full answer from: ${report.missingTwins.join(", ")}\n`);
  return ok ? 0 : 1;
}
